/* The device layer: open a driver map on a transport (or on the in-process
 * simulator for sim:DRIVER), read, write, run commands and format values;
 * and the register engine (Modbus) that reads a map in the fewest requests.
 * Engines for other transport kinds live beside their transports. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "sim.h"
#include "frame_map.h"
#include "sim_bms.h"
#include "../util/lazy_libm.h"

int dev_var_has(enum tp_kind kind, const struct dev_var *v) {
  if (v->text) return 1;
  switch (kind) {
  case TP_REGS:
    return v->reg >= 0;
  case TP_OIDS:
    return v->oid != NULL;
  case TP_CONSOLE:
    return v->menu != NULL;
  case TP_STREAM:
    return v->frame != NULL;
  default:
    return 0;
  }
}

int dev_var_available(const struct dev *d, const struct dev_var *v) {
  return dev_var_has(d->tp->ops->kind, v);
}

int dev_var_over(const char *scheme, const struct dev_var *v) {
  const struct tp_ops *ops = scheme ? tp_find(scheme) : NULL;
  return ops ? dev_var_has(ops->kind, v) : 1;
}

/* Whether a map reads anything (beyond fixed text) over this kind. */
static int map_fits(const struct dev_map *m, enum tp_kind kind) {
  for (size_t i = 0; i < m->nvars; i++)
    if (!m->vars[i].text && dev_var_has(kind, &m->vars[i])) return 1;
  return 0;
}

/* Explicit driver, else the URI's driver=, else the only built-in map that
 * reads anything over this transport kind. NULL in *out: detect it once
 * the transport is open (driver "auto", or several over SNMP). */
static int choose_driver(const struct ohm_uri *u, const char *name,
                         const char *driver, const struct dev_map **out,
                         struct ohm_error *e) {
  const struct tp_ops *ops = tp_find(u->scheme);
  const struct dev_map *m, *found = NULL;
  int n = 0;
  if (!driver) driver = ohm_uri_param(u, "driver");
  if (driver && strcmp(driver, "auto") == 0) return *out = NULL, 0;
  if (driver) return dev_driver_find(driver, out, e);
  if (!ops) return tp_unknown_scheme(u->scheme, e);
  for (const char *const *b = dev_driver_builtin(); *b; b++)
    if (dev_driver_find(*b, &m, NULL) == 0 && map_fits(m, ops->kind)) {
      found = m;
      n++;
    }
  if (n > 1 && ops->kind == TP_OIDS) return *out = NULL, 0; /* detect */
  if (n > 1)
    return ohm_error_set(e, OHM_EINVAL,
                         "several drivers read over %s: choose one with "
                         "-d NAME (see ohm drivers)",
                         u->scheme);
  if (n != 1)
    return ohm_error_set(e, OHM_EINVAL, "no driver for %s: use -d NAME", name);
  *out = found;
  return 0;
}

static int attach(struct dev *d, struct tp *t, struct ohm_error *e) {
  const struct dev_hooks *h = dev_hooks_find(d->map->name);
  d->tp = t;
  d->unit = t->unit;
  d->engine = h && h->engine && h->engine->kind == t->ops->kind
                  ? h->engine
                  : dev_engine_for(t->ops->kind);
  if (!d->engine)
    return ohm_error_set(e, OHM_ENOTSUP,
                         "no %s engine for driver %s (a menu console needs "
                         "the driver's own, devices/%s/hooks.c)",
                         t->ops->scheme, d->map->name, d->map->name);
  return d->engine->open ? d->engine->open(d, e) : 0;
}

static int open_sim(const struct ohm_uri *u, const char *driver,
                    const struct tp_opts *o, struct dev **out,
                    struct ohm_error *e);

/* tp_open_uri with version=ver added to an snmp:// URI that names none
 * (ver NULL: the URI as given). */
static int open_tp_version(const struct ohm_uri *u, const char *name,
                           const char *ver, const struct tp_opts *o,
                           struct tp **t, struct ohm_error *e) {
  struct ohm_uri c;
  struct ohm_kv *q;
  int rc;
  if (!ver || strcmp(u->scheme, "snmp") || ohm_uri_param(u, "version"))
    return tp_open_uri(u, name, o, t, e);
  if (ohm_uri_copy(&c, u) < 0 ||
      !(q = realloc(c.query, (c.nquery + 1) * sizeof *q))) {
    ohm_uri_free(&c);
    return ohm_error_set(e, OHM_ENOMEM, "out of memory");
  }
  c.query = q;
  q[c.nquery].key = strdup("version");
  q[c.nquery].val = strdup(ver);
  c.nquery++;
  rc = q[c.nquery - 1].key && q[c.nquery - 1].val
           ? tp_open_uri(&c, name, o, t, e)
           : ohm_error_set(e, OHM_ENOMEM, "out of memory");
  ohm_uri_free(&c);
  return rc;
}

/* tp_open_uri, with the map's SNMP version (cps-bm100: "1") where an
 * snmp:// URI names none. */
static int open_tp(const struct ohm_uri *u, const char *name,
                   const struct dev_map *m, const struct tp_opts *o,
                   struct tp **t, struct ohm_error *e) {
  return open_tp_version(u, name, m ? m->snmp_version : NULL, o, t, e);
}

/* -d auto: the driver whose signature answers at *t. An snmp:// URI that
 * names no version is asked over v2c, and again over v1 (same community)
 * when v2c gets no answer (a BM100 speaks v1 and v3 only); *t is then the
 * v1 transport. On failure *t is freed and NULL. */
static int detect(const struct ohm_uri *u, const char *name,
                  const struct tp_opts *o, struct tp **t,
                  const struct dev_map **m, struct ohm_error *e) {
  int rc = dev_driver_detect(*t, m, e);
  if (rc == OHM_ETIMEDOUT && !strcmp(u->scheme, "snmp") &&
      !ohm_uri_param(u, "version")) {
    tp_free(*t);
    *t = NULL;
    if ((rc = open_tp_version(u, name, "1", o, t, e)) < 0) return rc;
    rc = dev_driver_detect(*t, m, e);
  }
  if (rc < 0) {
    tp_free(*t);
    *t = NULL;
  }
  return rc;
}

int dev_open_uri(const struct ohm_uri *u, const char *name, const char *driver,
                 const struct tp_opts *o, struct dev **out,
                 struct ohm_error *e) {
  const struct dev_map *m;
  struct dev *d;
  struct tp *t;
  int rc;
  *out = NULL;
  if (strcmp(u->scheme, "sim") == 0) return open_sim(u, driver, o, out, e);
  if ((rc = choose_driver(u, name ? name : u->scheme, driver, &m, e)) < 0)
    return rc;
  if ((rc = open_tp(u, name, m, o, &t, e)) < 0) return rc;
  if (!m && (rc = detect(u, name, o, &t, &m, e)) < 0) /* -d auto */
    return rc;
  if (!(d = calloc(1, sizeof *d))) {
    tp_free(t);
    return ohm_error_set(e, OHM_ENOMEM, "out of memory");
  }
  d->map = m;
  if (t->ops->kind == TP_REGS) d->sim = sim_local(u->host, u->port);
  if ((rc = attach(d, t, e)) < 0) {
    d->engine = NULL; /* its open failed: nothing of its to close */
    dev_close(d);
    return rc;
  }
  *out = d;
  return 0;
}

/* sim:DRIVER[?packs=N&unit=P&runaway=C] for a driver with a frame
 * dialect: the BMS simulator in process on a loopback TCP port, reached
 * over tcp:// with the bank's addresses as packs=. */
static int sim_bms_open(const struct ohm_uri *u, const struct dev_map *m,
                        const char *driver, const struct tp_opts *o,
                        struct dev **out, struct ohm_error *e) {
  struct sim_bms_opts so = {.tcp = "127.0.0.1:0"};
  struct sim_bms *s;
  struct ohm_uri tu;
  long packs, runaway, unit = -1;
  char uri[160], name[96];
  int rc;
  for (size_t i = 0; i < u->nquery; i++)
    if (strcmp(u->query[i].key, "unit") && strcmp(u->query[i].key, "packs") &&
        strcmp(u->query[i].key, "runaway") && strcmp(u->query[i].key, "driver"))
      return ohm_error_set(e, OHM_EURI,
                           "unknown parameter '%.40s' in a sim URI (known: "
                           "packs, unit, runaway, driver)",
                           u->query[i].key);
  if ((rc = ohm_uri_param_long(u, "packs", 3, 1, 16, &packs, e)) < 0 ||
      (rc = ohm_uri_param_long(u, "runaway", 0, 0, 16, &runaway, e)) < 0 ||
      (ohm_uri_param(u, "unit") &&
       (rc = ohm_uri_param_long(u, "unit", 0, 0, 255, &unit, e)) < 0))
    return rc;
  so.packs = (int)packs;
  so.runaway = (int)runaway;
  if ((rc = sim_bms_start(m, &so, &s, e)) < 0) return rc;
  int n = snprintf(uri, sizeof uri, "tcp://127.0.0.1:%d?packs=%d-%d",
                   sim_bms_port(s), m->frame->first,
                   m->frame->first + so.packs - 1);
  if (unit >= 0) snprintf(uri + n, sizeof uri - (size_t)n, "&unit=%ld", unit);
  snprintf(name, sizeof name, "sim:%s", u->path);
  if ((rc = ohm_uri_parse(uri, &tu, e)) == 0) {
    rc = dev_open_uri(&tu, name, driver ? driver : u->path, o, out, e);
    ohm_uri_free(&tu);
  }
  if (rc < 0)
    sim_bms_stop(s);
  else
    (*out)->sim_bms = s;
  return rc;
}

/* sim:DRIVER for a map with OIDs only, through the SNMP simulator. */
static int open_sim_snmp(const struct ohm_uri *u, const struct dev_map *m,
                         const char *driver, const struct tp_opts *o,
                         struct dev **out, struct ohm_error *e) {
  char uri[96], name[96];
  struct ohm_uri su;
  int rc = sim_snmp_hook(m, uri, sizeof uri, e);
  if (rc < 0 || (rc = ohm_uri_parse(uri, &su, e)) < 0) return rc;
  snprintf(name, sizeof name, "sim:%s", u->path);
  rc = dev_open_uri(&su, name, driver ? driver : u->path, o, out, e);
  ohm_uri_free(&su);
  return rc;
}

/* sim:DRIVER[?unit=N&units=N]: the simulator in process on an ephemeral
 * loopback port, reached over real Modbus TCP. */
static int open_sim(const struct ohm_uri *u, const char *driver,
                    const struct tp_opts *o, struct dev **out,
                    struct ohm_error *e) {
  const struct dev_map *m;
  struct sim *s;
  long unit, units;
  char uri[96];
  int rc;
  if (!u->path[0])
    return ohm_error_set(e, OHM_EURI, "sim: needs a driver (sim:bps2000v2)");
  if (dev_driver_find(u->path, &m, NULL) == 0 && m->frame)
    return sim_bms_open(u, m, driver, o, out, e);
  for (size_t i = 0; i < u->nquery; i++)
    if (strcmp(u->query[i].key, "unit") && strcmp(u->query[i].key, "units") &&
        strcmp(u->query[i].key, "driver"))
      return ohm_error_set(e, OHM_EURI,
                           "unknown parameter '%.40s' in a sim "
                           "URI (known: unit, units, driver)",
                           u->query[i].key);
  if ((rc = ohm_uri_param_long(u, "unit", 1, 1, 247, &unit, e)) < 0 ||
      (rc = ohm_uri_param_long(u, "units", unit, unit, 247, &units, e)) < 0 ||
      (rc = dev_driver_find(u->path, &m, e)) < 0)
    return rc;
  if (!dev_map_blocks(m, NULL, 0) && m->nvars && m->vars[0].oid &&
      sim_snmp_hook) /* OIDs only: the SNMP simulator */
    return open_sim_snmp(u, m, driver, o, out, e);
  if ((rc = sim_start(m, "127.0.0.1:0", NULL, (int)units, &s, e)) < 0)
    return rc;
  snprintf(uri, sizeof uri, "modbus-tcp://127.0.0.1:%d?unit=%ld", sim_port(s),
           unit);
  struct ohm_uri mu;
  if ((rc = ohm_uri_parse(uri, &mu, e)) == 0) {
    char name[96];
    snprintf(name, sizeof name, "sim:%s", u->path);
    rc = dev_open_uri(&mu, name, driver ? driver : u->path, o, out, e);
    ohm_uri_free(&mu);
  }
  if (rc < 0 || (*out)->sim) /* dev_open_uri found s itself (sim_local) */
    sim_stop(s);
  else
    (*out)->sim = s;
  return rc;
}

int dev_open(const char *uri, const char *driver, const struct tp_opts *o,
             struct dev **out, struct ohm_error *e) {
  struct ohm_uri u;
  char *name;
  int rc;
  *out = NULL;
  if ((rc = ohm_uri_parse(uri, &u, e)) < 0) return rc;
  if (!(name = ohm_uri_redact(uri))) {
    rc = ohm_error_set(e, OHM_ENOMEM, "out of memory");
  } else {
    rc = dev_open_uri(&u, name, driver, o, out, e);
    free(name);
  }
  ohm_uri_free(&u);
  return rc;
}

void dev_close(struct dev *d) {
  if (!d) return;
  if (d->engine && d->engine->close) d->engine->close(d);
  tp_free(d->tp);
  sim_stop(d->sim);
  sim_bms_stop(d->sim_bms);
  free(d);
}

/* Fill one value from a var's registers; a decode failure is this var's
 * DV_ERR with the message in str, never a number. */
static void decode_value(const struct dev_var *v, const uint16_t *regs,
                         struct dev_value *val) {
  struct ohm_error e;
  int rc = dev_decode(v, regs, &val->num, val->str, sizeof val->str, &e);
  if (rc < 0) {
    val->kind = DV_ERR;
    val->err = rc;
    val->num = 0;
    snprintf(val->str, sizeof val->str, "%s", ohm_error_text(&e));
  } else if (rc == DEV_ABSENT) {
    memset(val, 0, sizeof *val); /* a sentinel: not available */
  } else {
    val->kind = rc ? DV_STR : DV_NUM;
    val->err = 0;
  }
}

int dev_read_answered(struct dev *d, struct dev_value *vals, int rc,
                      struct ohm_error *e) {
  const struct dev_map *m = d->map;
  const struct dev_hooks *h;
  size_t asked = 0, answered = 0;
  for (size_t i = 0; rc == 0 && i < m->nvars; i++)
    if (!m->vars[i].text && dev_var_available(d, &m->vars[i])) {
      asked++; /* a var the device refused (ENOTSUP) did not answer */
      answered += vals[i].kind != DV_NONE &&
                  !(vals[i].kind == DV_ERR && vals[i].err == OHM_ENOTSUP);
    }
  if (rc == 0 && asked == 0)
    rc = ohm_error_set(e, OHM_ENOTSUP,
                       "the %s map reads nothing over %s: wrong driver?",
                       m->name, d->tp->ops->scheme);
  else if (rc == 0 && answered == 0)
    rc = ohm_error_set(e, OHM_ENOENT, "no %s objects at this %s: wrong driver?",
                       m->model ? m->model : m->name,
                       d->tp->ops->kind == TP_OIDS ? "agent" : "device");
  for (size_t i = 0; i < m->nvars; i++)
    if (m->vars[i].text && rc == 0)
      decode_value(&m->vars[i], NULL, &vals[i]);
    else if (rc < 0)
      memset(&vals[i], 0, sizeof vals[i]); /* nothing shown as good */
  if (rc < 0) return rc;
  h = dev_hooks_find(m->name);
  return h && h->post_read ? h->post_read(d, vals, e) : 0;
}

int dev_read_all(struct dev *d, struct dev_value *vals, struct ohm_error *e) {
  memset(vals, 0, d->map->nvars * sizeof *vals);
  return dev_read_answered(d, vals, d->engine->read_all(d, vals, e), e);
}

int dev_read_some(struct dev *d, const unsigned char *want,
                  struct dev_value *vals, struct ohm_error *e) {
  const struct dev_hooks *h = dev_hooks_find(d->map->name);
  size_t wire = 0; /* wanted vars read over the wire */
  for (size_t i = 0; want && i < d->map->nvars; i++)
    wire += want[i] && !d->map->vars[i].text &&
            dev_var_available(d, &d->map->vars[i]);
  if (!wire || !d->engine->read_some || (h && h->post_read))
    return dev_read_all(d, vals, e);
  memset(vals, 0, d->map->nvars * sizeof *vals);
  return dev_read_answered(d, vals, d->engine->read_some(d, want, vals, e), e);
}

static int find_var(struct dev *d, const char *name, const struct dev_var **v,
                    struct ohm_error *e) {
  if (!(*v = dev_map_var(d->map, name)))
    return ohm_error_set(e, OHM_ENOENT, "unknown variable '%.100s'", name);
  if (!dev_var_available(d, *v))
    return ohm_error_set(e, OHM_ENOTSUP, "%s: not available over %s", name,
                         d->tp->ops->scheme);
  return 0;
}

int dev_get(struct dev *d, const char *name, struct dev_value *val,
            struct ohm_error *e) {
  const struct dev_var *v;
  unsigned char *want;
  struct dev_value *all;
  int rc;
  memset(val, 0, sizeof *val);
  if ((rc = find_var(d, name, &v, e)) < 0) return rc;
  if (!(all = calloc(d->map->nvars, sizeof *all)))
    return ohm_error_set(e, OHM_ENOMEM, "out of memory");
  if ((want = calloc(d->map->nvars, 1))) want[v - d->map->vars] = 1;
  rc = want ? dev_read_some(d, want, all, e) : dev_read_all(d, all, e);
  free(want);
  if (rc == 0) {
    *val = all[v - d->map->vars];
    if (val->kind == DV_ERR)
      rc = ohm_error_set(e, val->err, "%s", val->str);
    else if (val->kind == DV_NONE)
      rc = ohm_error_set(e, OHM_ENOENT, "%s: not reported by the device", name);
  }
  free(all);
  return rc;
}

int dev_set(struct dev *d, const char *name, const char *text,
            struct ohm_error *e) {
  const struct dev_var *v;
  uint16_t regs[4];
  int rc;
  if ((rc = find_var(d, name, &v, e)) < 0 ||
      (rc = dev_encode(v, text, regs, e)) < 0)
    return rc;
  if (!d->engine->set)
    return ohm_error_set(e, OHM_ENOTSUP, "%s: cannot be written over %s", name,
                         d->tp->ops->scheme);
  return d->engine->set(d, v, text, e);
}

int dev_set_many(struct dev *d, const char *const *names,
                 const char *const *texts, size_t n, size_t *bad,
                 struct ohm_error *e) {
  const struct dev_var **v;
  uint16_t regs[4];
  int rc = 0;
  *bad = 0;
  if (!d->engine->set_many)
    return ohm_error_set(e, OHM_ENOTSUP, "no all-or-none write over %s",
                         d->tp->ops->scheme);
  if (!(v = calloc(n ? n : 1, sizeof *v)))
    return ohm_error_set(e, OHM_ENOMEM, "out of memory");
  for (size_t k = 0; rc == 0 && k < n; k++)
    if ((rc = find_var(d, names[k], &v[k], e)) < 0 ||
        (rc = dev_encode(v[k], texts[k], regs, e)) < 0)
      *bad = k + 1;
  if (rc == 0)
    rc = d->engine->set_many(d, (const struct dev_var *const *)v, texts, n, bad,
                             e);
  free(v);
  return rc;
}

int dev_cmd(struct dev *d, const char *name, struct ohm_error *e) {
  const struct dev_cmd *c = dev_map_cmd(d->map, name);
  if (!c) return ohm_error_set(e, OHM_ENOENT, "unknown command '%.100s'", name);
  if (d->sim && strncmp(name, "reset.energy.L", 14) == 0)
    return sim_reset_energy(d->sim, d->unit, atoi(name + 14), e);
  if (d->sim && strcmp(name, "device.factory_reset") == 0)
    return sim_factory_reset(d->sim, d->unit, e);
  if (!d->engine->cmd)
    return ohm_error_set(e, OHM_ENOTSUP, "%s: not supported over %s", name,
                         d->tp->ops->scheme);
  return d->engine->cmd(d, c, e);
}

int dev_cmd_available(const struct dev *d, const struct dev_cmd *c) {
  if (d->sim && (strncmp(c->name, "reset.energy.L", 14) == 0 ||
                 strcmp(c->name, "device.factory_reset") == 0))
    return 1;
  if (!d->engine || !d->engine->cmd) return 0;
  return d->engine->has_cmd ? d->engine->has_cmd(d, c) : 1;
}

/* Decimals the var's resolution gives: 0.1 -> 1, 0.25 -> 2, energy8 -> 3.
 * -1 if none short (print with %g). */
static int decimals(const struct dev_var *v) {
  double res = fabs(v->scale) * (v->type == DT_ENERGY8 ? 0.001 : 1);
  double p = 1;
  if (v->type == DT_FLOAT32 || v->type == DT_FLOAT64) return -1;
  for (int d = 0; d <= 9; d++, p *= 10) {
    double x = res * p;
    if (fabs(x - ohm_rint(x)) < 1e-6 * (x > 1 ? x : 1)) return d;
  }
  return -1;
}

/* num with d decimals as "%.*f" prints it, trailing zeros and a "-0" cut
 * as below, by integer arithmetic (a fleet formats ~100 values a device);
 * 0 when it cannot be sure (a tie at the last digit, a huge value, no
 * room), and snprintf does it. */
static int fixed_fast(double num, int d, char *buf, size_t n) {
  static const double p10[] = {1e0, 1e1, 1e2, 1e3, 1e4,
                               1e5, 1e6, 1e7, 1e8, 1e9};
  char tmp[40], *q = tmp + sizeof tmp;
  double x = num * p10[d], r = ohm_rint(x);
  unsigned long long u;
  int neg = r < 0, k = 0;
  if (!(fabs(r) < 1e15) || fabs(fabs(x - r) - 0.5) < 1e-6) return 0;
  u = (unsigned long long)(neg ? -r : r);
  for (; k < d && u % 10 == 0; k++) /* trailing zeros of the fraction */
    u /= 10;
  for (; k < d; k++) {
    *--q = (char)('0' + u % 10);
    u /= 10;
    if (k + 1 == d) *--q = '.';
  }
  do
    *--q = (char)('0' + u % 10);
  while ((u /= 10) > 0);
  if (neg) *--q = '-'; /* r <= -1: never "-0" */
  if ((size_t)(tmp + sizeof tmp - q) >= n) return 0;
  memcpy(buf, q, (size_t)(tmp + sizeof tmp - q));
  buf[tmp + sizeof tmp - q] = 0;
  return 1;
}

void dev_value_format(const struct dev_var *v, const struct dev_value *val,
                      char *buf, size_t n) {
  int d;
  size_t len;
  switch (val->kind) {
  case DV_STR: /* as snprintf "%s", without its cost */
    len = strnlen(val->str, sizeof val->str);
    if (n == 0) return;
    if (len >= n) len = n - 1;
    memcpy(buf, val->str, len);
    buf[len] = 0;
    return;
  case DV_ERR:
    snprintf(buf, n, "error (%s)", val->str);
    return;
  case DV_NUM:
    break;
  default:
    snprintf(buf, n, "%s", "");
    return;
  }
  if ((d = decimals(v)) < 0) {
    snprintf(buf, n, "%.7g", val->num);
    return;
  }
  if (fixed_fast(val->num, d, buf, n)) return;
  snprintf(buf, n, "%.*f", d, val->num);
  len = strlen(buf);
  if (d > 0 && strchr(buf, '.')) { /* no trailing noise: 50.00 -> 50 */
    while (len > 0 && buf[len - 1] == '0')
      buf[--len] = 0;
    if (len > 0 && buf[len - 1] == '.') buf[--len] = 0;
  }
  if (strcmp(buf, "-0") == 0) snprintf(buf, n, "0");
}

/* ---- the register engine (Modbus) ---- */

/* The session's read plan: the map's blocks, split where the device
 * refused a block (exception 1 or 2) and remembered for the session; a
 * refused block of one var is dead (its var absent) and not asked again. */
struct regs_plan {
  struct dev_block *b;
  unsigned char *dead;
  size_t n;
};

static int regs_open(struct dev *d, struct ohm_error *e) {
  struct regs_plan *p = calloc(1, sizeof *p);
  size_t n = d->map->nblocks;
  if (p) p->b = calloc(n ? n : 1, sizeof *p->b);
  if (p) p->dead = calloc(n ? n : 1, 1);
  if (!p || !p->b || !p->dead) {
    if (p) free(p->b), free(p->dead);
    free(p);
    return ohm_error_set(e, OHM_ENOMEM, "out of memory");
  }
  memcpy(p->b, d->map->blocks, n * sizeof *p->b);
  p->n = n;
  d->priv = p;
  return 0;
}

static void regs_close(struct dev *d) {
  struct regs_plan *p = d->priv;
  if (p) free(p->b), free(p->dead);
  free(p);
  d->priv = NULL;
}

static int var_in(const struct dev_var *v, const struct dev_block *b) {
  return !v->text && v->reg >= 0 && v->table == b->table &&
         v->reg >= b->first && v->reg + dev_var_nregs(v) <= b->first + b->count;
}

/* Whether block b holds a var marked in want. */
static int block_wanted(const struct dev *d, const unsigned char *want,
                        const struct dev_block *b) {
  for (size_t i = 0; i < d->map->nvars; i++)
    if (want[i] && var_in(&d->map->vars[i], b)) return 1;
  return 0;
}

/* Decode every register var inside block b from its registers r. */
static void decode_block(struct dev *d, const struct dev_block *b,
                         const uint16_t *r, struct dev_value *vals) {
  const struct dev_map *m = d->map;
  for (size_t i = 0; i < m->nvars; i++)
    if (var_in(&m->vars[i], b))
      decode_value(&m->vars[i], r + (m->vars[i].reg - b->first), &vals[i]);
}

void dev_regs_decode_block(struct dev *d, const struct dev_block *b,
                           const uint16_t *r, struct dev_value *vals) {
  decode_block(d, b, r, vals);
}

/* A block the device refused as not there (Modbus exception 1 illegal
 * function or 2 illegal data address), as against a failure. */
static int block_refused(const struct ohm_error *e) {
  return e->code == OHM_EDEVICE && (strstr(e->msg, "(Modbus exception 1:") ||
                                    strstr(e->msg, "(Modbus exception 2:"));
}

/* Split refused block i in two at a var boundary near its middle; 0 if it
 * holds one var only (then it is dead). */
static int plan_split(struct regs_plan *p, size_t i, const struct dev_map *m) {
  struct dev_block b = p->b[i], *nb;
  int cut = -1, mid = b.first + b.count / 2, end = b.first + b.count;
  int lo_end = b.first, hi_first = end;
  unsigned char *nd;
  for (size_t k = 0; k < m->nvars; k++) {
    const struct dev_var *v = &m->vars[k];
    if (!var_in(v, &b) || v->reg == b.first) continue;
    if (cut < 0 || abs(v->reg - mid) < abs(cut - mid)) cut = v->reg;
  }
  if (cut < 0) return 0;
  for (size_t k = 0; k < m->nvars; k++) { /* tight ends of both halves */
    const struct dev_var *v = &m->vars[k];
    if (!var_in(v, &b)) continue;
    if (v->reg < cut && v->reg + dev_var_nregs(v) > lo_end)
      lo_end = v->reg + dev_var_nregs(v);
    if (v->reg >= cut && v->reg < hi_first) hi_first = v->reg;
  }
  if (!(nb = realloc(p->b, (p->n + 1) * sizeof *nb))) return 0;
  p->b = nb;
  if (!(nd = realloc(p->dead, p->n + 1))) return 0;
  p->dead = nd;
  memmove(nb + i + 2, nb + i + 1, (p->n - i - 1) * sizeof *nb);
  memmove(nd + i + 2, nd + i + 1, p->n - i - 1);
  nb[i] = (struct dev_block){b.first, lo_end - b.first, b.table};
  nb[i + 1] = (struct dev_block){hi_first, end - hi_first, b.table};
  nd[i] = nd[i + 1] = 0;
  p->n++;
  return 1;
}

enum { PLAN_OK, PLAN_DEAD, PLAN_SPLIT, PLAN_RETRY };

/* Read block i of the plan into vals: 1 read, 0 refused, <0 failed. */
static int plan_read(struct dev *d, size_t i, struct dev_value *vals,
                     struct ohm_error *e) {
  const struct dev_block *b = &((struct regs_plan *)d->priv)->b[i];
  uint16_t r[2000];
  int rc = tp_modbus(d->tp, d->unit, dev_table_fc(b->table), b->first, b->count,
                     r, e);
  if (rc == 0) decode_block(d, b, r, vals);
  return rc == 0 ? 1 : block_refused(e) ? 0 : rc;
}

/* The blocks refused in the first pass, split and retried smaller until
 * each refused part holds one var (absent from then on). The number of
 * blocks that answered, or a negative OHM_E*. */
static int plan_retry(struct dev *d, const unsigned char *only,
                      struct dev_value *vals, struct ohm_error *e) {
  struct regs_plan *p = d->priv;
  size_t answered = 0;
  int rc = 0;
  for (size_t i = 0; i < p->n && rc >= 0; i++) {
    if (p->dead[i] == PLAN_SPLIT) {
      if (!plan_split(p, i, d->map)) {
        p->dead[i] = PLAN_DEAD;
        continue;
      }
      p->dead[i] = p->dead[i + 1] = PLAN_RETRY;
    }
    if (p->dead[i] != PLAN_RETRY) continue;
    p->dead[i] = PLAN_OK;
    if (only && !block_wanted(d, only, &p->b[i])) continue;
    if ((rc = plan_read(d, i, vals, e)) == 0) {
      p->dead[i] = PLAN_SPLIT;
      i--; /* split it next */
    }
    answered += rc > 0;
  }
  return rc < 0 ? rc : (int)answered;
}

/* One request per block of the plan (one for the BPS2000v2), only those
 * holding a var marked in `want` when it is set. Any failed request fails the
 * whole read, and so does every block of a whole read refused (a wrong driver);
 * else the refused ones are split and retried (plan_retry). */
static int regs_read(struct dev *d, const unsigned char *only,
                     struct dev_value *vals, struct ohm_error *e) {
  struct regs_plan *p = d->priv;
  struct ohm_error first = {0};
  size_t answered = 0, refused = 0;
  int rc = 0;
  for (size_t i = 0; p && i < p->n && rc >= 0; i++) {
    if (p->dead[i] || (only && !block_wanted(d, only, &p->b[i]))) continue;
    if ((rc = plan_read(d, i, vals, e)) > 0) answered++;
    if (rc == 0 && !refused++) first = *e;
    if (rc == 0) p->dead[i] = PLAN_SPLIT;
  }
  if (rc >= 0 && refused && (answered || only) &&
      (rc = plan_retry(d, only, vals, e)) > 0)
    answered += (size_t)rc;
  if (rc < 0 || (refused && !answered)) {
    for (size_t i = 0; p && i < p->n; i++)
      if (p->dead[i] == PLAN_SPLIT) p->dead[i] = PLAN_OK;
    if (rc < 0) return rc;
    return ohm_error_set(
        e, OHM_EDEVICE, "no %s registers at this unit: wrong driver? (%s)",
        d->map->model ? d->map->model : d->map->name, first.msg);
  }
  return 0;
}

static int regs_read_all(struct dev *d, struct dev_value *vals,
                         struct ohm_error *e) {
  return regs_read(d, NULL, vals, e);
}

static int regs_read_some(struct dev *d, const unsigned char *want,
                          struct dev_value *vals, struct ohm_error *e) {
  return regs_read(d, want, vals, e);
}

/* Already validated by dev_set. A coil is written with 05; one register
 * with 06 unless the map says `write = 16`; several registers with 16. */
static int regs_set(struct dev *d, const struct dev_var *v, const char *text,
                    struct ohm_error *e) {
  uint16_t regs[4];
  int n = dev_var_nregs(v), rc = dev_encode(v, text, regs, e);
  if (rc < 0) return rc;
  if (v->table == DTAB_COIL)
    return tp_modbus(d->tp, d->unit, v->write16 ? 15 : 5, v->reg, 1, regs, e);
  return tp_modbus(d->tp, d->unit, n > 1 || v->write16 ? 16 : 6, v->reg, n,
                   regs, e);
}

/* A command with a register writes its value there; one only the console
 * carries is refused here with where to go instead. */
static int regs_cmd(struct dev *d, const struct dev_cmd *c,
                    struct ohm_error *e) {
  const char *scheme = d->tp->ops->scheme, *dash = strchr(scheme, '-');
  int len = dash ? (int)(dash - scheme) : (int)strlen(scheme);
  if (c->reg >= 0 && (!c->via || strstr(c->via, "modbus")))
    return tp_write_reg(d->tp, d->unit, c->reg, (uint16_t)c->value, e);
  if (c->via && strstr(c->via, "telnet"))
    return ohm_error_set(e, OHM_ENOTSUP,
                         "%s: not supported over %.*s (use "
                         "the telnet console)",
                         c->name, len, scheme);
  return ohm_error_set(e, OHM_ENOTSUP, "%s: not supported over %.*s%s%s%s",
                       c->name, len, scheme, c->via ? " (use " : "",
                       c->via ? c->via : "", c->via ? ")" : "");
}

static int regs_has_cmd(const struct dev *d, const struct dev_cmd *c) {
  (void)d;
  return c->reg >= 0 && (!c->via || strstr(c->via, "modbus"));
}

const struct dev_engine dev_engine_regs = {
    .kind = TP_REGS,
    .open = regs_open,
    .read_all = regs_read_all,
    .read_some = regs_read_some,
    .set = regs_set,
    .cmd = regs_cmd,
    .has_cmd = regs_has_cmd,
    .close = regs_close,
};
