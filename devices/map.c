/* The one loader for driver maps, built-in and user's alike: run the Lua
 * chunk in a fresh sandbox (base, string, math and table only; no files, no
 * print; bounded memory and instructions, so a random or hostile map cannot
 * hang or exhaust the process) and read the table it returns into a struct
 * dev_map. Every error names the entry and the field at fault. */
#include "map.h"
#include "map_int.h"

#include "frame_map.h"

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAP_MEM_MAX (32u << 20) /* bytes a map chunk may allocate */
#define MAP_STEPS_MAX 20000000L /* VM instructions a map chunk may run */
#define MAP_VARS_MAX 4096

/* Allocator with a ceiling: a chunk's string.rep(s, 1e12) fails cleanly. */
static void *l_alloc(void *ud, void *p, size_t osize, size_t nsize) {
  struct loader *ld = ud;
  if (!p) osize = 0;
  if (nsize == 0) {
    free(p);
    ld->mem -= osize;
    return NULL;
  }
  if (nsize > osize && ld->mem + (nsize - osize) > MAP_MEM_MAX) return NULL;
  void *q = realloc(p, nsize);
  if (q) ld->mem = ld->mem - osize + nsize;
  return q;
}

static void l_hook(lua_State *L, lua_Debug *ar) {
  struct loader *ld;
  (void)ar;
  lua_getallocf(L, (void **)&ld);
  ld->steps += 1000;
  if (ld->steps > MAP_STEPS_MAX)
    luaL_error(L, "runs too long (an endless loop?)");
}

int map_fail(struct loader *ld, const char *fmt, ...) {
  char msg[400];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (ld->where[0])
    return ohm_error_set(ld->e, OHM_ECONFIG, "map %s: %s: %s", ld->name,
                         ld->where, msg);
  return ohm_error_set(ld->e, OHM_ECONFIG, "map %s: %s", ld->name, msg);
}

static char *dup_top(lua_State *L) {
  size_t n;
  const char *s = lua_tolstring(L, -1, &n);
  char *d = malloc(n + 1);
  if (d) {
    memcpy(d, s, n);
    d[n] = 0;
  }
  return d;
}

/* Field key (at -2) is a string naming one of keys[]; else an error. */
int map_check_key(struct loader *ld, lua_State *L, const char *const *keys,
                  const char **key) {
  if (lua_type(L, -2) != LUA_TSTRING)
    return map_fail(ld, "keys must be strings");
  *key = lua_tostring(L, -2);
  for (const char *const *k = keys; *k; k++)
    if (strcmp(*k, *key) == 0) return 0;
  return map_fail(ld, "unknown key '%.40s'", *key);
}

int map_get_str(struct loader *ld, lua_State *L, const char *key, char **out) {
  int t = lua_type(L, -1);
  if (t != LUA_TSTRING && t != LUA_TNUMBER)
    return map_fail(ld, "%s must be a string", key);
  if (t == LUA_TNUMBER) { /* convert a copy, never the table's own value */
    lua_pushvalue(L, -1);
    lua_tostring(L, -1);
  }
  free(*out);
  *out = dup_top(L);
  if (t == LUA_TNUMBER) lua_pop(L, 1);
  return *out ? 0 : ohm_error_set(ld->e, OHM_ENOMEM, "out of memory");
}

static int get_num(struct loader *ld, lua_State *L, const char *key,
                   double *out) {
  if (lua_type(L, -1) != LUA_TNUMBER)
    return map_fail(ld, "%s must be a number", key);
  *out = lua_tonumber(L, -1);
  if (!isfinite(*out)) return map_fail(ld, "%s must be finite", key);
  return 0;
}

int map_get_int(struct loader *ld, lua_State *L, const char *key, long lo,
                long hi, int *out) {
  int isint;
  lua_Integer v = lua_tointegerx(L, -1, &isint);
  if (lua_type(L, -1) != LUA_TNUMBER || !isint)
    return map_fail(ld, "%s must be an integer", key);
  if (v < lo || v > hi)
    return map_fail(ld, "%s %lld out of range %ld..%ld", key, (long long)v, lo,
                    hi);
  *out = (int)v;
  return 0;
}

static int get_bool(struct loader *ld, lua_State *L, const char *key,
                    int *out) {
  if (lua_type(L, -1) != LUA_TBOOLEAN)
    return map_fail(ld, "%s must be true or false", key);
  *out = lua_toboolean(L, -1);
  return 0;
}

static const char *const type_names[] = {
    "u16",  "s16", "u32", "s32",     "float32", "energy8", "string",
    "enum", "u64", "s64", "float64", "bool",    "bits",    NULL};

static int get_type(struct loader *ld, lua_State *L, enum dev_type *t) {
  const char *s = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "";
  for (int i = 0; type_names[i]; i++)
    if (strcmp(type_names[i], s) == 0) {
      *t = (enum dev_type)i;
      return 0;
    }
  return map_fail(ld, "type must be one of u16, s16, u32, s32, u64, s64, "
                      "float32, float64, energy8, string, enum, bool, bits");
}

static int get_choice(struct loader *ld, lua_State *L, const char *key,
                      const char *a, const char *b, int *out) {
  const char *s = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "";
  if (strcmp(s, a) == 0 || strcmp(s, b) == 0) {
    *out = strcmp(s, b) == 0;
    return 0;
  }
  return map_fail(ld, "%s must be \"%s\" or \"%s\"", key, a, b);
}

/* enum = { [1] = "open", [2] = "closed" } */
static int get_enum(struct loader *ld, lua_State *L, struct dev_var *v) {
  int rc = 0;
  if (lua_type(L, -1) != LUA_TTABLE)
    return map_fail(ld, "enum must be a table of code = \"state\"");
  lua_pushnil(L);
  while (rc == 0 && lua_next(L, -2)) {
    int isint;
    lua_Integer k = lua_tointegerx(L, -2, &isint);
    struct dev_enum *n;
    if (lua_type(L, -2) != LUA_TNUMBER || !isint || k < -32768 || k > 65535)
      rc = map_fail(ld, "enum keys must be register values (integers)");
    else if (lua_type(L, -1) != LUA_TSTRING)
      rc = map_fail(ld, "enum[%lld] must be a string", (long long)k);
    else if (!(n = realloc(v->enums, (v->nenums + 1) * sizeof *n)))
      rc = ohm_error_set(ld->e, OHM_ENOMEM, "out of memory");
    else {
      v->enums = n;
      n[v->nenums].raw = (int)k;
      n[v->nenums].text = dup_top(L);
      if (!n[v->nenums++].text)
        rc = ohm_error_set(ld->e, OHM_ENOMEM, "out of memory");
    }
    lua_pop(L, 1);
  }
  if (rc) lua_pop(L, 1); /* the key lua_next left */
  return rc;
}

/* One sentinel: an integer, or a hex string ("0xFFFFFFFFFFFFFFFF") for
 * values Lua's integers cannot hold. */
static int get_sentinel(struct loader *ld, lua_State *L, uint64_t *out) {
  int isint;
  lua_Integer k = lua_tointegerx(L, -1, &isint);
  const char *s;
  char *end;
  if (lua_type(L, -1) == LUA_TNUMBER && isint) {
    *out = (uint64_t)k;
    return 0;
  }
  if (lua_type(L, -1) != LUA_TSTRING)
    return map_fail(ld, "invalid must hold integers or hex strings");
  s = lua_tostring(L, -1);
  errno = 0;
  *out = strtoull(s, &end, 16);
  if (strncmp(s, "0x", 2) != 0 || end == s + 2 || *end || errno)
    return map_fail(ld, "invalid: '%.40s' is not a hex number (0x...)", s);
  return 0;
}

/* invalid = { 0xFFFF, "0xFFFFFFFFFFFFFFFF" } */
static int get_invalid(struct loader *ld, lua_State *L, struct dev_var *v) {
  size_t n;
  if (lua_type(L, -1) != LUA_TTABLE)
    return map_fail(ld, "invalid must be a list of raw values");
  n = lua_rawlen(L, -1);
  if (n < 1 || n > 16) return map_fail(ld, "invalid must hold 1..16 values");
  free(v->invalid);
  if (!(v->invalid = calloc(n, sizeof *v->invalid)))
    return ohm_error_set(ld->e, OHM_ENOMEM, "out of memory");
  v->ninvalid = n;
  for (size_t i = 0; i < n; i++) {
    int rc;
    lua_rawgeti(L, -1, (lua_Integer)i + 1);
    rc = get_sentinel(ld, L, &v->invalid[i]);
    lua_pop(L, 1);
    if (rc) return rc;
  }
  return 0;
}

static const char *const accept_names[] = {
    "integer",   "gauge32", "counter32", "counter64",
    "timeticks", "string",  NULL};

/* accept = { "integer", "string" }: SNMP types this var takes. */
static int get_accept(struct loader *ld, lua_State *L, struct dev_var *v) {
  size_t n;
  if (lua_type(L, -1) != LUA_TTABLE || (n = lua_rawlen(L, -1)) < 1)
    return map_fail(ld, "accept must be a list of SNMP types");
  v->accept = 0;
  for (size_t i = 1; i <= n; i++) {
    const char *t;
    size_t k;
    lua_rawgeti(L, -1, (lua_Integer)i);
    t = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "";
    for (k = 0; accept_names[k] && strcmp(accept_names[k], t); k++)
      ;
    lua_pop(L, 1);
    if (!accept_names[k])
      return map_fail(ld,
                      "accept: '%.40s' is not one of integer, gauge32, "
                      "counter32, counter64, timeticks, string",
                      t);
    v->accept |= 1u << k;
  }
  return 0;
}

static const char *const var_keys[] = {
    "name",  "type", "scale",   "unit",       "desc",   "access",        "min",
    "max",   "reg",  "words",   "word_order", "oid",    "oid_scale",     "menu",
    "text",  "enum", "invalid", "accept",     "table",  "write",         "bits",
    "frame", "bit",  "index",   "entry",      "column", "index_columns", NULL};

/* The frame location keys (devices/frame_map.h): 1 if k is none of them. */
static int frame_var_field(struct loader *ld, lua_State *L, const char *k,
                           struct dev_var *v) {
  if (strcmp(k, "frame") == 0) return map_get_str(ld, L, k, &v->frame);
  if (strcmp(k, "bit") == 0) return map_get_int(ld, L, k, 0, 31, &v->bit);
  if (strcmp(k, "index") != 0) return 1;
  if (lua_type(L, -1) != LUA_TTABLE)
    return map_fail(ld, "index must be a list");
  for (v->nindex = 0; v->nindex < 4; v->nindex++) {
    int isint, t = lua_rawgeti(L, -1, v->nindex + 1);
    v->index[v->nindex] = (int)lua_tointegerx(L, -1, &isint);
    lua_pop(L, 1);
    if (t == LUA_TNIL) break;
    if (!isint) return map_fail(ld, "index must hold integers");
  }
  return 0;
}

/* One field of a var (key at -2, value at -1). */
static int var_field(struct loader *ld, lua_State *L, struct dev_var *v,
                     int *has_type, int *words) {
  const char *k;
  int rc = map_check_key(ld, L, var_keys, &k);
  if (rc || (rc = frame_var_field(ld, L, k, v)) != 1 ||
      (rc = map_get_table_key(ld, L, k, v)) != 1)
    return rc;
  switch (k[0]) {
  case 'n':
    return map_get_str(ld, L, k, &v->name);
  case 'u':
    return map_get_str(ld, L, k, &v->unit);
  case 'd':
    return map_get_str(ld, L, k, &v->desc);
  case 'o':
    if (strcmp(k, "oid") == 0) return map_get_str(ld, L, k, &v->oid);
    return get_num(ld, L, k, &v->oid_scale);
  case 'm':
    if (strcmp(k, "menu") == 0) return map_get_str(ld, L, k, &v->menu);
    if (strcmp(k, "min") == 0)
      return v->has_min = 1, get_num(ld, L, k, &v->min);
    return v->has_max = 1, get_num(ld, L, k, &v->max);
  case 't':
    if (strcmp(k, "text") == 0) return map_get_str(ld, L, k, &v->text);
    if (strcmp(k, "table") == 0) return map_get_modbus_key(ld, L, k, v);
    return *has_type = 1, get_type(ld, L, &v->type);
  case 's':
    return get_num(ld, L, k, &v->scale);
  case 'i':
    return get_invalid(ld, L, v);
  case 'a': {
    int rw = 0;
    if (strcmp(k, "accept") == 0) return get_accept(ld, L, v);
    rc = get_choice(ld, L, k, "ro", "rw", &rw);
    v->access = rw ? DA_RW : DA_RO;
    return rc;
  }
  case 'r':
    return map_get_int(ld, L, k, 0, 65535, &v->reg);
  case 'w':
    if (strcmp(k, "words") == 0) return map_get_int(ld, L, k, 1, 125, words);
    if (strcmp(k, "write") == 0) return map_get_modbus_key(ld, L, k, v);
    return map_get_order(ld, L, v);
  case 'e':
    return get_enum(ld, L, v);
  case 'b': /* bits = { [0] = "overload", ... }: flags named by bit */
    v->is_bits = 1;
    return get_enum(ld, L, v);
  }
  return map_fail(ld, "unknown key '%s'", k);
}

static int type_words(enum dev_type t) {
  switch (t) {
  case DT_U32:
  case DT_S32:
  case DT_FLOAT32:
    return 2;
  case DT_ENERGY8:
  case DT_U64:
  case DT_S64:
  case DT_FLOAT64:
    return 4;
  default:
    return 1;
  }
}

/* Defaults and consistency once every field of a var is read. */
static int var_finish(struct loader *ld, struct dev_var *v, int has_type,
                      int words) {
  int rc;
  if (!has_type) v->type = v->enums ? DT_ENUM : v->text ? DT_STRING : DT_U16;
  if (!v->unit && !(v->unit = strdup("")))
    return ohm_error_set(ld->e, OHM_ENOMEM, "out of memory");
  if (!v->desc && !(v->desc = strdup("")))
    return ohm_error_set(ld->e, OHM_ENOMEM, "out of memory");
  if (v->type == DT_ENUM && !v->enums)
    return map_fail(ld, "type enum needs an enum table");
  if ((rc = map_var_modbus(ld, v, has_type, &words)) < 0 ||
      (rc = map_var_table(ld, v)) < 0)
    return rc;
  if (v->scale == 0) return map_fail(ld, "scale must not be 0");
  if (v->reg < 0 && !v->oid && !v->menu && !v->text && !v->frame)
    return map_fail(ld, "needs reg, oid, menu, frame or text");
  if (v->text && v->access == DA_RW)
    return map_fail(ld, "a fixed text cannot be rw");
  if (v->invalid && (v->text || v->type == DT_STRING))
    return map_fail(ld, "invalid is for numbers and states, not text");
  if (v->has_min && v->has_max && v->min > v->max)
    return map_fail(ld, "min is above max");
  if (v->type == DT_STRING && v->reg >= 0 && !v->text && !words)
    return map_fail(ld, "a string register needs words");
  if (v->type == DT_BITS && words == 2) {
  } else if (words && v->type != DT_STRING && words != type_words(v->type))
    return map_fail(ld, "words must be %d for this type", type_words(v->type));
  v->nwords = v->text ? 0 : words ? words : type_words(v->type);
  if (v->nwords > ld->m->max_read)
    return map_fail(ld, "%d words exceed max_read %d", v->nwords,
                    ld->m->max_read);
  if (v->reg >= 0 && v->reg + v->nwords > 65536)
    return map_fail(ld, "registers run past 65535");
  return 0;
}

static int read_var(struct loader *ld, lua_State *L, size_t i) {
  struct dev_var *v = &ld->m->vars[i];
  int has_type = 0, words = 0, rc = 0;
  v->reg = -1;
  v->bit = -1;
  v->scale = 1;
  snprintf(ld->where, sizeof ld->where, "vars[%zu]", i + 1);
  if (lua_type(L, -1) != LUA_TTABLE) return map_fail(ld, "must be a table");
  lua_getfield(L, -1, "name"); /* raw enough: a plain table has no meta */
  if (lua_type(L, -1) == LUA_TSTRING)
    snprintf(ld->where, sizeof ld->where, "vars[%zu] (%.100s)", i + 1,
             lua_tostring(L, -1));
  lua_pop(L, 1);
  lua_pushnil(L);
  while (rc == 0 && lua_next(L, -2)) {
    rc = var_field(ld, L, v, &has_type, &words);
    lua_pop(L, rc ? 2 : 1);
  }
  if (rc) return rc;
  if (!v->name) return map_fail(ld, "name missing");
  if (!v->name[0] || strlen(v->name) > 100)
    return map_fail(ld, "name must be 1..100 characters");
  return var_finish(ld, v, has_type, words);
}

static int read_array(struct loader *ld, lua_State *L, const char *what,
                      size_t *n) {
  if (lua_type(L, -1) != LUA_TTABLE)
    return map_fail(ld, "%s must be a table (array)", what);
  lua_Unsigned len = lua_rawlen(L, -1);
  if (len > MAP_VARS_MAX)
    return map_fail(ld, "too many %s (%llu)", what, (unsigned long long)len);
  /* no holes, no other keys: a typo'd key would be silently ignored */
  size_t count = 0;
  lua_pushnil(L);
  while (lua_next(L, -2)) {
    count++;
    lua_pop(L, 1);
  }
  if (count != len)
    return map_fail(ld, "%s must be an array without holes", what);
  *n = len;
  return 0;
}

static int read_vars(struct loader *ld, lua_State *L) {
  size_t n;
  char msg[200];
  int rc;
  if (lua_type(L, -1) == LUA_TTABLE &&
      dev_map_expand_each(L, MAP_VARS_MAX, msg, sizeof msg) < 0)
    return map_fail(ld, "%s", msg);
  rc = read_array(ld, L, "vars", &n);
  if (rc) return rc;
  if (!(ld->m->vars = calloc(n ? n : 1, sizeof *ld->m->vars)))
    return ohm_error_set(ld->e, OHM_ENOMEM, "out of memory");
  for (size_t i = 0; i < n && rc == 0; i++) {
    lua_rawgeti(L, -1, (lua_Integer)i + 1);
    ld->m->nvars = i + 1;
    rc = read_var(ld, L, i);
    lua_pop(L, 1);
  }
  ld->where[0] = 0;
  return rc;
}

static const char *const cmd_keys[] = {"name",  "desc", "dangerous", "reg",
                                       "value", "via",  "cid2",      "data",
                                       "oid",   "wait", NULL};

static int cmd_field(struct loader *ld, lua_State *L, struct dev_cmd *c) {
  const char *k;
  int rc = map_check_key(ld, L, cmd_keys, &k);
  if (rc || (rc = map_get_cmd_key(ld, L, k, c)) != 1) return rc;
  if (strcmp(k, "name") == 0) return map_get_str(ld, L, k, &c->name);
  if (strcmp(k, "desc") == 0) return map_get_str(ld, L, k, &c->desc);
  if (strcmp(k, "via") == 0) return map_get_str(ld, L, k, &c->via);
  if (strcmp(k, "data") == 0) return map_get_str(ld, L, k, &c->data);
  if (strcmp(k, "cid2") == 0) return map_get_int(ld, L, k, 1, 255, &c->cid2);
  if (strcmp(k, "dangerous") == 0) return get_bool(ld, L, k, &c->dangerous);
  if (strcmp(k, "reg") == 0) return map_get_int(ld, L, k, 0, 65535, &c->reg);
  return map_get_int(ld, L, k, -32768, 65535, &c->value);
}

static int read_cmd(struct loader *ld, lua_State *L, size_t i) {
  struct dev_cmd *c = &ld->m->cmds[i];
  int rc = 0;
  c->reg = -1;
  snprintf(ld->where, sizeof ld->where, "commands[%zu]", i + 1);
  if (lua_type(L, -1) != LUA_TTABLE) return map_fail(ld, "must be a table");
  lua_getfield(L, -1, "name");
  if (lua_type(L, -1) == LUA_TSTRING)
    snprintf(ld->where, sizeof ld->where, "commands[%zu] (%.100s)", i + 1,
             lua_tostring(L, -1));
  lua_pop(L, 1);
  lua_pushnil(L);
  while (rc == 0 && lua_next(L, -2)) {
    rc = cmd_field(ld, L, c);
    lua_pop(L, rc ? 2 : 1);
  }
  if (rc) return rc;
  if (!c->name || !c->name[0]) return map_fail(ld, "name missing");
  if (!c->desc && !(c->desc = strdup("")))
    return ohm_error_set(ld->e, OHM_ENOMEM, "out of memory");
  if (c->reg < 0 && !c->via && !c->cid2 && !c->oid)
    return map_fail(ld, "needs reg, oid, cid2 or via");
  return 0;
}

static int read_cmds(struct loader *ld, lua_State *L) {
  size_t n;
  int rc = read_array(ld, L, "commands", &n);
  if (rc) return rc;
  if (!(ld->m->cmds = calloc(n ? n : 1, sizeof *ld->m->cmds)))
    return ohm_error_set(ld->e, OHM_ENOMEM, "out of memory");
  for (size_t i = 0; i < n && rc == 0; i++) {
    lua_rawgeti(L, -1, (lua_Integer)i + 1);
    ld->m->ncmds = i + 1;
    rc = read_cmd(ld, L, i);
    lua_pop(L, 1);
  }
  ld->where[0] = 0;
  return rc;
}

static const char *const map_keys[] = {
    "name",         "desc",        "mfr",       "model",    "type",
    "upgrade",      "version_var", "max_read",  "vars",     "commands",
    "max_gap",      "write",       "signature", "oid_unit", "frame",
    "snmp_version", "traps",       "agent",     NULL};

static int map_field(struct loader *ld, lua_State *L, int *seen_vars) {
  struct dev_map *m = ld->m;
  const char *k;
  int rc = map_check_key(ld, L, map_keys, &k);
  if (rc) return rc;
  if (strcmp(k, "name") == 0) return map_get_str(ld, L, k, &m->name);
  if (strcmp(k, "desc") == 0) return map_get_str(ld, L, k, &m->desc);
  if (strcmp(k, "mfr") == 0) return map_get_str(ld, L, k, &m->mfr);
  if (strcmp(k, "model") == 0) return map_get_str(ld, L, k, &m->model);
  if (strcmp(k, "type") == 0) return map_get_str(ld, L, k, &m->type);
  if (strcmp(k, "upgrade") == 0) return map_get_str(ld, L, k, &m->upgrade);
  if (strcmp(k, "version_var") == 0)
    return map_get_str(ld, L, k, &m->version_var);
  if (strcmp(k, "max_read") == 0)
    return map_get_int(ld, L, k, 1, 125, &m->max_read);
  if (strcmp(k, "vars") == 0)
    return *seen_vars = 1, 0; /* after max_read is known */
  if (strcmp(k, "frame") == 0) {
    char msg[200];
    dev_frame_free(m->frame);
    return dev_frame_load(L, &m->frame, msg, sizeof msg) < 0
               ? map_fail(ld, "%s", msg)
               : 0;
  }
  if (strcmp(k, "max_gap") == 0)
    return map_get_int(ld, L, k, 0, 125, &m->max_gap);
  if (strcmp(k, "write") == 0) {
    int w = 0;
    if ((rc = map_get_int(ld, L, k, 6, 16, &w)) == 0 && w != 6 && w != 16)
      return map_fail(ld, "write must be 6 or 16");
    m->write16 = w == 16;
    return rc;
  }
  if (strcmp(k, "signature") == 0) return map_get_signature(ld, L);
  if (strcmp(k, "oid_unit") == 0) return map_get_oid_unit(ld, L);
  if (strcmp(k, "snmp_version") == 0)
    return map_get_str(ld, L, k, &m->snmp_version);
  if (strcmp(k, "traps") == 0) return map_get_traps(ld, L);
  if (strcmp(k, "agent") == 0) return map_get_agent(ld, L);
  return read_cmds(ld, L);
}

static int var_cmp(const void *a, const void *b) {
  return strcmp(((const struct dev_var *)a)->name,
                ((const struct dev_var *)b)->name);
}

/* device.mfr / device.model / device.type from the map's own fields,
 * unless the map lists them as vars itself. */
static int add_fixed(struct loader *ld, const char *name, const char *text,
                     const char *desc) {
  struct dev_map *m = ld->m;
  struct dev_var *v;
  if (!text) return 0;
  for (size_t i = 0; i < m->nvars; i++)
    if (strcmp(m->vars[i].name, name) == 0) return 0;
  if (!(v = realloc(m->vars, (m->nvars + 1) * sizeof *v)))
    return ohm_error_set(ld->e, OHM_ENOMEM, "out of memory");
  m->vars = v;
  v = &m->vars[m->nvars++];
  memset(v, 0, sizeof *v);
  v->reg = -1;
  v->scale = 1;
  v->type = DT_STRING;
  v->name = strdup(name);
  v->text = strdup(text);
  v->unit = strdup("");
  v->desc = strdup(desc);
  if (!v->name || !v->text || !v->unit || !v->desc)
    return ohm_error_set(ld->e, OHM_ENOMEM, "out of memory");
  return 0;
}

static int finish_map(struct loader *ld) {
  struct dev_map *m = ld->m;
  int rc;
  if ((rc = add_fixed(ld, "device.mfr", m->mfr, "manufacturer")) ||
      (rc = add_fixed(ld, "device.model", m->model, "model")) ||
      (rc = add_fixed(ld, "device.type", m->type, "device type")))
    return rc;
  qsort(m->vars, m->nvars, sizeof *m->vars, var_cmp);
  for (size_t i = 1; i < m->nvars; i++)
    if (strcmp(m->vars[i - 1].name, m->vars[i].name) == 0)
      return map_fail(ld, "duplicate var '%s'", m->vars[i].name);
  for (size_t i = 0; i < m->ncmds; i++)
    for (size_t j = 0; j < i; j++)
      if (strcmp(m->cmds[i].name, m->cmds[j].name) == 0)
        return map_fail(ld, "duplicate command '%s'", m->cmds[i].name);
  /* tables are walked as given, not per unit of an oid_unit chain */
  for (size_t i = 0; m->oid_unit_max && i < m->nvars; i++)
    if (m->vars[i].entry)
      return map_fail(ld,
                      "'%s': SNMP tables (entry) and oid_unit exclude "
                      "each other",
                      m->vars[i].name);
  if (m->version_var && !dev_map_var(m, m->version_var))
    return map_fail(ld, "version_var '%s' is not a var", m->version_var);
  if (!m->desc && !(m->desc = strdup("")))
    return ohm_error_set(ld->e, OHM_ENOMEM, "out of memory");
  for (size_t i = 0; i < m->nvars; i++)
    m->vars[i].write16 |= m->write16;
  m->nblocks = dev_map_blocks(m, NULL, 0);
  if (!(m->blocks = calloc(m->nblocks ? m->nblocks : 1, sizeof *m->blocks)))
    return ohm_error_set(ld->e, OHM_ENOMEM, "out of memory");
  dev_map_blocks(m, m->blocks, m->nblocks);
  return 0;
}

/* Runs under lua_pcall, so a memory error inside the Lua API unwinds here
 * and the caller frees what was built. Result code in the loader. */
static int read_map(lua_State *L) {
  struct loader *ld = lua_touserdata(L, 2);
  int rc = 0, seen_vars = 0;
  lua_settop(L, 1);
  if (lua_type(L, 1) != LUA_TTABLE)
    rc = map_fail(ld, "the chunk must return a table");
  lua_pushnil(L);
  while (rc == 0 && lua_next(L, 1)) {
    rc = map_field(ld, L, &seen_vars);
    lua_pop(L, rc ? 2 : 1);
  }
  if (rc == 0 && !ld->m->name && !(ld->m->name = strdup(ld->name)))
    rc = ohm_error_set(ld->e, OHM_ENOMEM, "out of memory");
  if (rc == 0 && !seen_vars) rc = map_fail(ld, "vars missing");
  if (rc == 0) {
    lua_getfield(L, 1, "vars");
    rc = read_vars(ld, L);
  }
  if (rc == 0) rc = finish_map(ld);
  lua_pushinteger(L, rc);
  return 1;
}

static void sandbox(lua_State *L) {
  static const luaL_Reg libs[] = {{LUA_GNAME, luaopen_base},
                                  {LUA_STRLIBNAME, luaopen_string},
                                  {LUA_MATHLIBNAME, luaopen_math},
                                  {LUA_TABLIBNAME, luaopen_table},
                                  {NULL, NULL}};
  static const char *const drop[] = {
      "dofile", "loadfile", "load", "print", "require", "collectgarbage", NULL};
  for (const luaL_Reg *l = libs; l->func; l++) {
    luaL_requiref(L, l->name, l->func, 1);
    lua_pop(L, 1);
  }
  for (const char *const *d = drop; *d; d++) {
    lua_pushnil(L);
    lua_setglobal(L, *d);
  }
}

/* Protected part of the set-up: library opening can fail on memory. */
static int run_chunk(lua_State *L) {
  const char *src = lua_touserdata(L, 1);
  size_t len = (size_t)lua_tointeger(L, 2);
  const char *name = lua_tostring(L, 3);
  sandbox(L);
  if (luaL_loadbufferx(L, src, len, name, "t") != LUA_OK) return lua_error(L);
  lua_call(L, 0, 1);
  return 1;
}

static int load_in(lua_State *L, struct loader *ld, const char *src,
                   size_t len) {
  char chunk[128];
  snprintf(chunk, sizeof chunk, "=map %s", ld->name);
  lua_sethook(L, l_hook, LUA_MASKCOUNT, 1000);
  lua_pushcfunction(L, run_chunk);
  lua_pushlightuserdata(L, (void *)src);
  lua_pushinteger(L, (lua_Integer)len);
  lua_pushstring(L, chunk);
  if (lua_pcall(L, 3, 1, 0) != LUA_OK) {
    const char *msg = lua_tostring(L, -1);
    if (msg && strncmp(msg, chunk + 1, strlen(chunk + 1)) == 0)
      return ohm_error_set(ld->e, OHM_ECONFIG, "%s", msg); /* has line */
    return map_fail(ld, "%s",
                    msg ? msg : "failed to load (error is no string)");
  }
  lua_pushcfunction(L, read_map);
  lua_insert(L, -2);
  lua_pushlightuserdata(L, ld);
  if (lua_pcall(L, 2, 1, 0) != LUA_OK)
    return map_fail(
        ld, "%s", lua_tostring(L, -1) ? lua_tostring(L, -1) : "out of memory");
  return (int)lua_tointeger(L, -1);
}

int dev_map_load(const char *src, size_t len, const char *name,
                 struct dev_map **out, struct ohm_error *e) {
  struct loader ld = {.name = name ? name : "?", .e = e};
  lua_State *L;
  int rc;
  *out = NULL;
  if (!(ld.m = calloc(1, sizeof *ld.m)))
    return ohm_error_set(e, OHM_ENOMEM, "out of memory");
  ld.m->max_read = 125;
  ld.m->max_gap = 8;
  if (!(L = lua_newstate(l_alloc, &ld))) {
    free(ld.m);
    return ohm_error_set(e, OHM_ENOMEM, "out of memory");
  }
  rc = load_in(L, &ld, src, len);
  lua_close(L);
  if (rc < 0) {
    dev_map_free(ld.m);
    return rc;
  }
  *out = ld.m;
  return 0;
}

static void var_free(struct dev_var *v) {
  free(v->name);
  free(v->unit);
  free(v->desc);
  free(v->oid);
  free(v->menu);
  free(v->text);
  free(v->frame);
  free(v->entry);
  for (size_t i = 0; i < v->nenums; i++)
    free(v->enums[i].text);
  free(v->enums);
  free(v->invalid);
}

void dev_map_free(struct dev_map *m) {
  if (!m) return;
  for (size_t i = 0; i < m->nvars; i++)
    var_free(&m->vars[i]);
  for (size_t i = 0; i < m->ncmds; i++) {
    free(m->cmds[i].name);
    free(m->cmds[i].desc);
    free(m->cmds[i].via);
    free(m->cmds[i].data);
    free(m->cmds[i].oid);
    free(m->cmds[i].wait_var);
    free(m->cmds[i].wait_done);
    free(m->cmds[i].wait_fail);
  }
  dev_frame_free(m->frame);
  map_traps_free(&m->traps);
  map_agent_free(&m->agent);
  free(m->vars);
  free(m->blocks);
  free(m->sig_oid);
  free(m->sig_sysoid);
  free(m->snmp_version);
  free(m->cmds);
  free(m->name);
  free(m->desc);
  free(m->mfr);
  free(m->model);
  free(m->type);
  free(m->upgrade);
  free(m->version_var);
  free(m);
}

/* Binary search: vars are sorted by name once loaded. */
const struct dev_var *dev_map_var(const struct dev_map *m, const char *name) {
  size_t lo = 0, hi = m->nvars;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    int c = strcmp(name, m->vars[mid].name);
    if (c == 0) return &m->vars[mid];
    if (c < 0)
      hi = mid;
    else
      lo = mid + 1;
  }
  return NULL;
}

const struct dev_cmd *dev_map_cmd(const struct dev_map *m, const char *name) {
  for (size_t i = 0; i < m->ncmds; i++)
    if (strcmp(m->cmds[i].name, name) == 0) return &m->cmds[i];
  return NULL;
}
