/* Exclusive use of a bus line and poll()-based fd I/O for the stream
 * transports (see line.h). */
#include "line.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "../util/clock.h"
#include "transport.h"

struct tp_busy {
  char *key;
  int fd; /* flocked while locked */
  int refs;
  pthread_mutex_t mu;
  struct tp_busy *next;
};

static pthread_mutex_t reg_mu = PTHREAD_MUTEX_INITIALIZER;
static struct tp_busy *lines;

/* A lock file for a line without a tty of its own (tcp:HOST:PORT). */
static int lock_file(const char *key, struct ohm_error *e) {
  const char *dir = getenv("XDG_RUNTIME_DIR");
  char path[512], name[200];
  size_t i;
  for (i = 0; key[i] && i < sizeof name - 1; i++)
    name[i] = (key[i] == '/' || key[i] == ':') ? '_' : key[i];
  name[i] = 0;
  snprintf(path, sizeof path, "%s/ohm-%s.lock", dir && *dir ? dir : "/tmp",
           name);
  int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0)
    return ohm_error_set(e, OHM_EIO, "lock file %s: %s", path, strerror(errno));
  return fd;
}

static struct tp_busy *busy_new(const char *key, int fd, struct ohm_error *e) {
  struct tp_busy *b = calloc(1, sizeof *b);
  if (!b || !(b->key = strdup(key))) {
    free(b);
    ohm_error_set(e, OHM_ENOMEM, "out of memory");
    return NULL;
  }
  b->fd = fd >= 0 ? fcntl(fd, F_DUPFD_CLOEXEC, 0) : lock_file(key, e);
  if (b->fd < 0) {
    if (fd >= 0) ohm_error_set(e, OHM_EIO, "dup: %s", strerror(errno));
    free(b->key);
    free(b);
    return NULL;
  }
  pthread_mutex_init(&b->mu, NULL);
  return b;
}

int tp_busy_get(const char *key, int fd, struct tp_busy **out,
                struct ohm_error *e) {
  struct tp_busy *b;
  pthread_mutex_lock(&reg_mu);
  for (b = lines; b; b = b->next)
    if (strcmp(b->key, key) == 0) break;
  if (!b && (b = busy_new(key, fd, e))) {
    b->next = lines;
    lines = b;
  }
  if (b) b->refs++;
  pthread_mutex_unlock(&reg_mu);
  *out = b;
  return b ? 0 : e && e->code ? e->code : OHM_ENOMEM;
}

void tp_busy_put(struct tp_busy *b) {
  struct tp_busy **p;
  if (!b) return;
  pthread_mutex_lock(&reg_mu);
  if (--b->refs == 0) {
    for (p = &lines; *p && *p != b; p = &(*p)->next)
      ;
    if (*p) *p = b->next;
    close(b->fd);
    pthread_mutex_destroy(&b->mu);
    free(b->key);
    free(b);
  }
  pthread_mutex_unlock(&reg_mu);
}

int tp_busy_lock(struct tp_busy *b, double secs, struct ohm_error *e) {
  double end = ohm_mono() + secs;
  pthread_mutex_lock(&b->mu);
  while (flock(b->fd, LOCK_EX | LOCK_NB) < 0) {
    if (errno != EWOULDBLOCK && errno != EINTR) break; /* no flock here */
    if (tp_interrupted || ohm_mono() > end) {
      pthread_mutex_unlock(&b->mu);
      return tp_interrupted
                 ? ohm_error_set(e, OHM_EINTR, "interrupted")
                 : ohm_error_set(e, OHM_ETIMEDOUT,
                                 "%s: line in use by another process", b->key);
    }
    usleep(2000);
  }
  return 0;
}

void tp_busy_unlock(struct tp_busy *b) {
  flock(b->fd, LOCK_UN);
  pthread_mutex_unlock(&b->mu);
}

/* Milliseconds left until end (for poll), at least 0. */
static int ms_left(double end) {
  double ms = (end - ohm_mono()) * 1000;
  return ms <= 0 ? 0 : ms > 3600000 ? 3600000 : (int)ms + 1;
}

long tp_fd_read(int fd, int tty, void *buf, size_t n, double secs,
                const char *what, struct ohm_error *e) {
  double end = ohm_mono() + secs;
  struct pollfd p = {.fd = fd, .events = POLLIN};
  for (;;) {
    if (tp_interrupted) return ohm_error_set(e, OHM_EINTR, "interrupted");
    ssize_t r = read(fd, buf, n);
    if (r > 0) return (long)r;
    if (r == 0 && !tty)
      return ohm_error_set(e, OHM_EIO, "%s: connection closed", what);
    if (r < 0 && errno != EAGAIN && errno != EINTR)
      return ohm_error_set(e, OHM_EIO, "read from %s failed (%s)", what,
                           strerror(errno));
    int ms = ms_left(end);
    if (ms == 0) return 0;
    if (poll(&p, 1, ms > 200 ? 200 : ms) < 0 && errno != EINTR)
      return ohm_error_set(e, OHM_EIO, "poll %s: %s", what, strerror(errno));
  }
}

int tp_fd_write(int fd, const void *buf, size_t n, double secs,
                const char *what, struct ohm_error *e) {
  double end = ohm_mono() + secs;
  const char *p = buf;
  struct pollfd pf = {.fd = fd, .events = POLLOUT};
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w > 0) {
      p += w;
      n -= (size_t)w;
      continue;
    }
    if (w < 0 && errno != EAGAIN && errno != EINTR)
      return ohm_error_set(e, OHM_EIO, "write to %s failed (%s)", what,
                           strerror(errno));
    int ms = ms_left(end);
    if (ms == 0 || tp_interrupted)
      return ohm_error_set(e, OHM_ETIMEDOUT, "write to %s timed out", what);
    poll(&pf, 1, ms > 200 ? 200 : ms);
  }
  return 0;
}

size_t tp_fd_drain(int fd) {
  char buf[256];
  size_t total = 0;
  ssize_t r;
  while ((r = read(fd, buf, sizeof buf)) > 0)
    total += (size_t)r;
  return total;
}
