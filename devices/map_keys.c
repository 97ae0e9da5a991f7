/* The map keys of complete Modbus maps (tables, word orders, writes,
 * bits) and the SNMP signature: the parts of the loader (map.c) that
 * ohm-maps(5) added. */
#include <lauxlib.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "map_int.h"

static const char *const table_names[] = {"holding", "input", "coil",
                                          "discrete", NULL};
static const char *const order_names[] = {"ABCD", "CDAB", "BADC", "DCBA",
                                          "high", "low",  NULL};

/* One of names (index in *out), else "KEY must be one of ...". */
static int map_get_one_of(struct loader *ld, lua_State *L, const char *key,
                          const char *const *names, int *out) {
  const char *s = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "";
  char all[96] = "";
  for (int i = 0; names[i]; i++)
    if (strcmp(names[i], s) == 0) return *out = i, 0;
  for (int i = 0; names[i]; i++)
    snprintf(all + strlen(all), sizeof all - strlen(all), "%s%s", i ? ", " : "",
             names[i]);
  return map_fail(ld, "%s must be one of %s", key, all);
}

/* word_order: "high"/"low" are ABCD/CDAB. */
int map_get_order(struct loader *ld, lua_State *L, struct dev_var *v) {
  int i = 0, rc = map_get_one_of(ld, L, "word_order", order_names, &i);
  v->order = (enum dev_order)(i == 4 ? DO_ABCD : i == 5 ? DO_CDAB : i);
  v->word_swap = v->order == DO_CDAB || v->order == DO_DCBA;
  return rc;
}

/* The Modbus keys of a var: table, write. */
int map_get_modbus_key(struct loader *ld, lua_State *L, const char *k,
                       struct dev_var *v) {
  int i = 0, rc;
  if (strcmp(k, "table") == 0) {
    rc = map_get_one_of(ld, L, k, table_names, &i);
    v->table = (enum dev_table)i;
    return rc;
  }
  int w = 0;
  if ((rc = map_get_int(ld, L, k, 6, 16, &w)) == 0 && w != 6 && w != 16)
    return map_fail(ld, "write must be 6 or 16");
  v->write16 = w == 16;
  return rc;
}

/* The Modbus rules of a var: coils and discrete inputs hold bools (or an
 * enum of 0/1), bits name flags, enums fit integers. */
int map_var_modbus(struct loader *ld, struct dev_var *v, int has_type,
                   int *words) {
  int bit = v->table == DTAB_COIL || v->table == DTAB_DISCRETE;
  if (v->is_bits && has_type && v->type != DT_BITS && v->type != DT_U16 &&
      v->type != DT_U32)
    return map_fail(ld, "bits needs type u16, u32 or bits");
  if (v->is_bits && v->type == DT_U32) *words = 2;
  if (v->is_bits) v->type = DT_BITS;
  if (v->type == DT_BITS && !v->is_bits)
    return map_fail(ld, "type bits needs a bits table");
  if (bit && !has_type) v->type = v->enums ? DT_ENUM : DT_BOOL;
  if (bit && v->type != DT_BOOL && v->type != DT_ENUM)
    return map_fail(ld, "a %s holds bool (or enum)", table_names[v->table]);
  if (v->enums && !v->is_bits && v->type != DT_ENUM &&
      (v->type == DT_STRING || v->type == DT_ENERGY8 || v->type == DT_FLOAT32 ||
       v->type == DT_FLOAT64))
    return map_fail(ld, "enum is for integer, bool and enum types");
  if (v->access == DA_RW &&
      (v->table == DTAB_INPUT || v->table == DTAB_DISCRETE))
    return map_fail(ld, "a%s %s is read-only",
                    v->table == DTAB_INPUT ? "n" : "", table_names[v->table]);
  return 0;
}

/* signature = { oid = "..." [, sysobjectid = "..."] }: what `ohm scan`
 * and `-d auto` probe: the OID answers (and sysObjectID starts so). */
int map_get_signature(struct loader *ld, lua_State *L) {
  static const char *const keys[] = {"oid", "sysobjectid", NULL};
  int rc = 0;
  const char *k;
  if (lua_type(L, -1) != LUA_TTABLE)
    return map_fail(ld, "signature must be a table { oid = \"...\" }");
  lua_pushnil(L);
  while (rc == 0 && lua_next(L, -2)) {
    if ((rc = map_check_key(ld, L, keys, &k)) == 0)
      rc = map_get_str(ld, L, k,
                       k[0] == 'o' ? &ld->m->sig_oid : &ld->m->sig_sysoid);
    lua_pop(L, rc ? 2 : 1);
  }
  if (rc == 0 && !ld->m->sig_oid) rc = map_fail(ld, "signature needs an oid");
  return rc;
}

/* oid_unit = { base = 2, max = 5 }: a chain of units behind one agent, the
 * "%d" of an OID being unit + base for units 0 (master) .. max. */
int map_get_oid_unit(struct loader *ld, lua_State *L) {
  static const char *const keys[] = {"base", "max", NULL};
  int rc = 0;
  const char *k;
  if (lua_type(L, -1) != LUA_TTABLE)
    return map_fail(ld, "oid_unit must be a table { base = N, max = N }");
  lua_pushnil(L);
  while (rc == 0 && lua_next(L, -2)) {
    if ((rc = map_check_key(ld, L, keys, &k)) == 0)
      rc = k[0] == 'b' ? map_get_int(ld, L, k, 0, 100000, &ld->m->oid_unit_base)
                       : map_get_int(ld, L, k, 0, 255, &ld->m->oid_unit_max);
    lua_pop(L, rc ? 2 : 1);
  }
  return rc;
}

/* A dotted numeric OID ("1.3.6.1...", leading dot allowed), arcs only. */
static int oid_text_ok(const char *s) {
  if (*s == '.') s++;
  if (!*s) return 0;
  for (; *s; s++)
    if (!(*s >= '0' && *s <= '9') && !(*s == '.' && s[1] && s[1] != '.'))
      return 0;
  return 1;
}

/* index_columns = { 3, 4 }: the columns holding each group's number. */
static int get_icols(struct loader *ld, lua_State *L, struct dev_var *v) {
  if (lua_type(L, -1) != LUA_TTABLE)
    return map_fail(ld, "index_columns must be a list of column numbers");
  for (v->nicol = 0; v->nicol < 5; v->nicol++) {
    int isint, t = lua_rawgeti(L, -1, v->nicol + 1);
    lua_Integer c = lua_tointegerx(L, -1, &isint);
    lua_pop(L, 1);
    if (t == LUA_TNIL) break;
    if (v->nicol == 4 || !isint || c < 1 || c > 65535)
      return map_fail(ld, "index_columns must hold 1 to 4 column numbers");
    v->icol[v->nicol] = (int)c;
  }
  return 0;
}

int map_get_table_key(struct loader *ld, lua_State *L, const char *k,
                      struct dev_var *v) {
  if (strcmp(k, "entry") == 0) {
    int rc = map_get_str(ld, L, k, &v->entry);
    if (rc == 0 && (!oid_text_ok(v->entry) || strlen(v->entry) > 120))
      return map_fail(ld, "entry must be a numeric OID (120 characters "
                          "at most)");
    return rc;
  }
  if (strcmp(k, "column") == 0)
    return map_get_int(ld, L, k, 1, 65535, &v->column);
  if (strcmp(k, "index_columns") == 0) return get_icols(ld, L, v);
  return 1;
}

/* An SNMP table var: entry, column and one index column per group of
 * `each` (its instance's numbers); oid becomes "entry.column". */
int map_var_table(struct loader *ld, struct dev_var *v) {
  size_t n;
  if (!v->entry && !v->column && !v->nicol) return 0;
  if (!v->entry || !v->column || !v->nicol)
    return map_fail(ld, "an SNMP table var needs entry, column and "
                        "index_columns");
  if (v->oid) return map_fail(ld, "entry and oid exclude each other");
  if (v->nicol != v->nindex)
    return map_fail(ld,
                    "index_columns needs one column per group of each "
                    "(%d, each has %d)",
                    v->nicol, v->nindex);
  if (v->type == DT_STRING && v->text)
    return map_fail(ld, "a table var cannot be a fixed text");
  /* a SET would need the row's index, which only a walk gives: until
   * ohm resolves it, a table var is read-only (else every block's write
   * would go to the column's OID) */
  if (v->access == DA_RW) return map_fail(ld, "a table var is read-only");
  for (int k = 0; k < v->nicol; k++)
    if (v->icol[k] == v->column)
      return map_fail(ld, "column %d is an index column", v->column);
  n = strlen(v->entry) + 16;
  if (!(v->oid = malloc(n)))
    return ohm_error_set(ld->e, OHM_ENOMEM, "out of memory");
  snprintf(v->oid, n, "%s.%d", v->entry, v->column);
  return 0;
}

/* wait = { var = NAME, done = STATE, fail = STATE }. */
static int get_wait(struct loader *ld, lua_State *L, struct dev_cmd *c) {
  static const char *const keys[] = {"var", "done", "fail", NULL};
  int rc = 0;
  if (lua_type(L, -1) != LUA_TTABLE)
    return map_fail(ld, "wait must be a table { var, done, fail }");
  lua_pushnil(L);
  while (rc == 0 && lua_next(L, -2)) {
    const char *k;
    rc = map_check_key(ld, L, keys, &k);
    if (rc == 0)
      rc = map_get_str(ld, L, k,
                       k[0] == 'v'   ? &c->wait_var
                       : k[0] == 'd' ? &c->wait_done
                                     : &c->wait_fail);
    lua_pop(L, rc ? 2 : 1);
  }
  if (rc == 0 && (!c->wait_var || !c->wait_done))
    rc = map_fail(ld, "wait needs var and done");
  return rc;
}

int map_get_cmd_key(struct loader *ld, lua_State *L, const char *k,
                    struct dev_cmd *c) {
  if (strcmp(k, "oid") == 0) {
    int rc = map_get_str(ld, L, k, &c->oid);
    if (rc == 0 && !oid_text_ok(c->oid))
      return map_fail(ld, "oid must be a numeric OID");
    return rc;
  }
  if (strcmp(k, "wait") == 0) return get_wait(ld, L, c);
  return 1;
}
