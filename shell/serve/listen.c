/* The one TCP listener (listen.h). One accept thread per listener; one
 * detached thread per connection, counted under the listener's lock so
 * that ls_stop can wait for them. Refused connections get the busy reply
 * and are drained for up to LS_LINGER_MS by the accept thread itself (a
 * close with unread request bytes would reset the connection and lose the
 * reply), at most LS_LINGER_MAX at once. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "listen.h"

#define LS_LINGER_MAX 64
#define LS_LINGER_MS 1000

struct ls_slot {
  int fd; /* -1: free */
  char addr[64];
};

struct ls_linger {
  int fd;
  long long until;
};

struct ls_server {
  struct ls_conf conf;
  int fd, stop[2];
  pthread_t thread;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  struct ls_slot *slots; /* conf.max_total */
  int active, stopping;
  struct ls_linger linger[LS_LINGER_MAX];
  int nlinger;
  long long busy_logged; /* last "refused" log line, rate-limited */
};

long long ls_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- numbers ---- */

int ls_decimal(const char *s, double *v) {
  const char *p = s;
  size_t digits = 0;
  if (*p == '+' || *p == '-') p++;
  for (; *p >= '0' && *p <= '9'; p++)
    digits++;
  if (*p == '.')
    for (p++; *p >= '0' && *p <= '9'; p++)
      digits++;
  if (!digits || *p || p - s > 64) return -1;
  *v = strtod(s, NULL);
  return 0;
}

int ls_decimal_int(const char *s, long min, long max, long *v) {
  double x;
  if (strchr(s, '.') || ls_decimal(s, &x) < 0 || x < (double)min ||
      x > (double)max)
    return -1;
  *v = (long)x;
  return 0;
}

/* ---- lines ---- */

int ls_line_next(char *buf, size_t n, size_t max, char **line, size_t *used) {
  char *lf = memchr(buf, '\n', n < max ? n : max);
  if (!lf) return n >= max ? LS_LINE_LONG : LS_LINE_MORE;
  size_t len = (size_t)(lf - buf);
  *used = len + 1;
  if (len && buf[len - 1] == '\r') len--;
  buf[len] = 0;
  *line = buf;
  for (size_t i = 0; i < len; i++)
    if (((unsigned char)buf[i] < 0x20 && buf[i] != '\t') || buf[i] == 0x7f)
      return LS_LINE_BAD;
  return LS_LINE_OK;
}

/* ---- addresses ---- */

static int port_ok(const char *port) {
  long v;
  return strlen(port) <= 5 && strspn(port, "0123456789") == strlen(port) &&
         ls_decimal_int(port, 0, 65535, &v) == 0;
}

int ls_split_addr(const char *addr, char *host, size_t hn, char *port,
                  size_t pn) {
  const char *colon = strrchr(addr, ':');
  if (addr[0] == '[') {
    const char *end = strchr(addr, ']');
    if (!end || end[1] != ':' || (size_t)(end - addr) > hn) return -1;
    snprintf(host, hn, "%.*s", (int)(end - addr - 1), addr + 1);
    colon = end + 1;
  } else if (colon && colon > addr) {
    if ((size_t)(colon - addr) >= hn || memchr(addr, ':', colon - addr))
      return -1; /* a bare IPv6 address needs brackets */
    snprintf(host, hn, "%.*s", (int)(colon - addr), addr);
  } else {
    snprintf(host, hn, "127.0.0.1"); /* PORT and :PORT: loopback */
  }
  if (!*host) return -1;
  snprintf(port, pn, "%s", colon ? colon + 1 : addr);
  /* in range here: getaddrinfo takes "99999" and wraps it to 34463 */
  return port_ok(port) ? 0 : -1;
}

int ls_bind(const char *addr, int type, const char *what, struct ohm_error *e) {
  char host[256], port[16];
  struct addrinfo hints = {.ai_family = AF_UNSPEC,
                           .ai_socktype = type,
                           .ai_flags = AI_PASSIVE | AI_NUMERICSERV},
                  *res;
  if (ls_split_addr(addr, host, sizeof host, port, sizeof port) < 0)
    return ohm_error_set(e, OHM_EINVAL, "bad address '%.100s' (HOST:PORT)",
                         addr);
  int rc = getaddrinfo(host, port, &hints, &res);
  if (rc)
    return ohm_error_set(e, OHM_EINVAL, "%.100s: %s", addr, gai_strerror(rc));
  int fd = socket(res->ai_family, type | SOCK_CLOEXEC, 0), one = 1;
  if (fd >= 0) {
    if (type == SOCK_STREAM)
      setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, res->ai_addr, res->ai_addrlen) < 0 ||
        (type == SOCK_STREAM && listen(fd, 128) < 0)) {
      rc = errno;
      close(fd);
      fd = -1;
      errno = rc;
    }
  }
  freeaddrinfo(res);
  if (fd < 0)
    return ohm_error_set(e, OHM_EIO, "cannot %s on %.100s (%s)", what, addr,
                         strerror(errno));
  return fd;
}

int ls_listen(const char *addr, struct ohm_error *e) {
  return ls_bind(addr, SOCK_STREAM, "listen", e);
}

/* Client address (without port) and "address:port". */
static void peer_of(int fd, char *addr, size_t an, char *peer, size_t pn) {
  struct sockaddr_storage ss;
  socklen_t len = sizeof ss;
  char h[INET6_ADDRSTRLEN] = "?";
  int port = 0;
  if (getpeername(fd, (struct sockaddr *)&ss, &len) == 0) {
    if (ss.ss_family == AF_INET) {
      struct sockaddr_in *a = (struct sockaddr_in *)&ss;
      inet_ntop(AF_INET, &a->sin_addr, h, sizeof h);
      port = ntohs(a->sin_port);
    } else if (ss.ss_family == AF_INET6) {
      struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
      inet_ntop(AF_INET6, &a->sin6_addr, h, sizeof h);
      port = ntohs(a->sin6_port);
    }
  }
  snprintf(addr, an, "%s", h);
  snprintf(peer, pn, strchr(h, ':') ? "[%s]:%d" : "%s:%d", h, port);
}

/* ---- I/O with deadlines ---- */

int ls_stopping(const struct ls_conn *c) {
  struct ls_server *s = c->srv;
  pthread_mutex_lock(&s->mu);
  int st = s->stopping;
  pthread_mutex_unlock(&s->mu);
  return st;
}

/* 1 when fd is ready for ev, 0 on deadline or stop. */
static int wait_fd(struct ls_conn *c, short ev, long long deadline) {
  for (;;) {
    struct pollfd p[2] = {{c->fd, ev, 0}, {c->srv->stop[0], POLLIN, 0}};
    long long left = deadline == LS_FOREVER ? 1000 : deadline - ls_now_ms();
    if (left <= 0) return 0;
    int r = poll(p, 2, left > 1000 ? 1000 : (int)left);
    if (r < 0 && errno != EINTR) return 0;
    if (p[1].revents) return 0;
    if (r > 0 && (p[0].revents & (ev | POLLHUP | POLLERR))) return 1;
  }
}

ssize_t ls_recv(struct ls_conn *c, void *buf, size_t n, long long deadline) {
  for (;;) {
    if (!wait_fd(c, POLLIN, deadline)) return -1;
    ssize_t r = recv(c->fd, buf, n, MSG_DONTWAIT);
    if (r < 0 && (errno == EAGAIN || errno == EINTR)) continue;
    return r;
  }
}

int ls_send(struct ls_conn *c, const void *buf, size_t n, long long deadline) {
  const char *p = buf;
  while (n) {
    if (!wait_fd(c, POLLOUT, deadline)) return -1;
    ssize_t w = send(c->fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (w < 0 && (errno == EAGAIN || errno == EINTR)) continue;
    if (w <= 0) return -1;
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

int ls_sendv(struct ls_conn *c, struct iovec *iov, int n, long long deadline) {
  while (n > 0) {
    if (iov->iov_len == 0) {
      iov++, n--;
      continue;
    }
    if (!wait_fd(c, POLLOUT, deadline)) return -1;
    struct msghdr m = {.msg_iov = iov,
                       .msg_iovlen = (size_t)(n < 1024 ? n : 1024)};
    ssize_t w = sendmsg(c->fd, &m, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (w < 0 && (errno == EAGAIN || errno == EINTR)) continue;
    if (w <= 0) return -1;
    for (size_t k = (size_t)w; n > 0 && k;) {
      size_t d = k < iov->iov_len ? k : iov->iov_len;
      iov->iov_base = (char *)iov->iov_base + d;
      iov->iov_len -= d;
      k -= d;
      if (iov->iov_len == 0) iov++, n--;
    }
  }
  return 0;
}

/* ---- connections ---- */

/* A slot for fd from addr, or -1 when a cap is reached. Under mu. */
static int slot_take(struct ls_server *s, int fd, const char *addr) {
  int free_slot = -1, same = 0;
  if (s->stopping) return -1;
  for (int i = 0; i < s->conf.max_total; i++) {
    if (s->slots[i].fd < 0) {
      if (free_slot < 0) free_slot = i;
    } else if (strcmp(s->slots[i].addr, addr) == 0) {
      same++;
    }
  }
  if (free_slot < 0 || same >= s->conf.max_per_addr) return -1;
  s->slots[free_slot].fd = fd;
  snprintf(s->slots[free_slot].addr, sizeof s->slots[free_slot].addr, "%s",
           addr);
  s->active++;
  return free_slot;
}

/* Close the slot's connection under the lock, so ls_stop never shuts
 * down a descriptor number already reused elsewhere. */
static void slot_release(struct ls_server *s, int slot) {
  pthread_mutex_lock(&s->mu);
  close(s->slots[slot].fd);
  s->slots[slot].fd = -1;
  s->active--;
  pthread_cond_broadcast(&s->cv);
  pthread_mutex_unlock(&s->mu);
}

static void *conn_main(void *arg) {
  struct ls_conn *c = arg;
  struct ls_server *s = c->srv;
  s->conf.serve(c, s->conf.ctx);
  int slot = c->slot;
  free(c);
  slot_release(s, slot);
  return NULL;
}

/* Send the busy reply and drain the connection from the accept loop. */
static void refuse(struct ls_server *s, int fd, const char *addr) {
  long long now = ls_now_ms();
  if (s->conf.busy)
    (void)!send(fd, s->conf.busy, strlen(s->conf.busy),
                MSG_NOSIGNAL | MSG_DONTWAIT);
  if (now - s->busy_logged >= 10000) {
    s->busy_logged = now;
    serve_log("%s: connection from %s refused: too many connections",
              s->conf.name, addr);
  }
  if (s->nlinger == LS_LINGER_MAX || shutdown(fd, SHUT_WR) < 0) {
    close(fd);
    return;
  }
  s->linger[s->nlinger].fd = fd;
  s->linger[s->nlinger++].until = now + LS_LINGER_MS;
}

static void accept_one(struct ls_server *s) {
  char addr[64], peer[80];
  int one = 1, fd = accept4(s->fd, NULL, NULL, SOCK_CLOEXEC);
  if (fd < 0) {
    if (errno == EMFILE || errno == ENFILE || errno == ENOMEM)
      poll(NULL, 0, 100); /* out of descriptors: do not spin */
    return;
  }
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  peer_of(fd, addr, sizeof addr, peer, sizeof peer);
  struct ls_conn *c = calloc(1, sizeof *c);
  pthread_mutex_lock(&s->mu);
  int slot = c ? slot_take(s, fd, addr) : -1;
  pthread_mutex_unlock(&s->mu);
  if (slot < 0) {
    free(c);
    refuse(s, fd, addr);
    return;
  }
  *c = (struct ls_conn){.fd = fd, .srv = s, .slot = slot};
  memcpy(c->addr, addr, sizeof addr);
  memcpy(c->peer, peer, sizeof peer);
  pthread_t t;
  pthread_attr_t a;
  pthread_attr_init(&a);
  pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
  pthread_attr_setstacksize(&a, 512 * 1024);
  if (pthread_create(&t, &a, conn_main, c) != 0) {
    free(c);
    slot_release(s, slot);
  }
  pthread_attr_destroy(&a);
}

/* Read and drop what refused clients send; close at EOF or their time. */
static void linger_step(struct ls_server *s, const struct pollfd *p) {
  long long now = ls_now_ms();
  char junk[512];
  /* backwards: the last entry, moved into a closed one's place, is done */
  for (int i = s->nlinger - 1; i >= 0; i--) {
    int done = now >= s->linger[i].until;
    if (!done && p[i].revents) {
      ssize_t r = recv(s->linger[i].fd, junk, sizeof junk, MSG_DONTWAIT);
      done = r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR);
    }
    if (done) {
      close(s->linger[i].fd);
      s->linger[i] = s->linger[--s->nlinger];
    }
  }
}

static void *accept_main(void *arg) {
  struct ls_server *s = arg;
  struct pollfd p[2 + LS_LINGER_MAX];
  for (;;) {
    int n = s->nlinger;
    for (int i = 0; i < n; i++)
      p[2 + i] = (struct pollfd){s->linger[i].fd, POLLIN, 0};
    p[0] = (struct pollfd){s->fd, POLLIN, 0};
    p[1] = (struct pollfd){s->stop[0], POLLIN, 0};
    int r = poll(p, (nfds_t)(2 + n), n ? 100 : -1);
    if (r < 0 && errno != EINTR) break;
    if (p[1].revents) break;
    if (n) linger_step(s, p + 2);
    if (r > 0 && (p[0].revents & POLLIN)) accept_one(s);
  }
  for (int i = 0; i < s->nlinger; i++)
    close(s->linger[i].fd);
  s->nlinger = 0;
  return NULL;
}

static void server_free(struct ls_server *s) {
  if (s->fd >= 0) close(s->fd);
  if (s->stop[0] >= 0) close(s->stop[0]);
  if (s->stop[1] >= 0) close(s->stop[1]);
  pthread_mutex_destroy(&s->mu);
  pthread_cond_destroy(&s->cv);
  free(s->slots);
  free(s);
}

int ls_start(const char *addr, const struct ls_conf *conf,
             struct ls_server **out, struct ohm_error *e) {
  struct ls_server *s = calloc(1, sizeof *s);
  *out = NULL;
  if (!s) return ohm_error_set(e, OHM_ENOMEM, "out of memory");
  s->conf = *conf;
  s->fd = s->stop[0] = s->stop[1] = -1;
  s->busy_logged = -100000;
  pthread_mutex_init(&s->mu, NULL);
  pthread_cond_init(&s->cv, NULL);
  if (s->conf.max_total < 1) s->conf.max_total = 1;
  if (s->conf.max_per_addr < 1) s->conf.max_per_addr = 1;
  s->slots = calloc((size_t)s->conf.max_total, sizeof *s->slots);
  int rc = s->slots ? 0 : ohm_error_set(e, OHM_ENOMEM, "out of memory");
  for (int i = 0; s->slots && i < s->conf.max_total; i++)
    s->slots[i].fd = -1;
  if (rc == 0 && (rc = s->fd = ls_listen(addr, e)) >= 0) {
    rc = 0;
    if (pipe2(s->stop, O_CLOEXEC) < 0 ||
        pthread_create(&s->thread, NULL, accept_main, s) != 0)
      rc = ohm_error_set(e, OHM_EIO, "cannot start the %s listener (%s)",
                         conf->name, strerror(errno));
  }
  if (rc < 0) {
    server_free(s);
    return rc;
  }
  *out = s;
  return 0;
}

void ls_stop(struct ls_server *s) {
  if (!s) return;
  pthread_mutex_lock(&s->mu);
  s->stopping = 1;
  pthread_mutex_unlock(&s->mu);
  /* never read: stays readable, so every wait_fd sees it */
  (void)!write(s->stop[1], "x", 1);
  pthread_join(s->thread, NULL);
  pthread_mutex_lock(&s->mu);
  for (int i = 0; i < s->conf.max_total; i++)
    if (s->slots[i].fd >= 0) shutdown(s->slots[i].fd, SHUT_RDWR);
  while (s->active > 0)
    pthread_cond_wait(&s->cv, &s->mu);
  pthread_mutex_unlock(&s->mu);
  server_free(s);
}
