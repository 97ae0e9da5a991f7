/* libFuzzer target for the upgrade's reply handling (transports/xfer.c,
 * xfer_probe.c over libcurl's TFTP): a loopback UDP server thread answers
 * every datagram ohm sends (the probe's read request, the write request,
 * each data block) with the next packet of the input (each a length byte,
 * then that many bytes), then with a TFTP ERROR once the input runs out.
 * Invariants (abort on failure): the batch always ends, in a final state
 * (done or failed, never pending or active), a failure says why in one
 * NUL-terminated message, and no more bytes are counted than were sent. */
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "transports/xfer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int ufd = -1, port;

struct feed {
  const uint8_t *data;
  size_t size, off;
  volatile int stop;
};

/* The next packet of the input, or an ERROR when none is left. */
static void reply(int fd, struct feed *f, struct sockaddr_in *to) {
  static const uint8_t err[] = {0, 5, 0, 0, 'x', 0};
  const uint8_t *p = err;
  size_t n = sizeof err;
  if (f->off < f->size) {
    n = f->data[f->off++];
    if (n > f->size - f->off) n = f->size - f->off;
    p = f->data + f->off;
    f->off += n;
  }
  sendto(fd, p, n, 0, (struct sockaddr *)to, sizeof *to);
}

static void *serve(void *arg) {
  struct feed *f = arg;
  uint8_t buf[70000];
  while (!f->stop) {
    struct sockaddr_in from;
    socklen_t len = sizeof from;
    ssize_t r =
        recvfrom(ufd, buf, sizeof buf, 0, (struct sockaddr *)&from, &len);
    if (r >= 0) reply(ufd, f, &from);
  }
  return NULL;
}

static int bind_once(void) {
  struct sockaddr_in a = {.sin_family = AF_INET,
                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t n = sizeof a;
  struct timeval tv = {0, 20000};
  ufd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (ufd < 0 || bind(ufd, (struct sockaddr *)&a, sizeof a) < 0 ||
      getsockname(ufd, (struct sockaddr *)&a, &n) < 0)
    return -1;
  setsockopt(ufd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  port = ntohs(a.sin_port);
  return 0;
}

static void run_batch(void) {
  static unsigned char fw[1000];
  struct xfer_file file = {"fw.bin", "fw.bin", fw, sizeof fw, ""};
  struct xfer_opts o = {.timeout = 0.2, .retries = 0, .blksize = 512};
  struct xfer_target t;
  struct ohm_uri u;
  struct ohm_error e;
  char uri[64];
  int res = 0;
  snprintf(uri, sizeof uri, "tftp://127.0.0.1:%d", port);
  if (ohm_uri_parse(uri, &u, &e) < 0) abort();
  if (xfer_target_init(&t, NULL, &u, &e) < 0) abort();
  ohm_uri_free(&u);
  xfer_probe(&t, 1, 0.2, &res, &e);
  if (xfer_run(&t, 1, &file, 1, &o, &e) == 0) {
    if (t.state != XS_DONE && t.state != XS_FAILED) abort();
    if (t.state == XS_FAILED && (!t.msg[0] || !memchr(t.msg, 0, sizeof t.msg)))
      abort();
    if (t.bytes_sent > sizeof fw) abort();
  }
  xfer_target_free(&t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  struct feed f = {data, size, 0, 0};
  pthread_t th;
  if (ufd < 0 && bind_once() < 0) abort();
  if (pthread_create(&th, NULL, serve, &f) != 0) return 0;
  run_batch();
  f.stop = 1;
  pthread_join(th, NULL);
  return 0;
}
