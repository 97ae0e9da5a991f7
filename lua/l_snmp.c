/* SNMP methods of raw transport objects (ohm.connect("snmp://...")):
 *   s:get(oid, ...)          -> one value per OID (numbers for INTEGER and
 *                               the unsigned kinds, strings otherwise), in
 *                               one request; nil, msg if any object is
 *                               absent or the request failed
 *   s:walk(oid)              -> array of {oid=, type=, value=} under oid
 *   s:set(oid, type, value)  -> true, or nil, msg; type is snmpset's
 *                               letter (i u c t a o s x d b) or a name
 *                               ("integer", "string", ...)
 * Bad arguments raise; device and transport failures return nil, msg.
 * On a transport of another kind the methods raise. */
#include <lauxlib.h>
#include <stdlib.h>
#include <string.h>

#include "../transports/snmp.h"
#include "ohm.h"

static struct tp *check_snmp(lua_State *L) {
  struct tp *t = l_raw_tp(L, 1);
  if (t->ops->kind != TP_OIDS)
    luaL_error(L, "%s is not an snmp transport", t->ops->scheme);
  return t;
}

static int fail(lua_State *L, const struct tp *t, const char *msg) {
  luaL_pushfail(L);
  lua_pushfstring(L, "%s: %s", t->name, msg);
  return 2;
}

static void push_val(lua_State *L, const struct tp_snmp_val *v) {
  switch (v->type) {
  case TP_SNMP_INTEGER:
    lua_pushinteger(L, (lua_Integer)v->i);
    break;
  case TP_SNMP_UNSIGNED:
  case TP_SNMP_COUNTER32:
  case TP_SNMP_TIMETICKS:
    lua_pushinteger(L, (lua_Integer)v->u);
    break;
  case TP_SNMP_COUNTER64:
    if (v->u <= (uint64_t)LUA_MAXINTEGER)
      lua_pushinteger(L, (lua_Integer)v->u);
    else
      lua_pushnumber(L, (lua_Number)v->u);
    break;
  case TP_SNMP_STRING:
  case TP_SNMP_OID:
  case TP_SNMP_IPADDR:
    lua_pushlstring(L, v->str, v->len);
    break;
  default:
    lua_pushstring(L, v->text ? v->text : "");
    break;
  }
}

static int l_snmp_get(lua_State *L) {
  struct tp *t = check_snmp(L);
  int n = lua_gettop(L) - 1, rc;
  const char **oids;
  struct tp_snmp_val *v;
  struct ohm_error e;
  luaL_argcheck(L, n >= 1, 2, "OID expected");
  luaL_checkstack(L, n + 2, "too many OIDs");
  oids = lua_newuserdatauv(L, (size_t)n * sizeof *oids, 0);
  v = lua_newuserdatauv(L, (size_t)n * sizeof *v, 0);
  for (int i = 0; i < n; i++)
    oids[i] = luaL_checkstring(L, i + 2);
  ohm_error_clear(&e);
  rc = tp_snmp_get(t, oids, (size_t)n, v, &e);
  for (int i = 0; rc == 0 && i < n; i++)
    if (v[i].type == TP_SNMP_MISSING) {
      lua_pushfstring(L, "%s: %s", v[i].oid, v[i].text);
      tp_snmp_vals_free(v, (size_t)n);
      return fail(L, t, lua_tostring(L, -1));
    }
  if (rc < 0) {
    tp_snmp_vals_free(v, (size_t)n);
    return fail(L, t, ohm_error_text(&e));
  }
  for (int i = 0; i < n; i++)
    push_val(L, &v[i]);
  tp_snmp_vals_free(v, (size_t)n);
  return n;
}

/* Walk callback: append {oid=, type=, value=} to the table on top. */
static int walk_add(void *ud, const struct tp_snmp_val *v) {
  lua_State *L = ud;
  lua_createtable(L, 0, 3);
  lua_pushstring(L, v->oid);
  lua_setfield(L, -2, "oid");
  lua_pushstring(L, tp_snmp_type_name(v->type));
  lua_setfield(L, -2, "type");
  push_val(L, v);
  lua_setfield(L, -2, "value");
  lua_rawseti(L, -2, (lua_Integer)lua_rawlen(L, -2) + 1);
  return 0;
}

static int l_snmp_walk(lua_State *L) {
  struct tp *t = check_snmp(L);
  const char *root = luaL_checkstring(L, 2);
  struct ohm_error e;
  ohm_error_clear(&e);
  lua_settop(L, 2);
  lua_newtable(L);
  if (tp_snmp_walk(t, root, walk_add, L, &e) < 0)
    return fail(L, t, ohm_error_text(&e));
  return 1;
}

static int l_snmp_set(lua_State *L) {
  static const char *const names[] = {
      "i",       "u",         "c",         "t",   "a",       "o",
      "s",       "x",         "d",         "b",   "integer", "unsigned",
      "counter", "timeticks", "ipaddress", "oid", "string",  "hex",
      "decimal", "bits",      NULL};
  struct tp *t = check_snmp(L);
  const char *oid = luaL_checkstring(L, 2);
  int k = luaL_checkoption(L, 3, NULL, names);
  const char *value;
  struct ohm_error e;
  luaL_argcheck(L,
                lua_type(L, 4) == LUA_TSTRING || lua_type(L, 4) == LUA_TNUMBER,
                4, "string or number expected");
  value = lua_tostring(L, 4);
  ohm_error_clear(&e);
  if (tp_snmp_set(t, oid, names[k % 10][0], value, &e) < 0)
    return fail(L, t, ohm_error_text(&e));
  lua_pushboolean(L, 1);
  return 1;
}

static const luaL_Reg snmp_methods[] = {{"get", l_snmp_get},
                                        {"walk", l_snmp_walk},
                                        {"set", l_snmp_set},
                                        {NULL, NULL}};

void l_snmp_methods(lua_State *L) {
  luaL_setfuncs(L, snmp_methods, 0);
}
