/* The simulator over SNMP (see snmp_sim.h). */
#include "snmp_sim.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../../devices/device.h"
#include "../../devices/sim.h"
#include "snmp_agent.h"
#include "snmp_map.h"
#include "snmp_sim_bm.h"

struct snmp_sim {
  const struct dev_map *m;
  struct sim *regs; /* the Modbus simulator, for maps with registers */
  struct dev *d;    /* reading it */
  struct dev_value *vals;
  double t0;
  int ob, lb;        /* the simulated UPS's state, set over SNMP */
  struct bm_sim *bm; /* a map with tables: snmp_sim_bm.c serves it */
};

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* A value of the UPS at time t by its NUT name, or by unit. Slow waves,
 * so two reads a moment apart agree; rounded to what the map carries. */
static double ups_number(const struct snmp_sim *s, const struct dev_var *v,
                         double t) {
  static const struct {
    const char *name;
    double ol, ob, swing;
  } tab[] = {
      {"battery.charge", 100, 62, 0},
      {"battery.runtime", 2460, 1500, 0},
      {"battery.voltage", 27.2, 24.6, 0.1},
      {"battery.current", 0.4, -12.5, 0.2},
      {"battery.temperature", 26, 27, 1},
      {"input.voltage", 231, 0, 2},
      {"input.frequency", 50, 0, 0.1},
      {"output.voltage", 230, 230, 1},
      {"output.frequency", 50, 50, 0.1},
      {"output.current", 2.1, 2.1, 0.2},
      {"output.realpower", 450, 450, 20},
      {"ups.load", 35, 35, 3},
      {"ups.alarms.count", 0, 1, 0},
      /* one line in, out and bypass (upsInputNumLines ... = 1), so NUT's
       * snmp-ups and ohm use the single-phase names; upsConfig values */
      {"input.phases", 1, 1, 0},
      {"output.phases", 1, 1, 0},
      {"input.bypass.phases", 1, 1, 0},
      {"input.transfer.low", 170, 170, 0},
      {"input.transfer.high", 280, 280, 0},
      {"input.voltage.nominal", 230, 230, 0},
      {"output.voltage.nominal", 230, 230, 0},
      {"input.frequency.nominal", 50, 50, 0},
      {"output.frequency.nominal", 50, 50, 0},
      {"output.power.nominal", 1500, 1500, 0},
      {"output.realpower.nominal", 1000, 1000, 0},
      {"battery.runtime.low", 120, 120, 0},
  };
  double w = sin(t / 30.0);
  for (size_t i = 0; i < sizeof tab / sizeof tab[0]; i++)
    if (!strcmp(v->name, tab[i].name))
      return (s->ob ? tab[i].ob : tab[i].ol) + tab[i].swing * w;
  if (!strcmp(v->unit, "V")) return 230 + w;
  if (!strcmp(v->unit, "A")) return 2 + 0.2 * w;
  if (!strcmp(v->unit, "degC")) return 25 + w;
  return 50 + 5 * w;
}

static void ups_value(const struct snmp_sim *s, const struct dev_var *v,
                      double t, struct dev_value *x) {
  double scale = v->oid_scale != 0 ? v->oid_scale : v->scale;
  memset(x, 0, sizeof *x);
  if (!strcmp(v->name, "ups.status")) {
    x->kind = DV_STR;
    snprintf(x->str, sizeof x->str, "%s%s", s->ob ? "OB" : "OL",
             s->lb ? " LB" : "");
  } else if (!strcmp(v->name, "battery.status")) {
    x->kind = DV_STR;
    snprintf(x->str, sizeof x->str, "%s", s->lb ? "low" : "normal");
  } else if (v->type == DT_STRING || v->text) {
    static const char *const txt[][2] = {{"device.mfr", "ohm"},
                                         {"device.model", "UPS simulator"},
                                         {"ups.firmware", "1.0"}};
    x->kind = DV_STR;
    snprintf(x->str, sizeof x->str, "%s", v->text ? v->text : "sim");
    for (size_t i = 0; i < 3; i++)
      if (!strcmp(v->name, txt[i][0]))
        snprintf(x->str, sizeof x->str, "%s", txt[i][1]);
  } else { /* what the map's scale can carry */
    x->kind = DV_NUM;
    x->num = round(ups_number(s, v, t) / (scale ? scale : 1)) * scale;
  }
}

static int sim_objects(void *ctx, struct sa_obj **tab, size_t *n) {
  struct snmp_sim *s = ctx;
  struct ohm_error e;
  if (s->bm) return snmp_sim_bm_objects(s->bm, tab, n);
  if (s->d) {
    if (dev_read_all(s->d, s->vals, &e) < 0) return -1;
  } else {
    double t = now() - s->t0;
    for (size_t i = 0; i < s->m->nvars; i++)
      ups_value(s, &s->m->vars[i], t, &s->vals[i]);
  }
  int rc = sa_map_objects(s->m, s->m, s->vals, tab, n);
  for (size_t i = 0; rc == 0 && !s->d && i < *n; i++) /* the UPS's state */
    if ((*tab)[i].var >= 0) {
      const char *name = s->m->vars[(*tab)[i].var].name;
      (*tab)[i].writable |=
          !strcmp(name, "ups.status") || !strcmp(name, "battery.status");
    }
  return rc;
}

/* The UPS's state words are set through the codes RFC 1628 reads. */
static int ups_set(struct snmp_sim *s, const struct dev_var *v, long code,
                   struct ohm_error *e) {
  if (!strcmp(v->name, "ups.status") && (code == 3 || code == 5 || code == 4))
    return s->ob = code == 5, 0;
  if (!strcmp(v->name, "battery.status") && code >= 2 && code <= 4)
    return s->lb = code != 2, 0;
  return ohm_error_set(e, OHM_EINVAL, "%s: cannot be %ld", v->name, code);
}

static int sim_set(void *ctx, const struct sa_obj *o, const struct sa_obj *v,
                   struct ohm_error *e) {
  struct snmp_sim *s = ctx;
  char text[128];
  int rc;
  if (s->bm) return snmp_sim_bm_set(s->bm, o, v, e);
  if (o->var < 0) return ohm_error_set(e, OHM_EACCES, "read-only");
  if (!s->d) {
    if (v->type == SA_STR) return ohm_error_set(e, OHM_EINVAL, "an INTEGER");
    return ups_set(s, &s->m->vars[o->var], v->num, e);
  }
  if ((rc = sa_map_text(s->m, o, v, text, sizeof text, e)) < 0) return rc;
  return dev_set(s->d, s->m->vars[o->var].name, text, e);
}

static const struct sa_source sim_source = {sim_objects, sim_set};

static int has_regs(const struct dev_map *m) {
  for (size_t i = 0; i < m->nvars; i++)
    if (m->vars[i].reg >= 0) return 1;
  return 0;
}

static int open_regs(struct snmp_sim *s, struct ohm_error *e) {
  struct tp_opts o = {0};
  char uri[96];
  int rc = sim_start(s->m, "127.0.0.1:0", NULL, 1, &s->regs, e);
  if (rc < 0) return rc;
  o.retries = -1;
  snprintf(uri, sizeof uri, "modbus-tcp://127.0.0.1:%d", sim_port(s->regs));
  return dev_open(uri, s->m->name, &o, &s->d, e);
}

int snmp_sim_start(const struct dev_map *m, const char *addr,
                   const char *community, int *port, struct snmp_sim **out,
                   struct ohm_error *e) {
  unsigned long root[SA_OID_MAX];
  size_t rlen;
  int rc;
  struct snmp_sim *s = calloc(1, sizeof *s);
  *out = NULL;
  if (!s || !(s->vals = calloc(m->nvars + 1, sizeof *s->vals))) {
    free(s);
    return ohm_error_set(e, OHM_ENOMEM, "out of memory");
  }
  s->m = m, s->t0 = now();
  if (sa_map_root(m, root, &rlen) < 0)
    rc = ohm_error_set(e, OHM_ENOTSUP, "%s has no SNMP objects", m->name);
  else if ((rc = has_regs(m)            ? open_regs(s, e)
                 : snmp_sim_bm_wants(m) ? snmp_sim_bm_new(m, &s->bm, e)
                                        : 0) == 0 &&
           (rc = sa_start(NULL, e)) == 0 &&
           (rc = sa_device_add(community, root, rlen, &sim_source, s, 1, e)) ==
               0)
    rc = sa_listen(addr, port, e);
  if (rc < 0) {
    snmp_sim_stop(s);
    return rc;
  }
  *out = s;
  return 0;
}

void snmp_sim_stop(struct snmp_sim *s) {
  if (!s) return;
  sa_device_del(s);
  dev_close(s->d);
  sim_stop(s->regs);
  snmp_sim_bm_free(s->bm);
  free(s->vals);
  free(s);
}

/* sim:DRIVER for a map that only SNMP reaches: one simulated device per
 * driver for the process, on a loopback port of its own. */
static int sim_inproc(const struct dev_map *m, char *uri, size_t n,
                      struct ohm_error *e) {
  static pthread_mutex_t lk = PTHREAD_MUTEX_INITIALIZER;
  static struct {
    const struct dev_map *m;
    int port;
  } made[16];
  static size_t nmade;
  static char community[32];
  struct snmp_sim *s;
  int rc = 0, port = 0;
  pthread_mutex_lock(&lk);
  if (!community[0]) { /* its own: not reachable through serve's agent */
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    srand48(ts.tv_nsec ^ ts.tv_sec ^ getpid());
    snprintf(community, sizeof community, "sim-%08lx%08lx",
             (unsigned long)lrand48(), (unsigned long)lrand48());
  }
  for (size_t i = 0; i < nmade && !port; i++)
    if (made[i].m == m) port = made[i].port;
  if (!port && nmade < 16 &&
      (rc = snmp_sim_start(m, "127.0.0.1:0", community, &port, &s, e)) == 0)
    made[nmade].m = m, made[nmade++].port = port;
  else if (!port && rc == 0)
    rc = ohm_error_set(e, OHM_ENOMEM, "too many simulators");
  pthread_mutex_unlock(&lk);
  if (rc == 0) snprintf(uri, n, "snmp://%s@127.0.0.1:%d", community, port);
  return rc;
}

__attribute__((constructor)) static void sim_snmp_register(void) {
  sim_snmp_hook = sim_inproc;
}
