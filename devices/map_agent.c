/* A map's `agent` section: how `ohm serve --snmp` and `ohm sim --snmp`
 * serve the map's OIDs (numbers as INTEGERs or as decimal text, Gauge32
 * objects, fixed objects, a status derived from a flag) and which other
 * devices it serves (by map type or by a variable they have). The agent
 * code in shell/serve/ reads these keys and names no driver. */
#include <lauxlib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "map_int.h"

/* A Lua array of strings as a NULL-terminated list in *out. */
static int get_list(struct loader *ld, lua_State *L, const char *key,
                    char ***out) {
  size_t n = lua_type(L, -1) == LUA_TTABLE ? lua_rawlen(L, -1) : 0;
  if (!n) return map_fail(ld, "agent.%s must be a list of names", key);
  if (!(*out = calloc(n + 1, sizeof **out)))
    return ohm_error_set(ld->e, OHM_ENOMEM, "out of memory");
  for (size_t i = 0; i < n; i++) {
    int ok = lua_rawgeti(L, -1, (lua_Integer)i + 1) == LUA_TSTRING;
    if (ok) (*out)[i] = strdup(lua_tostring(L, -1));
    lua_pop(L, 1);
    if (!ok) return map_fail(ld, "agent.%s[%zu] must be a name", key, i + 1);
    if (!(*out)[i]) return ohm_error_set(ld->e, OHM_ENOMEM, "out of memory");
  }
  return 0;
}

/* serves = { types = {...}, vars = {...} } */
static int get_serves(struct loader *ld, lua_State *L) {
  static const char *const keys[] = {"types", "vars", NULL};
  struct dev_agent *a = &ld->m->agent;
  const char *k;
  int rc = 0;
  if (lua_type(L, -1) != LUA_TTABLE)
    return map_fail(ld, "agent.serves must be { types = {...}, vars = {...} }");
  for (lua_pushnil(L); rc == 0 && lua_next(L, -2); lua_pop(L, rc ? 2 : 1))
    if ((rc = map_check_key(ld, L, keys, &k)) == 0)
      rc = get_list(ld, L, k, k[0] == 't' ? &a->serve_types : &a->serve_vars);
  return rc;
}

static int fixed_cmp(const void *a, const void *b) {
  return strcmp(((const struct dev_agent_fixed *)a)->oid,
                ((const struct dev_agent_fixed *)b)->oid);
}

/* fixed = { ["OID"] = N, ... }: INTEGER objects always served (sorted:
 * Lua's pairs have no fixed order) */
static int get_fixed(struct loader *ld, lua_State *L) {
  struct dev_agent *a = &ld->m->agent;
  int rc = 0;
  if (lua_type(L, -1) != LUA_TTABLE)
    return map_fail(ld, "agent.fixed must be { [\"OID\"] = N }");
  for (lua_pushnil(L); rc == 0 && lua_next(L, -2); lua_pop(L, rc ? 2 : 1)) {
    struct dev_agent_fixed *f;
    if (lua_type(L, -2) != LUA_TSTRING || !lua_isinteger(L, -1))
      rc = map_fail(ld, "agent.fixed: [\"OID\"] = N");
    else if (!(f = realloc(a->fixed, (a->nfixed + 1) * sizeof *f)))
      rc = ohm_error_set(ld->e, OHM_ENOMEM, "out of memory");
    else if (a->fixed = f, !(f[a->nfixed].oid = strdup(lua_tostring(L, -2))))
      rc = ohm_error_set(ld->e, OHM_ENOMEM, "out of memory");
    else
      f[a->nfixed++].num = (long)lua_tointeger(L, -1);
  }
  if (rc == 0 && a->nfixed)
    qsort(a->fixed, a->nfixed, sizeof *a->fixed, fixed_cmp);
  return rc;
}

/* derive = { var, from, flag, on, off }: var (an enum of this map) is
 * state on when the device's value of from holds the word flag, else
 * off; served only when the device has no var of its own. */
static int get_derive(struct loader *ld, lua_State *L) {
  static const char *const keys[] = {"var", "from", "flag", "on", "off", NULL};
  struct dev_agent *a = &ld->m->agent;
  char **f[] = {&a->derive_var, &a->derive_from, &a->derive_flag, &a->derive_on,
                &a->derive_off};
  const char *k;
  int rc = 0;
  if (lua_type(L, -1) != LUA_TTABLE)
    return map_fail(ld, "agent.derive must be { var, from, flag, on, off }");
  for (lua_pushnil(L); rc == 0 && lua_next(L, -2); lua_pop(L, rc ? 2 : 1))
    if ((rc = map_check_key(ld, L, keys, &k)) == 0) {
      int i = 0;
      while (strcmp(keys[i], k))
        i++;
      rc = map_get_str(ld, L, k, f[i]);
    }
  for (int i = 0; rc == 0 && i < 5; i++)
    if (!*f[i]) rc = map_fail(ld, "agent.derive needs %s", keys[i]);
  return rc;
}

int map_get_agent(struct loader *ld, lua_State *L) {
  static const char *const keys[] = {"serves", "numbers", "gauges",
                                     "fixed",  "derive",  NULL};
  struct dev_agent *a = &ld->m->agent;
  const char *k;
  int rc = 0;
  if (lua_type(L, -1) != LUA_TTABLE)
    return map_fail(ld, "agent must be a table (see ohm-maps(5))");
  for (lua_pushnil(L); rc == 0 && lua_next(L, -2); lua_pop(L, rc ? 2 : 1)) {
    if ((rc = map_check_key(ld, L, keys, &k))) continue;
    if (!strcmp(k, "serves")) rc = get_serves(ld, L);
    if (!strcmp(k, "gauges")) rc = get_list(ld, L, k, &a->gauges);
    if (!strcmp(k, "fixed")) rc = get_fixed(ld, L);
    if (!strcmp(k, "derive")) rc = get_derive(ld, L);
    if (!strcmp(k, "numbers")) {
      const char *s = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "";
      a->integers = !strcmp(s, "integer");
      if (!a->integers && strcmp(s, "text"))
        rc = map_fail(ld, "agent.numbers must be \"integer\" or \"text\"");
    }
  }
  return rc;
}

static void list_free(char **l) {
  for (size_t i = 0; l && l[i]; i++)
    free(l[i]);
  free(l);
}

void map_agent_free(struct dev_agent *a) {
  list_free(a->serve_types);
  list_free(a->serve_vars);
  list_free(a->gauges);
  for (size_t i = 0; i < a->nfixed; i++)
    free(a->fixed[i].oid);
  free(a->fixed);
  free(a->derive_var), free(a->derive_from), free(a->derive_flag);
  free(a->derive_on), free(a->derive_off);
}

static int in_list(char *const *l, const char *s) {
  for (size_t i = 0; l && s && l[i]; i++)
    if (!strcmp(l[i], s)) return 1;
  return 0;
}

int dev_map_agent_serves(const struct dev_map *m, const struct dev_map *dm) {
  if (in_list(m->agent.serve_types, dm->type)) return 1;
  for (size_t i = 0; m->agent.serve_vars && m->agent.serve_vars[i]; i++)
    if (dev_map_var(dm, m->agent.serve_vars[i])) return 1;
  return 0;
}

int dev_map_agent_gauge(const struct dev_map *m, const char *var) {
  return in_list(m->agent.gauges, var);
}
