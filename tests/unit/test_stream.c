/* Unit tests of the byte-stream transports (transports/serial.c through
 * termios on a pseudo-terminal, transports/tcp.c on a loopback socket):
 * real bytes both ways, timeouts, flushing of stale bytes, exclusive use
 * of a line across open transports, and open errors. */
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/clock.h"
#include "transports/transport.h"

#include "t.h"

static const struct tp_stream_ops *ops(struct tp *t) {
  return t->ops->ext;
}

static void test_pty(void) {
  struct ohm_error e;
  struct tp *t = NULL, *t2 = NULL;
  char uri[128], buf[64];
  int m = posix_openpt(O_RDWR | O_NOCTTY);
  CHECK(m >= 0 && grantpt(m) == 0 && unlockpt(m) == 0, "a pty pair");
  snprintf(uri, sizeof uri, "serial://%s?baud=9600", ptsname(m));
  CHECK(tp_open(uri, NULL, &t, &e) == 0 && t,
        "serial:// opens a pseudo-terminal (termios)");
  if (!t) {
    printf("    %s\n", e.msg);
    return;
  }
  CHECK(t->opts.timeout == 0.5, "stream default timeout is 500 ms");
  CHECK(ops(t)->write(t, "~ping\r", 6, &e) == 0, "write to the pty");
  long n = read(m, buf, sizeof buf);
  CHECK(n == 6 && memcmp(buf, "~ping\r", 6) == 0, "the bytes arrive");
  CHECK(write(m, "pong", 4) == 4, "the other end answers");
  n = ops(t)->read(t, buf, sizeof buf, &e);
  CHECK(n == 4 && memcmp(buf, "pong", 4) == 0, "read from the pty");
  double t0 = ohm_mono();
  t->opts.timeout = 0.2;
  n = ops(t)->read(t, buf, sizeof buf, &e);
  CHECK(n == 0 && ohm_mono() - t0 >= 0.19 && ohm_mono() - t0 < 1.5,
        "nothing within the timeout: 0, after it");
  CHECK(write(m, "stale", 5) == 5, "a late reply arrives unasked");
  usleep(20000);
  ops(t)->flush(t);
  n = ops(t)->read(t, buf, sizeof buf, &e);
  CHECK(n == 0, "flush drops the stale bytes");
  CHECK(tp_open(uri, NULL, &t2, &e) == 0, "a second transport on the line");
  CHECK(ops(t)->lock(t, &e) == 0, "the first takes the line");
  t2->opts.timeout = 0.01; /* waits 10 + 4 x timeout at most */
  ops(t)->unlock(t);
  CHECK(ops(t2)->lock(t2, &e) == 0, "the second takes it after the first");
  ops(t2)->unlock(t2);
  int ready[2];
  CHECK(pipe(ready) == 0, "a pipe");
  pid_t pid = fork();
  if (pid == 0) { /* another process holds the tty's lock 300 ms */
    int fd = open(ptsname(m), O_RDWR | O_NOCTTY);
    if (fd < 0 || flock(fd, LOCK_EX) < 0) _exit(2);
    if (write(ready[1], "r", 1) != 1) _exit(2);
    usleep(300000);
    _exit(0);
  }
  CHECK(read(ready[0], buf, 1) == 1, "the other process holds the line");
  t0 = ohm_mono();
  CHECK(ops(t)->lock(t, &e) == 0 && ohm_mono() - t0 >= 0.2,
        "ohm waits until another process frees the line");
  ops(t)->unlock(t);
  int st = 0;
  waitpid(pid, &st, 0);
  close(ready[0]);
  close(ready[1]);
  tp_free(t2);
  tp_free(t);
  close(m);
}

static void test_tcp(void) {
  struct ohm_error e;
  struct tp *t = NULL;
  struct sockaddr_in a = {.sin_family = AF_INET,
                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t al = sizeof a;
  char uri[96], buf[16];
  int l = socket(AF_INET, SOCK_STREAM, 0);
  bind(l, (struct sockaddr *)&a, sizeof a);
  listen(l, 1);
  getsockname(l, (struct sockaddr *)&a, &al);
  snprintf(uri, sizeof uri, "tcp://127.0.0.1:%d", ntohs(a.sin_port));
  CHECK(tp_open(uri, NULL, &t, &e) == 0 && t, "tcp:// connects");
  if (!t) return;
  int c = accept(l, NULL, NULL);
  CHECK(ops(t)->write(t, "~x\r", 3, &e) == 0 && read(c, buf, 3) == 3,
        "tcp:// writes");
  CHECK(write(c, "ok", 2) == 2 && ops(t)->read(t, buf, 16, &e) == 2,
        "tcp:// reads");
  close(c);
  CHECK(ops(t)->read(t, buf, 16, &e) == OHM_EIO &&
            strstr(e.msg, "connection closed"),
        "a closed connection is an error, not silence");
  tp_free(t);
  close(l);
  CHECK(tp_open(uri, NULL, &t, &e) == OHM_ECONNREFUSED && !t,
        "nobody listening: connection refused");
  CHECK(tp_open("tcp://127.0.0.1", NULL, &t, &e) == OHM_EURI &&
            strstr(e.msg, "needs a port"),
        "tcp:// without a port refused");
  CHECK(tp_open("tcp://127.0.0.1:9?baud=9600", NULL, &t, &e) == OHM_EURI,
        "tcp:// refuses serial settings");
  CHECK(tp_open("serial:///dev/null", NULL, &t, &e) == OHM_EIO &&
            strstr(e.msg, "not a serial port"),
        "serial:// of a non-tty refused");
}

int main(void) {
  test_pty();
  test_tcp();
  T_DONE();
}
