/* `ohm watch [--every SECONDS] [--count N] [DEVICE...] [VAR...]`: poll the
 * devices (devices/poll.c, connections kept open) and show their values.
 * On a terminal: a table redrawn in place, each value coloured by its
 * `.status` var as the BPS2000v2 web page does (green good, orange
 * warning, red critical), with a sparkline of its recent values. Not on a
 * terminal: plain `TIME DEVICE VAR: VALUE` lines, one per value and round.
 *
 * Arguments that are inventory names or URIs are devices (default: the
 * whole inventory); the others are VAR patterns (fnmatch: "input.*.current"),
 * default every var. */
#include <fnmatch.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../devices/poll.h"
#include "serve.h"
#include "suggest.h"

#define HIST 24

static const char watch_usage[] =
    "watch [OPTS] [--every SECONDS] [--count N] [DEVICE...] [VAR...]";

struct series {
  double v[HIST];
  int n, next;
};

struct wdev {
  const struct dev_map *map;
  struct dev_value *vals; /* latest, NULL until read */
  struct series *hist;    /* map->nvars */
  char error[256];
  long rounds; /* results so far */
  int fresh;   /* a result came since the last draw */
};

/* Not on a terminal: each result's lines, in the order results came,
 * until the drawing thread prints them. */
struct wlines {
  char *buf;
  size_t len, cap;
};

struct watch;

/* Devices that refresh together: one device, or all of one RS485 line
 * (one bus, one master). Each group has its own poll set and thread, so
 * a dead device never holds up the others. */
struct wgroup {
  struct watch *w;
  size_t *idx; /* n fleet indexes */
  struct poll_target *t;
  size_t n;
  struct poll_set *ps;
  pthread_t th;
  int started;
};

struct watch {
  struct sh_opts o;
  struct fleet f;
  double every;
  long count;
  struct wdev *d;
  struct wgroup *g;
  size_t ng;
  size_t running; /* groups whose thread has not finished */
  pthread_mutex_t mu;
  pthread_cond_t cv; /* a result came, or a group finished */
  int tty;
  char stamp[32];
  struct wlines out;
};

static volatile sig_atomic_t watch_stop;
static void on_stop(int sig) {
  (void)sig;
  watch_stop = 1;
}

enum { OPT_WEVERY = 600, OPT_WCOUNT };

static int watch_opt(void *ctx, int opt, const char *arg) {
  struct watch *w = ctx;
  char *end;
  if (opt == OPT_WEVERY) {
    w->every = strtod(arg, &end);
    if (!*end && w->every >= 0.05 && w->every <= 86400) return 0;
  } else if (opt == OPT_WCOUNT) {
    w->count = strtol(arg, &end, 10);
    if (!*end && w->count > 0) return 0;
  }
  sh_errorf(NULL, "watch: bad value '%s'", arg);
  return -1;
}

static int wanted(const struct watch *w, const char *var) {
  return fleet_wanted(&w->f, var);
}

static void push_hist(struct series *s, double v) {
  s->v[s->next] = v;
  s->next = (s->next + 1) % HIST;
  if (s->n < HIST) s->n++;
}

/* Keep the latest values and their history (w->mu held). */
static void keep_result(struct watch *w, struct wdev *d,
                        const struct poll_result *r) {
  if (r->map) fleet_note_map(&w->f, r->map);
  if (r->rc < 0) {
    snprintf(d->error, sizeof d->error, "%s", ohm_error_text(&r->err));
    free(d->vals);
    d->vals = NULL; /* never show an old value as current */
    return;
  }
  size_t nv = r->map->nvars;
  if (d->map != r->map) {
    free(d->vals);
    free(d->hist);
    d->vals = calloc(nv + 1, sizeof *d->vals);
    d->hist = calloc(nv + 1, sizeof *d->hist);
    d->map = r->map;
  } else if (!d->vals)
    d->vals = calloc(nv + 1, sizeof *d->vals);
  if (!d->vals || !d->hist) return;
  memcpy(d->vals, r->vals, nv * sizeof *d->vals);
  for (size_t k = 0; k < nv; k++)
    if (r->vals[k].kind == DV_NUM) push_hist(&d->hist[k], r->vals[k].num);
  d->error[0] = 0;
}

/* Append printf-style text to w->out (dropped if out of memory). */
static void __attribute__((format(printf, 2, 3)))
lines_add(struct watch *w, const char *fmt, ...) {
  va_list ap;
  char *s = NULL;
  va_start(ap, fmt);
  int n = vasprintf(&s, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  if (w->out.len + (size_t)n + 1 > w->out.cap) {
    size_t c = (w->out.cap ? 2 * w->out.cap : 4096) + (size_t)n;
    char *b = realloc(w->out.buf, c);
    if (!b) {
      free(s);
      return;
    }
    w->out.buf = b;
    w->out.cap = c;
  }
  memcpy(w->out.buf + w->out.len, s, (size_t)n + 1);
  w->out.len += (size_t)n;
  free(s);
}

/* Not on a terminal: device i's lines for the result just kept, stamped
 * now: `TIME DEVICE VAR: VALUE`, or `TIME DEVICE error: WHY`. */
static void result_lines(struct watch *w, size_t i) {
  const struct wdev *d = &w->d[i];
  char stamp[32], val[160];
  time_t now = time(NULL);
  strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
  if (!d->vals) {
    lines_add(w, "%s %s error: %s\n", stamp, w->f.names[i], d->error);
    return;
  }
  for (size_t k = 0; k < d->map->nvars; k++) {
    const struct dev_var *v = &d->map->vars[k];
    if ((d->vals[k].kind != DV_NUM && d->vals[k].kind != DV_STR) ||
        !wanted(w, v->name))
      continue;
    dev_value_format(v, &d->vals[k], val, sizeof val);
    lines_add(w, "%s %s %s: %s\n", stamp, w->f.names[i], v->name, val);
  }
}

/* A group's result for its device i: keep it, wake the drawing thread. */
static void watch_done(void *ctx, size_t i, const struct poll_result *r) {
  struct wgroup *g = ctx;
  struct watch *w = g->w;
  struct wdev *d = &w->d[g->idx[i]];
  pthread_mutex_lock(&w->mu);
  keep_result(w, d, r);
  d->rounds++;
  d->fresh = 1;
  if (!w->tty) result_lines(w, g->idx[i]);
  pthread_cond_signal(&w->cv);
  pthread_mutex_unlock(&w->mu);
}

static int watch_open(void *ctx, size_t i, struct dev **out,
                      struct ohm_error *e) {
  struct wgroup *g = ctx;
  return fleet_open(&g->w->f, g->idx[i], out, e);
}

/* The colour for var k: from its `.status` sibling (or itself if it is a
 * status), NULL for none. */
static const char *colour_of(const struct wdev *d, size_t k) {
  static const char green[] = "\033[32m", orange[] = "\033[38;5;208m",
                    red[] = "\033[31m";
  const struct dev_var *v = &d->map->vars[k];
  const struct dev_value *st = &d->vals[k];
  size_t n = strlen(v->name);
  if (n < 7 || strcmp(v->name + n - 7, ".status")) {
    char name[200];
    snprintf(name, sizeof name, "%s.status", v->name);
    const struct dev_var *s = dev_map_var(d->map, name);
    if (!s) return NULL;
    st = &d->vals[s - d->map->vars];
  }
  if (st->kind != DV_STR) return NULL;
  if (strstr(st->str, "critical")) return red;
  if (strstr(st->str, "warning")) return orange;
  return strcmp(st->str, "good") == 0 ? green : NULL;
}

/* ▁▂▃▄▅▆▇█ over the series' range, oldest first. */
static void sparkline(const struct series *s, char *out, size_t n) {
  static const char *const bars[] = {"\u2581", "\u2582", "\u2583", "\u2584",
                                     "\u2585", "\u2586", "\u2587", "\u2588"};
  double lo = INFINITY, hi = -INFINITY;
  size_t k = 0;
  out[0] = 0;
  for (int i = 0; i < s->n; i++) {
    double v = s->v[(s->next - s->n + i + HIST) % HIST];
    lo = v < lo ? v : lo;
    hi = v > hi ? v : hi;
  }
  for (int i = 0; i < s->n && k + 4 < n; i++) {
    double v = s->v[(s->next - s->n + i + HIST) % HIST];
    int b = hi > lo ? (int)((v - lo) / (hi - lo) * 7.999) : 0;
    k += (size_t)snprintf(out + k, n - k, "%s", bars[b]);
  }
}

static void draw_row(const struct watch *w, const struct wdev *d, size_t i,
                     size_t k, int wd, int wv) {
  const struct dev_var *v = &d->map->vars[k];
  char val[160], spark[HIST * 4 + 1] = "";
  dev_value_format(v, &d->vals[k], val, sizeof val);
  const char *c = colour_of(d, k);
  if (d->vals[k].kind == DV_NUM) sparkline(&d->hist[k], spark, sizeof spark);
  printf("%-*s  %-*s  %s%12s%s %-5s %s\n", wd, w->f.names[i], wv, v->name,
         c ? c : "", val, c ? "\033[0m" : "", v->unit ? v->unit : "", spark);
}

/* One screen (terminal): every device, its latest values or its last
 * error. w->mu held. */
static void draw(struct watch *w) {
  int wd = 6, wv = 8;
  for (size_t i = 0; i < w->f.n; i++) {
    const struct wdev *d = &w->d[i];
    wd = (int)strlen(w->f.names[i]) > wd ? (int)strlen(w->f.names[i]) : wd;
    for (size_t k = 0; d->vals && k < d->map->nvars; k++)
      if (wanted(w, d->map->vars[k].name) &&
          (int)strlen(d->map->vars[k].name) > wv)
        wv = (int)strlen(d->map->vars[k].name);
  }
  if (w->tty)
    printf("\033[H\033[2J%s  every %gs  (Ctrl-C to stop)\n%-*s  %-*s  %12s "
           "%-5s %s\n",
           w->stamp, w->every, wd, "DEVICE", wv, "VARIABLE", "VALUE", "UNIT",
           "TREND");
  for (size_t i = 0; i < w->f.n; i++) {
    struct wdev *d = &w->d[i];
    d->fresh = 0;
    if (!d->vals) {
      const char *why = d->rounds ? d->error : "waiting for a first reply";
      printf("%-*s  \033[31m%s\033[0m\n", wd, w->f.names[i], why);
      continue;
    }
    for (size_t k = 0; k < d->map->nvars; k++)
      if ((d->vals[k].kind == DV_NUM || d->vals[k].kind == DV_STR) &&
          wanted(w, d->map->vars[k].name))
        draw_row(w, d, i, k, wd, wv);
  }
  fflush(stdout);
}

static double mono_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Sleep until monotonic time until (or a stop), in slices of 0.2 s. */
static void sleep_until(double until) {
  for (;;) {
    double left = until - mono_now();
    if (watch_stop || left <= 0) return;
    left = left > 0.2 ? 0.2 : left;
    struct timespec d = {(time_t)left, (long)((left - floor(left)) * 1e9)};
    nanosleep(&d, NULL);
  }
}

/* A group's thread: read its devices every w->every seconds (a slow
 * round starts the next at once), --count rounds or until stopped. */
static void *group_main(void *arg) {
  struct wgroup *g = arg;
  struct watch *w = g->w;
  struct ohm_error e;
  double next = mono_now();
  for (long round = 0; !watch_stop; round++) {
    if (w->count && round >= w->count) break;
    poll_set_run(g->ps, NULL, &e);
    next += w->every;
    if (next < mono_now()) next = mono_now();
    if (!w->count || round + 1 < w->count) sleep_until(next);
  }
  pthread_mutex_lock(&w->mu);
  w->running--;
  pthread_cond_signal(&w->cv);
  pthread_mutex_unlock(&w->mu);
  return NULL;
}

static const char *watch_bus(void *ctx, size_t i) {
  return ((const struct fleet *)ctx)->t[i].bus;
}

/* Group k: its n devices, order[0..n) fleet indexes, and its poll set. */
static int make_group(struct watch *w, size_t k, const size_t *order, size_t n,
                      struct ohm_error *e) {
  struct poll_opts po = {.jobs = 1,
                         .keep_open = 1,
                         .open = watch_open,
                         .done = watch_done,
                         .ctx = &w->g[k]};
  struct wgroup *g = &w->g[k];
  g->w = w;
  g->idx = calloc(n, sizeof *g->idx);
  g->t = calloc(n, sizeof *g->t);
  if (!g->idx || !g->t) return ohm_error_set(e, OHM_ENOMEM, "out of memory");
  for (g->n = 0; g->n < n; g->n++) {
    g->idx[g->n] = order[g->n];
    g->t[g->n] = w->f.t[order[g->n]];
  }
  return poll_set_new(g->t, g->n, &po, &g->ps, e);
}

/* The groups: one per device, except devices of one RS485 line. */
static int make_groups(struct watch *w, struct ohm_error *e) {
  size_t n = w->f.n, *order = calloc(n ? n : 1, sizeof *order),
         *gstart = calloc(n + 1, sizeof *gstart), ng = 0;
  int rc = 0;
  if (!order || !gstart ||
      poll_group_by_bus(n, watch_bus, &w->f, order, gstart, &ng) < 0 ||
      !(w->g = calloc(ng ? ng : 1, sizeof *w->g)))
    rc = ohm_error_set(e, OHM_ENOMEM, "out of memory");
  for (size_t k = 0; rc == 0 && k < ng; k++) {
    w->ng = k + 1; /* free_groups frees a half-made group too */
    rc = make_group(w, k, order + gstart[k], gstart[k + 1] - gstart[k], e);
  }
  free(order);
  free(gstart);
  return rc;
}

static void free_groups(struct watch *w) {
  for (size_t k = 0; w->g && k < w->ng; k++) {
    poll_set_free(w->g[k].ps);
    free(w->g[k].idx);
    free(w->g[k].t);
  }
  free(w->g);
}

/* Whether every device has answered (or failed) at least once. */
static int all_reported(const struct watch *w) {
  for (size_t i = 0; i < w->f.n; i++)
    if (!w->d[i].rounds) return 0;
  return 1;
}

/* Show what came: a redraw (terminal), or the lines queued (pipe) once
 * the VAR patterns are known to match (every device has answered once).
 * w->mu held; -1 after printing that a pattern matches nothing. */
static int show(struct watch *w, int *checked) {
  int dirty = 0;
  for (size_t i = 0; i < w->f.n; i++)
    dirty |= w->d[i].fresh;
  if (!*checked && all_reported(w)) {
    const char *bad = fleet_unmatched(&w->f);
    *checked = 1;
    if (bad) {
      sh_no_match("watch", bad);
      return -1;
    }
  }
  if (!*checked && !w->tty) return 0; /* a typo must print no value */
  if (!w->tty) {
    if (w->out.len) fwrite(w->out.buf, 1, w->out.len, stdout);
    w->out.len = 0;
    for (size_t i = 0; i < w->f.n; i++)
      w->d[i].fresh = 0;
    fflush(stdout);
  } else if (dirty) {
    time_t now = time(NULL);
    strftime(w->stamp, sizeof w->stamp, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
    draw(w);
  }
  return 0;
}

/* Show results as they come (a terminal at most every 0.1 s) until every
 * group is done or a stop; w->mu held. Returns the exit status. */
static int draw_loop(struct watch *w) {
  int checked = w->f.npats == 0;
  while (w->running && !watch_stop) {
    double until = mono_now() + 0.1;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += 100000000L;
    if (ts.tv_nsec >= 1000000000L) {
      ts.tv_sec++;
      ts.tv_nsec -= 1000000000L;
    }
    pthread_cond_timedwait(&w->cv, &w->mu, &ts);
    if (show(w, &checked) < 0) return EXIT_FAIL;
    if (w->tty) { /* a redraw at most every 0.1 s */
      pthread_mutex_unlock(&w->mu);
      sleep_until(until);
      pthread_mutex_lock(&w->mu);
    }
  }
  if (show(w, &checked) < 0) return EXIT_FAIL;
  size_t failed = 0;
  for (size_t i = 0; i < w->f.n; i++)
    failed += !w->d[i].vals;
  return failed == 0 ? EXIT_OK : failed < w->f.n ? EXIT_PARTIAL : EXIT_FAIL;
}

static int watch_loop(struct watch *w) {
  struct ohm_error e;
  int rc;
  ohm_error_clear(&e);
  watch_stop = 0;
  pthread_mutex_init(&w->mu, NULL);
  pthread_cond_init(&w->cv, NULL);
  if (make_groups(w, &e) < 0) {
    sh_error(NULL, &e);
    free_groups(w);
    return EXIT_FAIL;
  }
  pthread_mutex_lock(&w->mu);
  for (size_t k = 0; k < w->ng; k++)
    if (pthread_create(&w->g[k].th, NULL, group_main, &w->g[k]) == 0) {
      w->g[k].started = 1;
      w->running++;
    }
  rc = draw_loop(w);
  watch_stop = 1; /* the groups' threads end after their current read */
  pthread_mutex_unlock(&w->mu);
  for (size_t k = 0; k < w->ng; k++)
    if (w->g[k].started) pthread_join(w->g[k].th, NULL);
  free_groups(w);
  free(w->out.buf);
  pthread_cond_destroy(&w->cv);
  pthread_mutex_destroy(&w->mu);
  if (w->tty) printf("\n");
  return rc;
}

int cmd_watch(int argc, char **argv) {
  static const struct option own[] = {
      {"every", required_argument, NULL, OPT_WEVERY},
      {"count", required_argument, NULL, OPT_WCOUNT},
      {NULL, 0, NULL, 0}};
  struct watch w;
  struct ohm_error e;
  int rc;
  memset(&w, 0, sizeof w);
  sh_opts_init(&w.o);
  w.every = 2;
  ohm_error_clear(&e);
  int ind = fleet_getopt(argc, argv, &w.o, own, "", watch_opt, &w, watch_usage);
  if (ind < 0) return EXIT_USAGE;
  if ((rc = fleet_init_vars(&w.f, &w.o, argv + ind, (size_t)(argc - ind), 0, 0,
                            &e)) < 0 ||
      !(w.d = calloc(w.f.n + 1, sizeof *w.d))) {
    sh_error(NULL, &e);
    rc = EXIT_FAIL;
  } else {
    w.tty = isatty(STDOUT_FILENO);
    signal(SIGINT, on_stop);
    signal(SIGTERM, on_stop);
    rc = watch_loop(&w);
  }
  for (size_t i = 0; w.d && i < w.f.n; i++) {
    free(w.d[i].vals);
    free(w.d[i].hist);
  }
  free(w.d);
  fleet_free(&w.f);
  return rc;
}
