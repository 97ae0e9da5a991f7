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
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../devices/poll.h"
#include "serve.h"

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
};

struct watch {
  struct sh_opts o;
  struct fleet f;
  double every;
  long count;
  struct wdev *d;
  int tty;
  char stamp[32];
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

/* Keep the latest values and their history (serialised by the poller). */
static void watch_done(void *ctx, size_t i, const struct poll_result *r) {
  struct watch *w = ctx;
  struct wdev *d = &w->d[i];
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

static int watch_open(void *ctx, size_t i, struct dev **out,
                      struct ohm_error *e) {
  return fleet_open(&((struct watch *)ctx)->f, i, out, e);
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
  if (!w->tty) {
    printf("%s %s %s: %s\n", w->stamp, w->f.names[i], v->name, val);
    return;
  }
  const char *c = colour_of(d, k);
  if (d->vals[k].kind == DV_NUM) sparkline(&d->hist[k], spark, sizeof spark);
  printf("%-*s  %-*s  %s%12s%s %-5s %s\n", wd, w->f.names[i], wv, v->name,
         c ? c : "", val, c ? "\033[0m" : "", v->unit ? v->unit : "", spark);
}

/* One screen (terminal) or one batch of lines (pipe). */
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
    const struct wdev *d = &w->d[i];
    if (!d->vals) {
      if (w->tty)
        printf("%-*s  \033[31m%s\033[0m\n", wd, w->f.names[i], d->error);
      else
        printf("%s %s error: %s\n", w->stamp, w->f.names[i], d->error);
      continue;
    }
    for (size_t k = 0; k < d->map->nvars; k++)
      if ((d->vals[k].kind == DV_NUM || d->vals[k].kind == DV_STR) &&
          wanted(w, d->map->vars[k].name))
        draw_row(w, d, i, k, wd, wv);
  }
  fflush(stdout);
}

static void watch_sleep(double s) {
  struct timespec ts, now;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  double until = ts.tv_sec + ts.tv_nsec / 1e9 + s;
  for (;;) {
    clock_gettime(CLOCK_MONOTONIC, &now);
    double left = until - (now.tv_sec + now.tv_nsec / 1e9);
    if (watch_stop || left <= 0) return;
    left = left > 0.2 ? 0.2 : left;
    struct timespec d = {(time_t)left, (long)((left - floor(left)) * 1e9)};
    nanosleep(&d, NULL);
  }
}

static int watch_loop(struct watch *w) {
  struct poll_opts po = {
      .keep_open = 1, .open = watch_open, .done = watch_done, .ctx = w};
  struct poll_set *ps;
  struct ohm_error e;
  size_t failed = 0;
  int checked = w->f.npats == 0;
  if (poll_set_new(w->f.t, w->f.n, &po, &ps, &e) < 0) {
    sh_error(NULL, &e);
    return EXIT_FAIL;
  }
  for (long round = 0; !watch_stop; round++) {
    time_t now = time(NULL);
    strftime(w->stamp, sizeof w->stamp, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
    int rc = poll_set_run(ps, NULL, &e);
    failed = rc > 0 ? (size_t)rc : 0;
    const char *bad = NULL;
    if (!checked && (size_t)rc < w->f.n) {
      bad = fleet_unmatched(&w->f);
      checked = 1;
    }
    if (bad) {
      sh_errorf(NULL, "watch: no variable matches '%s' (see ohm list DEVICE)",
                bad);
      poll_set_free(ps);
      return EXIT_FAIL;
    }
    draw(w);
    if (w->count && round + 1 >= w->count) break;
    watch_sleep(w->every);
  }
  poll_set_free(ps);
  if (w->tty) printf("\n");
  return failed == 0 ? EXIT_OK : failed < w->f.n ? EXIT_PARTIAL : EXIT_FAIL;
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
