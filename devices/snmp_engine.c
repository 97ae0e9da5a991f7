/* The SNMP engine: a map's vars with `oid=` read in ONE GET PDU per agent
 * (split only when the agent says tooBig). Values arrive as INTEGERs
 * scaled like the registers (oid_scale, else scale) or as decimal text in
 * OCTET STRINGs already in the var's unit (BKT agents); a string where a
 * number belongs is that var's DV_ERR, an object the agent lacks is
 * DV_NONE (left out, never shown as zero). "%d" in an OID is the chain
 * subtree, unit + the map's `oid_unit` base (bps2000v2: master 0 -> 2,
 * slaves 1..5 -> 3..7). */
#include "snmp_engine.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../transports/snmp.h"
#include "engine.h"
#include "snmp_table.h"
#include "../util/lazy_libm.h"

/* v's OID for unit into buf: "%d" becomes unit + the map's oid_unit base
 * (units 0..max); any other '%' is a map error (user maps are data, never
 * a format string). */
static int var_oid(const struct dev_map *m, const struct dev_var *v, int unit,
                   char *buf, size_t n, struct ohm_error *e) {
  char num[16];
  int len;
  const char *p = strstr(v->oid, "%d");
  if (strchr(v->oid, '%') != p || (p && strchr(p + 1, '%')))
    return ohm_error_set(e, OHM_ECONFIG,
                         "%s: bad oid '%s' (only one %%d "
                         "allowed)",
                         v->name, v->oid);
  if (!p) {
    if (strlen(v->oid) >= n)
      return ohm_error_set(e, OHM_ECONFIG, "%s: oid too long", v->name);
    strcpy(buf, v->oid);
    return 0;
  }
  if (unit < 0 || unit > m->oid_unit_max)
    return ohm_error_set(e, OHM_EINVAL,
                         "unit %d out of range (0 master, "
                         "1..%d slaves)",
                         unit, m->oid_unit_max);
  len = snprintf(num, sizeof num, "%d", unit + m->oid_unit_base);
  if ((size_t)(p - v->oid) + strlen(p + 2) + (size_t)len + 1 > n)
    return ohm_error_set(e, OHM_ECONFIG, "%s: oid too long", v->name);
  memcpy(buf, v->oid, (size_t)(p - v->oid)); /* hot in fleet polls */
  memcpy(buf + (p - v->oid), num, (size_t)len);
  strcpy(buf + (p - v->oid) + len, p + 2);
  return 0;
}

static int reads_over_snmp(const struct dev_var *v) {
  return v->oid && !v->text && !v->entry; /* tables: snmp_table.c */
}

static int has_tables(const struct dev_map *m, const unsigned char *want) {
  for (size_t i = 0; i < m->nvars; i++)
    if (m->vars[i].entry && (!want || want[i])) return 1;
  return 0;
}

/* The OIDs of every var read over SNMP: oids[k] for var idx[k]. Caller
 * frees both arrays and the strings. Returns the count or < 0. */
static long collect(const struct dev *d, const unsigned char *want,
                    char ***oids, size_t **idx, struct ohm_error *e) {
  const struct dev_map *m = d->map;
  size_t n = 0;
  char buf[256];
  *oids = calloc(m->nvars + 1, sizeof **oids); /* NULL-terminated */
  *idx = calloc(m->nvars ? m->nvars : 1, sizeof **idx);
  if (!*oids || !*idx) return ohm_error_set(e, OHM_ENOMEM, "out of memory");
  for (size_t i = 0; i < m->nvars; i++) {
    int rc;
    if (!reads_over_snmp(&m->vars[i]) || (want && !want[i])) continue;
    if ((rc = var_oid(m, &m->vars[i], d->unit, buf, sizeof buf, e)) < 0)
      return rc;
    if (!((*oids)[n] = strdup(buf)))
      return ohm_error_set(e, OHM_ENOMEM, "out of memory");
    (*idx)[n++] = i;
  }
  return (long)n;
}

static void free_oids(char **oids, size_t *idx) {
  for (size_t k = 0; oids && oids[k]; k++)
    free(oids[k]);
  free(oids);
  free(idx);
}

static void set_err(struct dev_value *out, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void set_err(struct dev_value *out, int code, const char *fmt, ...) {
  va_list ap;
  out->kind = DV_ERR;
  out->err = code;
  out->num = 0;
  va_start(ap, fmt);
  vsnprintf(out->str, sizeof out->str, fmt, ap);
  va_end(ap);
}

/* An enum's state from its raw code, as the register decoder says it. */
static void enum_value(const struct dev_var *v, double raw,
                       struct dev_value *out) {
  uint16_t r = raw >= 0 && raw <= 65535 ? (uint16_t)raw : 65535;
  struct ohm_error e;
  if (raw != floor(raw) || raw < 0 || raw > 65535) {
    out->kind = DV_STR;
    snprintf(out->str, sizeof out->str, "unknown state %.0f", raw);
    return;
  }
  switch (dev_decode(v, &r, &out->num, out->str, sizeof out->str, &e)) {
  case DEV_ABSENT:
    memset(out, 0, sizeof *out);
    return;
  case 1:
    out->kind = DV_STR;
    return;
  default:
    out->kind = DV_ERR;
    out->err = OHM_EPROTO;
  }
}

/* Decimal text (OCTET STRING) into out; spaces around it are allowed. */
static void text_value(const struct dev_var *v, const struct tp_snmp_val *s,
                       struct dev_value *out) {
  char shown[48], *end;
  const char *p = s->str;
  double x, lo, hi;
  while (isspace((unsigned char)*p))
    p++;
  errno = 0;
  x = strtod(p, &end);
  while (end != p && isspace((unsigned char)*end))
    end++;
  if (end == p || *end || errno || !isfinite(x) || strlen(s->str) != s->len) {
    snprintf(shown, sizeof shown, "%.40s", s->str);
    for (char *c = shown; *c; c++)
      if (!isprint((unsigned char)*c)) *c = '?';
    set_err(out, OHM_EPROTO,
            "%.60s: agent sent \"%s\" where a number belongs (%s)", v->name,
            shown, s->oid);
    return;
  }
  if (v->type == DT_ENUM) {
    enum_value(v, x, out);
    return;
  }
  if (v->type != DT_ENERGY8 && dev_var_range(v, &lo, &hi) &&
      (x / v->scale < lo - 0.5 || x / v->scale > hi + 0.5)) {
    snprintf(shown, sizeof shown, "%.40s", s->str);
    set_err(out, OHM_ERANGE,
            "%.60s: agent sent \"%s\", out of range for its type (%s)", v->name,
            shown, s->oid);
    return;
  }
  if (v->ninvalid && x / v->scale == ohm_rint(x / v->scale) &&
      fabs(x / v->scale) < 1e18 &&
      dev_var_invalid(v, (uint64_t)(int64_t)ohm_rint(x / v->scale)))
    return; /* a sentinel in text: not available (DV_NONE) */
  out->kind = DV_NUM;
  out->num = x;
}

/* The DEV_ACCEPT_* bit of an agent's type; 0 for types no var takes. */
static unsigned type_bit(enum tp_snmp_type t) {
  switch (t) {
  case TP_SNMP_INTEGER:
    return DEV_ACCEPT_INTEGER;
  case TP_SNMP_UNSIGNED:
    return DEV_ACCEPT_GAUGE32;
  case TP_SNMP_COUNTER32:
    return DEV_ACCEPT_COUNTER32;
  case TP_SNMP_COUNTER64:
    return DEV_ACCEPT_COUNTER64;
  case TP_SNMP_TIMETICKS:
    return DEV_ACCEPT_TIMETICKS;
  case TP_SNMP_STRING:
    return DEV_ACCEPT_STRING;
  default:
    return 0;
  }
}

/* What the map accepts for v: its `accept`, else by the MIB's rule. */
static unsigned accepted(const struct dev_var *v) {
  if (v->accept) return v->accept;
  return v->type == DT_STRING ? DEV_ACCEPT_STRING : DEV_ACCEPT_NUMBERS;
}

/* An INTEGER-family value: checked against the var's type range and
 * sentinels before it is scaled; enums say "unknown state N" as over
 * Modbus. */
static void int_value(const struct dev_var *v, const struct tp_snmp_val *s,
                      struct dev_value *out) {
  int neg = s->type == TP_SNMP_INTEGER && s->i < 0;
  uint64_t bits = s->type == TP_SNMP_INTEGER ? (uint64_t)s->i : s->u;
  double raw = s->type == TP_SNMP_INTEGER ? (double)s->i : (double)s->u;
  double lo, hi;
  char num[32];
  if (neg)
    snprintf(num, sizeof num, "%lld", (long long)s->i);
  else
    snprintf(num, sizeof num, "%llu", (unsigned long long)bits);
  if (v->type == DT_STRING) {
    out->kind = DV_STR;
    snprintf(out->str, sizeof out->str, "%s", num);
  } else if (v->ninvalid && dev_var_invalid(v, bits)) {
    out->kind = DV_NONE;
  } else if (v->type == DT_ENUM) {
    enum_value(v, raw, out);
  } else if (dev_var_range(v, &lo, &hi) &&
             (neg ? raw < lo : bits > (uint64_t)hi)) {
    set_err(out, OHM_ERANGE,
            "%.60s: agent sent %s, out of range for its type (%s)", v->name,
            num, s->oid);
  } else {
    out->kind = DV_NUM;
    out->num = raw * (v->oid_scale != 0 ? v->oid_scale : v->scale);
  }
}

void dev_snmp_decode(const struct dev_var *v, const struct tp_snmp_val *s,
                     struct dev_value *out) {
  memset(out, 0, sizeof *out);
  if (s->type == TP_SNMP_MISSING) {
    out->kind = DV_NONE;
    return;
  }
  if (!(type_bit(s->type) & accepted(v))) {
    set_err(out, OHM_EPROTO, "%.60s: agent sent a %s where %s belongs (%s)",
            v->name, tp_snmp_type_name(s->type),
            v->type == DT_STRING ? "text" : "a number", s->oid);
    return;
  }
  if (s->type != TP_SNMP_STRING) {
    int_value(v, s, out);
  } else if (v->type != DT_STRING) {
    text_value(v, s, out);
  } else {
    out->kind = DV_STR;
    snprintf(out->str, sizeof out->str, "%s", s->str);
    for (char *c = out->str; *c; c++)
      if (!isprint((unsigned char)*c)) *c = '?';
  }
}

static int snmp_open(struct dev *d, struct ohm_error *e) {
  char buf[256];
  for (size_t i = 0; i < d->map->nvars; i++) {
    int rc;
    if (reads_over_snmp(&d->map->vars[i]) &&
        (rc = var_oid(d->map, &d->map->vars[i], d->unit, buf, sizeof buf, e)) <
            0)
      return rc;
  }
  return 0;
}

/* The vars marked in want (NULL: all; a map without tables is read
 * whole, one GET either way): the scalars in one GET, then
 * the tables they need. */
static int snmp_read_some(struct dev *d, const unsigned char *want,
                          struct dev_value *vals, struct ohm_error *e) {
  char **oids = NULL;
  size_t *idx = NULL;
  struct tp_snmp_val *sv;
  long n;
  int rc;
  if (!has_tables(d->map, NULL)) want = NULL; /* one GET reads it all */
  n = collect(d, want, &oids, &idx, e);
  if (n <= 0) {
    free_oids(oids, idx);
    if (n == 0 && has_tables(d->map, want))
      return dev_snmp_tables(d, want, vals, e);
    return n < 0 ? (int)n : 0;
  }
  if (!(sv = calloc((size_t)n, sizeof *sv))) {
    free_oids(oids, idx);
    return ohm_error_set(e, OHM_ENOMEM, "out of memory");
  }
  rc = tp_snmp_get(d->tp, (const char *const *)oids, (size_t)n, sv, e);
  for (long k = 0; rc == 0 && k < n; k++)
    dev_snmp_decode(&d->map->vars[idx[k]], &sv[k], &vals[idx[k]]);
  tp_snmp_vals_free(sv, (size_t)n);
  free(sv);
  free_oids(oids, idx);
  if (rc == 0 && has_tables(d->map, want))
    rc = dev_snmp_tables(d, want, vals, e);
  return rc;
}

static int snmp_read_all(struct dev *d, struct dev_value *vals,
                         struct ohm_error *e) {
  return snmp_read_some(d, NULL, vals, e);
}

/* What writing an already validated value sends: its OID, the type
 * letter and the value text (INTEGER raw = value / scale, enums by their
 * code, strings as OCTET STRING). num has room for a number. */
static int set_args(struct dev *d, const struct dev_var *v, const char *text,
                    char *oid, size_t n, char *type, char num[32],
                    const char **value, struct ohm_error *e) {
  double scale = v->oid_scale != 0 ? v->oid_scale : v->scale;
  uint16_t regs[4];
  int rc;
  if ((rc = var_oid(d->map, v, d->unit, oid, n, e)) < 0) return rc;
  *type = v->type == DT_STRING ? 's' : 'i';
  *value = num;
  if (v->type == DT_STRING) {
    *value = text;
  } else if (v->type == DT_ENUM) {
    if ((rc = dev_encode(v, text, regs, e)) < 0) return rc;
    snprintf(num, 32, "%u", regs[0]);
  } else {
    snprintf(num, 32, "%.0f", ohm_rint(strtod(text, NULL) / scale));
  }
  return 0;
}

static int snmp_set(struct dev *d, const struct dev_var *v, const char *text,
                    struct ohm_error *e) {
  char oid[256], num[32], type;
  const char *value;
  int rc = set_args(d, v, text, oid, sizeof oid, &type, num, &value, e);
  return rc < 0 ? rc : tp_snmp_set(d->tp, oid, type, value, e);
}

/* Every value in one SET PDU: the agent takes all or none. */
static int snmp_set_many(struct dev *d, const struct dev_var *const *v,
                         const char *const *texts, size_t n, size_t *bad,
                         struct ohm_error *e) {
  char(*oid)[256] = calloc(n ? n : 1, sizeof *oid);
  char(*num)[32] = calloc(n ? n : 1, sizeof *num);
  char *types = calloc(n + 1, 1);
  const char **oids = calloc(n ? n : 1, sizeof *oids);
  const char **vals = calloc(n ? n : 1, sizeof *vals);
  int rc = oid && num && types && oids && vals
               ? 0
               : ohm_error_set(e, OHM_ENOMEM, "out of memory");
  *bad = 0;
  for (size_t k = 0; rc == 0 && k < n; k++) {
    rc = set_args(d, v[k], texts[k], oid[k], sizeof oid[k], &types[k], num[k],
                  &vals[k], e);
    oids[k] = oid[k];
    if (rc < 0) *bad = k + 1;
  }
  if (rc == 0) rc = tp_snmp_set_many(d->tp, oids, types, vals, n, bad, e);
  free(oid), free(num), free(types), free(oids), free(vals);
  return rc;
}

/* A command with an `oid`: that object set to its value (INTEGER). */
static int snmp_cmd(struct dev *d, const struct dev_cmd *c,
                    struct ohm_error *e) {
  char num[16];
  if (!c->oid)
    return ohm_error_set(e, OHM_ENOTSUP, "%s: not a command over SNMP",
                         c->name);
  snprintf(num, sizeof num, "%d", c->value);
  return tp_snmp_set(d->tp, c->oid, 'i', num, e);
}

const struct dev_engine dev_engine_snmp = {
    .kind = TP_OIDS,
    .open = snmp_open,
    .read_all = snmp_read_all,
    .read_some = snmp_read_some,
    .set = snmp_set,
    .set_many = snmp_set_many,
    .cmd = snmp_cmd,
};

/* ---- many devices at once ---------------------------------------------- */

struct many {
  struct dev *d;
  struct dev_value *vals;
  int *rc;
  struct ohm_error *err;
  char **oids;
  size_t *idx;
  long n;
};

static void many_done(void *ud, struct tp *t, int rc, const struct ohm_error *e,
                      struct tp_snmp_val *sv, size_t n) {
  struct many *m = ud;
  (void)t;
  *m->rc = rc;
  if (rc < 0) {
    if (m->err) *m->err = *e;
    return;
  }
  for (size_t k = 0; k < n; k++)
    dev_snmp_decode(&m->d->map->vars[m->idx[k]], &sv[k], &m->vals[m->idx[k]]);
}

/* The same checks, fixed texts and hooks as dev_read_all; a map's
 * tables are walked here, one device after another (not in the multi). */
static void many_finish(struct many *m) {
  struct ohm_error e, *pe = m->err ? m->err : &e;
  if (*m->rc == 0 && m->d->engine == &dev_engine_snmp &&
      has_tables(m->d->map, NULL))
    *m->rc = dev_snmp_tables(m->d, NULL, m->vals, pe);
  *m->rc = dev_read_answered(m->d, m->vals, *m->rc, pe);
}

/* Queue device i on mu; a failure is the device's, not the batch's. */
static void many_queue(struct tp_snmp_multi *mu, struct many *m,
                       tp_snmp_done_fn done) {
  struct ohm_error e, *pe = m->err ? m->err : &e;
  memset(m->vals, 0, m->d->map->nvars * sizeof *m->vals);
  *m->rc = 0;
  if (m->d->engine != &dev_engine_snmp) {
    *m->rc = ohm_error_set(pe, OHM_ENOTSUP, "not an snmp device");
    return;
  }
  if ((m->n = collect(m->d, NULL, &m->oids, &m->idx, pe)) <= 0) {
    *m->rc = m->n < 0 ? (int)m->n : 0;
    return;
  }
  *m->rc = tp_snmp_multi_get(mu, m->d->tp, (const char *const *)m->oids,
                             (size_t)m->n, done, m, pe);
}

int dev_snmp_read_many(struct dev *const *devs, size_t n,
                       struct dev_value *const *vals, int *rcs,
                       struct ohm_error *errs, struct ohm_error *e) {
  struct tp_snmp_multi *mu;
  struct many *ms = calloc(n ? n : 1, sizeof *ms);
  int rc;
  if (!ms) return ohm_error_set(e, OHM_ENOMEM, "out of memory");
  if ((rc = tp_snmp_multi_new(&mu, e)) < 0) {
    free(ms);
    return rc;
  }
  for (size_t i = 0; i < n; i++) {
    ms[i] = (struct many){devs[i], vals[i], &rcs[i], errs ? &errs[i] : NULL,
                          NULL,    NULL,    0};
    many_queue(mu, &ms[i], many_done);
  }
  rc = tp_snmp_multi_run(mu, e);
  tp_snmp_multi_free(mu);
  for (size_t i = 0; i < n; i++) {
    many_finish(&ms[i]);
    free_oids(ms[i].oids, ms[i].idx);
  }
  free(ms);
  return rc;
}

/* ---- many devices through a window ------------------------------------- */

struct win_slot {
  struct many m; /* first: many_done's ud is the slot */
  int rc, busy, fin;
  struct ohm_error err;
  size_t id, cap; /* the caller's id; vals entries allocated */
};

static void win_done(void *ud, struct tp *t, int rc, const struct ohm_error *e,
                     struct tp_snmp_val *sv, size_t n) {
  many_done(ud, t, rc, e, sv, n);
  ((struct win_slot *)ud)->fin = 1;
}

/* Queue the caller's next device into free slot w; 0 when none is left. */
static int win_fill(struct tp_snmp_multi *mu, struct win_slot *w,
                    dev_snmp_next_fn next, void *ctx) {
  struct dev *d;
  size_t id;
  if (next(ctx, &d, &id) <= 0) return 0;
  if (d->map->nvars + 1 > w->cap) {
    struct dev_value *v = realloc(w->m.vals, (d->map->nvars + 1) * sizeof *v);
    if (!v) {
      free(w->m.vals);
      w->m.vals = NULL;
      w->cap = 0;
    } else {
      w->m.vals = v;
      w->cap = d->map->nvars + 1;
    }
  }
  w->m = (struct many){d, w->m.vals, &w->rc, &w->err, NULL, NULL, 0};
  w->id = id;
  w->busy = 1;
  w->fin = 0;
  ohm_error_clear(&w->err);
  if (!w->m.vals) {
    w->rc = ohm_error_set(&w->err, OHM_ENOMEM, "out of memory");
    w->fin = 1;
    return 1;
  }
  many_queue(mu, &w->m, win_done);
  if (w->rc < 0 || w->m.n <= 0) w->fin = 1; /* not queued */
  return 1;
}

/* Hand finished slots to the caller and free them; how many were. */
static size_t win_sweep(struct win_slot *ws, size_t window,
                        dev_snmp_done_fn done, void *ctx) {
  size_t k = 0;
  for (size_t i = 0; i < window; i++) {
    struct win_slot *w = &ws[i];
    if (!w->busy || !w->fin) continue;
    if (w->m.vals) many_finish(&w->m);
    done(ctx, w->id, w->m.d, w->rc == 0 ? w->m.vals : NULL, w->rc, &w->err);
    free_oids(w->m.oids, w->m.idx);
    w->m.oids = NULL;
    w->m.idx = NULL;
    w->busy = 0;
    k++;
  }
  return k;
}

int dev_snmp_read_window(size_t window, dev_snmp_next_fn next,
                         dev_snmp_done_fn done, void *ctx,
                         struct ohm_error *e) {
  struct tp_snmp_multi *mu;
  struct win_slot *ws = calloc(window ? window : 1, sizeof *ws);
  size_t busy = 0;
  int more = 1, rc = 0;
  if (!ws) return ohm_error_set(e, OHM_ENOMEM, "out of memory");
  if ((rc = tp_snmp_multi_new(&mu, e)) < 0) {
    free(ws);
    return rc;
  }
  while (more || busy) {
    for (size_t i = 0; more && i < window; i++)
      if (!ws[i].busy && (more = win_fill(mu, &ws[i], next, ctx))) busy++;
    busy -= win_sweep(ws, window, done, ctx);
    if (!busy) continue;
    int left = tp_snmp_multi_step(mu, e);
    if (left < 0 && rc == 0) rc = left, more = 0; /* Ctrl-C: stop taking */
    busy -= win_sweep(ws, window, done, ctx);
  }
  tp_snmp_multi_free(mu);
  for (size_t i = 0; i < window; i++)
    free(ws[i].m.vals);
  free(ws);
  return rc;
}
