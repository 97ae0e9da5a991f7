/* The physical limit of a fleet read: one epoll loop, non-blocking
 * connects to 127.0.0.1 at every port of PORTS_FILE (at most WINDOW in
 * flight), one function-03 request for the 99 registers of a BPS2000v2,
 * the reply checked (transaction id, unit, function, byte count), one CSV
 * line per device (port, then the 99 values) on stdout, close.
 * Usage: mb_fleet_poll PORTS_FILE [WINDOW] */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#define NREG 99
#define REPLY (9 + 2 * NREG)

struct dev {
  int port, fd, got, sent;
  unsigned char buf[REPLY];
};

static int ep, failed;

static void start(struct dev *d) {
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(d->port)};
  int one = 1;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  d->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  setsockopt(d->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (connect(d->fd, (struct sockaddr *)&sa, sizeof sa) && errno != EINPROGRESS)
    d->got = -1;
  struct epoll_event ev = {.events = EPOLLOUT, .data.ptr = d};
  epoll_ctl(ep, EPOLL_CTL_ADD, d->fd, &ev);
}

static void print(struct dev *d) {
  char line[16 + NREG * 6], *p = line;
  p += sprintf(p, "%d", d->port);
  for (int i = 0; i < NREG; i++)
    p += sprintf(p, ",%u", d->buf[9 + 2 * i] << 8 | d->buf[10 + 2 * i]);
  *p++ = '\n';
  fwrite(line, 1, p - line, stdout);
}

/* Returns 1 when the device is finished (read or failed). */
static int step(struct dev *d, unsigned events) {
  if (d->got < 0 || (events & (EPOLLERR | EPOLLHUP) && !(events & EPOLLIN)))
    return failed++, 1;
  if (!d->sent) {
    unsigned char q[12] = {
        d->port >> 8, d->port & 255, 0, 0, 0, 6, 1, 3, 0, 0, 0, NREG};
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = d};
    if (write(d->fd, q, 12) != 12) return failed++, 1;
    d->sent = 1;
    epoll_ctl(ep, EPOLL_CTL_MOD, d->fd, &ev);
    return 0;
  }
  ssize_t r = read(d->fd, d->buf + d->got, REPLY - d->got);
  if (r <= 0) return (r < 0 && errno == EAGAIN) ? 0 : (failed++, 1);
  d->got += r;
  if (d->got < REPLY) return 0;
  if (d->buf[0] != (d->port >> 8 & 255) || d->buf[1] != (d->port & 255) ||
      d->buf[6] != 1 || d->buf[7] != 3 || d->buf[8] != 2 * NREG)
    return failed++, 1;
  print(d);
  return 1;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: mb_fleet_poll PORTS_FILE [WINDOW]\n");
    return 2;
  }
  int window = argc > 2 ? atoi(argv[2]) : 1024, n = 0, cap = 1024, port;
  struct dev *devs = malloc(cap * sizeof *devs);
  FILE *f = fopen(argv[1], "r");
  while (f && fscanf(f, "%d", &port) == 1) {
    if (n == cap) devs = realloc(devs, (cap *= 2) * sizeof *devs);
    devs[n++] = (struct dev){.port = port};
  }
  struct rlimit rl = {65536, 65536};
  setrlimit(RLIMIT_NOFILE, &rl);
  ep = epoll_create1(0);
  static char out[1 << 16];
  setvbuf(stdout, out, _IOFBF, sizeof out);
  int next = 0, active = 0, done = 0;
  while (done < n) {
    while (active < window && next < n)
      start(&devs[next++]), active++;
    struct epoll_event ev[256];
    int k = epoll_wait(ep, ev, 256, 5000);
    if (k == 0) {
      fprintf(stderr, "mb_fleet_poll: timeout, %d of %d done\n", done, n);
      return 1;
    }
    for (int i = 0; i < k; i++) {
      struct dev *d = ev[i].data.ptr;
      if (step(d, ev[i].events)) {
        close(d->fd);
        active--, done++;
      }
    }
  }
  fflush(stdout);
  fprintf(stderr, "%d devices, %d failed\n", n, failed);
  free(devs);
  return failed ? 1 : 0;
}
