/* Driver maps as SNMP objects (see snmp_map.h). */
#include "snmp_map.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int sa_oid_parse(const char *text, int chain, unsigned long *arcs,
                 size_t *len) {
  const char *p = text;
  *len = 0;
  if (*p == '.') p++;
  while (*p) {
    char *end;
    unsigned long v;
    if (*len >= SA_OID_MAX) return -1;
    if (p[0] == '%' && p[1] == 'd') {
      v = (unsigned long)chain, end = (char *)p + 2;
    } else {
      v = strtoul(p, &end, 10);
      if (end == p) return -1;
    }
    arcs[(*len)++] = v;
    p = end;
    if (*p == '.')
      p++;
    else if (*p)
      return -1;
  }
  return *len >= 2 ? 0 : -1;
}

static int obj_cmp(const void *a, const void *b) {
  const struct sa_obj *x = a, *y = b;
  for (size_t i = 0; i < x->len && i < y->len; i++)
    if (x->oid[i] != y->oid[i]) return x->oid[i] < y->oid[i] ? -1 : 1;
  return (x->len > y->len) - (x->len < y->len);
}

static const struct dev_value *value_of(const struct dev_map *dm,
                                        const struct dev_value *vals,
                                        const char *name) {
  const struct dev_var *v = dev_map_var(dm, name);
  if (!v) return NULL;
  const struct dev_value *x = &vals[v - dm->vars];
  return x->kind == DV_NUM || x->kind == DV_STR ? x : NULL;
}

/* Whether the word w is one of the space-separated flags of s. */
static int has_flag(const char *s, const char *w) {
  size_t n = strlen(w);
  for (const char *p = s; (p = strstr(p, w)); p += n)
    if ((p == s || p[-1] == ' ') && (p[n] == ' ' || !p[n])) return 1;
  return 0;
}

static int enum_code(const struct dev_var *tv, const char *text, long *raw) {
  for (size_t i = 0; i < tv->nenums; i++)
    if (!strcmp(tv->enums[i].text, text)) return *raw = tv->enums[i].raw, 0;
  return -1;
}

/* The state of enum tv whose text's words the value text holds, the
 * most words winning (the first on a tie): a status of flags ("OB LB")
 * as the enum of one of them (upsOutputSource battery); -1 if none. */
static int enum_flags(const struct dev_var *tv, const char *text, long *raw) {
  int best = -1;
  for (size_t i = 0; i < tv->nenums; i++) {
    char words[128], *save = NULL, *w;
    int n = 0, all = 1;
    snprintf(words, sizeof words, "%s", tv->enums[i].text);
    for (w = strtok_r(words, " ", &save); w && all;
         w = strtok_r(NULL, " ", &save))
      all = has_flag(text, w), n++;
    if (all && n > best) best = n, *raw = tv->enums[i].raw;
  }
  return best >= 0 ? 0 : -1;
}

/* One object for target var tv from value x (of device var dv); 0 if
 * made, -1 if the value cannot be said there. */
static int encode(const struct dev_map *tm, const struct dev_var *tv,
                  const struct dev_var *dv, const struct dev_value *x,
                  struct sa_obj *o) {
  if (tv->type == DT_ENUM) {
    if (x->kind == DV_STR)
      return enum_code(tv, x->str, &o->num) == 0
                 ? 0
                 : enum_flags(tv, x->str, &o->num);
    o->num = lround(x->num);
    return 0;
  }
  if (tv->type == DT_STRING || x->kind == DV_STR) {
    if (x->kind != DV_STR) return -1;
    o->type = SA_STR;
    snprintf(o->str, sizeof o->str, "%s", x->str);
    return 0;
  }
  if (!tm->agent.integers) { /* BKT agents send decimal text in the unit */
    o->type = SA_STR;
    dev_value_format(dv, x, o->str, sizeof o->str);
    return 0;
  }
  double scale = tv->oid_scale != 0 ? tv->oid_scale : tv->scale;
  o->num = lround(x->num / (scale != 0 ? scale : 1));
  if (dev_map_agent_gauge(tm, tv->name)) o->type = SA_GAUGE;
  /* the type the map's readers take (bmFuncEqualElapsed: TimeTicks) */
  if (tv->accept == DEV_ACCEPT_TIMETICKS) o->type = SA_TICKS;
  if (tv->accept == DEV_ACCEPT_GAUGE32) o->type = SA_GAUGE;
  return 0;
}

static int push(struct sa_obj **tab, size_t *n, size_t *cap,
                const struct sa_obj *o) {
  if (*n == *cap) {
    size_t nc = *cap ? *cap * 2 : 64;
    struct sa_obj *t = realloc(*tab, nc * sizeof *t);
    if (!t) return OHM_ENOMEM;
    *tab = t, *cap = nc;
  }
  (*tab)[(*n)++] = *o;
  return 0;
}

/* Add o unless the table has its OID already (one object an OID: the
 * ups-mib map names line 1 both as input.voltage and input.L1-N.voltage,
 * and the line counts may come from the map or from its agent.fixed). */
static int add(struct sa_obj **tab, size_t *n, size_t *cap,
               const struct sa_obj *o) {
  for (size_t i = 0; i < *n; i++)
    if ((*tab)[i].len == o->len &&
        !memcmp((*tab)[i].oid, o->oid, o->len * sizeof o->oid[0]))
      return 0;
  return push(tab, n, cap, o);
}

/* A table row's index numbers (string, block ...), unused ones 0. */
struct row {
  int idx[4];
};

static int row_cmp(const void *a, const void *b) {
  const struct row *x = a, *y = b;
  for (int k = 0; k < 4; k++)
    if (x->idx[k] != y->idx[k]) return x->idx[k] < y->idx[k] ? -1 : 1;
  return 0;
}

static struct row row_of(const struct dev_var *tv) {
  struct row r = {{0}};
  for (int k = 0; k < tv->nindex && k < tv->nicol && k < 4; k++)
    r.idx[k] = tv->index[k];
  return r;
}

/* The value of table var tv the device has, else NULL. */
static const struct dev_value *table_value(const struct dev_var *tv,
                                           const struct dev_map *dm,
                                           const struct dev_value *vals) {
  return tv->entry && tv->oid && dev_map_var(dm, tv->name)
             ? value_of(dm, vals, tv->name)
             : NULL;
}

/* The rows some table var of tm has a value in, sorted (the map's
 * order of its repeated groups): row i is probe index i + 1. */
static int table_rows(const struct dev_map *tm, const struct dev_map *dm,
                      const struct dev_value *vals, struct row **rows,
                      size_t *nr) {
  size_t cap = 0;
  *rows = NULL, *nr = 0;
  for (size_t i = 0; i < tm->nvars; i++) {
    struct row r = row_of(&tm->vars[i]);
    if (!table_value(&tm->vars[i], dm, vals) ||
        (*nr && bsearch(&r, *rows, *nr, sizeof r, row_cmp)))
      continue;
    if (*nr == cap) {
      struct row *t = realloc(*rows, (cap = cap ? cap * 2 : 64) * sizeof *t);
      if (!t) return OHM_ENOMEM;
      *rows = t;
    }
    size_t k = (*nr)++; /* insert in order */
    for (; k > 0 && row_cmp(&(*rows)[k - 1], &r) > 0; k--)
      (*rows)[k] = (*rows)[k - 1];
    (*rows)[k] = r;
  }
  return 0;
}

/* One table var's object at row, and its row's index columns. */
static int table_obj(const struct dev_map *tm, size_t i,
                     const struct dev_var *dv, const struct dev_value *x,
                     unsigned long row, struct sa_obj **tab, size_t *n,
                     size_t *cap) {
  const struct dev_var *tv = &tm->vars[i];
  struct sa_obj o;
  int rc;
  memset(&o, 0, sizeof o);
  o.var = (int)i;
  o.writable = tv->access == DA_RW && dv->access == DA_RW;
  if (sa_oid_parse(tv->oid, 2, o.oid, &o.len) < 0 || o.len >= SA_OID_MAX ||
      (o.oid[o.len++] = row, encode(tm, tv, dv, x, &o) < 0))
    return 0;
  if ((rc = push(tab, n, cap, &o)) < 0) return rc;
  for (int k = 0; k < tv->nicol && k < tv->nindex && rc == 0; k++) {
    memset(&o, 0, sizeof o);
    o.var = -1, o.num = tv->index[k];
    if (sa_oid_parse(tv->entry, 2, o.oid, &o.len) < 0 || o.len + 2 > SA_OID_MAX)
      return 0;
    o.oid[o.len++] = (unsigned long)tv->icol[k];
    o.oid[o.len++] = row;
    rc = push(tab, n, cap, &o);
  }
  return rc;
}

/* tm's table vars (`entry`) under their table OIDs: the rows in the
 * map's order, the probe index numbering them from 1, each row's index
 * columns holding its numbers, so a client joining on them reads the
 * device's blocks back. Index columns come once a table var: sa_map_objects
 * drops the repeats once sorted. */
static int table_objects(const struct dev_map *tm, const struct dev_map *dm,
                         const struct dev_value *vals, struct sa_obj **tab,
                         size_t *n, size_t *cap) {
  struct row *rows, *r;
  size_t nr;
  int rc = table_rows(tm, dm, vals, &rows, &nr);
  for (size_t i = 0; i < tm->nvars && rc == 0 && nr; i++) {
    const struct dev_var *tv = &tm->vars[i];
    const struct dev_value *x = table_value(tv, dm, vals);
    struct row key = row_of(tv);
    if (!x || !(r = bsearch(&key, rows, nr, sizeof key, row_cmp))) continue;
    rc = table_obj(tm, i, dev_map_var(dm, tv->name), x,
                   (unsigned long)(r - rows) + 1, tab, n, cap);
  }
  free(rows);
  return rc;
}

/* Sorted tab without repeated OIDs (the first kept). */
static void drop_repeats(struct sa_obj *tab, size_t *n) {
  size_t k = 0;
  for (size_t i = 0; i < *n; i++)
    if (!k || obj_cmp(&tab[k - 1], &tab[i])) tab[k++] = tab[i];
  *n = k;
}

/* The objects of tm's agent section: its fixed ones (UPS-MIB's line
 * counts and indexes), and its derived var when the device has none
 * (upsBatteryStatus from ups.status's LB). */
static int agent_extras(const struct dev_map *tm, const struct dev_map *dm,
                        const struct dev_value *vals, struct sa_obj **tab,
                        size_t *n, size_t *cap) {
  const struct dev_agent *a = &tm->agent;
  const struct dev_value *from;
  const struct dev_var *tv;
  struct sa_obj o;
  int rc = 0;
  for (size_t i = 0; i < a->nfixed && rc == 0; i++) {
    memset(&o, 0, sizeof o);
    o.num = a->fixed[i].num, o.var = -1;
    if (sa_oid_parse(a->fixed[i].oid, 2, o.oid, &o.len) == 0)
      rc = add(tab, n, cap, &o);
  }
  if (rc || !a->derive_var || !(tv = dev_map_var(tm, a->derive_var)) ||
      !tv->oid || value_of(dm, vals, a->derive_var) ||
      !(from = value_of(dm, vals, a->derive_from)) || from->kind != DV_STR)
    return rc;
  memset(&o, 0, sizeof o);
  o.var = -1;
  if (sa_oid_parse(tv->oid, 2, o.oid, &o.len) < 0 ||
      enum_code(tv,
                has_flag(from->str, a->derive_flag) ? a->derive_on
                                                    : a->derive_off,
                &o.num) < 0)
    return 0;
  return add(tab, n, cap, &o);
}

int sa_map_objects(const struct dev_map *tm, const struct dev_map *dm,
                   const struct dev_value *vals, struct sa_obj **tab,
                   size_t *n) {
  size_t cap = 0;
  int rc = 0;
  *tab = NULL, *n = 0;
  for (size_t i = 0; i < tm->nvars && rc == 0; i++) {
    const struct dev_var *tv = &tm->vars[i], *dv;
    const struct dev_value *x;
    struct sa_obj o;
    if (!tv->oid || tv->entry || !(dv = dev_map_var(dm, tv->name)) ||
        !(x = value_of(dm, vals, tv->name)))
      continue;
    memset(&o, 0, sizeof o);
    o.var = (int)i;
    o.writable = tv->access == DA_RW && dv->access == DA_RW;
    if (sa_oid_parse(tv->oid, 2, o.oid, &o.len) < 0 ||
        encode(tm, tv, dv, x, &o) < 0)
      continue;
    rc = add(tab, n, &cap, &o);
  }
  if (rc == 0) rc = agent_extras(tm, dm, vals, tab, n, &cap);
  if (rc == 0) rc = table_objects(tm, dm, vals, tab, n, &cap);
  if (rc < 0) {
    free(*tab);
    *tab = NULL, *n = 0;
    return rc;
  }
  qsort(*tab, *n, sizeof **tab, obj_cmp);
  drop_repeats(*tab, n);
  return 0;
}

int sa_map_text(const struct dev_map *tm, const struct sa_obj *o,
                const struct sa_obj *v, char *text, size_t n,
                struct ohm_error *e) {
  const struct dev_var *tv =
      o->var >= 0 && (size_t)o->var < tm->nvars ? &tm->vars[o->var] : NULL;
  if (!tv) return ohm_error_set(e, OHM_EINVAL, "not writable");
  if (v->type == SA_STR) {
    snprintf(text, n, "%s", v->str);
    return 0;
  }
  if (tv->type == DT_ENUM) {
    for (size_t i = 0; i < tv->nenums; i++)
      if (tv->enums[i].raw == v->num) {
        snprintf(text, n, "%s", tv->enums[i].text);
        return 0;
      }
    return ohm_error_set(e, OHM_EINVAL, "%s: no state %ld", tv->name, v->num);
  }
  double scale = tv->oid_scale != 0 ? tv->oid_scale : tv->scale;
  snprintf(text, n, "%.10g", (double)v->num * (scale != 0 ? scale : 1));
  return 0;
}

/* The map's OID subtree: the common prefix of its OIDs. */
int sa_map_root(const struct dev_map *m, unsigned long *root, size_t *len) {
  size_t n = 0, k;
  unsigned long a[SA_OID_MAX];
  *len = 0;
  for (size_t i = 0; i < m->nvars; i++) {
    if (!m->vars[i].oid || sa_oid_parse(m->vars[i].oid, 2, a, &k) < 0) continue;
    if (!n++) {
      memcpy(root, a, k * sizeof *a), *len = k - 1;
      continue;
    }
    size_t j = 0;
    while (j < *len && j < k && root[j] == a[j])
      j++;
    *len = j;
  }
  return *len >= 4 ? 0 : -1;
}

const struct dev_map *sa_map_target(const struct dev_map *dm) {
  const struct dev_map *m;
  struct ohm_error e;
  int own = 0;
  for (size_t i = 0; i < dm->nvars; i++)
    own |= dm->vars[i].oid != NULL;
  if (dev_map_agent_serves(dm, dm)) return dm;
  for (const char *const *b = dev_driver_builtin(); *b; b++)
    if (dev_driver_find(*b, &m, &e) == 0 && dev_map_agent_serves(m, dm))
      return m;
  return own ? dm : NULL;
}
