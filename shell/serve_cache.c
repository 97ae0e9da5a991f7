/* The polling cache behind `ohm serve` (contract in serve.h).
 *
 * Locks, always taken in this order and never the other way:
 *   ps_lock  rwlock over the device list and poll set: the poller and the
 *            writers hold it shared, reload holds it exclusive;
 *   (the poll set's per-device / per-line group locks);
 *   lock     rwlock over the cached values: held only while copying;
 *   mu       the poller's schedule (due times, stop flag, wakeups). */
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../devices/poll.h"
#include "serve.h"
#include "../util/clock.h"

#define SV_STALE_INTERVALS 3

/* A value as the cache keeps it: a dev_value is 152 bytes for the text
 * few values have, which made the values of 1,000 devices 15 MB; here a
 * text lives in the device's string pool. */
struct sv_cval {
  double num;
  uint32_t str; /* offset in sv_dev.strs (DV_STR, DV_ERR) */
  int32_t err;
  uint8_t kind;
};

struct sv_dev {
  double interval;
  const struct dev_map *map;
  struct sv_cval *vals; /* last good values, map->nvars */
  char *strs;           /* their texts, NUL-terminated one after another */
  unsigned char *cmds;  /* cmds_map->ncmds: dev_cmd_available */
  const struct dev_map *cmds_map;
  int ok; /* the last attempt succeeded */
  double updated, polled, duration;
  double next_due; /* monotonic */
  char scheme[16];
  char error[512];
};

struct sv_cache {
  struct sv_config cfg;
  char **args; /* names asked for at start (NULL: the whole inventory) */
  size_t nargs;
  pthread_rwlock_t ps_lock, lock;
  struct fleet f;
  struct poll_set *ps;
  struct sv_dev *devs;
  unsigned char *due;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  pthread_t thread;
  int started, stop, rounds;
  unsigned gen;       /* bumped on every wakeup of the poller */
  unsigned long vgen; /* sv_cache_gen: under mu */
};

const char *sv_state_name(enum sv_state s) {
  static const char *const n[] = {"none", "ok", "stale", "failed"};
  return s <= SV_FAILED ? n[s] : "?";
}

static int has_text(enum dev_vkind k) {
  return k == DV_STR || k == DV_ERR;
}

/* Keep v[0..nv) in d's compact form (d->vals holds nv). A text that finds
 * no memory is dropped (DV_NONE), never shown wrong. */
static void cv_pack(struct sv_dev *d, const struct dev_value *v, size_t nv) {
  size_t need = 1, off = 0;
  for (size_t k = 0; k < nv; k++)
    if (has_text(v[k].kind)) need += strnlen(v[k].str, sizeof v[k].str) + 1;
  char *strs = realloc(d->strs, need);
  if (strs) d->strs = strs;
  for (size_t k = 0; k < nv; k++) {
    struct sv_cval *c = &d->vals[k];
    c->kind = (uint8_t)v[k].kind;
    c->num = v[k].num;
    c->err = v[k].err;
    c->str = 0;
    if (!has_text(v[k].kind)) continue;
    if (!strs) {
      c->kind = DV_NONE;
      continue;
    }
    size_t n = strnlen(v[k].str, sizeof v[k].str - 1);
    memcpy(strs + off, v[k].str, n);
    strs[off + n] = 0;
    c->str = (uint32_t)off;
    off += n + 1;
  }
}

static void cv_unpack(const struct sv_dev *d, size_t nv, struct dev_value *v) {
  memset(v, 0, nv * sizeof *v);
  for (size_t k = 0; k < nv; k++) {
    const struct sv_cval *c = &d->vals[k];
    v[k].kind = (enum dev_vkind)c->kind;
    v[k].num = c->num;
    v[k].err = c->err;
    if (has_text(v[k].kind))
      snprintf(v[k].str, sizeof v[k].str, "%s", d->strs + c->str);
  }
}

/* Which of the map's commands device dev carries, noted once per map
 * (under the values' write lock). */
static void note_cmds(struct sv_dev *d, const struct dev *dev,
                      const struct dev_map *m) {
  if (!dev || !m || d->cmds_map == m) return;
  free(d->cmds);
  d->cmds = calloc(m->ncmds ? m->ncmds : 1, 1);
  d->cmds_map = d->cmds ? m : NULL;
  for (size_t k = 0; d->cmds && k < m->ncmds; k++)
    d->cmds[k] = (unsigned char)dev_cmd_available(dev, &m->cmds[k]);
}

/* Store one poll result (called serialised by the poller's workers). */
static void cache_done(void *ctx, size_t i, const struct poll_result *r) {
  struct sv_cache *c = ctx;
  struct sv_dev *d = &c->devs[i];
  int changed = !d->polled || d->ok != (r->rc == 0);
  if (r->rc < 0 && tp_interrupted) /* stopping (SIGTERM): not the device's */
    return;                        /* fault, and nobody reads it any more */
  pthread_rwlock_wrlock(&c->lock);
  d->polled = r->started;
  d->duration = r->duration;
  d->ok = r->rc == 0;
  if (r->rc == 0) {
    size_t nv = r->map->nvars;
    if (d->map != r->map || !d->vals) {
      free(d->vals);
      d->vals = calloc(nv ? nv : 1, sizeof *d->vals);
      d->map = d->vals ? r->map : NULL;
    }
    if (d->vals) cv_pack(d, r->vals, nv);
    d->updated = r->started + r->duration;
    d->error[0] = 0;
  } else {
    snprintf(d->error, sizeof d->error, "%s", ohm_error_text(&r->err));
    if (r->map && !d->map) d->map = r->map;
  }
  if (r->dev && r->dev->tp)
    snprintf(d->scheme, sizeof d->scheme, "%s", r->dev->tp->ops->scheme);
  note_cmds(d, r->dev, r->map);
  pthread_rwlock_unlock(&c->lock);
  if (changed && r->rc == 0)
    serve_info("%s: ok", c->f.names[i]);
  else if (changed)
    serve_log("%s: failed (%s)", c->f.names[i], ohm_error_text(&r->err));
  if (c->cfg.on_read)
    c->cfg.on_read(c->cfg.on_read_ctx, c->f.names[i], r->map,
                   r->rc == 0 ? r->vals : NULL, r->rc == 0);
  pthread_mutex_lock(&c->mu);
  d->next_due = ohm_mono() + d->interval;
  pthread_mutex_unlock(&c->mu);
}

/* Mark the due devices; returns how many, else sets *wait to the time
 * until the next one. Called with mu held. */
static size_t mark_due(struct sv_cache *c, double *wait) {
  double now = ohm_mono(), next = INFINITY;
  size_t n = 0;
  for (size_t i = 0; i < c->f.n; i++) {
    c->due[i] = c->devs[i].next_due <= now;
    n += c->due[i];
    if (c->devs[i].next_due < next) next = c->devs[i].next_due;
  }
  *wait = next - now;
  return n;
}

/* Sleep until the next device is due or something wakes us (a write, a
 * reload, stop), unless that already happened since gen was read. */
static void poller_sleep(struct sv_cache *c, double wait, unsigned gen) {
  struct timespec ts;
  if (wait > 3600 || !isfinite(wait)) wait = 3600;
  clock_gettime(CLOCK_REALTIME, &ts);
  double t = ts.tv_sec + ts.tv_nsec / 1e9 + wait;
  ts.tv_sec = (time_t)t;
  ts.tv_nsec = (long)((t - floor(t)) * 1e9);
  pthread_mutex_lock(&c->mu);
  if (!c->stop && c->gen == gen) pthread_cond_timedwait(&c->cv, &c->mu, &ts);
  pthread_mutex_unlock(&c->mu);
}

static void *poller_main(void *arg) {
  struct sv_cache *c = arg;
  for (;;) {
    double wait;
    pthread_rwlock_rdlock(&c->ps_lock); /* not while reloading */
    pthread_mutex_lock(&c->mu);
    int stop = c->stop;
    unsigned gen = c->gen;
    size_t n = stop ? 0 : mark_due(c, &wait);
    pthread_mutex_unlock(&c->mu);
    if (n) poll_set_run(c->ps, c->due, NULL);
    pthread_rwlock_unlock(&c->ps_lock);
    if (stop) break;
    if (!n) {
      poller_sleep(c, wait, gen);
      continue;
    }
    pthread_mutex_lock(&c->mu);
    c->rounds++;
    c->vgen++;
    pthread_cond_broadcast(&c->cv);
    pthread_mutex_unlock(&c->mu);
  }
  return NULL;
}

static int cache_open(void *ctx, size_t i, struct dev **out,
                      struct ohm_error *e) {
  struct sv_cache *c = ctx;
  return fleet_open(&c->f, i, out, e);
}

/* Build the device list, state and poll set over inv (caller holds ps_lock
 * exclusively, or the cache is not started). */
static int cache_build(struct sv_cache *c, struct inventory *inv,
                       struct ohm_error *e) {
  int rc = fleet_init_inv(&c->f, c->cfg.opts, inv, c->args, c->nargs,
                          c->cfg.shard_k, c->cfg.shard_n, e);
  if (rc < 0) return rc;
  c->devs = calloc(c->f.n + 1, sizeof *c->devs);
  c->due = calloc(c->f.n + 1, 1);
  if (!c->devs || !c->due) return ohm_error_set(e, OHM_ENOMEM, "out of memory");
  for (size_t i = 0; i < c->f.n; i++) {
    const struct inv_device *d = inv_find(inv, c->f.names[i]);
    const char *iv = d ? inv_field(d, "interval") : NULL;
    double v = iv ? atof(iv) : 0;
    c->devs[i].interval = v > 0 ? v : c->cfg.interval;
  }
  struct poll_opts po = {.jobs = c->cfg.jobs,
                         .keep_open = 1,
                         .open = cache_open,
                         .done = cache_done,
                         .ctx = c};
  return poll_set_new(c->f.t, c->f.n, &po, &c->ps, e);
}

static void cache_clear(struct sv_cache *c) {
  poll_set_free(c->ps);
  c->ps = NULL;
  for (size_t i = 0; c->devs && i < c->f.n; i++) {
    free(c->devs[i].vals);
    free(c->devs[i].strs);
    free(c->devs[i].cmds);
  }
  free(c->devs);
  free(c->due);
  c->devs = NULL;
  c->due = NULL;
  fleet_free(&c->f);
}

int sv_cache_new(const struct sv_config *cfg, struct inventory *inv,
                 char **names, size_t n, struct sv_cache **out,
                 struct ohm_error *e) {
  struct sv_cache *c = calloc(1, sizeof *c);
  int rc;
  if (!c || (n && !(c->args = calloc(n, sizeof *c->args)))) {
    free(c);
    return ohm_error_set(e, OHM_ENOMEM, "out of memory");
  }
  c->cfg = *cfg;
  if (c->cfg.interval <= 0) c->cfg.interval = 10;
  for (size_t i = 0; i < n; i++)
    if ((c->args[c->nargs] = strdup(names[i]))) c->nargs++;
  pthread_rwlock_init(&c->ps_lock, NULL);
  pthread_rwlock_init(&c->lock, NULL);
  pthread_mutex_init(&c->mu, NULL);
  pthread_cond_init(&c->cv, NULL);
  *out = c;
  if ((rc = cache_build(c, inv, e)) < 0) return rc;
  if (pthread_create(&c->thread, NULL, poller_main, c) != 0)
    return ohm_error_set(e, OHM_ENOMEM, "cannot start the poller thread");
  c->started = 1;
  return 0;
}

void sv_cache_free(struct sv_cache *c) {
  if (!c) return;
  pthread_mutex_lock(&c->mu);
  c->stop = 1;
  c->gen++;
  pthread_cond_broadcast(&c->cv);
  pthread_mutex_unlock(&c->mu);
  if (c->started) pthread_join(c->thread, NULL);
  cache_clear(c);
  for (size_t i = 0; i < c->nargs; i++)
    free(c->args[i]);
  free(c->args);
  pthread_rwlock_destroy(&c->ps_lock);
  pthread_rwlock_destroy(&c->lock);
  pthread_mutex_destroy(&c->mu);
  pthread_cond_destroy(&c->cv);
  free(c);
}

int sv_cache_reload(struct sv_cache *c, struct inventory *inv,
                    struct ohm_error *e) {
  pthread_rwlock_wrlock(&c->ps_lock);
  pthread_rwlock_wrlock(&c->lock);
  pthread_mutex_lock(&c->mu);
  cache_clear(c);
  int rc = cache_build(c, inv, e);
  if (rc < 0) cache_clear(c); /* an empty cache until the next good reload */
  c->gen++;
  c->vgen++;
  pthread_cond_broadcast(&c->cv);
  pthread_mutex_unlock(&c->mu);
  pthread_rwlock_unlock(&c->lock);
  pthread_rwlock_unlock(&c->ps_lock);
  return rc;
}

void sv_cache_wait_first(struct sv_cache *c, double seconds) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  double t = ts.tv_sec + ts.tv_nsec / 1e9 + seconds;
  ts.tv_sec = (time_t)t;
  ts.tv_nsec = (long)((t - floor(t)) * 1e9);
  pthread_mutex_lock(&c->mu);
  while (!c->rounds && !c->stop &&
         pthread_cond_timedwait(&c->cv, &c->mu, &ts) == 0)
    ;
  pthread_mutex_unlock(&c->mu);
}

unsigned long sv_cache_gen(struct sv_cache *c) {
  pthread_mutex_lock(&c->mu);
  unsigned long g = c->vgen;
  pthread_mutex_unlock(&c->mu);
  return g;
}

size_t sv_cache_count(struct sv_cache *c) {
  pthread_rwlock_rdlock(&c->lock);
  size_t n = c->f.n;
  pthread_rwlock_unlock(&c->lock);
  return n;
}

/* The state now: values age from stale to failed. */
static enum sv_state state_of(const struct sv_dev *d, double now) {
  if (!d->polled) return SV_NONE;
  if (d->ok) return SV_OK;
  if (d->vals && now - d->updated < SV_STALE_INTERVALS * d->interval)
    return SV_STALE;
  return SV_FAILED;
}

static int snap_locked(struct sv_cache *c, size_t i, struct sv_snap *s) {
  const struct sv_dev *d = &c->devs[i];
  memset(s, 0, sizeof *s);
  s->name = strdup(c->f.names[i]);
  s->map = d->map;
  s->state = state_of(d, ohm_real());
  s->updated = d->updated;
  s->polled = d->polled;
  s->duration = d->duration;
  s->interval = d->interval;
  memcpy(s->scheme, d->scheme, sizeof s->scheme);
  snprintf(s->error, sizeof s->error, "%s", d->error);
  if ((s->state == SV_OK || s->state == SV_STALE) && d->vals && d->map) {
    size_t nv = d->map->nvars;
    if ((s->vals = malloc((nv ? nv : 1) * sizeof *s->vals)))
      cv_unpack(d, nv, s->vals);
  }
  if (d->cmds && d->cmds_map == d->map && d->map &&
      (s->cmds = malloc(d->map->ncmds ? d->map->ncmds : 1)))
    memcpy(s->cmds, d->cmds, d->map->ncmds);
  if (!s->name || (s->state == SV_OK && d->vals && !s->vals)) {
    sv_snap_free(s);
    return OHM_ENOMEM;
  }
  return 0;
}

int sv_cache_snap(struct sv_cache *c, size_t i, struct sv_snap *out) {
  int rc = OHM_ENOENT;
  memset(out, 0, sizeof *out);
  pthread_rwlock_rdlock(&c->lock);
  if (i < c->f.n) rc = snap_locked(c, i, out);
  pthread_rwlock_unlock(&c->lock);
  return rc;
}

static long find_name(const struct sv_cache *c, const char *name) {
  for (size_t i = 0; i < c->f.n; i++)
    if (strcmp(c->f.names[i], name) == 0) return (long)i;
  return -1;
}

int sv_cache_snap_name(struct sv_cache *c, const char *name,
                       struct sv_snap *out) {
  int rc = OHM_ENOENT;
  memset(out, 0, sizeof *out);
  pthread_rwlock_rdlock(&c->lock);
  long i = find_name(c, name);
  if (i >= 0) rc = snap_locked(c, (size_t)i, out);
  pthread_rwlock_unlock(&c->lock);
  return rc;
}

void sv_snap_free(struct sv_snap *s) {
  free(s->name);
  free(s->vals);
  free(s->cmds);
  s->name = NULL;
  s->vals = NULL;
  s->cmds = NULL;
}

struct write_req {
  const char *var, *text, *cmd;
  struct sv_cache *c;
  size_t i;
};

/* Values read back after a write into device i's cache: all of them
 * after a full read (want NULL), else those the read brought. */
static void store_back(struct sv_cache *c, size_t i, const struct dev *dev,
                       const struct dev_value *vals, int full) {
  struct sv_dev *d = &c->devs[i];
  size_t nv = dev->map->nvars;
  struct dev_value *cur = malloc((nv ? nv : 1) * sizeof *cur);
  pthread_rwlock_wrlock(&c->lock);
  if (cur && d->vals && d->map == dev->map) {
    cv_unpack(d, nv, cur);
    for (size_t k = 0; k < nv; k++)
      if (full || vals[k].kind != DV_NONE) cur[k] = vals[k];
    cv_pack(d, cur, nv);
    if (full) {
      d->ok = 1;
      d->updated = ohm_real();
    }
  }
  pthread_rwlock_unlock(&c->lock);
  free(cur);
  pthread_mutex_lock(&c->mu);
  c->vgen++;
  pthread_mutex_unlock(&c->mu);
}

/* Read back what a write changed: the var set (with what the driver
 * derives from it), or every var after a command. */
static void read_back(struct dev *dev, struct write_req *w) {
  struct ohm_error e;
  size_t nv = dev->map->nvars;
  const struct dev_var *v = w->var ? dev_map_var(dev->map, w->var) : NULL;
  struct dev_value *vals = calloc(nv ? nv : 1, sizeof *vals);
  unsigned char *want = v ? calloc(nv, 1) : NULL;
  if (vals && (!v || want)) {
    if (want) want[v - dev->map->vars] = 1;
    int rc =
        want ? dev_read_some(dev, want, vals, &e) : dev_read_all(dev, vals, &e);
    if (rc == 0) store_back(w->c, w->i, dev, vals, !want);
  }
  free(want);
  free(vals);
}

static int do_write(struct dev *d, void *arg, struct ohm_error *e) {
  struct write_req *w = arg;
  int rc = w->cmd ? dev_cmd(d, w->cmd, e) : dev_set(d, w->var, w->text, e);
  if (rc == 0) read_back(d, w);
  return rc;
}

/* Write or command on device name, then have the poller re-read it. */
static int cache_write(struct sv_cache *c, const char *name,
                       struct write_req *w, struct ohm_error *e) {
  pthread_rwlock_rdlock(&c->ps_lock);
  long i = find_name(c, name);
  w->c = c;
  w->i = i < 0 ? 0 : (size_t)i;
  int rc = i < 0 ? ohm_error_set(e, OHM_ENOENT, "no such device")
                 : poll_set_with_dev(c->ps, (size_t)i, do_write, w, e);
  if (i >= 0) {
    pthread_mutex_lock(&c->mu);
    c->devs[i].next_due = 0;
    c->gen++;
    pthread_cond_broadcast(&c->cv);
    pthread_mutex_unlock(&c->mu);
  }
  pthread_rwlock_unlock(&c->ps_lock);
  if (rc < 0)
    serve_log("%s: %s %s failed: %s", name, w->cmd ? "command" : "set",
              w->cmd ? w->cmd : w->var, ohm_error_text(e));
  else
    serve_info("%s: %s %s done", name, w->cmd ? "command" : "set",
               w->cmd ? w->cmd : w->var);
  return rc;
}

int sv_cache_set(struct sv_cache *c, const char *name, const char *var,
                 const char *text, struct ohm_error *e) {
  struct write_req w = {var, text, NULL, c, 0};
  return cache_write(c, name, &w, e);
}

int sv_cache_cmd(struct sv_cache *c, const char *name, const char *cmd,
                 struct ohm_error *e) {
  struct write_req w = {NULL, NULL, cmd, c, 0};
  return cache_write(c, name, &w, e);
}

int sv_cache_with_dev(struct sv_cache *c, const char *name,
                      int (*fn)(struct dev *d, void *arg, struct ohm_error *e),
                      void *arg, struct ohm_error *e) {
  pthread_rwlock_rdlock(&c->ps_lock);
  long i = find_name(c, name);
  int rc = i < 0 ? ohm_error_set(e, OHM_ENOENT, "not a served device")
                 : poll_set_with_dev(c->ps, (size_t)i, fn, arg, e);
  pthread_rwlock_unlock(&c->ps_lock);
  return rc;
}
