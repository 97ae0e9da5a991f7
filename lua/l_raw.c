/* Raw transport objects: ohm.connect(uri) -> t with t:read(addr, n [,
 * unit]), t:write(addr, value [, unit]), t:close(). sim:DRIVER starts the
 * simulator through a device and borrows its transport. */
#include "ohm.h"

#include <lauxlib.h>
#include <stdlib.h>
#include <string.h>

struct l_raw {
  struct tp *t;   /* owned unless d is set; NULL when closed */
  struct dev *d;  /* owned, for sim: URIs (t is d->tp) */
  char name[160]; /* redacted URI */
};

static struct l_raw *to_raw(lua_State *L) {
  return luaL_checkudata(L, 1, L_RAW_MT);
}

struct tp *l_raw_tp(lua_State *L, int idx) {
  struct l_raw *r = luaL_checkudata(L, idx, L_RAW_MT);
  if (!r->t) luaL_error(L, "attempt to use a closed transport");
  return r->t;
}

static struct tp *check_tp(lua_State *L) {
  struct l_raw *r = to_raw(L);
  if (!r->t) luaL_error(L, "attempt to use a closed transport");
  return r->t;
}

/* __gc, __close and close(): safe to call twice. */
static int l_raw_close(lua_State *L) {
  struct l_raw *r = to_raw(L);
  if (r->d)
    dev_close(r->d);
  else if (r->t)
    tp_free(r->t);
  r->d = NULL;
  r->t = NULL;
  return 0;
}

static int l_raw_tostring(lua_State *L) {
  struct l_raw *r = to_raw(L);
  if (!r->t)
    lua_pushliteral(L, "ohm.transport (closed)");
  else
    lua_pushfstring(L, "ohm.transport (%s)", r->name);
  return 1;
}

static int raw_fail(lua_State *L, const struct l_raw *r,
                    const struct ohm_error *e) {
  luaL_pushfail(L);
  lua_pushfstring(L, "%s: %s", r->name, ohm_error_text(e));
  return 2;
}

static int check_unit(lua_State *L, int arg, const struct tp *t) {
  lua_Integer u = luaL_optinteger(L, arg, t->unit);
  luaL_argcheck(L, u >= 0 && u <= 255, arg, "unit must be 0..255");
  return (int)u;
}

/* t:read(addr, n [, unit]) -> array of n register values, or nil, msg. */
static int l_raw_read(lua_State *L) {
  struct tp *t = check_tp(L);
  lua_Integer addr = luaL_checkinteger(L, 2);
  lua_Integer n = luaL_checkinteger(L, 3);
  int unit = check_unit(L, 4, t);
  uint16_t regs[125];
  struct ohm_error e;
  luaL_argcheck(L, addr >= 0 && addr <= 65535, 2, "address must be 0..65535");
  luaL_argcheck(L, n >= 1 && n <= 125 && addr + n <= 65536, 3,
                "count must be 1..125");
  ohm_error_clear(&e);
  if (tp_read_regs(t, unit, (int)addr, (int)n, regs, &e) < 0)
    return raw_fail(L, to_raw(L), &e);
  lua_createtable(L, (int)n, 0);
  for (int i = 0; i < n; i++) {
    lua_pushinteger(L, regs[i]);
    lua_rawseti(L, -2, i + 1);
  }
  return 1;
}

/* t:write(addr, value [, unit]) -> true, or nil, msg (function 06). */
static int l_raw_write(lua_State *L) {
  struct tp *t = check_tp(L);
  lua_Integer addr = luaL_checkinteger(L, 2);
  lua_Integer v = luaL_checkinteger(L, 3);
  int unit = check_unit(L, 4, t);
  struct ohm_error e;
  luaL_argcheck(L, addr >= 0 && addr <= 65535, 2, "address must be 0..65535");
  luaL_argcheck(L, v >= 0 && v <= 65535, 3, "value must be 0..65535");
  ohm_error_clear(&e);
  if (tp_write_reg(t, unit, (int)addr, (uint16_t)v, &e) < 0)
    return raw_fail(L, to_raw(L), &e);
  lua_pushboolean(L, 1);
  return 1;
}

/* ohm.connect(uri [, {timeout=, retries=}]) -> transport, or nil, msg. */
static int l_connect(lua_State *L) {
  const char *uri = luaL_checkstring(L, 1);
  struct tp_opts o;
  const char *driver;
  struct ohm_error e;
  l_opts_from_table(L, 2, &o, &driver, NULL);
  struct l_raw *r = lua_newuserdatauv(L, sizeof *r, 0);
  memset(r, 0, sizeof *r);
  char *red = ohm_uri_redact(uri);
  snprintf(r->name, sizeof r->name, "%s", red ? red : "?");
  free(red);
  luaL_setmetatable(L, L_RAW_MT);
  ohm_error_clear(&e);
  if (strncmp(uri, "sim:", 4) == 0) {
    if (dev_open(uri, driver, &o, &r->d, &e) < 0)
      return r->d = NULL, raw_fail(L, r, &e);
    r->t = r->d->tp;
  } else if (tp_open(uri, &o, &r->t, &e) < 0) {
    r->t = NULL;
    return raw_fail(L, r, &e);
  }
  return 1;
}

static const luaL_Reg raw_methods[] = {{"read", l_raw_read},
                                       {"write", l_raw_write},
                                       {"close", l_raw_close},
                                       {NULL, NULL}};

static const luaL_Reg raw_meta[] = {{"__gc", l_raw_close},
                                    {"__close", l_raw_close},
                                    {"__tostring", l_raw_tostring},
                                    {NULL, NULL}};

/* The transport metatable, and ohm.connect into the table on top. */
void l_raw_register(lua_State *L) {
  luaL_newmetatable(L, L_RAW_MT);
  luaL_setfuncs(L, raw_meta, 0);
  luaL_newlib(L, raw_methods);
  if (l_snmp_methods) l_snmp_methods(L); /* s:get, s:walk, s:set */
  lua_setfield(L, -2, "__index");
  lua_pop(L, 1);
  lua_pushcfunction(L, l_connect);
  lua_setfield(L, -2, "connect");
}
