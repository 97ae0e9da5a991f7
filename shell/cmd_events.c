/* `ohm events [--since T] [--device D] [--follow] [--json|--csv]
 * [--events-log FILE]`: read the event log that `ohm serve --rules` and
 * `ohm rules test` write (shell/serve/evlog.c), rotated files first. */
#include <fcntl.h>
#include <fnmatch.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "serve.h"
#include "serve/evlog.h"

static const char events_usage[] =
    "events [--since T] [--device D] [--follow] [--json|--csv] "
    "[--events-log FILE]";

struct evq {
  struct sh_opts o;
  const char *log, *device;
  double since;
  int follow, csv_header;
};

/* End of the JSON value at p (a string, number, literal, object, array). */
static const char *j_skip(const char *p) {
  int depth = 0, str = 0;
  for (; *p; p++) {
    if (str) {
      if (*p == '\\' && p[1])
        p++;
      else if (*p == '"') {
        str = 0;
        if (!depth) return p + 1;
      }
    } else if (*p == '"') {
      str = 1;
    } else if (*p == '{' || *p == '[') {
      depth++;
    } else if (*p == '}' || *p == ']') {
      if (--depth <= 0) return depth < 0 ? p : p + 1;
    } else if (!depth && (*p == ',')) {
      return p;
    }
  }
  return p;
}

/* The raw value of a top-level member of a JSON object line; NULL if none. */
static const char *j_member(const char *line, const char *key, size_t *len) {
  size_t kl = strlen(key);
  const char *p = strchr(line, '{');
  while (p && *p && *p != '}') {
    p += strspn(p + 1, " ,") + 1;
    if (*p != '"') return NULL;
    const char *k = p + 1, *v = j_skip(p);
    if (*v != ':') return NULL;
    v++;
    const char *end = j_skip(v);
    if ((size_t)(v - 1 - k - 1) == kl && !strncmp(k, key, kl)) {
      *len = (size_t)(end - v);
      return v;
    }
    p = end;
  }
  return NULL;
}

/* A top-level string member, unescaped (\uXXXX kept as '?'), or "". */
static const char *j_str(const char *line, const char *key, char *out,
                         size_t n) {
  size_t len, o = 0;
  const char *v = j_member(line, key, &len);
  if (v && len >= 2 && *v == '"') {
    for (size_t i = 1; i + 1 < len && o + 1 < n; i++) {
      if (v[i] == '\\' && i + 2 < len) {
        char c = v[++i];
        if (c == 'u') i += 4;
        out[o++] = c == 'u' ? '?' : strchr("ntr", c) ? ' ' : c;
      } else {
        out[o++] = v[i];
      }
    }
  } else if (v) {
    o = len < n ? len : n - 1;
    memcpy(out, v, o);
  }
  out[o] = 0;
  return out;
}

static double iso_time(const char *s) {
  struct tm tm = {0};
  const char *r = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
  if (!r) return NAN;
  return (double)timegm(&tm) + (*r == '.' ? atof(r) : 0);
}

/* "2026-11-30", "2026-11-30 22:00[:SS]" (local), ISO with Z, "@UNIX",
 * or an age: "90s", "10m", "2h", "1d". NAN if malformed. */
static double parse_since(const char *s) {
  char *end;
  double v = strtod(s, &end);
  if (*s == '@') return (v = strtod(s + 1, &end)) > 0 && !*end ? v : NAN;
  if (end != s && v >= 0 && end[0] && !end[1] && strchr("smhd", *end))
    return (double)time(NULL) - v * (*end == 's'   ? 1
                                     : *end == 'm' ? 60
                                     : *end == 'h' ? 3600
                                                   : 86400);
  if (strchr(s, 'Z')) return iso_time(s);
  static const char *const fmts[] = {"%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S",
                                     "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M",
                                     "%Y-%m-%d"};
  for (size_t i = 0; i < sizeof fmts / sizeof fmts[0]; i++) {
    struct tm tm = {0};
    const char *r = strptime(s, fmts[i], &tm);
    if (r && !*r) {
      tm.tm_isdst = -1;
      return (double)mktime(&tm);
    }
  }
  return NAN;
}

static void print_csv_cell(const char *s, int last) {
  if (strpbrk(s, ",\"\n")) {
    putchar('"');
    for (; *s; s++) {
      if (*s == '"') putchar('"');
      putchar(*s);
    }
    putchar('"');
  } else {
    fputs(s, stdout);
  }
  putchar(last ? '\n' : ',');
}

/* One log line, filtered and printed in the chosen mode. */
static void event_line(struct evq *q, const char *line) {
  char t[40], dev[256], ev[128], job[128], out[64], det[512];
  size_t vl = 0;
  j_str(line, "time", t, sizeof t);
  j_str(line, "device", dev, sizeof dev);
  if (!*t || (q->since > 0 && !(iso_time(t) >= q->since))) return;
  if (q->device && fnmatch(q->device, dev, 0) != 0) return;
  j_str(line, "event", ev, sizeof ev);
  j_str(line, "job", job, sizeof job);
  j_str(line, "outcome", out, sizeof out);
  j_str(line, "detail", det, sizeof det);
  const char *vals = j_member(line, "values", &vl);
  if (q->o.mode == SH_JSON) {
    puts(line);
  } else if (q->o.mode == SH_CSV) {
    if (!q->csv_header++) puts("time,device,event,job,outcome,detail");
    const char *cells[] = {t, dev, ev, job, out, det};
    for (int i = 0; i < 6; i++)
      print_csv_cell(cells[i], i == 5);
  } else if (*job) {
    printf("%s %s %s job %s: %s%s%s\n", t, dev, ev, job, out, *det ? " (" : "",
           *det ? det : "");
  } else {
    printf("%s %s %s%s%.*s\n", t, dev, ev, vals ? " " : "", (int)vl,
           vals ? vals : "");
  }
}

/* Print the complete lines of buf[0..*n); keep a partial last line. */
static void drain(struct evq *q, char *buf, size_t *n) {
  size_t start = 0;
  for (size_t i = 0; i < *n; i++)
    if (buf[i] == '\n') {
      buf[i] = 0;
      if (i > start) event_line(q, buf + start);
      start = i + 1;
    }
  memmove(buf, buf + start, *n - start);
  *n -= start;
}

static char rbuf[1 << 16];
static size_t rlen;

/* Read fd to its end; returns 0, or -1 on a read error. */
static int read_all(struct evq *q, int fd) {
  for (;;) {
    if (rlen == sizeof rbuf - 1) rlen = 0; /* a line too long: dropped */
    ssize_t k = read(fd, rbuf + rlen, sizeof rbuf - 1 - rlen);
    if (k <= 0) return k < 0 ? -1 : 0;
    rlen += (size_t)k;
    drain(q, rbuf, &rlen);
    fflush(stdout);
  }
}

static volatile sig_atomic_t ev_stop;
static void ev_on_stop(int sig) {
  (void)sig;
  ev_stop = 1;
}

/* Tail path: new lines as they come, a new file after a rotation. */
static void follow(struct evq *q, const char *path, int fd) {
  struct stat a, b;
  signal(SIGINT, ev_on_stop);
  signal(SIGTERM, ev_on_stop);
  while (!ev_stop) {
    usleep(100000);
    if (fd >= 0) read_all(q, fd);
    if (stat(path, &b) < 0) continue;
    if (fd < 0 || fstat(fd, &a) < 0 || a.st_ino != b.st_ino ||
        b.st_size < lseek(fd, 0, SEEK_CUR)) {
      if (fd >= 0) close(fd);
      fd = open(path, O_RDONLY | O_CLOEXEC);
      rlen = 0;
    }
  }
  if (fd >= 0) close(fd);
}

static int events_opt(void *ctx, int opt, const char *arg) {
  struct evq *q = ctx;
  switch (opt) {
  case 's':
    q->since = parse_since(arg);
    if (isnan(q->since)) {
      sh_errorf(NULL,
                "events: bad --since '%s' (YYYY-MM-DD[ HH:MM[:SS]], "
                "@UNIXTIME, or an age: 90s, 10m, 2h, 1d)",
                arg);
      return -1;
    }
    return 0;
  case 'D':
    q->device = arg;
    return 0;
  case 'f':
    q->follow = 1;
    return 0;
  case 'L':
    q->log = arg;
    return 0;
  }
  return -1;
}

int cmd_events(int argc, char **argv) {
  static const struct option own[] = {
      {"since", required_argument, NULL, 's'},
      {"device", required_argument, NULL, 'D'},
      {"follow", no_argument, NULL, 'f'},
      {"events-log", required_argument, NULL, 'L'},
      {NULL, 0, NULL, 0}};
  struct evq q;
  struct ohm_error e;
  char path[4096], old[4200];
  memset(&q, 0, sizeof q);
  sh_opts_init(&q.o);
  int ind =
      fleet_getopt(argc, argv, &q.o, own, "f", events_opt, &q, events_usage);
  if (ind < 0) return EXIT_USAGE;
  if (ind < argc) {
    sh_errorf(NULL, "events: unexpected '%s'; usage: ohm %s", argv[ind],
              events_usage);
    return EXIT_USAGE;
  }
  struct inventory *inv = q.log ? NULL : sh_inventory(&q.o, &e);
  if (!q.log && !inv) {
    sh_error(NULL, &e);
    return EXIT_FAIL;
  }
  if (evlog_path(q.log, inv, path, sizeof path, &e) < 0) {
    sh_error(NULL, &e);
    return EXIT_FAIL;
  }
  for (int k = 9; k >= 1; k--) { /* rotated files, oldest first */
    snprintf(old, sizeof old, "%s.%d", path, k);
    int fd = open(old, O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;
    read_all(&q, fd);
    rlen = 0;
    close(fd);
  }
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0 && !q.follow) {
    sh_errorf(NULL, "events: no event log at %s (ohm serve --rules writes it)",
              path);
    return EXIT_FAIL;
  }
  if (fd >= 0) read_all(&q, fd);
  if (q.follow) {
    follow(&q, path, fd);
    return EXIT_OK;
  }
  close(fd);
  return EXIT_OK;
}
