/* The `ohm` module table: ohm.open, ohm.connect, ohm.decode, ohm.drivers,
 * ohm.devices. The module's context (inventory path, loaded inventory) is
 * a userdata in the registry under CTX_KEY, freed by its __gc. */
#include "ohm.h"

#include <lauxlib.h>
#include <stdlib.h>
#include <string.h>

#include "../util/embedded.h"
#include "inventory.h"

#define CTX_KEY "ohm.ctx"
#define CTX_MT "ohm.ctx.mt"

struct l_ctx {
  char *config;          /* owned; NULL = default path */
  struct inventory *inv; /* owned; loaded on first use */
  struct tp_opts defaults;
};

static int ctx_gc(lua_State *L) {
  struct l_ctx *c = luaL_checkudata(L, 1, CTX_MT);
  free(c->config);
  c->config = NULL;
  if (c->inv) inv_free(c->inv);
  c->inv = NULL;
  return 0;
}

/* The context, created (empty) on first use. */
static struct l_ctx *ctx_get(lua_State *L) {
  struct l_ctx *c;
  if (lua_getfield(L, LUA_REGISTRYINDEX, CTX_KEY) == LUA_TUSERDATA) {
    c = lua_touserdata(L, -1);
    lua_pop(L, 1);
    return c;
  }
  lua_pop(L, 1);
  c = lua_newuserdatauv(L, sizeof *c, 0);
  memset(c, 0, sizeof *c);
  c->defaults.retries = -1;
  if (luaL_newmetatable(L, CTX_MT)) {
    lua_pushcfunction(L, ctx_gc);
    lua_setfield(L, -2, "__gc");
  }
  lua_setmetatable(L, -2);
  lua_setfield(L, LUA_REGISTRYINDEX, CTX_KEY);
  return c;
}

void l_ohm_set_config(lua_State *L, const char *path) {
  struct l_ctx *c = ctx_get(L);
  char *p = path ? strdup(path) : NULL;
  if (path && !p) luaL_error(L, "out of memory");
  free(c->config);
  c->config = p;
  if (c->inv) inv_free(c->inv);
  c->inv = NULL;
}

void l_ohm_set_defaults(lua_State *L, const struct tp_opts *o) {
  ctx_get(L)->defaults = *o;
}

/* The inventory, loaded once; NULL with e set if the file is bad. */
struct inventory *l_ohm_inventory(lua_State *L, struct ohm_error *e) {
  struct l_ctx *c = ctx_get(L);
  if (!c->inv && inv_load(c->config, &c->inv, e) < 0) return NULL;
  return c->inv;
}

/* nil, message: the io.open convention for device and transport failures. */
int l_push_error(lua_State *L, const struct ohm_error *e) {
  luaL_pushfail(L);
  lua_pushstring(L, ohm_error_text(e));
  return 2;
}

/* A key the options table does not know raises, naming it: a mistyped
 * {tiemout = 1} must not silently run with the default timeout. */
static void check_opt_keys(lua_State *L, int idx, const char *extra) {
  static const char *const known[] = {"driver", "timeout", "retries", "verbose",
                                      NULL};
  idx = lua_absindex(L, idx);
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    int ok = 0;
    lua_pop(L, 1);
    for (const char *const *k = known; !ok && *k; k++)
      ok = lua_type(L, -1) == LUA_TSTRING && !strcmp(lua_tostring(L, -1), *k);
    ok = ok || (extra && lua_type(L, -1) == LUA_TSTRING &&
                !strcmp(lua_tostring(L, -1), extra));
    if (!ok)
      luaL_argerror(L, idx,
                    lua_pushfstring(L,
                                    "unknown option '%s' (known: "
                                    "driver, timeout, retries, verbose%s%s)",
                                    luaL_tolstring(L, -1, NULL),
                                    extra ? ", " : "", extra ? extra : ""));
  }
}

/* Options table {driver=, timeout=, retries=, verbose=} at idx (may be
 * absent; extra names one more key the caller reads itself, or NULL) over
 * the defaults; wrong types and unknown keys raise. */
void l_opts_from_table(lua_State *L, int idx, struct tp_opts *o,
                       const char **driver, const char *extra) {
  *o = ctx_get(L)->defaults;
  *driver = NULL;
  if (lua_isnoneornil(L, idx)) return;
  luaL_checktype(L, idx, LUA_TTABLE);
  check_opt_keys(L, idx, extra);
  if (lua_getfield(L, idx, "driver") != LUA_TNIL) {
    luaL_argcheck(L, lua_type(L, -1) == LUA_TSTRING, idx,
                  "'driver' must be a string");
    *driver = lua_tostring(L, -1); /* anchored by the options table */
  }
  if (lua_getfield(L, idx, "timeout") != LUA_TNIL) {
    luaL_argcheck(L, lua_type(L, -1) == LUA_TNUMBER && lua_tonumber(L, -1) > 0,
                  idx, "'timeout' must be a positive number");
    o->timeout = lua_tonumber(L, -1);
  }
  if (lua_getfield(L, idx, "retries") != LUA_TNIL) {
    luaL_argcheck(L,
                  lua_isinteger(L, -1) && lua_tointeger(L, -1) >= 0 &&
                      lua_tointeger(L, -1) <= 100,
                  idx, "'retries' must be an integer 0..100");
    o->retries = (int)lua_tointeger(L, -1);
  }
  if (lua_getfield(L, idx, "verbose") != LUA_TNIL)
    o->verbose = lua_toboolean(L, -1);
  lua_pop(L, 4);
}

/* ohm.decode.energy8(r1, r2, r3, r4) -> kWh; a register above 255 is out
 * of spec and raises, naming it. */
static int l_energy8(lua_State *L) {
  uint16_t r[4];
  double kwh;
  int bad = 0;
  for (int i = 0; i < 4; i++) {
    lua_Integer v = luaL_checkinteger(L, i + 1);
    luaL_argcheck(L, v >= 0 && v <= 65535, i + 1, "not a register value");
    r[i] = (uint16_t)v;
  }
  if (dev_energy8(r, &kwh, &bad) < 0)
    return luaL_argerror(L, bad + 1,
                         lua_pushfstring(L,
                                         "register %d is %d, above 255 "
                                         "(out of spec)",
                                         bad + 1, (int)r[bad]));
  lua_pushnumber(L, kwh);
  return 1;
}

/* ohm.drivers() -> array of driver names (built-in, then the user's, as
 * `ohm drivers`), array of transport schemes (with sim, the simulator). */
static int l_drivers(lua_State *L) {
  const char *const *d = dev_driver_builtin();
  size_t nu;
  int n = 0;
  char **user = dev_driver_user(&nu);
  lua_newtable(L);
  for (int i = 0; d && d[i]; i++) {
    lua_pushstring(L, d[i]);
    lua_rawseti(L, -2, ++n);
  }
  for (size_t i = 0; i < nu; i++) {
    lua_pushstring(L, user[i]);
    lua_rawseti(L, -2, ++n);
  }
  dev_driver_user_free(user);
  lua_newtable(L);
  n = 0;
  for (const struct tp_ops *const *t = tp_all(); *t; t++) {
    lua_pushstring(L, (*t)->scheme);
    lua_rawseti(L, -2, ++n);
  }
  lua_pushliteral(L, "sim");
  lua_rawseti(L, -2, ++n);
  return 2;
}

/* The driver an inventory entry uses: its driver=, the DRIVER of a
 * sim:DRIVER URI, or a driver= in the URI's query; NULL if none. */
static void push_entry_driver(lua_State *L, const struct inv_device *d) {
  const char *u = d->uri ? d->uri : "", *q = strstr(u, "driver=");
  if (d->driver)
    lua_pushstring(L, d->driver);
  else if (strncmp(u, "sim:", 4) == 0)
    lua_pushlstring(L, u + 4, strcspn(u + 4, "?"));
  else if (q && (q[-1] == '?' || q[-1] == '&'))
    lua_pushlstring(L, q + 7, strcspn(q + 7, "&#"));
  else
    return;
  lua_setfield(L, -2, "driver");
}

/* ohm.devices() -> array of {name=, uri=, driver=} from the inventory
 * (URIs redacted), or nil, message if the inventory file is bad. */
static int l_devices(lua_State *L) {
  struct ohm_error e;
  struct inventory *inv;
  ohm_error_clear(&e);
  if (!(inv = l_ohm_inventory(L, &e))) return l_push_error(L, &e);
  lua_createtable(L, (int)inv->ndevs, 0);
  for (size_t i = 0; i < inv->ndevs; i++) {
    const struct inv_device *d = &inv->devs[i];
    char *u = ohm_uri_redact(d->uri ? d->uri : "");
    lua_createtable(L, 0, 3);
    lua_pushstring(L, d->name);
    lua_setfield(L, -2, "name");
    lua_pushstring(L, u ? u : "");
    lua_setfield(L, -2, "uri");
    free(u);
    push_entry_driver(L, d);
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
  return 1;
}

/* ohm.redact(text) -> the text with any URI password and secret query
 * parameters (auth_pass=, ...) replaced by ***, for scripts' messages. */
static int l_redact(lua_State *L) {
  char *r = ohm_uri_redact(luaL_checkstring(L, 1));
  if (!r) return luaL_error(L, "out of memory");
  lua_pushstring(L, r);
  free(r);
  return 1;
}

static const luaL_Reg decode_funcs[] = {{"energy8", l_energy8}, {NULL, NULL}};

static const luaL_Reg ohm_funcs[] = {{"drivers", l_drivers},
                                     {"devices", l_devices},
                                     {"redact", l_redact},
                                     {NULL, NULL}};

/* ohm.format(value [, mode]): lua/format.lua (embedded), compiled on the
 * first call so that start-up does not pay for it; upvalue 1 caches it. */
static int l_format(lua_State *L) {
  if (lua_type(L, lua_upvalueindex(1)) != LUA_TFUNCTION) {
    const struct ohm_embedded *f = ohm_embedded_find("lua/format.lua");
    if (!f) return luaL_error(L, "ohm.format is not in this build");
    if (luaL_loadbuffer(L, f->data, f->size, "=lua/format.lua") != LUA_OK)
      return lua_error(L);
    lua_call(L, 0, 1);
    lua_getfield(L, -1, "format");
    lua_replace(L, lua_upvalueindex(1));
    lua_pop(L, 1);
  }
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_insert(L, 1);
  lua_call(L, lua_gettop(L) - 1, 1);
  return 1;
}

/* require("ohm.script"): lua/script.lua (embedded), the helpers the
 * scripts of scripts/ share; compiled only when a script asks for it. */
static int l_script_load(lua_State *L) {
  const struct ohm_embedded *f = ohm_embedded_find("lua/script.lua");
  if (!f) return luaL_error(L, "ohm.script is not in this build");
  if (luaL_loadbuffer(L, f->data, f->size, "=lua/script.lua") != LUA_OK)
    return lua_error(L);
  lua_call(L, 0, 1);
  return 1;
}

int luaopen_ohm(lua_State *L) {
  ctx_get(L);
  luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
  lua_pushcfunction(L, l_script_load);
  lua_setfield(L, -2, "ohm.script");
  lua_pop(L, 1);
  luaL_newlib(L, ohm_funcs);
  luaL_newlib(L, decode_funcs);
  lua_setfield(L, -2, "decode");
  lua_pushliteral(L, OHM_VERSION);
  lua_setfield(L, -2, "version");
  l_device_register(L);  /* ohm.open and the device metatables */
  l_raw_register(L);     /* ohm.connect */
  l_upgrade_register(L); /* ohm.upgrade (lua/l_upgrade.c) */
  l_poll_register(L);    /* ohm.poll (lua/l_poll.c) */
  l_config_register(L);  /* ohm.config (lua/l_config.c) */
  lua_pushboolean(L, 0); /* the compiled format.lua, once loaded */
  lua_pushcclosure(L, l_format, 1);
  lua_pushvalue(L, -1); /* for the REPL, safe from user edits */
  lua_setfield(L, LUA_REGISTRYINDEX, "ohm.format");
  lua_setfield(L, -2, "format");
  return 1;
}
