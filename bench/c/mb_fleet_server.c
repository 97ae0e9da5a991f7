/* A farm of Modbus TCP devices in one process, for the fleet benchmarks:
 * listens on 127.0.0.1 at every port listed in PORTS_FILE (one a line) and
 * answers function 03 (holding registers 0..IMAGE-1) from one register
 * image read from IMAGE_FILE ("REG: VALUE" lines, as mb_oneshot prints a
 * real simulator's registers), any unit id; exception 01 for any other
 * function, 02 for addresses outside the image. One epoll loop, so 5,000
 * devices cost one process instead of 5,000 simulators.
 * Usage: mb_fleet_server PORTS_FILE IMAGE_FILE */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAXREG 256
static uint16_t image[MAXREG];
static int nimage;

struct conn {
  int fd, listening, len;
  unsigned char buf[260];
};

static int listen_on(int port) {
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0), one = 1;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bind(fd, (struct sockaddr *)&sa, sizeof sa) || listen(fd, 64)) {
    fprintf(stderr, "mb_fleet_server: port %d: %s\n", port, strerror(errno));
    exit(1);
  }
  return fd;
}

static void add(int ep, int fd, int listening) {
  struct conn *c = calloc(1, sizeof *c);
  struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
  c->fd = fd;
  c->listening = listening;
  epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
}

/* Answer every whole request in c->buf; returns -1 to close. */
static int answer(struct conn *c) {
  while (c->len >= 8) {
    int plen = c->buf[4] << 8 | c->buf[5], flen = 6 + plen;
    if (plen < 2 || flen > (int)sizeof c->buf) return -1;
    if (c->len < flen) return 0;
    unsigned char *q = c->buf, a[9 + 250];
    int fn = q[7], addr = q[8] << 8 | q[9], n = q[10] << 8 | q[11], alen;
    memcpy(a, q, 7);
    if (fn != 3) {
      a[7] = fn | 0x80, a[8] = 1, alen = 9;
    } else if (plen != 6 || n < 1 || n > 125 || addr + n > nimage) {
      a[7] = 0x83, a[8] = 2, alen = 9;
    } else {
      a[7] = 3, a[8] = 2 * n, alen = 9 + 2 * n;
      for (int i = 0; i < n; i++)
        a[9 + 2 * i] = image[addr + i] >> 8, a[10 + 2 * i] = image[addr + i];
    }
    a[4] = (alen - 6) >> 8, a[5] = alen - 6;
    if (write(c->fd, a, alen) != alen) return -1;
    memmove(c->buf, c->buf + flen, c->len - flen);
    c->len -= flen;
  }
  return 0;
}

static void event(int ep, struct conn *c) {
  if (c->listening) {
    int fd, one = 1;
    while ((fd = accept4(c->fd, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
      setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      add(ep, fd, 0);
    }
    return;
  }
  ssize_t r = read(c->fd, c->buf + c->len, sizeof c->buf - c->len);
  if (r > 0) {
    c->len += r;
    if (answer(c) == 0) return;
  } else if (r < 0 && errno == EAGAIN) {
    return;
  }
  close(c->fd);
  free(c);
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: mb_fleet_server PORTS_FILE IMAGE_FILE\n");
    return 2;
  }
  FILE *f = fopen(argv[2], "r");
  int reg, val, port, ep = epoll_create1(0), n = 0;
  while (f && fscanf(f, "%d: %d", &reg, &val) == 2)
    if (reg >= 0 && reg < MAXREG && reg == nimage) image[nimage++] = val;
  struct rlimit rl = {65536, 65536};
  setrlimit(RLIMIT_NOFILE, &rl);
  f = fopen(argv[1], "r");
  while (f && fscanf(f, "%d", &port) == 1)
    add(ep, listen_on(port), 1), n++;
  if (!nimage || !n) {
    fprintf(stderr, "mb_fleet_server: no image or no ports\n");
    return 1;
  }
  printf("listening on %d ports, %d registers\n", n, nimage);
  fflush(stdout);
  for (;;) {
    struct epoll_event ev[256];
    int k = epoll_wait(ep, ev, 256, -1);
    for (int i = 0; i < k; i++)
      event(ep, ev[i].data.ptr);
  }
}
