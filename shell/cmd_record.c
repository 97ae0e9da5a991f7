/* `ohm record --every INTERVAL --out DIR [--keep-days N] [--max-size SIZE]
 * [--count N] [DEVICE...]`: poll the devices (devices/poll.c) every
 * INTERVAL and append one CSV line per device to DIR/NAME-YYYY-MM-DD.csv
 * (UTC day): the header once when the file is made, then
 * `time,VAR...` rows with ISO 8601 UTC timestamps to the millisecond.
 *
 * Crash safety: each line goes out in one O_APPEND write and is fsync'd
 * before the next round; a new file's directory entry is fsync'd too. A
 * line torn by a power cut (a file not ending in a newline) is cut back to
 * the last complete line before anything is appended, so at most that
 * line is lost and earlier ones are never touched.
 *
 * Retention: files older than --keep-days (by the day in their name), and
 * then the oldest files while DIR's recorded files exceed --max-size, are
 * removed; only files this command names (NAME-YYYY-MM-DD[-N].csv). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../devices/poll.h"
#include "output.h"
#include "serve.h"
#include "suggest.h"

static const char record_usage[] =
    "record --every INTERVAL --out DIR [--keep-days N] [--max-size SIZE] "
    "[--count N] [--jobs N] [DEVICE...] [VAR...]";

struct rec {
  struct sh_opts o;
  struct fleet f;
  double every, keep_days;
  long long max_size;
  long count;
  int jobs;
  const char *dir;
  char stamp[40]; /* this round's time, ISO 8601 */
  char day[16];   /* YYYY-MM-DD */
  size_t failed;
};

static volatile sig_atomic_t rec_stop;
static void on_stop(int sig) {
  (void)sig;
  rec_stop = 1;
}

/* A plain decimal number (digits and one point, no sign, exponent, hex,
 * inf or nan) at the start of s; *end after it. -1 if there is none. */
static double decimal(const char *s, char **end) {
  size_t n = strspn(s, "0123456789.");
  *end = (char *)s;
  const char *dot = memchr(s, '.', n);
  if (n == 0 || (dot && memchr(dot + 1, '.', n - (size_t)(dot + 1 - s))))
    return -1;
  double v = strtod(s, end);
  return *end == s + n ? v : -1;
}

double record_parse_duration(const char *s) {
  char *end;
  double v = decimal(s, &end), mul = -1;
  if (!(v > 0)) return -1;
  if (!strcmp(end, "") || !strcmp(end, "s")) mul = 1;
  if (!strcmp(end, "ms")) mul = 0.001;
  if (!strcmp(end, "m")) mul = 60;
  if (!strcmp(end, "h")) mul = 3600;
  if (!strcmp(end, "d")) mul = 86400;
  v *= mul;
  return mul > 0 && v <= RECORD_EVERY_MAX ? v : -1;
}

long long record_parse_size(const char *s) {
  char *end;
  double v = decimal(s, &end);
  double mul = !*end                                    ? 1
               : !strcmp(end, "K") || !strcmp(end, "k") ? 1024
               : !strcmp(end, "M")                      ? 1048576
               : !strcmp(end, "G")                      ? 1073741824.0
                                                        : -1;
  if (!(v > 0) || mul < 0 || v * mul > RECORD_SIZE_MAX || v * mul < 1)
    return -1;
  return (long long)(v * mul);
}

enum { OPT_EVERY = 500, OPT_OUT, OPT_KEEP, OPT_MAXSIZE, OPT_COUNT, OPT_RJOBS };

static int record_opt(void *ctx, int opt, const char *arg) {
  struct rec *r = ctx;
  char *end;
  switch (opt) {
  case OPT_EVERY:
    if ((r->every = record_parse_duration(arg)) > 0) return 0;
    break;
  case OPT_OUT:
    r->dir = arg;
    return 0;
  case OPT_KEEP:
    r->keep_days = strtod(arg, &end);
    if (!*end && r->keep_days > 0) return 0;
    break;
  case OPT_MAXSIZE:
    if ((r->max_size = record_parse_size(arg)) > 0) return 0;
    break;
  case OPT_COUNT:
    r->count = strtol(arg, &end, 10);
    if (!*end && r->count > 0) return 0;
    break;
  case OPT_RJOBS:
    r->jobs = (int)strtol(arg, &end, 10);
    if (!*end && r->jobs >= 1 && r->jobs <= 1024) return 0;
    break;
  }
  sh_errorf(NULL, "record: bad value '%s'", arg);
  return -1;
}

/* A device name as a file name: [A-Za-z0-9._-] kept, the rest '_'. */
static void file_base(const char *name, char *out, size_t n) {
  size_t k = 0;
  for (; *name && k + 1 < n; name++)
    out[k++] =
        (strchr("._-", *name) || (*name >= '0' && *name <= '9') ||
         (*name >= 'a' && *name <= 'z') || (*name >= 'A' && *name <= 'Z'))
            ? *name
            : '_';
  out[k] = 0;
  if (out[0] == '.') out[0] = '_';
}

static void mem_write(void *ctx, const char *s, size_t n) {
  fwrite(s, 1, n, ctx);
}

/* The header line and the row for one result, via the shared CSV writer
 * (RFC 4180 quoting) into *text (caller frees; NULL when out of memory).
 * Columns: time, then every var this transport can read, in map order,
 * so a device's columns never change. */
static void csv_lines(const struct rec *r, const struct poll_result *res,
                      char **text, size_t *len) {
  const struct dev_map *m = res->map;
  const char **cols = calloc(m->nvars + 1, sizeof *cols);
  struct sh_cell *cells = calloc(m->nvars + 1, sizeof *cells);
  char(*bufs)[160] = calloc(m->nvars + 1, sizeof *bufs);
  size_t n = 0;
  FILE *mem = open_memstream(text, len);
  if (!cols || !cells || !bufs || !mem) goto out;
  cols[n] = "time";
  cells[n++] = (struct sh_cell){r->stamp, 0};
  for (size_t k = 0; k < m->nvars; k++) {
    if (!dev_var_available(res->dev, &m->vars[k]) ||
        !fleet_wanted(&r->f, m->vars[k].name))
      continue;
    cols[n] = m->vars[k].name;
    cells[n] =
        sh_value_cell(&m->vars[k], &res->vals[k], bufs[n], sizeof bufs[n]);
    n++;
  }
  struct sh_out o;
  sh_out_init(&o, SH_CSV, mem);
  o.write = mem_write;
  o.ctx = mem;
  sh_out_table(&o, cols, n, cells, 1);
out:
  if (mem) fclose(mem);
  free(cols);
  free(cells);
  free(bufs);
}

/* Cut a torn last line (no trailing newline) back to the last newline. */
static int repair_tail(int fd) {
  struct stat st;
  char buf[4096];
  if (fstat(fd, &st) < 0) return -1;
  if (!S_ISREG(st.st_mode)) return 0; /* a device (/dev/full): nothing to cut */
  off_t end = st.st_size;
  while (end > 0) {
    size_t n = end > (off_t)sizeof buf ? sizeof buf : (size_t)end;
    if (pread(fd, buf, n, end - (off_t)n) != (ssize_t)n) return -1;
    if (end == st.st_size && buf[n - 1] == '\n') return 0; /* intact */
    for (size_t k = n; k > 0; k--)
      if (buf[k - 1] == '\n') return ftruncate(fd, end - (off_t)n + (off_t)k);
    end -= (off_t)n;
  }
  return ftruncate(fd, 0);
}

/* Whether the file at fd starts with header (first line). */
static int header_matches(int fd, const char *header, size_t hlen) {
  char *buf = malloc(hlen + 1);
  int ok = buf && pread(fd, buf, hlen, 0) == (ssize_t)hlen &&
           memcmp(buf, header, hlen) == 0;
  free(buf);
  return ok;
}

static void fsync_dir(const char *dir) {
  int fd = open(dir, O_RDONLY | O_DIRECTORY);
  if (fd >= 0) {
    fsync(fd);
    close(fd);
  }
}

/* Append n bytes at the end of fd; on failure (a full disk, an I/O error,
 * the file size limit) the file is cut back at once to where it ended, so
 * no torn line is left for later runs, and errno says why (a short write
 * is retried, so it is the error that stopped it). */
static int append_all(int fd, const char *s, size_t n) {
  struct stat st;
  if (fstat(fd, &st) < 0) return -1;
  for (size_t done = 0; done < n;) {
    ssize_t w = write(fd, s + done, n - done);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      int err = w < 0 ? errno : EIO, cut = ftruncate(fd, st.st_size);
      (void)cut; /* the write's error is the one to report */
      errno = err;
      return -1;
    }
    done += (size_t)w;
  }
  return 0;
}

/* Open today's file for name whose header is header (the first hlen bytes
 * of lines), making it (header written) if new; an existing file with
 * another header (the map changed) moves on to NAME-DAY-2.csv, ... */
static int open_day_file(const struct rec *r, const char *name,
                         const char *lines, size_t hlen, char *path,
                         size_t pn) {
  char base[200];
  file_base(name, base, sizeof base);
  for (int k = 1; k < 100; k++) {
    int n =
        k == 1 ? snprintf(path, pn, "%s/%s-%s.csv", r->dir, base, r->day)
               : snprintf(path, pn, "%s/%s-%s-%d.csv", r->dir, base, r->day, k);
    if (n < 0 || (size_t)n >= pn) { /* never a cut path: another file */
      errno = ENAMETOOLONG;
      return -1;
    }
    int fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return -1;
    if (repair_tail(fd) < 0) {
      close(fd);
      return -1;
    }
    struct stat st;
    if (fstat(fd, &st) == 0 && st.st_size == 0) {
      if (append_all(fd, lines, hlen) < 0) {
        int err = errno;
        close(fd);
        errno = err;
        return -1;
      }
      fsync_dir(r->dir);
      return fd;
    }
    if (header_matches(fd, lines, hlen)) return fd;
    close(fd);
  }
  errno = EEXIST;
  return -1;
}

/* Append one device's row (one write, then fsync). */
static void record_one(struct rec *r, size_t i, const struct poll_result *res) {
  char path[4096] = "";
  const char *name = r->f.names[i];
  char *lines = NULL;
  size_t len = 0;
  csv_lines(r, res, &lines, &len);
  char *nl = lines ? strchr(lines, '\n') : NULL;
  if (!nl) {
    sh_errorf(name, "record: out of memory");
    free(lines);
    return;
  }
  size_t hlen = (size_t)(nl - lines) + 1, rlen = strlen(nl + 1);
  int fd = open_day_file(r, name, lines, hlen, path, sizeof path);
  if (fd < 0 || append_all(fd, nl + 1, rlen) < 0 || fsync(fd) < 0) {
    sh_errorf(name, "record: %s: %s", *path ? path : r->dir, strerror(errno));
    r->failed++;
  }
  if (fd >= 0) close(fd);
  free(lines);
}

/* Whether any var of res's map is selected (a device with none records
 * nothing, rather than files of bare timestamps). */
static int any_wanted(const struct rec *r, const struct poll_result *res) {
  for (size_t k = 0; k < res->map->nvars; k++)
    if (fleet_wanted(&r->f, res->map->vars[k].name)) return 1;
  return 0;
}

static void record_done(void *ctx, size_t i, const struct poll_result *res) {
  struct rec *r = ctx;
  if (res->map) fleet_note_map(&r->f, res->map);
  if (res->rc == 0 && !any_wanted(r, res)) return;
  if (res->rc < 0) {
    if (!r->o.quiet) sh_error(r->f.names[i], &res->err);
    r->failed++;
    return;
  }
  record_one(r, i, res);
}

static int record_open(void *ctx, size_t i, struct dev **out,
                       struct ohm_error *e) {
  return fleet_open(&((struct rec *)ctx)->f, i, out, e);
}

/* ---- retention ---- */

struct recfile {
  char name[256];
  char day[11];
  long long size;
};

/* NAME-YYYY-MM-DD.csv or NAME-YYYY-MM-DD-N.csv: the day, else 0. */
static int recorded_day(const char *f, char day[11]) {
  size_t n = strlen(f);
  const char *ext = n > 4 ? f + n - 4 : NULL;
  if (!ext || strcmp(ext, ".csv")) return 0;
  for (const char *p = f; p + 11 <= ext; p++) {
    int y, mo, d;
    char tail;
    if (p[0] == '-' &&
        sscanf(p + 1, "%4d-%2d-%2d%c", &y, &mo, &d, &tail) == 4 &&
        p[5] == '-' && p[8] == '-' && (tail == '.' || tail == '-') && mo >= 1 &&
        mo <= 12 && d >= 1 && d <= 31) {
      memcpy(day, p + 1, 10);
      day[10] = 0;
      return 1;
    }
  }
  return 0;
}

static int cmp_day(const void *a, const void *b) {
  const struct recfile *x = a, *y = b;
  int c = strcmp(x->day, y->day);
  return c ? c : strcmp(x->name, y->name);
}

static void remove_file(const struct rec *r, const struct recfile *f) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", r->dir, f->name);
  if (unlink(path) < 0)
    sh_errorf(NULL, "record: cannot remove %s: %s", path, strerror(errno));
}

/* Drop files older than keep_days, then the oldest while over max_size;
 * never today's files. */
static void retention(const struct rec *r, time_t now) {
  DIR *d = opendir(r->dir);
  struct recfile *fs = NULL;
  size_t n = 0, cap = 0;
  long long total = 0;
  char cut[16] = "";
  if (!d) return;
  if (r->keep_days > 0) {
    time_t t = now - (time_t)(r->keep_days * 86400);
    strftime(cut, sizeof cut, "%Y-%m-%d", gmtime(&t));
  }
  for (struct dirent *e; (e = readdir(d));) {
    struct recfile f = {0};
    struct stat st;
    char path[4096];
    if (!recorded_day(e->d_name, f.day) || strlen(e->d_name) >= 256) continue;
    snprintf(path, sizeof path, "%s/%s", r->dir, e->d_name);
    if (stat(path, &st) < 0 || !S_ISREG(st.st_mode)) continue;
    snprintf(f.name, sizeof f.name, "%s", e->d_name);
    f.size = st.st_size;
    if (n == cap) {
      struct recfile *g = realloc(fs, (cap = cap ? cap * 2 : 64) * sizeof *g);
      if (!g) break;
      fs = g;
    }
    fs[n++] = f;
  }
  closedir(d);
  if (n) qsort(fs, n, sizeof *fs, cmp_day);
  for (size_t i = 0; i < n; i++)
    total += fs[i].size;
  for (size_t i = 0; i < n; i++) {
    int old = *cut && strcmp(fs[i].day, cut) < 0;
    int big =
        r->max_size > 0 && total > r->max_size && strcmp(fs[i].day, r->day) < 0;
    if (old || big) {
      remove_file(r, &fs[i]);
      total -= fs[i].size;
    }
  }
  free(fs);
}

/* ---- the loop ---- */

/* This round's timestamp, to the millisecond (one precision in every
 * file, whatever --every was). */
static void round_time(struct rec *r, time_t *now) {
  struct timespec ts;
  struct tm tm;
  char s[24];
  clock_gettime(CLOCK_REALTIME, &ts);
  *now = ts.tv_sec;
  gmtime_r(now, &tm);
  strftime(s, sizeof s, "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(r->stamp, sizeof r->stamp, "%.19s.%03dZ", s,
           (int)(ts.tv_nsec / 1000000) % 1000);
  strftime(r->day, sizeof r->day, "%Y-%m-%d", &tm);
}

/* Sleep to the next multiple of every (so rows line up across hosts),
 * waking early on SIGTERM/SIGINT. */
static void sleep_next(double every) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  double now = ts.tv_sec + ts.tv_nsec / 1e9;
  double until = (floor(now / every) + 1) * every;
  while (!rec_stop && now < until) {
    double left = until - now > 0.2 ? 0.2 : until - now;
    struct timespec d = {(time_t)left, (long)((left - floor(left)) * 1e9)};
    nanosleep(&d, NULL);
    clock_gettime(CLOCK_REALTIME, &ts);
    now = ts.tv_sec + ts.tv_nsec / 1e9;
  }
}

static int record_loop(struct rec *r) {
  struct poll_opts po = {
      .jobs = r->jobs, .open = record_open, .done = record_done, .ctx = r};
  struct ohm_error e;
  size_t rounds = 0, failures = 0;
  for (;;) {
    time_t now;
    round_time(r, &now);
    r->failed = 0;
    if (poll_run(r->f.t, r->f.n, &po, &e) < 0) {
      sh_error(NULL, &e);
      return EXIT_FAIL;
    }
    failures += r->failed;
    const char *bad = r->failed < r->f.n ? fleet_unmatched(&r->f) : NULL;
    if (bad) {
      sh_no_match("record", bad);
      return EXIT_FAIL;
    }
    retention(r, now);
    if (rec_stop || (r->count && (long)++rounds >= r->count)) break;
    sleep_next(r->every);
    if (rec_stop) break;
  }
  return failures ? EXIT_PARTIAL : EXIT_OK;
}

struct base {
  char name[200];
  size_t i;
};

static int cmp_base(const void *a, const void *b) {
  return strcmp(((const struct base *)a)->name, ((const struct base *)b)->name);
}

/* Two devices whose names make one file name ("x y" and "x_y") would mix
 * their rows: refuse, naming both. Sorted, so thousands of devices are
 * cheap. */
static int distinct_files(const struct fleet *f) {
  struct base *b = calloc(f->n + 1, sizeof *b);
  int rc = 0;
  if (!b) return 0; /* out of memory: the first write will say so */
  for (size_t i = 0; i < f->n; i++) {
    file_base(f->names[i], b[i].name, sizeof b[i].name);
    b[i].i = i;
  }
  qsort(b, f->n, sizeof *b, cmp_base);
  for (size_t k = 1; k < f->n && !rc; k++)
    if (strcmp(b[k - 1].name, b[k].name) == 0) {
      sh_errorf(NULL,
                "record: '%s' and '%s' would share the file %s-DAY.csv "
                "(rename one in the inventory)",
                f->names[b[k - 1].i], f->names[b[k].i], b[k].name);
      rc = -1;
    }
  free(b);
  return rc;
}

int cmd_record(int argc, char **argv) {
  static const struct option own[] = {
      {"every", required_argument, NULL, OPT_EVERY},
      {"out", required_argument, NULL, OPT_OUT},
      {"keep-days", required_argument, NULL, OPT_KEEP},
      {"max-size", required_argument, NULL, OPT_MAXSIZE},
      {"count", required_argument, NULL, OPT_COUNT},
      {"jobs", required_argument, NULL, OPT_RJOBS},
      {NULL, 0, NULL, 0}};
  struct rec r;
  struct ohm_error e;
  memset(&r, 0, sizeof r);
  sh_opts_init(&r.o);
  int ind =
      fleet_getopt(argc, argv, &r.o, own, "", record_opt, &r, record_usage);
  if (ind < 0) return EXIT_USAGE;
  if (!r.dir || r.every <= 0) return sh_usage(record_usage);
  if (mkdir(r.dir, 0755) < 0 && errno != EEXIST) {
    sh_errorf(NULL, "record: cannot create %s: %s", r.dir, strerror(errno));
    return EXIT_FAIL;
  }
  if (fleet_init_vars(&r.f, &r.o, argv + ind, (size_t)(argc - ind), 0, 0, &e) <
      0) {
    sh_error(NULL, &e);
    fleet_free(&r.f);
    return EXIT_FAIL;
  }
  if (distinct_files(&r.f) < 0) {
    fleet_free(&r.f);
    return EXIT_USAGE;
  }
  signal(SIGTERM, on_stop);
  signal(SIGINT, on_stop);
  signal(SIGXFSZ, SIG_IGN); /* over the file size limit: an error, not death */
  int rc = record_loop(&r);
  fleet_free(&r.f);
  return rc;
}
