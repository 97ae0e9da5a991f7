/* Device objects for Lua: ohm.open() and the methods get, set, cmd, list,
 * commands, close; field access by path (pdu.input.L1.current) through
 * path objects (see resolve()). Shaped like liolib.c: the userdata is created
 * closed, then opened; __gc, __close and close() share one function. */
#include "ohm.h"

#include <lauxlib.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../util/suggest.h"
#include "../devices/thresh.h"
#include "inventory.h"

struct l_dev {
  struct dev *d;  /* owned; NULL when closed */
  char name[160]; /* what the user opened, redacted: for messages */
};

struct l_path {
  char prefix[128]; /* "input.L1"; the device is user value 1 */
  int is_var;       /* prefix is also a variable (input.L1.current) */
};

static struct l_dev *to_ldev(lua_State *L, int idx) {
  return luaL_checkudata(L, idx, L_DEVICE_MT);
}

/* The open device at idx; raises if it is closed. */
static struct dev *check_dev(lua_State *L, int idx) {
  struct l_dev *ld = to_ldev(L, idx);
  if (!ld->d) luaL_error(L, "attempt to use a closed device");
  return ld->d;
}

struct dev *l_device_test(lua_State *L, int idx) {
  struct l_dev *ld = luaL_testudata(L, idx, L_DEVICE_MT);
  return ld ? ld->d : NULL;
}

const char *l_device_name(lua_State *L, int idx) {
  struct l_dev *ld = luaL_testudata(L, idx, L_DEVICE_MT);
  return ld ? ld->name : NULL;
}

int l_path_test(lua_State *L, int idx, struct dev **d, const char **prefix) {
  struct l_path *p = luaL_testudata(L, idx, L_PATH_MT);
  if (!p) return 0;
  lua_getiuservalue(L, idx, 1);
  *d = l_device_test(L, -1);
  lua_pop(L, 1);
  *prefix = p->prefix;
  return 1;
}

/* nil, "NAME: message" (the name is added unless the message has it). */
static int dev_fail(lua_State *L, int idx, const struct ohm_error *e) {
  struct l_dev *ld = to_ldev(L, idx);
  const char *m = ohm_error_text(e);
  luaL_pushfail(L);
  if (strncmp(m, ld->name, strlen(ld->name)) == 0)
    lua_pushstring(L, m);
  else
    lua_pushfstring(L, "%s: %s", ld->name, m);
  return 2;
}

/* __gc, __close and close(): safe to call twice. */
static int l_dev_close(lua_State *L) {
  struct l_dev *ld = to_ldev(L, 1);
  if (ld->d) dev_close(ld->d);
  ld->d = NULL;
  return 0;
}

static int l_dev_tostring(lua_State *L) {
  struct l_dev *ld = to_ldev(L, 1);
  if (!ld->d)
    lua_pushfstring(L, "ohm.device (closed)");
  else
    lua_pushfstring(L, "ohm.device (%s, driver %s)", ld->name,
                    ld->d->map->name);
  return 1;
}

/* ohm.open(uri_or_name [, {driver=, timeout=, retries=}]) -> device, or
 * nil, message. */
static int l_open(lua_State *L) {
  const char *what = luaL_checkstring(L, 1);
  const struct inventory *inv = NULL;
  struct ohm_error e;
  struct tp_opts o;
  const char *driver;
  int rc;
  l_opts_from_table(L, 2, &o, &driver, NULL);
  ohm_error_clear(&e);
  struct l_dev *ld = lua_newuserdatauv(L, sizeof *ld, 1);
  ld->d = NULL;
  char *red = ohm_uri_redact(what);
  snprintf(ld->name, sizeof ld->name, "%s", red ? red : "?");
  free(red);
  luaL_setmetatable(L, L_DEVICE_MT);
  /* A URI goes straight to dev_open (which also starts sim:DRIVER); a
   * name goes through the inventory, which adds its secrets. */
  if (strchr(what, ':'))
    rc = dev_open(what, driver, &o, &ld->d, &e);
  else if (!(inv = l_ohm_inventory(L, &e)))
    return dev_fail(L, -1, &e);
  else
    rc = inv_open(inv, what, driver, &o, &ld->d, &e);
  if (rc < 0) {
    ld->d = NULL;
    return dev_fail(L, -1, &e);
  }
  return 1;
}

/* Push a read value; returns 1, or 2 (nil, message) for an absent or
 * failed var. */
static int push_value(lua_State *L, int idx, const struct dev_var *v,
                      const struct dev_value *val) {
  struct ohm_error e;
  switch (val->kind) {
  case DV_NUM:
    if (val->num == floor(val->num) && fabs(val->num) < 1e15)
      lua_pushinteger(L, (lua_Integer)val->num);
    else
      lua_pushnumber(L, val->num);
    return 1;
  case DV_STR:
    lua_pushstring(L, val->str);
    return 1;
  case DV_ERR:
    ohm_error_set(&e, val->err, "%s: %s", v->name,
                  val->str[0] ? val->str : ohm_strerror(val->err));
    return dev_fail(L, idx, &e);
  default:
    ohm_error_set(&e, OHM_ENOTSUP, "%s: not available over this transport",
                  v->name);
    return dev_fail(L, idx, &e);
  }
}

/* Push "no variable 'NAME' in driver D[ (did you mean X?)]": X is the
 * nearest variable name, or group of names at NAME's depth. */
static const char *push_no_var(lua_State *L, const struct dev_map *m,
                               const char *name) {
  struct ohm_suggest s;
  char cand[128], best[128] = "";
  int depth = 0;
  for (const char *p = name; *p; p++)
    depth += *p == '.';
  ohm_suggest_init(&s, name);
  for (size_t i = 0; i < m->nvars; i++) {
    const char *v = m->vars[i].name, *end = v;
    for (int k = 0; end && k <= depth; k++)
      end = strchr(end + (k > 0), '.');
    snprintf(cand, sizeof cand, "%.*s", end ? (int)(end - v) : 127, v);
    ohm_suggest_add(&s, cand);
    if (s.best == cand) s.best = strcpy(best, cand);
  }
  if (s.best)
    return lua_pushfstring(L,
                           "no variable '%s' in driver %s (did you mean %s?)",
                           name, m->name, s.best);
  return lua_pushfstring(L, "no variable '%s' in driver %s", name, m->name);
}

static const struct dev_var *check_var(lua_State *L, struct dev *d, int arg) {
  const char *name = luaL_checkstring(L, arg);
  const struct dev_var *v = dev_map_var(d->map, name);
  if (!v) luaL_argerror(L, arg, push_no_var(L, d->map, name));
  return v;
}

/* The metatable of get()'s tables: __tostring renders the aligned
 * name/value/unit table, `units` maps name -> unit. Cached per device in
 * its user value. */
static int values_tostring(lua_State *L);
static void push_values_mt(lua_State *L, int idx, const struct dev_map *m) {
  if (lua_getiuservalue(L, idx, 1) == LUA_TTABLE) return;
  lua_pop(L, 1);
  lua_createtable(L, 0, 3);
  lua_pushliteral(L, L_VALUES_MT);
  lua_setfield(L, -2, "__name");
  lua_pushcfunction(L, values_tostring);
  lua_setfield(L, -2, "__tostring");
  lua_createtable(L, 0, (int)m->nvars);
  for (size_t i = 0; i < m->nvars; i++) {
    lua_pushstring(L, m->vars[i].unit ? m->vars[i].unit : "");
    lua_setfield(L, -2, m->vars[i].name);
  }
  lua_setfield(L, -2, "units");
  lua_pushvalue(L, -1);
  lua_setiuservalue(L, idx, 1);
}

/* get() -> table of every readable var [, table of per-var errors]. */
static int get_all(lua_State *L, struct dev *d) {
  const struct dev_map *m = d->map;
  struct ohm_error e;
  int nerr = 0;
  ohm_error_clear(&e);
  struct dev_value *vals =
      lua_newuserdatauv(L, (m->nvars ? m->nvars : 1) * sizeof *vals, 0);
  memset(vals, 0, (m->nvars ? m->nvars : 1) * sizeof *vals);
  if (dev_read_all(d, vals, &e) < 0) return dev_fail(L, 1, &e);
  lua_createtable(L, 0, (int)m->nvars); /* values */
  lua_newtable(L);                      /* errors */
  for (size_t i = 0; i < m->nvars; i++) {
    const struct dev_value *val = &vals[i];
    if (val->kind == DV_NUM || val->kind == DV_STR) {
      push_value(L, 1, &m->vars[i], val);
      lua_setfield(L, -3, m->vars[i].name);
    } else if (val->kind == DV_ERR) {
      push_value(L, 1, &m->vars[i], val);
      lua_setfield(L, -3, m->vars[i].name);
      lua_pop(L, 1);
      nerr++;
    }
  }
  push_values_mt(L, 1, m);
  lua_setmetatable(L, -3);
  if (!nerr) lua_pop(L, 1);
  return nerr ? 2 : 1;
}

/* dev:get([name]) -> value, or nil, message. */
static int l_get(lua_State *L) {
  struct dev *d = check_dev(L, 1);
  struct dev_value val;
  struct ohm_error e;
  if (lua_isnoneornil(L, 2)) return get_all(L, d);
  const struct dev_var *v = check_var(L, d, 2);
  ohm_error_clear(&e);
  memset(&val, 0, sizeof val);
  if (dev_get(d, v->name, &val, &e) < 0) return dev_fail(L, 1, &e);
  return push_value(L, 1, v, &val);
}

/* dev:set(name, value [, {force = true}]) -> true, or nil, message. Map
 * checks (unknown or read-only var, bad type, out of range) raise: they
 * are the caller's mistake and nothing is sent. A threshold out of order
 * with the device's others (devices/thresh.h) is nil, message unless
 * forced. */
static int l_set(lua_State *L) {
  struct dev *d = check_dev(L, 1);
  const struct dev_var *v = check_var(L, d, 2);
  struct ohm_error e;
  uint16_t regs[8];
  int t = lua_type(L, 3), force = 0;
  luaL_argcheck(L, t == LUA_TNUMBER || t == LUA_TSTRING, 3,
                "number or string expected");
  const char *text = lua_tostring(L, 3);
  if (!lua_isnoneornil(L, 4)) {
    luaL_checktype(L, 4, LUA_TTABLE);
    force = lua_getfield(L, 4, "force") != LUA_TNIL && lua_toboolean(L, -1);
    lua_pop(L, 1);
  }
  if (v->access != DA_RW)
    return luaL_argerror(L, 2,
                         lua_pushfstring(L, "'%s' is read-only", v->name));
  ohm_error_clear(&e);
  if (dev_encode(v, text, regs, &e) < 0)
    return luaL_argerror(L, 3, ohm_error_text(&e));
  struct dev_thresh p = {v->name, lua_tonumber(L, 3)};
  if (!force && v->type != DT_ENUM && dev_thresh_check_dev(d, &p, 1, &e) < 0) {
    if (e.code == OHM_EINVAL) {
      char why[400];
      snprintf(why, sizeof why, "%s", ohm_error_text(&e));
      ohm_error_set(&e, OHM_EINVAL,
                    "%s; nothing written ({force = true} writes it anyway)",
                    why);
    }
    return dev_fail(L, 1, &e);
  }
  if (dev_set(d, v->name, text, &e) < 0) return dev_fail(L, 1, &e);
  lua_pushboolean(L, 1);
  return 1;
}

/* dev:cmd(name) -> true, or nil, message (e.g. not over this transport). */
static int l_cmd(lua_State *L) {
  struct dev *d = check_dev(L, 1);
  const char *name = luaL_checkstring(L, 2);
  struct ohm_error e;
  if (!dev_map_cmd(d->map, name)) {
    struct ohm_suggest s;
    ohm_suggest_init(&s, name);
    for (size_t i = 0; i < d->map->ncmds; i++)
      ohm_suggest_add(&s, d->map->cmds[i].name);
    return luaL_argerror(
        L, 2,
        lua_pushfstring(L, "no command '%s' in driver %s%s%s%s", name,
                        d->map->name, s.best ? " (did you mean " : "",
                        s.best ? s.best : "", s.best ? "?)" : ""));
  }
  ohm_error_clear(&e);
  if (dev_cmd(d, name, &e) < 0) return dev_fail(L, 1, &e);
  lua_pushboolean(L, 1);
  return 1;
}

static void set_str(lua_State *L, const char *k, const char *v) {
  lua_pushstring(L, v ? v : "");
  lua_setfield(L, -2, k);
}

/* dev:list() -> array of {name=, unit=, access=, desc=}, the vars this
 * transport can read. */
static int l_list(lua_State *L) {
  struct dev *d = check_dev(L, 1);
  const struct dev_map *m = d->map;
  int n = 0;
  lua_createtable(L, (int)m->nvars, 0);
  for (size_t i = 0; i < m->nvars; i++) {
    const struct dev_var *v = &m->vars[i];
    if (!dev_var_available(d, v)) continue;
    lua_createtable(L, 0, 4);
    set_str(L, "name", v->name);
    set_str(L, "unit", v->unit);
    set_str(L, "access", v->access == DA_RW ? "rw" : "ro");
    set_str(L, "desc", v->desc);
    lua_rawseti(L, -2, ++n);
  }
  return 1;
}

/* dev:commands() -> array of {name=, desc=, dangerous=}. */
static int l_commands(lua_State *L) {
  struct dev *d = check_dev(L, 1);
  const struct dev_map *m = d->map;
  lua_createtable(L, (int)m->ncmds, 0);
  for (size_t i = 0; i < m->ncmds; i++) {
    lua_createtable(L, 0, 3);
    set_str(L, "name", m->cmds[i].name);
    set_str(L, "desc", m->cmds[i].desc);
    lua_pushboolean(L, m->cmds[i].dangerous);
    lua_setfield(L, -2, "dangerous");
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
  return 1;
}

/* Whether some var's name starts with "prefix." */
static int has_prefix(const struct dev_map *m, const char *p) {
  size_t n = strlen(p);
  for (size_t i = 0; i < m->nvars; i++)
    if (strncmp(m->vars[i].name, p, n) == 0 && m->vars[i].name[n] == '.')
      return 1;
  return 0;
}

/* Push the value of var v of the device at devidx, read now; a failure
 * raises (a metamethod has no second result to return it in). */
static int read_raise(lua_State *L, int devidx, const struct dev_var *v) {
  struct dev *d = check_dev(L, devidx);
  struct dev_value val;
  struct ohm_error e;
  ohm_error_clear(&e);
  memset(&val, 0, sizeof val);
  int r = dev_get(d, v->name, &val, &e) < 0 ? dev_fail(L, devidx, &e)
                                            : push_value(L, devidx, v, &val);
  if (r > 1) return lua_error(L); /* the message on top */
  return 1;
}

/* Field access below prefix on the device at devidx. A variable without
 * children reads it (plain number or string); a name that has children
 * (input.L1, and input.L1.current, which is also a variable) gives a path
 * object: children by index, and, for a variable, its value read when
 * used (print, arithmetic, comparison, .., or p() for the plain value).
 * Anything else raises, naming the nearest known name. */
static int resolve(lua_State *L, int devidx, const char *prefix,
                   const char *key) {
  struct dev *d = check_dev(L, devidx);
  char full[128];
  if ((size_t)snprintf(full, sizeof full, "%s%s%s", prefix, *prefix ? "." : "",
                       key) >= sizeof full)
    return luaL_error(L, "variable name too long");
  const struct dev_var *v = dev_map_var(d->map, full);
  if (!has_prefix(d->map, full)) {
    if (v) return read_raise(L, devidx, v);
    return luaL_error(L, "%s", push_no_var(L, d->map, full));
  }
  struct l_path *p = lua_newuserdatauv(L, sizeof *p, 1);
  snprintf(p->prefix, sizeof p->prefix, "%s", full);
  p->is_var = v != NULL;
  lua_pushvalue(L, devidx);
  lua_setiuservalue(L, -2, 1);
  luaL_setmetatable(L, L_PATH_MT);
  return 1;
}

static const luaL_Reg dev_methods[] = {
    {"get", l_get},   {"set", l_set},           {"cmd", l_cmd},
    {"list", l_list}, {"commands", l_commands}, {"close", l_dev_close},
    {NULL, NULL}};

/* dev.KEY: methods win over variables (upvalue 1 = methods table). */
static int l_dev_index(lua_State *L) {
  to_ldev(L, 1);
  if (lua_type(L, 2) != LUA_TSTRING) return 0;
  if (lua_getfield(L, lua_upvalueindex(1), lua_tostring(L, 2)) != LUA_TNIL)
    return 1;
  lua_pop(L, 1);
  return resolve(L, 1, "", lua_tostring(L, 2));
}

/* An integer key is a name part too: bank.battery.pack[1].cell[5]. */
static int l_path_index(lua_State *L) {
  struct l_path *p = luaL_checkudata(L, 1, L_PATH_MT);
  if (lua_isinteger(L, 2)) {
    lua_pushfstring(L, "%I", lua_tointeger(L, 2));
    lua_replace(L, 2);
  }
  if (lua_type(L, 2) != LUA_TSTRING) return 0;
  lua_getiuservalue(L, 1, 1);
  return resolve(L, lua_gettop(L), p->prefix, lua_tostring(L, 2));
}

/* Replace the path object at idx by its variable's value (read now);
 * raises for a group of variables or a failed read. Other values stay. */
static void path_to_value(lua_State *L, int idx) {
  struct l_path *p = luaL_testudata(L, idx, L_PATH_MT);
  if (!p) return;
  idx = lua_absindex(L, idx);
  lua_getiuservalue(L, idx, 1);
  struct dev *d = check_dev(L, -1);
  const struct dev_var *v = dev_map_var(d->map, p->prefix);
  if (!p->is_var || !v)
    luaL_error(L,
               "'%s' is a group of variables, not a variable "
               "(index it: %s.NAME)",
               p->prefix, p->prefix);
  read_raise(L, lua_gettop(L), v);
  lua_replace(L, idx);
  lua_pop(L, 1);
}

/* p(): the plain value (number or string), as dev:get(name); a failed
 * read returns nil, message. */
static int l_path_call(lua_State *L) {
  struct l_path *p = luaL_checkudata(L, 1, L_PATH_MT);
  char name[sizeof p->prefix];
  if (!p->is_var) path_to_value(L, 1); /* raises */
  snprintf(name, sizeof name, "%s", p->prefix);
  lua_settop(L, 1);
  lua_getiuservalue(L, 1, 1);
  lua_pushstring(L, name);
  lua_remove(L, 1); /* device, name */
  return l_get(L);
}

static int l_path_tostring(lua_State *L) {
  struct l_path *p = luaL_checkudata(L, 1, L_PATH_MT);
  if (p->is_var) {
    path_to_value(L, 1);
    luaL_tolstring(L, 1, NULL);
    return 1;
  }
  lua_getiuservalue(L, 1, 1);
  struct l_dev *ld = to_ldev(L, -1);
  lua_pushfstring(L, "ohm.path (%s %s.*)", ld->name, p->prefix);
  return 1;
}

/* Arithmetic on paths: both operands as values, then the operator. */
static int path_arith(lua_State *L, int op) {
  path_to_value(L, 1);
  path_to_value(L, 2);
  lua_settop(L, op == LUA_OPUNM ? 1 : 2);
  lua_arith(L, op);
  return 1;
}

#define PATH_ARITH(n, op)                                                      \
  static int l_path_##n(lua_State *L) {                                        \
    return path_arith(L, op);                                                  \
  }
PATH_ARITH(add, LUA_OPADD)
PATH_ARITH(sub, LUA_OPSUB)
PATH_ARITH(mul, LUA_OPMUL)
PATH_ARITH(div, LUA_OPDIV)
PATH_ARITH(mod, LUA_OPMOD)
PATH_ARITH(pow, LUA_OPPOW)
PATH_ARITH(idiv, LUA_OPIDIV)
PATH_ARITH(unm, LUA_OPUNM)

static int path_compare(lua_State *L, int op) {
  path_to_value(L, 1);
  path_to_value(L, 2);
  lua_pushboolean(L, lua_compare(L, 1, 2, op));
  return 1;
}

/* Two paths of one variable of one device are equal (their values may
 * differ between two reads); otherwise the values are compared. */
static int l_path_eq(lua_State *L) {
  struct l_path *a = luaL_testudata(L, 1, L_PATH_MT);
  struct l_path *b = luaL_testudata(L, 2, L_PATH_MT);
  if (a && b && strcmp(a->prefix, b->prefix) == 0) {
    lua_getiuservalue(L, 1, 1);
    lua_getiuservalue(L, 2, 1);
    if (lua_rawequal(L, -1, -2)) return lua_pushboolean(L, 1), 1;
    lua_pop(L, 2);
  }
  return path_compare(L, LUA_OPEQ);
}
static int l_path_lt(lua_State *L) {
  return path_compare(L, LUA_OPLT);
}
static int l_path_le(lua_State *L) {
  return path_compare(L, LUA_OPLE);
}

static int l_path_concat(lua_State *L) {
  lua_settop(L, 2);
  for (int i = 1; i <= 2; i++)
    if (luaL_testudata(L, i, L_PATH_MT)) {
      path_to_value(L, i);
      luaL_tolstring(L, i, NULL);
      lua_replace(L, i);
    }
  lua_concat(L, 2);
  return 1;
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Sorted string keys of the table at 1, as a userdata array on the stack
 * (anchored there while the strings are used). */
static const char **sorted_keys(lua_State *L, size_t *n) {
  size_t cap = 0;
  *n = 0;
  for (lua_pushnil(L); lua_next(L, 1); lua_pop(L, 1))
    cap++;
  const char **k = lua_newuserdatauv(L, (cap + 1) * sizeof *k, 0);
  for (lua_pushnil(L); lua_next(L, 1); lua_pop(L, 1))
    if (lua_type(L, -2) == LUA_TSTRING && *n < cap)
      k[(*n)++] = lua_tostring(L, -2); /* anchored by the table */
  qsort(k, *n, sizeof *k, cmp_str);
  return k;
}

/* __tostring of get()'s tables: "name  value  unit" lines, aligned. */
static int values_tostring(lua_State *L) {
  size_t n, wn = 4, wv = 5, len;
  luaL_Buffer b;
  luaL_checktype(L, 1, LUA_TTABLE);
  const char **k = sorted_keys(L, &n);
  int top = lua_gettop(L);
  luaL_checkstack(L, (int)n + 8, "too many values");
  for (size_t i = 0; i < n; i++) { /* widths; values converted on top */
    lua_getfield(L, 1, k[i]);
    luaL_tolstring(L, -1, &len);
    lua_remove(L, -2);
    wn = strlen(k[i]) > wn ? strlen(k[i]) : wn;
    wv = len > wv ? len : wv;
  }
  lua_getmetatable(L, 1);
  lua_getfield(L, -1, "units");
  int units = lua_gettop(L);
  luaL_buffinit(L, &b);
  for (size_t i = 0; i < n; i++) {
    const char *val = lua_tostring(L, top + 1 + (int)i);
    const char *u = "";
    if (lua_type(L, units) == LUA_TTABLE) {
      lua_getfield(L, units, k[i]);
      u = lua_isstring(L, -1) ? lua_tostring(L, -1) : "";
      lua_pop(L, 1); /* the units table anchors it */
    }
    char line[512];
    lua_getfield(L, 1, k[i]); /* numbers right-aligned, text left */
    int num = lua_type(L, -1) == LUA_TNUMBER;
    lua_pop(L, 1);
    int w =
        snprintf(line, sizeof line, num ? "%-*s  %*s  %s" : "%-*s  %-*s  %s",
                 (int)wn, k[i], (int)wv, val, u);
    while (w > 0 && line[w - 1] == ' ')
      w--;
    luaL_addlstring(&b, line, (size_t)w);
    if (i + 1 < n) luaL_addchar(&b, '\n');
  }
  luaL_pushresult(&b);
  return 1;
}

static const luaL_Reg path_meta[] = {
    {"__index", l_path_index},   {"__tostring", l_path_tostring},
    {"__call", l_path_call},     {"__add", l_path_add},
    {"__sub", l_path_sub},       {"__mul", l_path_mul},
    {"__div", l_path_div},       {"__mod", l_path_mod},
    {"__pow", l_path_pow},       {"__idiv", l_path_idiv},
    {"__unm", l_path_unm},       {"__eq", l_path_eq},
    {"__lt", l_path_lt},         {"__le", l_path_le},
    {"__concat", l_path_concat}, {NULL, NULL}};

static const luaL_Reg dev_meta[] = {{"__gc", l_dev_close},
                                    {"__close", l_dev_close},
                                    {"__tostring", l_dev_tostring},
                                    {NULL, NULL}};

/* The device and path metatables, and ohm.open into the table on top. */
void l_device_register(lua_State *L) {
  luaL_newmetatable(L, L_DEVICE_MT);
  luaL_setfuncs(L, dev_meta, 0);
  luaL_newlib(L, dev_methods);
  lua_pushcclosure(L, l_dev_index, 1);
  lua_setfield(L, -2, "__index");
  lua_pop(L, 1);
  luaL_newmetatable(L, L_PATH_MT);
  luaL_setfuncs(L, path_meta, 0);
  lua_pop(L, 1);
  lua_pushcfunction(L, l_open);
  lua_setfield(L, -2, "open");
}
