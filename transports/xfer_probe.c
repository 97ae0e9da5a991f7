/* Reachability checks before a batch upload (xfer_probe in xfer.h): every
 * target at once, bounded by one timeout, without sending any file. */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "xfer.h"

/* A read request for a name no unit has: any answer means a TFTP server
 * listens; RFC 1350 servers answer it with an ERROR packet. */
static const char probe_rrq[] = "\0\001ohm-reachability-probe\0octet";

static int probe_port(const struct xfer_target *t) {
  if (t->uri.port > 0) return t->uri.port;
  return t->method == XFER_TFTP ? 69 : 21;
}

/* Open a socket towards t and send the probe (TFTP) or start connecting
 * (FTP). Returns the fd, or -1 with *res set when it already failed. */
static int probe_start(const struct xfer_target *t, int *res) {
  struct addrinfo hints = {0}, *ai = NULL;
  char port[16];
  snprintf(port, sizeof port, "%d", probe_port(t));
  hints.ai_socktype = t->method == XFER_TFTP ? SOCK_DGRAM : SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  if (getaddrinfo(t->uri.host, port, &hints, &ai) != 0 || !ai) {
    *res = OHM_EIO;
    return -1;
  }
  int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK, 0), one = 1;
  if (fd >= 0 && t->method == XFER_TFTP) {
    /* ICMP port unreachable reaches an unconnected socket only this way */
    if (ai->ai_family == AF_INET6)
      setsockopt(fd, IPPROTO_IPV6, IPV6_RECVERR, &one, sizeof one);
    else
      setsockopt(fd, IPPROTO_IP, IP_RECVERR, &one, sizeof one);
    if (sendto(fd, probe_rrq, sizeof probe_rrq, 0, ai->ai_addr,
               ai->ai_addrlen) < 0)
      *res = errno == ECONNREFUSED ? OHM_ECONNREFUSED : OHM_EIO;
  } else if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) < 0 &&
             errno != EINPROGRESS) {
    *res = errno == ECONNREFUSED ? OHM_ECONNREFUSED : OHM_EIO;
  }
  freeaddrinfo(ai);
  if (fd < 0 && *res == 1) *res = OHM_EIO;
  if (fd >= 0 && *res != 1) {
    close(fd);
    fd = -1;
  }
  return fd;
}

/* The socket became ready: what it says about the target. */
static int probe_result(const struct xfer_target *t, int fd, short rev) {
  int err = 0;
  socklen_t len = sizeof err;
  if (t->method == XFER_FTP) {
    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
    return err == 0 ? 0 : err == ECONNREFUSED ? OHM_ECONNREFUSED : OHM_EIO;
  }
  char buf[600];
  if (recv(fd, buf, sizeof buf, 0) >= 0) return 0;
  return errno == ECONNREFUSED ? OHM_ECONNREFUSED
         : errno == EAGAIN     ? 1
                               : OHM_EIO;
}

static void probe_wait(const struct xfer_target *ts, size_t n,
                       struct pollfd *pf, int *res, double timeout) {
  double end = xfer_now() + timeout;
  for (;;) {
    int left = 0;
    for (size_t i = 0; i < n; i++)
      left += pf[i].fd >= 0;
    double now = xfer_now();
    if (!left || now >= end) break;
    if (poll(pf, n, (int)((end - now) * 1000) + 1) < 0 && errno != EINTR) break;
    for (size_t i = 0; i < n; i++) {
      if (pf[i].fd < 0 || !pf[i].revents) continue;
      res[i] = probe_result(&ts[i], pf[i].fd, pf[i].revents);
      if (res[i] != 1) {
        close(pf[i].fd);
        pf[i].fd = -1;
      }
    }
  }
}

int xfer_probe(const struct xfer_target *ts, size_t n, double timeout, int *res,
               struct ohm_error *e) {
  struct pollfd *pf = calloc(n ? n : 1, sizeof *pf);
  if (!pf) return ohm_error_set(e, OHM_ENOMEM, "out of memory");
  for (size_t i = 0; i < n; i++) {
    res[i] = 1; /* still waiting */
    pf[i].fd = probe_start(&ts[i], &res[i]);
    pf[i].events = ts[i].method == XFER_FTP ? POLLOUT : POLLIN;
  }
  probe_wait(ts, n, pf, res, timeout > 0 ? timeout : 1.0);
  for (size_t i = 0; i < n; i++) {
    if (pf[i].fd >= 0) close(pf[i].fd);
    if (res[i] == 1) res[i] = OHM_ETIMEDOUT;
  }
  free(pf);
  return 0;
}
