/* Parallel polling (see poll.h). Targets are grouped: one group per network
 * device, one per RS485 line. Workers take whole groups from a shared
 * counter, so a group's devices are read in order by one thread and no two
 * threads ever touch one transport. Each group has a lock that writers
 * (poll_set_with_dev) take too. */
#include "poll.h"
#include "poll_int.h"

#include "snmp_engine.h"
#include "../transports/modbus_nb.h"
#include "../transports/transport.h"
#include "../util/clock.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

struct worker {
  struct poll_set *s;
  struct dev_value *buf;
  size_t cap;
};

/* Give a device back: the caller's close, else dev_close. */
static void release(struct poll_set *s, size_t i, struct dev *d) {
  if (!d) return;
  if (s->o.close)
    s->o.close(s->o.ctx, i, d);
  else
    dev_close(d);
}

/* A target's group key: its line, or "" for every SNMP agent (one group,
 * one event loop); a tty path is never empty, so the two cannot meet. */
static const char *target_key(void *ctx, size_t i) {
  const struct poll_target *t = (const struct poll_target *)ctx + i;
  return t->snmp ? "" : t->bus;
}

/* order, gstart and group_of: a line's targets, or all SNMP agents, form a
 * group; any other target is a group of its own. */
static int make_groups(struct poll_set *s) {
  size_t n = s->n;
  s->group_of = calloc(n ? n : 1, sizeof *s->group_of);
  s->order = calloc(n ? n : 1, sizeof *s->order);
  s->gstart = calloc(n + 1, sizeof *s->gstart);
  if (!s->group_of || !s->order || !s->gstart ||
      poll_group_by_bus(n, target_key, (void *)s->t, s->order, s->gstart,
                        &s->ngroups) < 0)
    return OHM_ENOMEM;
  for (size_t g = 0; g < s->ngroups; g++)
    for (size_t k = s->gstart[g]; k < s->gstart[g + 1]; k++)
      s->group_of[s->order[k]] = g;
  return 0;
}

int poll_set_new(const struct poll_target *t, size_t n,
                 const struct poll_opts *o, struct poll_set **out,
                 struct ohm_error *e) {
  if (!o || !o->open)
    return ohm_error_set(e, OHM_EINVAL, "poll: no open function");
  struct poll_set *s = calloc(1, sizeof *s);
  if (!s) return ohm_error_set(e, OHM_ENOMEM, "out of memory");
  s->t = t;
  s->n = n;
  s->o = *o;
  if (s->o.jobs <= 0) s->o.jobs = POLL_DEFAULT_JOBS;
  pthread_mutex_init(&s->done_lock, NULL);
  if (make_groups(s) < 0 ||
      !(s->glock = calloc(s->ngroups ? s->ngroups : 1, sizeof *s->glock)) ||
      !(s->devs = calloc(n ? n : 1, sizeof *s->devs))) {
    poll_set_free(s);
    return ohm_error_set(e, OHM_ENOMEM, "out of memory");
  }
  for (size_t g = 0; g < s->ngroups; g++)
    pthread_mutex_init(&s->glock[g], NULL);
  *out = s;
  return 0;
}

/* Room for nv values in the worker's reusable buffer. */
static struct dev_value *worker_buf(struct worker *w, size_t nv) {
  if (nv > w->cap) {
    struct dev_value *b = realloc(w->buf, nv * sizeof *b);
    if (!b) return NULL;
    w->buf = b;
    w->cap = nv;
  }
  return w->buf;
}

/* Open (if needed) and read target i; report; close unless keep_open or
 * after a failure (a broken connection is reopened next time). */
static void poll_one(struct worker *w, size_t i) {
  struct poll_set *s = w->s;
  struct poll_result r = {0};
  struct dev *d = s->devs[i];
  double t0 = ohm_mono();
  r.started = ohm_real();
  ohm_error_clear(&r.err);
  if (tp_interrupted) /* Ctrl-C: nothing more is opened or read */
    r.rc = ohm_error_set(&r.err, OHM_EINTR, "interrupted");
  else if (!d && (r.rc = s->o.open(s->o.ctx, i, &d, &r.err)) < 0)
    d = NULL;
  if (d && r.rc == 0) {
    struct dev_value *v = worker_buf(w, d->map->nvars ? d->map->nvars : 1);
    if (!v)
      r.rc = ohm_error_set(&r.err, OHM_ENOMEM, "out of memory");
    else if ((r.rc = dev_read_all(d, v, &r.err)) == 0)
      r.vals = v;
    r.dev = d;
    r.map = d->map;
  }
  poll_finish(s, i, d, &r, t0);
}

void poll_finish(struct poll_set *s, size_t i, struct dev *d,
                 struct poll_result *r, double t0) {
  if (r->rc < 0 && r->err.code == 0) r->err.code = r->rc;
  r->duration = ohm_mono() - t0;
  if (r->rc < 0) atomic_fetch_add(&s->failed, 1);
  if (s->o.done) {
    pthread_mutex_lock(&s->done_lock);
    s->o.done(s->o.ctx, i, r);
    pthread_mutex_unlock(&s->done_lock);
  }
  if (d && (!s->o.keep_open || r->rc < 0)) {
    release(s, i, d);
    d = NULL;
  }
  s->devs[i] = d;
}

/* The SNMP group read through a window (dev_snmp_read_window): agents are
 * opened as slots free up and closed as they finish, so a thousand agents
 * hold POLL_SNMP_WINDOW sessions and value arrays, not a thousand. */
#define POLL_SNMP_WINDOW 128

struct snmp_win {
  struct poll_set *s;
  size_t k, end; /* next and end positions in s->order */
  double t0, started;
};

/* The next due agent, opened; one that does not open is reported here. */
static int snmp_next(void *ctx, struct dev **d, size_t *id) {
  struct snmp_win *w = ctx;
  struct poll_set *s = w->s;
  while (w->k < w->end) {
    size_t i = s->order[w->k++];
    struct poll_result r = {0};
    struct dev *dv = s->devs[i];
    if (s->due && !s->due[i]) continue;
    if (tp_interrupted) { /* Ctrl-C: the agents not read yet are not opened */
      r.rc = ohm_error_set(&r.err, OHM_EINTR, "interrupted");
      r.started = w->started;
      poll_finish(s, i, dv, &r, w->t0); /* closes one kept open */
      continue;
    }
    if (!dv && (r.rc = s->o.open(s->o.ctx, i, &dv, &r.err)) < 0) {
      r.started = w->started;
      poll_finish(s, i, NULL, &r, w->t0);
      continue;
    }
    *d = dv;
    *id = i;
    return 1;
  }
  return 0;
}

static void snmp_done(void *ctx, size_t id, struct dev *d,
                      const struct dev_value *vals, int rc,
                      const struct ohm_error *err) {
  struct snmp_win *w = ctx;
  struct poll_result r = {0};
  r.rc = rc;
  if (rc < 0) r.err = *err;
  r.vals = rc == 0 ? vals : NULL;
  r.dev = d;
  r.map = d->map;
  r.started = w->started;
  poll_finish(w->s, id, d, &r, w->t0);
}

/* The SNMP group: every due agent read from this thread, at most
 * POLL_SNMP_WINDOW in flight; after Ctrl-C the rest fail with it. */
static void poll_snmp(struct poll_set *s, size_t g) {
  struct snmp_win w = {s, s->gstart[g], s->gstart[g + 1], ohm_mono(),
                       ohm_real()};
  struct ohm_error e;
  struct dev *d;
  size_t i;
  ohm_error_clear(&e);
  int rc = dev_snmp_read_window(POLL_SNMP_WINDOW, snmp_next, snmp_done, &w, &e);
  while (rc < 0 && snmp_next(&w, &d, &i))
    snmp_done(&w, i, d, NULL, rc, &e);
}

/* Whether target i is read in the event loop (poll_mb.c). */
static int in_loop(const struct poll_set *s, size_t i) {
  return s->t[i].mbtcp && s->o.open_lazy && !s->o.keep_open;
}

static void *worker_main(void *arg) {
  struct worker *w = arg;
  struct poll_set *s = w->s;
  for (;;) {
    size_t g = atomic_fetch_add(&s->next, 1);
    if (g >= s->ngroups) break;
    pthread_mutex_lock(&s->glock[g]);
    if (s->t[s->order[s->gstart[g]]].snmp) poll_snmp(s, g);
    for (size_t k = s->gstart[g];
         k < s->gstart[g + 1] && !s->t[s->order[k]].snmp; k++) {
      size_t i = s->order[k];
      if ((!s->due || s->due[i]) && !in_loop(s, i)) poll_one(w, i);
    }
    pthread_mutex_unlock(&s->glock[g]);
  }
  free(w->buf);
  w->buf = NULL;
  w->cap = 0;
  return NULL;
}

/* Groups with at least one due target: at most that many threads help. */
static size_t due_groups(const struct poll_set *s) {
  size_t n = 0;
  for (size_t g = 0; g < s->ngroups; g++)
    for (size_t k = s->gstart[g]; k < s->gstart[g + 1]; k++)
      if ((!s->due || s->due[s->order[k]]) && !in_loop(s, s->order[k])) {
        n++;
        break;
      }
  return n;
}

/* Start the workers beside this thread: want of them when this thread
 * runs the event loop, want - 1 when it is a worker too. */
static size_t start_workers(struct poll_set *s, pthread_t *tid,
                            struct worker *w, size_t want, int looping) {
  size_t nt = 0;
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, 256 * 1024);
  for (size_t k = looping ? 0 : 1; k < want; k++) {
    w[nt].s = s;
    if (pthread_create(&tid[nt], &attr, worker_main, &w[nt]) != 0) break;
    nt++;
  }
  pthread_attr_destroy(&attr);
  return nt;
}

int poll_set_run(struct poll_set *s, const unsigned char *due,
                 struct ohm_error *e) {
  s->due = due;
  atomic_store(&s->next, 0);
  atomic_store(&s->failed, 0);
  size_t want = due_groups(s), nt, nloop = 0;
  if ((size_t)s->o.jobs < want) want = (size_t)s->o.jobs;
  pthread_t *tid = calloc(want + 1, sizeof *tid);
  struct worker *w = calloc(want + 1, sizeof *w);
  size_t *loop = calloc(s->n + 1, sizeof *loop);
  if (!tid || !w || !loop) {
    free(tid), free(w), free(loop);
    return ohm_error_set(e, OHM_ENOMEM, "out of memory");
  }
  for (size_t i = 0; i < s->n; i++)
    if ((!due || due[i]) && in_loop(s, i)) loop[nloop++] = i;
  nt = start_workers(s, tid, w, want, nloop > 0);
  w[want].s = s;
  if (nloop) /* this thread runs the loop, the workers the rest */
    poll_mb_run(s, loop, nloop);
  else
    worker_main(&w[want]);
  for (size_t k = 0; k < nt; k++)
    pthread_join(tid[k], NULL);
  free(tid), free(w), free(loop);
  s->due = NULL;
  return atomic_load(&s->failed);
}

/* A kept-open connection the peer dropped while idle fails with OHM_EIO:
 * reopen once and try again (a 06 write or a command is idempotent). */
int poll_set_with_dev(struct poll_set *s, size_t i, poll_dev_fn fn, void *arg,
                      struct ohm_error *e) {
  if (i >= s->n) return ohm_error_set(e, OHM_ENOENT, "no such device");
  size_t g = s->group_of[i];
  int rc = 0;
  pthread_mutex_lock(&s->glock[g]);
  for (int attempt = 0; attempt < 2; attempt++) {
    int reused = s->devs[i] != NULL;
    rc = reused ? 0 : s->o.open(s->o.ctx, i, &s->devs[i], e);
    if (rc == 0 && s->devs[i]) rc = fn(s->devs[i], arg, e);
    if (s->devs[i] &&
        (!s->o.keep_open || rc == OHM_EIO || rc == OHM_ETIMEDOUT)) {
      release(s, i, s->devs[i]);
      s->devs[i] = NULL;
    }
    if (rc != OHM_EIO || !reused) break;
  }
  pthread_mutex_unlock(&s->glock[g]);
  return rc;
}

void poll_set_free(struct poll_set *s) {
  if (!s) return;
  for (size_t i = 0; s->devs && i < s->n; i++)
    release(s, i, s->devs[i]);
  for (size_t g = 0; s->glock && g < s->ngroups; g++)
    pthread_mutex_destroy(&s->glock[g]);
  pthread_mutex_destroy(&s->done_lock);
  free(s->devs);
  free(s->glock);
  free(s->group_of);
  free(s->order);
  free(s->gstart);
  free(s);
}

int poll_run(const struct poll_target *t, size_t n, const struct poll_opts *o,
             struct ohm_error *e) {
  struct poll_set *s;
  int rc = poll_set_new(t, n, o, &s, e);
  if (rc < 0) return rc;
  rc = poll_set_run(s, NULL, e);
  poll_set_free(s);
  return rc;
}

int poll_bus_of(const char *uri, char *buf, size_t n) {
  struct ohm_uri u;
  int bus = 0;
  if (!uri || ohm_uri_parse(uri, &u, NULL) < 0) return 0;
  if ((strcmp(u.scheme, "modbus-rtu") == 0 ||
       strcmp(u.scheme, "serial") == 0) &&
      u.path && *u.path) {
    snprintf(buf, n, "%s", u.path);
    bus = 1;
  }
  ohm_uri_free(&u);
  return bus;
}

const char *poll_dev_bus(const struct dev *d) {
  const struct ohm_uri *u = d && d->tp ? &d->tp->uri : NULL;
  if (!u || !u->scheme || !u->path || !*u->path) return NULL;
  return strcmp(u->scheme, "modbus-rtu") == 0 ||
                 strcmp(u->scheme, "serial") == 0
             ? u->path
             : NULL;
}

int poll_is_snmp(const char *uri) {
  return uri && strncasecmp(uri, "snmp://", 7) == 0;
}

int poll_is_mbtcp(const char *uri) {
  struct ohm_uri u;
  struct sockaddr_storage sa;
  socklen_t len;
  int yes;
  if (!uri || strncasecmp(uri, "modbus-tcp://", 13) != 0 ||
      ohm_uri_parse(uri, &u, NULL) < 0)
    return 0;
  yes = mb_nb_addr(u.host, 502, &sa, &len) == 0;
  ohm_uri_free(&u);
  return yes;
}

int poll_in_shard(const char *name, int k, int n) {
  uint32_t h = 2166136261u; /* FNV-1a: stable across hosts and builds */
  for (const unsigned char *p = (const unsigned char *)name; *p; p++)
    h = (h ^ *p) * 16777619u;
  return n <= 1 || (int)(h % (uint32_t)n) == k - 1;
}
