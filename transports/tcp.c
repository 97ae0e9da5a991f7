/* tcp://HOST:PORT: a raw byte stream to an RS485/RS232-to-Ethernet
 * converter (Elfin EW11, USR-TCP232) or ser2net, with serial://'s read,
 * timeout, flush and exclusive-use semantics (TP_STREAM). A dropped
 * connection is reopened on the next request. */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../util/clock.h"
#include "line.h"
#include "transport.h"

struct tcp {
  int fd;
  int intr; /* tp_intr_register slot */
  struct tp_busy *busy;
};

static void tcp_disconnect(struct tcp *c) {
  if (c->fd < 0) return;
  if (c->intr >= 0) tp_intr_unregister(c->intr);
  close(c->fd);
  c->fd = -1;
  c->intr = -1;
}

int tp_tcp_dial(const struct sockaddr *sa, socklen_t len, double secs) {
  int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  double deadline = ohm_mono() + secs;
  int err = 0, one = 1, r;
  socklen_t n = sizeof err;
  if (fd < 0) return -1;
  if (connect(fd, sa, len) < 0 && errno != EINPROGRESS) {
    err = errno;
  } else {
    struct pollfd p = {.fd = fd, .events = POLLOUT};
    do {
      double left = deadline - ohm_mono();
      r = left > 0 ? poll(&p, 1, (int)(left * 1000) + 1) : 0;
    } while (r < 0 && errno == EINTR && !tp_interrupted);
    if (r < 0)
      err = errno;
    else if (r == 0)
      err = ETIMEDOUT;
    else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &n) < 0)
      err = errno;
  }
  if (err) {
    close(fd);
    errno = err;
    return -1;
  }
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

/* Connect to one address within secs; fd or OHM_E*. */
static int connect_one(const struct addrinfo *ai, double secs) {
  int fd = tp_tcp_dial(ai->ai_addr, ai->ai_addrlen, secs);
  if (fd >= 0) return fd;
  return errno == ECONNREFUSED ? OHM_ECONNREFUSED
         : errno == ETIMEDOUT  ? OHM_ETIMEDOUT
                               : OHM_EIO;
}

static int tcp_connect(struct tp *t, struct tcp *c, struct ohm_error *e) {
  struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res, *ai;
  char port[16];
  int fd = OHM_EIO, rc;
  snprintf(port, sizeof port, "%d", t->uri.port);
  if ((rc = getaddrinfo(t->uri.host, port, &hints, &res)) != 0)
    return ohm_error_set(e, OHM_EIO, "cannot resolve %s (%s)", t->uri.host,
                         gai_strerror(rc));
  for (ai = res; ai && fd < 0 && !tp_interrupted; ai = ai->ai_next)
    fd = connect_one(ai, t->opts.timeout);
  freeaddrinfo(res);
  if (fd < 0 && tp_interrupted)
    return ohm_error_set(e, OHM_EINTR, "connect to %s:%d interrupted",
                         t->uri.host, t->uri.port);
  if (fd < 0)
    return ohm_error_set(e, fd, "connect to %s:%d failed (%s)", t->uri.host,
                         t->uri.port,
                         fd == OHM_ECONNREFUSED ? "connection refused"
                         : fd == OHM_ETIMEDOUT  ? "timed out"
                                                : "unreachable");
  c->fd = fd;
  c->intr = tp_intr_register(fd);
  return 0;
}

static void tcp_close(struct tp *t) {
  struct tcp *c = t->priv;
  if (!c) return;
  tcp_disconnect(c);
  tp_busy_put(c->busy);
  free(c);
  t->priv = NULL;
}

static int tcp_open(struct tp *t, struct ohm_error *e) {
  struct tcp *c;
  char key[320];
  int rc;
  if (!t->uri.host || !*t->uri.host)
    return ohm_error_set(e, OHM_EURI,
                         "tcp wants HOST:PORT, as in "
                         "tcp://192.0.2.7:8899");
  if (t->uri.port <= 0)
    return ohm_error_set(e, OHM_EURI, "tcp://%s needs a port", t->uri.host);
  if (!(c = calloc(1, sizeof *c)))
    return ohm_error_set(e, OHM_ENOMEM, "out of memory");
  c->fd = c->intr = -1;
  t->priv = c;
  snprintf(key, sizeof key, "tcp:%s:%d", t->uri.host, t->uri.port);
  if ((rc = tcp_connect(t, c, e)) < 0 ||
      (rc = tp_busy_get(key, -1, &c->busy, e)) < 0)
    tcp_close(t);
  return rc;
}

/* A request after a dropped connection reconnects first. */
static int tcp_ready(struct tp *t, struct ohm_error *e) {
  struct tcp *c = t->priv;
  return c->fd >= 0 ? 0 : tcp_connect(t, c, e);
}

static long tcp_read(struct tp *t, void *buf, size_t n, struct ohm_error *e) {
  struct tcp *c = t->priv;
  long r;
  int rc;
  if ((rc = tcp_ready(t, e)) < 0) return rc;
  r = tp_fd_read(c->fd, 0, buf, n, t->opts.timeout, t->name, e);
  if (r < 0) tcp_disconnect(c);
  return r;
}

static int tcp_write(struct tp *t, const void *buf, size_t n,
                     struct ohm_error *e) {
  struct tcp *c = t->priv;
  int rc;
  if ((rc = tcp_ready(t, e)) < 0) return rc;
  rc = tp_fd_write(c->fd, buf, n, t->opts.timeout, t->name, e);
  if (rc < 0) tcp_disconnect(c);
  return rc;
}

static void tcp_flush(struct tp *t) {
  struct tcp *c = t->priv;
  if (c->fd >= 0) tp_fd_drain(c->fd);
}

static int tcp_lock(struct tp *t, struct ohm_error *e) {
  struct tcp *c = t->priv;
  return tp_busy_lock(c->busy, 10 + 4 * t->opts.timeout, e);
}

static void tcp_unlock(struct tp *t) {
  struct tcp *c = t->priv;
  tp_busy_unlock(c->busy);
}

static const struct tp_stream_ops tcp_stream = {
    .read = tcp_read,
    .write = tcp_write,
    .flush = tcp_flush,
    .lock = tcp_lock,
    .unlock = tcp_unlock,
};

static const char *const tcp_params[] = {"packs", NULL};

const struct tp_ops tp_tcp_ops = {
    .scheme = "tcp",
    .desc = "raw byte stream to a serial device server (ser2net, RS485 "
            "gateway)",
    .kind = TP_STREAM,
    .open = tcp_open,
    .close = tcp_close,
    .ext = &tcp_stream,
    .params = tcp_params,
};
