/* The simulator of SNMP maps with tables (see snmp_sim_bm.h). */
#include "snmp_sim_bm.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "snmp_map.h"

#define BM_MEASURE_S 1.5            /* how long a measure-now takes */
#define CMD_VAR(i) (-10 - (int)(i)) /* sa_obj.var of command i */

struct bm_sim {
  const struct dev_map *m;
  int strings, blocks;
  double t0;
  double *raw;        /* writable and state scalars' raw values, by var */
  char (*txt)[64];    /* writable texts, by var */
  double measure_end; /* when the measurement completes, 0 if none */
  const struct dev_cmd *measuring;
  struct sa_obj *cache; /* the last table built, sorted, and when */
  size_t ncache;
  double cache_t;
  pthread_mutex_t lk;
};

/* net-snmp asks a handler once per row of a GETBULK: objects built less
 * than this long ago (and no SET since) are served again */
#define BM_CACHE_S 0.2

static int shape_strings = 2, shape_blocks = 8;

void snmp_sim_bm_shape(int strings, int blocks) {
  shape_strings = strings, shape_blocks = blocks;
}

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double var_scale(const struct dev_var *v) {
  return v->oid_scale != 0 ? v->oid_scale : v->scale;
}

/* A scalar's value at start, by name (in the var's unit), else by kind. */
static double start_value(const struct bm_sim *s, const struct dev_var *v) {
  static const struct {
    const char *name;
    double value;
  } tab[] = {
      {"battery.strings.max", 4},
      {"battery.string.blocks.max", 40},
      {"battery.capacity", 100},
      {"battery.block.voltage.low.critical", 10.5},
      {"battery.block.voltage.high.critical", 14.5},
      {"battery.block.voltage.low.critical.fine", 10.5},
      {"battery.block.voltage.high.critical.fine", 14.5},
      {"battery.string.voltage.difference.critical", 1},
      {"battery.block.temperature.low.critical", 0},
      {"battery.block.temperature.high.critical", 45},
      {"battery.block.resistance.low.critical", 1},
      {"battery.block.resistance.high.critical", 8},
      {"battery.block.resistance.low.warning", 1.5},
      {"battery.block.resistance.high.warning", 6},
      {"battery.block.resistance.health.critical", 150},
      {"battery.block.resistance.health.warning", 130},
      {"battery.resistance.interval", 86400},
      {"battery.equalization.threshold", 13.8},
      {"battery.equalization.elapsed", 0},
  };
  if (!strcmp(v->name, "battery.strings")) return s->strings;
  if (!strcmp(v->name, "battery.string.blocks")) return s->blocks;
  if (strstr(v->name, "battery.probes.")) return s->strings * s->blocks;
  for (size_t i = 0; i < sizeof tab / sizeof tab[0]; i++)
    if (!strcmp(v->name, tab[i].name)) return tab[i].value;
  if (v->type == DT_ENUM && v->nenums) { /* the last state: "none", ... */
    int code = v->enums[0].raw;
    for (size_t k = 0; k < v->nenums; k++)
      if (!strcmp(v->enums[k].text, "none") ||
          !strcmp(v->enums[k].text, "disabled") ||
          !strcmp(v->enums[k].text, "not-active") ||
          !strcmp(v->enums[k].text, "12V"))
        code = v->enums[k].raw;
    return code * var_scale(v);
  }
  return 0;
}

static const char *start_text(const struct dev_var *v) {
  static const char *const tab[][2] = {
      {"device.model", "BM100"},
      {"device.serial", "SIM0000001"},
      {"device.firmware", "1.0.0"},
      {"device.hardware", "1.0"},
      {"device.description", "bm100"},
      {"device.location", "sim"},
      {"battery.probe.voltage.range", "2V-12V"},
      {"device.lcd.hardware", "1.0"},
      {"device.lcd.firmware", "1.0.0"},
      {"device.mfr.date", "01/01/2026"},
      {"battery.resistance.date", "01/01/2026 00:00:00"},
      {"battery.equalization.start", "01/01/2026 00:00:00"},
  };
  for (size_t i = 0; i < sizeof tab / sizeof tab[0]; i++)
    if (!strcmp(v->name, tab[i][0])) return tab[i][1];
  return "";
}

/* The raw value of a var named name (a threshold), in its unit. */
static double named(const struct bm_sim *s, const char *name, double def) {
  const struct dev_var *v = dev_map_var(s->m, name);
  return v ? s->raw[v - s->m->vars] : def;
}

/* The status word's code (1 good ... 5 critical-high) of x against the
 * thresholds of what ("voltage", "temperature", "resistance"). */
static int status_of(const struct bm_sim *s, const char *what, double x) {
  char n[96];
  double lo, hi, wlo, whi;
  snprintf(n, sizeof n, "battery.block.%s.low.critical", what);
  lo = named(s, n, -1e9);
  snprintf(n, sizeof n, "battery.block.%s.high.critical", what);
  hi = named(s, n, 1e9);
  snprintf(n, sizeof n, "battery.block.%s.low.warning", what);
  wlo = named(s, n, lo);
  snprintf(n, sizeof n, "battery.block.%s.high.warning", what);
  whi = named(s, n, hi);
  return x > hi ? 5 : x < lo ? 4 : x > whi ? 3 : x < wlo ? 2 : 1;
}

/* Block (S, B)'s value of a table var at time t, in the var's unit. The
 * last block of string 1 has a resistance that climbs 0.1 mOhm a
 * second, so its warnings and alarms show. */
static double block_value(const struct bm_sim *s, const struct dev_var *v,
                          double t) {
  int S = v->index[0], B = v->index[1], p = (S - 1) * s->blocks + B;
  const char *what = strstr(v->name, ".block.");
  double w = sin(t / 20.0 + p), r0 = 4 + 0.05 * (p % 7);
  double r = S == 1 && B == s->blocks ? fmin(r0 + t / 10, 40) : r0 + 0.02 * w;
  double volt = 13.5 + 0.05 * (p % 5) + 0.02 * w, temp = 24 + 0.3 * w;
  what = what ? strchr(what + 7, '.') + 1 : "";
  if (!strcmp(what, "pack")) return S;
  if (!strcmp(what, "voltage")) return volt;
  if (!strcmp(what, "temperature")) return temp;
  if (!strcmp(what, "resistance")) return r;
  if (!strcmp(what, "resistance.health")) return round(100 * r / r0);
  if (!strcmp(what, "voltage.status")) return status_of(s, "voltage", volt);
  if (!strcmp(what, "temperature.status"))
    return status_of(s, "temperature", temp);
  if (!strcmp(what, "resistance.status")) return status_of(s, "resistance", r);
  return 0;
}

static int add_obj(struct sa_obj **tab, size_t *n, size_t *cap,
                   const struct sa_obj *o) {
  if (*n == *cap) {
    size_t nc = *cap ? *cap * 2 : 256;
    struct sa_obj *t = realloc(*tab, nc * sizeof *t);
    if (!t) return -1;
    *tab = t, *cap = nc;
  }
  (*tab)[(*n)++] = *o;
  return 0;
}

/* The row objects of table var v (index columns and its own column) for
 * each block of the simulated strings. */
static int table_objs(const struct bm_sim *s, const struct dev_var *v, double t,
                      struct sa_obj **tab, size_t *n, size_t *cap) {
  struct sa_obj o;
  int S = v->index[0], B = v->index[1], p = (S - 1) * s->blocks + B;
  if (v->nindex != 2 || S > s->strings || B > s->blocks) return 0;
  memset(&o, 0, sizeof o);
  if (sa_oid_parse(v->oid, 0, o.oid, &o.len) < 0 || o.len + 1 > SA_OID_MAX)
    return 0;
  o.oid[o.len++] = (unsigned long)p;
  o.var = (int)(v - s->m->vars);
  o.num = lround(block_value(s, v, t) / var_scale(v));
  if (add_obj(tab, n, cap, &o) < 0) return -1;
  for (int k = 0; k < v->nicol; k++) { /* duplicates dropped after sort */
    o.oid[o.len - 2] = (unsigned long)v->icol[k];
    o.num = v->index[k], o.var = -1;
    if (add_obj(tab, n, cap, &o) < 0) return -1;
  }
  return 0;
}

static int scalar_obj(const struct bm_sim *s, size_t i, struct sa_obj **tab,
                      size_t *n, size_t *cap) {
  const struct dev_var *v = &s->m->vars[i];
  struct sa_obj o;
  memset(&o, 0, sizeof o);
  if (!v->oid || v->text || sa_oid_parse(v->oid, 0, o.oid, &o.len) < 0)
    return 0;
  o.var = (int)i;
  o.writable = v->access == DA_RW;
  if (v->type == DT_STRING) {
    o.type = SA_STR;
    snprintf(o.str, sizeof o.str, "%s", s->txt[i]);
  } else {
    o.num = lround(s->raw[i] / var_scale(v));
    if (v->accept == DEV_ACCEPT_TIMETICKS) o.type = SA_TICKS;
  }
  return add_obj(tab, n, cap, &o);
}

static int cmd_objs(const struct bm_sim *s, struct sa_obj **tab, size_t *n,
                    size_t *cap) {
  for (size_t i = 0; i < s->m->ncmds; i++) {
    struct sa_obj o;
    memset(&o, 0, sizeof o);
    if (!s->m->cmds[i].oid ||
        sa_oid_parse(s->m->cmds[i].oid, 0, o.oid, &o.len) < 0)
      continue;
    o.num = 1, o.writable = 1, o.var = CMD_VAR(i);
    if (add_obj(tab, n, cap, &o) < 0) return -1;
  }
  return 0;
}

static int obj_cmp(const void *a, const void *b) {
  const struct sa_obj *x = a, *y = b;
  for (size_t i = 0; i < x->len && i < y->len; i++)
    if (x->oid[i] != y->oid[i]) return x->oid[i] < y->oid[i] ? -1 : 1;
  return (x->len > y->len) - (x->len < y->len);
}

/* The wait var's state named text, as its raw value. */
static int set_state(struct bm_sim *s, const char *var, const char *text) {
  const struct dev_var *v = dev_map_var(s->m, var);
  for (size_t k = 0; v && k < v->nenums; k++)
    if (!strcmp(v->enums[k].text, text))
      return s->raw[v - s->m->vars] = v->enums[k].raw * var_scale(v), 0;
  return -1;
}

static void measure_tick(struct bm_sim *s, double t) {
  if (s->measuring && s->measure_end && t >= s->measure_end) {
    set_state(s, s->measuring->wait_var, s->measuring->wait_done);
    s->measure_end = 0;
    free(s->cache);
    s->cache = NULL;
  }
}

static int build(struct bm_sim *s, double t, struct sa_obj **tab, size_t *n) {
  size_t cap = 0, w = 0;
  int rc = 0;
  *tab = NULL, *n = 0;
  for (size_t i = 0; rc == 0 && i < s->m->nvars; i++)
    rc = s->m->vars[i].entry ? table_objs(s, &s->m->vars[i], t, tab, n, &cap)
                             : scalar_obj(s, i, tab, n, &cap);
  if (rc == 0) rc = cmd_objs(s, tab, n, &cap);
  if (rc < 0) {
    free(*tab);
    return *tab = NULL, *n = 0, -1;
  }
  qsort(*tab, *n, sizeof **tab, obj_cmp);
  for (size_t i = 0; i < *n; i++) /* one object per OID */
    if (!w || obj_cmp(&(*tab)[w - 1], &(*tab)[i])) (*tab)[w++] = (*tab)[i];
  *n = w;
  return 0;
}

int snmp_sim_bm_objects(struct bm_sim *s, struct sa_obj **tab, size_t *n) {
  double t;
  int rc = 0;
  *tab = NULL, *n = 0;
  pthread_mutex_lock(&s->lk);
  t = now();
  measure_tick(s, t);
  if (!s->cache || t - s->cache_t > BM_CACHE_S) {
    free(s->cache);
    s->cache_t = t;
    rc = build(s, t - s->t0, &s->cache, &s->ncache);
  }
  if (rc == 0 && (*tab = malloc((s->ncache ? s->ncache : 1) * sizeof **tab)))
    memcpy(*tab, s->cache, s->ncache * sizeof **tab), *n = s->ncache;
  else
    rc = -1;
  pthread_mutex_unlock(&s->lk);
  return rc;
}

/* A command's SET: a measurement starts (its wait var "processing",
 * then done after BM_MEASURE_S); one asked for while another runs is
 * refused the way the BM100 does (the wait var says fail). */
static int run_cmd(struct bm_sim *s, const struct dev_cmd *c, long value,
                   struct ohm_error *e) {
  if (value != c->value)
    return ohm_error_set(e, OHM_EINVAL, "%s takes %d", c->name, c->value);
  if (!c->wait_var) return 0; /* indicator tests: nothing to see */
  if (s->measure_end && c->wait_fail) {
    set_state(s, c->wait_var, c->wait_fail);
    s->measure_end = 0;
    return 0;
  }
  set_state(s, c->wait_var, "processing");
  s->measuring = c;
  s->measure_end = now() + BM_MEASURE_S;
  return 0;
}

static int set_var(struct bm_sim *s, const struct dev_var *v,
                   const struct sa_obj *val, struct ohm_error *e) {
  size_t i = (size_t)(v - s->m->vars);
  double x;
  if (v->type == DT_STRING) {
    if (val->type != SA_STR) return ohm_error_set(e, OHM_EINVAL, "text");
    snprintf(s->txt[i], sizeof s->txt[i], "%.63s", val->str);
    return 0;
  }
  if (val->type == SA_STR) return ohm_error_set(e, OHM_EINVAL, "a number");
  x = (double)val->num * var_scale(v);
  if (v->type == DT_ENUM) {
    size_t k = 0;
    while (k < v->nenums && v->enums[k].raw != val->num)
      k++;
    if (k == v->nenums) return ohm_error_set(e, OHM_EINVAL, "no such state");
  } else if ((v->has_min && x < v->min - 1e-9) ||
             (v->has_max && x > v->max + 1e-9)) {
    return ohm_error_set(e, OHM_ERANGE, "%s out of range", v->name);
  }
  s->raw[i] = x;
  return 0;
}

int snmp_sim_bm_set(struct bm_sim *s, const struct sa_obj *o,
                    const struct sa_obj *v, struct ohm_error *e) {
  int rc;
  pthread_mutex_lock(&s->lk);
  if (o->var <= CMD_VAR(0) && (size_t)(CMD_VAR(0) - o->var) < s->m->ncmds)
    rc = v->type == SA_STR
             ? ohm_error_set(e, OHM_EINVAL, "an INTEGER")
             : run_cmd(s, &s->m->cmds[CMD_VAR(0) - o->var], v->num, e);
  else if (o->var >= 0 && (size_t)o->var < s->m->nvars &&
           s->m->vars[o->var].access == DA_RW)
    rc = set_var(s, &s->m->vars[o->var], v, e);
  else
    rc = ohm_error_set(e, OHM_EACCES, "read-only");
  free(s->cache); /* what was written shows at once */
  s->cache = NULL;
  pthread_mutex_unlock(&s->lk);
  return rc;
}

int snmp_sim_bm_new(const struct dev_map *m, struct bm_sim **out,
                    struct ohm_error *e) {
  struct bm_sim *s = calloc(1, sizeof *s);
  *out = NULL;
  if (!s || !(s->raw = calloc(m->nvars + 1, sizeof *s->raw)) ||
      !(s->txt = calloc(m->nvars + 1, sizeof *s->txt))) {
    if (s) free(s->raw);
    free(s);
    return ohm_error_set(e, OHM_ENOMEM, "out of memory");
  }
  s->m = m, s->t0 = now();
  s->strings = shape_strings, s->blocks = shape_blocks;
  pthread_mutex_init(&s->lk, NULL);
  for (size_t i = 0; i < m->nvars; i++) {
    s->raw[i] = start_value(s, &m->vars[i]);
    snprintf(s->txt[i], sizeof s->txt[i], "%s", start_text(&m->vars[i]));
  }
  *out = s;
  return 0;
}

void snmp_sim_bm_free(struct bm_sim *s) {
  if (!s) return;
  pthread_mutex_destroy(&s->lk);
  free(s->cache);
  free(s->raw);
  free(s->txt);
  free(s);
}

int snmp_sim_bm_wants(const struct dev_map *m) {
  for (size_t i = 0; i < m->nvars; i++)
    if (m->vars[i].entry) return 1;
  return 0;
}
