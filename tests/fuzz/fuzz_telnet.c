/* libFuzzer target for the telnet:// client as a whole (transports/
 * telnet.c with libtelnet, the console engine and the BPS2000v2 screen
 * parser): a loopback server thread plays the console, sending the input
 * as everything the device prints (option negotiation, login prompts,
 * screens) and then closing; ohm opens telnet://bkt:pw@ with the bps2000v2
 * driver and reads every variable. The input's parts (split at \x01\x02) go
 * out one per line the client sends, so the fuzzer reaches the screens
 * behind the login; tests/fuzz/corpus/telnet/session is a whole session
 * recorded from tests/console_emulator.py. Whatever arrives, the client must
 * end (EOF or its deadline) without a crash, a leak or a value past its
 * buffers; a successful read has only DV_ERR or well-formed values. */
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "devices/device.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int lfd = -1;
static int port;

struct feed {
  const uint8_t *data;
  size_t size;
};

/* Read from c until the client ends a line (or goes quiet or away). */
static int await_line(int c) {
  char ch;
  ssize_t r;
  while ((r = recv(c, &ch, 1, 0)) == 1)
    if (ch == '\n') return 0;
  return -1;
}

/* Accept one client and play the input as the console: its parts (split
 * at \x01\x02) one after another, the next when the client has sent a line,
 * as a console answers each command; then drain what the client says
 * until it closes (so the close is not a reset that loses data). */
static void *serve_one(void *arg) {
  struct feed *f = arg;
  char buf[512];
  int c = accept(lfd, NULL, NULL);
  if (c < 0) return NULL;
  struct timeval tv = {0, 300000};
  setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  for (size_t off = 0; off <= f->size;) {
    const uint8_t *end = memmem(f->data + off, f->size - off, "\1\2", 2);
    size_t n = end ? (size_t)(end - f->data) - off : f->size - off;
    if (n && send(c, f->data + off, n, MSG_NOSIGNAL) != (ssize_t)n) break;
    off += n + 2;
    if (off <= f->size && await_line(c) < 0) break;
  }
  shutdown(c, SHUT_WR);
  while (recv(c, buf, sizeof buf, 0) > 0) {
  }
  close(c);
  return NULL;
}

static int listen_once(void) {
  struct sockaddr_in a = {.sin_family = AF_INET,
                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t n = sizeof a;
  lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (lfd < 0 || bind(lfd, (struct sockaddr *)&a, sizeof a) < 0 ||
      listen(lfd, 4) < 0 || getsockname(lfd, (struct sockaddr *)&a, &n) < 0)
    return -1;
  port = ntohs(a.sin_port);
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  struct feed f = {data, size};
  struct tp_opts o = {.timeout = 0.2, .retries = 0};
  struct ohm_error e;
  struct dev *d = NULL;
  char uri[96];
  pthread_t th;
  if (lfd < 0 && listen_once() < 0) abort();
  if (pthread_create(&th, NULL, serve_one, &f) != 0) return 0;
  snprintf(uri, sizeof uri, "telnet://bkt:pw@127.0.0.1:%d", port);
  ohm_error_clear(&e);
  if (dev_open(uri, "bps2000v2", &o, &d, &e) == 0) {
    struct dev_value *v = calloc(d->map->nvars + 1, sizeof *v);
    if (v && dev_read_all(d, v, &e) == 0)
      for (size_t k = 0; k < d->map->nvars; k++)
        if (v[k].kind == DV_STR && !memchr(v[k].str, 0, sizeof v[k].str))
          abort();
    free(v);
    dev_close(d);
  }
  pthread_join(th, NULL);
  return 0;
}
