/* Non-blocking Modbus TCP for an event loop; see modbus_nb.h. */
#include "modbus_nb.h"

#include <arpa/inet.h>
#include <errno.h>
#include <modbus.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#define STRAYS_MAX 32 /* as mb_adu_transact: replies of other transactions */

int mb_nb_addr(const char *host, int port, struct sockaddr_storage *sa,
               socklen_t *len) {
  struct sockaddr_in *v4 = (struct sockaddr_in *)sa;
  struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)sa;
  memset(sa, 0, sizeof *sa);
  if (host && inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons((uint16_t)port);
    *len = sizeof *v4;
    return 0;
  }
  if (host && inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons((uint16_t)port);
    *len = sizeof *v6;
    return 0;
  }
  return -1;
}

int mb_nb_connect(struct mb_nb *c, int ep, uint64_t key,
                  const struct sockaddr *sa, socklen_t len) {
  struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLET,
                           .data.u64 = key};
  c->got = 0;
  c->strays = 0;
  c->fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (c->fd < 0) return -1;
  c->connecting = 1;
  if ((connect(c->fd, sa, len) < 0 && errno != EINPROGRESS) ||
      epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev) < 0) {
    int err = errno;
    mb_nb_close(c);
    errno = err;
    return -1;
  }
  return 0;
}

int mb_nb_connected(struct mb_nb *c, unsigned events) {
  int err = 0;
  socklen_t n = sizeof err;
  if (!c->connecting) return 0;
  if (events & (EPOLLERR | EPOLLHUP)) {
    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &n) < 0) err = errno;
    errno = err ? err : ECONNREFUSED;
    return -1;
  }
  if (!(events & EPOLLOUT)) return 1; /* not yet */
  c->connecting = 0;
  return 0;
}

/* Drop whatever a previous exchange left on the connection. */
static void flush_fd(int fd) {
  uint8_t junk[256];
  while (recv(fd, junk, sizeof junk, MSG_DONTWAIT) > 0)
    ;
}

int mb_nb_send(struct mb_nb *c, const struct mb_adu *q) {
  uint8_t req[MB_ADU_MAX];
  size_t n = mb_adu_encode(q, req);
  ssize_t w;
  if (c->q.tid) flush_fd(c->fd); /* not the connection's first request */
  c->q = *q;
  c->got = 0;
  c->strays = 0;
  c->why[0] = 0;
  do
    w = send(c->fd, req, n, MSG_NOSIGNAL);
  while (w < 0 && errno == EINTR);
  if (w == (ssize_t)n) return 0;
  if (w >= 0) errno = EAGAIN; /* 12 bytes into an empty socket buffer */
  return -1;
}

/* A whole frame at the start of the buffer: its length, 0 if incomplete,
 * -1 if its header is impossible. */
static int frame_len(struct mb_nb *c) {
  int rest;
  if (c->got < 7) return 0;
  if ((rest = mb_adu_rest(c->buf, c->why, sizeof c->why)) < 0)
    return errno = EMBBADDATA, -1;
  return c->got >= 7 + (size_t)rest ? 7 + rest : 0;
}

/* Check the frames read so far: 1 the answer, 0 more to read, -1. */
static int take_frames(struct mb_nb *c, uint16_t *dst) {
  int n, rc;
  while ((n = frame_len(c)) != 0) {
    if (n < 0) return -1;
    rc = mb_adu_check(&c->q, c->buf, (size_t)n, dst, c->why, sizeof c->why);
    if (rc != MB_ADU_STRAY) return rc == 0 ? 1 : -1;
    if (++c->strays > STRAYS_MAX) {
      snprintf(c->why, sizeof c->why,
               "more than %d replies of other transactions", STRAYS_MAX);
      return errno = EMBBADDATA, -1;
    }
    memmove(c->buf, c->buf + n, c->got - (size_t)n);
    c->got -= (size_t)n;
  }
  return 0;
}

int mb_nb_recv(struct mb_nb *c, uint16_t *dst) {
  for (;;) {
    int rc = take_frames(c, dst);
    if (rc != 0) return rc;
    ssize_t r = recv(c->fd, c->buf + c->got, sizeof c->buf - c->got, 0);
    if (r == 0) return errno = ECONNRESET, -1;
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
    c->got += (size_t)r;
  }
}

unsigned mb_nb_poll(const struct mb_nb *c) {
  struct pollfd p = {.fd = c->fd, .events = POLLIN | POLLOUT};
  if (c->fd < 0 || poll(&p, 1, 0) <= 0) return 0;
  return (p.revents & POLLIN ? EPOLLIN : 0) |
         (p.revents & POLLOUT ? EPOLLOUT : 0) |
         (p.revents & POLLERR ? EPOLLERR : 0) |
         (p.revents & POLLHUP ? EPOLLHUP : 0);
}

void mb_nb_close(struct mb_nb *c) {
  if (c->fd >= 0) close(c->fd);
  c->fd = -1;
  c->connecting = 0;
  c->got = 0;
  c->q.tid = 0;
}
