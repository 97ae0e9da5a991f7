/* A map's `traps` section: which traps are the device's (their OID
 * prefix, v2 form), a name for each trap number and each varbind (by OID
 * prefix). `ohm serve --traps` reads a trap through the source device's
 * map, so another device's traps are a map edit. */
#include <lauxlib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "map_int.h"

int dev_oid_prefix(const char *oid, const char *prefix, const char **rest) {
  size_t n;
  while (*oid == '.')
    oid++;
  while (*prefix == '.')
    prefix++;
  n = strlen(prefix);
  if (strncmp(oid, prefix, n) || (oid[n] && oid[n] != '.')) return 0;
  if (rest) *rest = oid[n] ? oid + n + 1 : oid + n;
  return 1;
}

/* Lua hands a table's pairs in no fixed order: the lists are sorted so a
 * map loads the same every time (and as its compiled table, map2c). */
static int kind_cmp(const void *a, const void *b) {
  long x = ((const struct dev_trap_kind *)a)->n,
       y = ((const struct dev_trap_kind *)b)->n;
  return (x > y) - (x < y);
}

/* the longest prefix first: a varbind takes the most specific name */
static int vb_cmp(const void *a, const void *b) {
  const char *x = ((const struct dev_trap_vb *)a)->oid,
             *y = ((const struct dev_trap_vb *)b)->oid;
  size_t lx = strlen(x), ly = strlen(y);
  return lx != ly ? (lx < ly) - (lx > ly) : strcmp(x, y);
}

/* kinds = { [600] = "system alarm", ... } */
static int get_kinds(struct loader *ld, lua_State *L) {
  struct dev_traps *t = &ld->m->traps;
  int rc = 0;
  if (lua_type(L, -1) != LUA_TTABLE)
    return map_fail(ld, "traps.kinds must be a table { [N] = \"name\" }");
  for (lua_pushnil(L); rc == 0 && lua_next(L, -2); lua_pop(L, 1)) {
    struct dev_trap_kind *k;
    if (!lua_isinteger(L, -2) || lua_type(L, -1) != LUA_TSTRING)
      rc = map_fail(ld, "traps.kinds: [N] = \"name\"");
    else if (!(k = realloc(t->kinds, (t->nkinds + 1) * sizeof *k)))
      rc = ohm_error_set(ld->e, OHM_ENOMEM, "out of memory");
    else {
      t->kinds = k;
      k[t->nkinds].n = (long)lua_tointeger(L, -2);
      if (!(k[t->nkinds].name = strdup(lua_tostring(L, -1))))
        rc = ohm_error_set(ld->e, OHM_ENOMEM, "out of memory");
      else
        t->nkinds++;
    }
  }
  if (rc) lua_pop(L, 2);
  return rc;
}

/* varbinds = { ["1.3.6...2.2.6"] = "event_id", ... } */
static int get_varbinds(struct loader *ld, lua_State *L) {
  struct dev_traps *t = &ld->m->traps;
  int rc = 0;
  if (lua_type(L, -1) != LUA_TTABLE)
    return map_fail(ld, "traps.varbinds must be a table { [OID] = \"name\" }");
  for (lua_pushnil(L); rc == 0 && lua_next(L, -2); lua_pop(L, 1)) {
    struct dev_trap_vb *v;
    if (lua_type(L, -2) != LUA_TSTRING || lua_type(L, -1) != LUA_TSTRING ||
        lua_rawlen(L, -1) == 0 || lua_rawlen(L, -1) > 47)
      rc = map_fail(ld, "traps.varbinds: [\"OID\"] = \"name\" (1-47 chars)");
    else if (!(v = realloc(t->vbs, (t->nvbs + 1) * sizeof *v)))
      rc = ohm_error_set(ld->e, OHM_ENOMEM, "out of memory");
    else {
      t->vbs = v;
      v[t->nvbs].oid = strdup(lua_tostring(L, -2));
      v[t->nvbs].name = strdup(lua_tostring(L, -1));
      if (!v[t->nvbs].oid || !v[t->nvbs].name) {
        free(v[t->nvbs].oid), free(v[t->nvbs].name);
        rc = ohm_error_set(ld->e, OHM_ENOMEM, "out of memory");
      } else
        t->nvbs++;
    }
  }
  if (rc) lua_pop(L, 2);
  return rc;
}

int map_get_traps(struct loader *ld, lua_State *L) {
  static const char *const keys[] = {"oid", "kinds", "varbinds", NULL};
  int rc = 0;
  const char *k;
  if (lua_type(L, -1) != LUA_TTABLE)
    return map_fail(ld, "traps must be a table { oid = \"...\", kinds = "
                        "{...}, varbinds = {...} }");
  lua_pushnil(L);
  while (rc == 0 && lua_next(L, -2)) {
    if ((rc = map_check_key(ld, L, keys, &k)) == 0)
      rc = k[0] == 'o'   ? map_get_str(ld, L, k, &ld->m->traps.oid)
           : k[0] == 'k' ? get_kinds(ld, L)
                         : get_varbinds(ld, L);
    lua_pop(L, rc ? 2 : 1);
  }
  if (rc == 0 && !ld->m->traps.oid) rc = map_fail(ld, "traps needs an oid");
  if (rc == 0 && ld->m->traps.nkinds)
    qsort(ld->m->traps.kinds, ld->m->traps.nkinds, sizeof *ld->m->traps.kinds,
          kind_cmp);
  if (rc == 0 && ld->m->traps.nvbs)
    qsort(ld->m->traps.vbs, ld->m->traps.nvbs, sizeof *ld->m->traps.vbs,
          vb_cmp);
  return rc;
}

void map_traps_free(struct dev_traps *t) {
  for (size_t i = 0; i < t->nkinds; i++)
    free(t->kinds[i].name);
  for (size_t i = 0; i < t->nvbs; i++)
    free(t->vbs[i].oid), free(t->vbs[i].name);
  free(t->kinds);
  free(t->vbs);
  free(t->oid);
}

int dev_map_trap_number(const struct dev_map *m, const char *oid, long *n) {
  const char *rest;
  char *end;
  if (!m->traps.oid || !dev_oid_prefix(oid, m->traps.oid, &rest)) return 0;
  *n = strtol(rest, &end, 10);
  return end != rest && *end == 0;
}

const char *dev_map_trap_kind(const struct dev_map *m, long n) {
  for (size_t i = 0; i < m->traps.nkinds; i++)
    if (m->traps.kinds[i].n == n) return m->traps.kinds[i].name;
  return NULL;
}

const char *dev_map_trap_varbind(const struct dev_map *m, const char *oid) {
  for (size_t i = 0; i < m->traps.nvbs; i++)
    if (dev_oid_prefix(oid, m->traps.vbs[i].oid, NULL))
      return m->traps.vbs[i].name;
  return NULL;
}
