/* The event log: whole lines, fsync'd, rotated (see evlog.h). */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <lauxlib.h>
#include <lua.h>

#include "evlog.h"

struct evlog {
  pthread_mutex_t mu;
  char *path;
  int fd;
  off_t size;
  double first; /* time of the file's first line, 0 if empty */
  struct evlog_cfg cfg;
};

void evbuf_json_str(struct evbuf *b, const char *s) {
  evbuf_add(b, "\"", 1);
  for (; s && *s; s++) {
    unsigned char ch = (unsigned char)*s;
    if (ch == '"' || ch == '\\') {
      char esc[2] = {'\\', (char)ch};
      evbuf_add(b, esc, 2);
    } else if (ch < 0x20) {
      evbuf_printf(b, "\\u%04x", ch);
    } else {
      evbuf_add(b, s, 1);
    }
  }
  evbuf_add(b, "\"", 1);
}

void evlog_time(double t, char *out, size_t n) {
  time_t s = (time_t)t;
  struct tm tm;
  char base[24];
  gmtime_r(&s, &tm);
  strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(out, n, "%s.%03dZ", base, (int)((t - (double)s) * 1000) % 1000);
}

/* The inventory's events.log, if it is a string (under inv_call). */
static int events_log_read(lua_State *L, void *ud) {
  const char **r = ud;
  if (lua_getglobal(L, "events") == LUA_TTABLE &&
      lua_getfield(L, -1, "log") == LUA_TSTRING)
    *r = lua_tostring(L, -1); /* stays valid: the inventory holds it */
  return 0;
}

int evlog_path(const char *opt, const struct inventory *inv, char *out,
               size_t n, struct ohm_error *e) {
  const char *p = opt;
  int rc = !p && inv && inv->L ? inv_call(inv, events_log_read, &p, e) : 0;
  if (rc < 0) return rc;
  const char *xdg = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
  int w;
  if (p)
    w = snprintf(out, n, "%s", p);
  else if (xdg && *xdg == '/')
    w = snprintf(out, n, "%s/ohm/events.jsonl", xdg);
  else if (home && *home)
    w = snprintf(out, n, "%s/.local/state/ohm/events.jsonl", home);
  else
    return ohm_error_set(e, OHM_ECONFIG,
                         "no event log: set HOME or give --events-log FILE");
  if (w < 0 || (size_t)w >= n || !*out)
    return ohm_error_set(e, OHM_EINVAL, "bad event log path");
  return 0;
}

/* mkdir -p of path's directory. */
static void evlog_mkdirs(const char *path) {
  char *d = strdup(path);
  for (char *p = d ? d + 1 : NULL; p && *p; p++)
    if (*p == '/') {
      *p = 0;
      mkdir(d, 0700);
      *p = '/';
    }
  free(d);
}

/* Cut a torn tail (bytes after the last newline); set l->size. */
static int evlog_repair(struct evlog *l) {
  struct stat st;
  char buf[4096];
  if (fstat(l->fd, &st) < 0) return -1;
  off_t end = st.st_size;
  while (end > 0) {
    size_t k = end > (off_t)sizeof buf ? sizeof buf : (size_t)end;
    if (pread(l->fd, buf, k, end - (off_t)k) != (ssize_t)k) return -1;
    size_t j = k;
    while (j > 0 && buf[j - 1] != '\n')
      j--;
    if (j > 0) {
      end = end - (off_t)k + (off_t)j;
      break;
    }
    end -= (off_t)k;
  }
  if (end != st.st_size && ftruncate(l->fd, end) < 0) return -1;
  l->size = end;
  return 0;
}

/* The time of the file's first line ("time":"...Z"), 0 if none. */
static double evlog_first_time(int fd) {
  char buf[256];
  ssize_t k = pread(fd, buf, sizeof buf - 1, 0);
  struct tm tm = {0};
  if (k <= 0) return 0;
  buf[k] = 0;
  char *p = strstr(buf, "\"time\":\"");
  if (!p || !strptime(p + 8, "%Y-%m-%dT%H:%M:%S", &tm)) return 0;
  return (double)timegm(&tm);
}

static int evlog_reopen(struct evlog *l, struct ohm_error *e) {
  if (l->fd >= 0) close(l->fd);
  l->fd = open(l->path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (l->fd < 0 || evlog_repair(l) < 0)
    return ohm_error_set(e, OHM_EIO, "event log %s: %s", l->path,
                         strerror(errno));
  l->first = evlog_first_time(l->fd);
  return 0;
}

int evlog_open(const char *path, const struct evlog_cfg *cfg,
               struct evlog **out, struct ohm_error *e) {
  struct evlog *l = calloc(1, sizeof *l);
  *out = NULL;
  if (!l || !(l->path = strdup(path))) {
    free(l);
    return ohm_error_set(e, OHM_ENOMEM, "out of memory");
  }
  l->fd = -1;
  if (cfg) l->cfg = *cfg;
  if (l->cfg.max_bytes <= 0) l->cfg.max_bytes = 10 << 20;
  if (l->cfg.max_age <= 0) l->cfg.max_age = 7 * 86400;
  if (l->cfg.keep <= 0) l->cfg.keep = 5;
  pthread_mutex_init(&l->mu, NULL);
  evlog_mkdirs(path);
  if (evlog_reopen(l, e) < 0) {
    evlog_close(l);
    return OHM_EIO;
  }
  *out = l;
  return 0;
}

void evlog_close(struct evlog *l) {
  if (!l) return;
  if (l->fd >= 0) close(l->fd);
  pthread_mutex_destroy(&l->mu);
  free(l->path);
  free(l);
}

/* FILE.k -> FILE.k+1 ..., FILE -> FILE.1, a fresh FILE. */
static int evlog_rotate(struct evlog *l, struct ohm_error *e) {
  size_t n = strlen(l->path) + 16;
  char *a = malloc(n), *b = malloc(n);
  if (!a || !b) {
    free(a);
    free(b);
    return ohm_error_set(e, OHM_ENOMEM, "out of memory");
  }
  for (int k = l->cfg.keep - 1; k >= 1; k--) {
    snprintf(a, n, "%s.%d", l->path, k);
    snprintf(b, n, "%s.%d", l->path, k + 1);
    rename(a, b);
  }
  snprintf(b, n, "%s.1", l->path);
  rename(l->path, b);
  free(a);
  free(b);
  return evlog_reopen(l, e);
}

int evlog_append(struct evlog *l, const char *json, struct ohm_error *e) {
  size_t n = strlen(json);
  char *line = malloc(n + 1);
  int rc = 0;
  if (!line) return ohm_error_set(e, OHM_ENOMEM, "out of memory");
  memcpy(line, json, n);
  line[n] = '\n';
  pthread_mutex_lock(&l->mu);
  double now = (double)time(NULL);
  if (l->size > 0 && (l->size + (off_t)n + 1 > l->cfg.max_bytes ||
                      (l->first > 0 && now - l->first > l->cfg.max_age)))
    rc = evlog_rotate(l, e);
  if (rc == 0) {
    ssize_t w = write(l->fd, line, n + 1);
    if (w != (ssize_t)(n + 1) || fsync(l->fd) < 0)
      rc = ohm_error_set(e, OHM_EIO, "event log %s: %s", l->path,
                         w < 0 ? strerror(errno) : "short write");
    if (w > 0 && l->size == 0) l->first = now;
    if (w > 0) l->size += w;
    if (w > 0 && w != (ssize_t)(n + 1)) evlog_repair(l);
  }
  pthread_mutex_unlock(&l->mu);
  free(line);
  return rc;
}
