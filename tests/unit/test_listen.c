/* The listener's pure parts (shell/serve/listen.c, login.c): addresses
 * (PORT and :PORT are loopback), decimal-only numbers, protocol lines on
 * raw bytes, constant-time comparison. */
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "shell/serve/listen.h"
#include "shell/serve/login.h"
#include "t.h"

static int addr_is(const char *addr, const char *host, const char *port) {
  char h[64], p[16];
  return ls_split_addr(addr, h, sizeof h, p, sizeof p) == 0 &&
         strcmp(h, host) == 0 && strcmp(p, port) == 0;
}

static void addresses(void) {
  char h[64], p[16];
  CHECK(addr_is("3493", "127.0.0.1", "3493"), "PORT is loopback");
  CHECK(addr_is(":3493", "127.0.0.1", "3493"), ":PORT is loopback");
  CHECK(addr_is("0.0.0.0:3493", "0.0.0.0", "3493"), "wildcard written out");
  CHECK(addr_is("[::1]:80", "::1", "80"), "[V6]:PORT");
  CHECK(addr_is("[::]:80", "::", "80"), "[::]:PORT");
  CHECK(ls_split_addr("::1:80", h, sizeof h, p, sizeof p) < 0,
        "bare IPv6 refused");
  CHECK(ls_split_addr("99999", h, sizeof h, p, sizeof p) < 0,
        "port out of range");
  CHECK(ls_split_addr("0x50", h, sizeof h, p, sizeof p) < 0, "hex port");
  CHECK(ls_split_addr("[]:80", h, sizeof h, p, sizeof p) < 0, "empty host");
  CHECK(ls_split_addr("h:", h, sizeof h, p, sizeof p) < 0, "no port");
}

/* ls_bind: the listeners' TCP and --traps' UDP sockets, one parser. */
static void binding(void) {
  struct ohm_error e;
  struct sockaddr_storage ss;
  socklen_t len = sizeof ss;
  int type = 0;
  socklen_t tl = sizeof type;
  int fd = ls_bind("127.0.0.1:0", SOCK_DGRAM, "receive traps", &e);
  CHECK(fd >= 0 && getsockname(fd, (struct sockaddr *)&ss, &len) == 0 &&
            getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl) == 0 &&
            type == SOCK_DGRAM,
        "UDP bound on loopback");
  if (fd >= 0) close(fd);
  CHECK(ls_bind("127.0.0.1:99999", SOCK_DGRAM, "receive traps", &e) ==
            OHM_EINVAL,
        "UDP: a port out of range is refused, not wrapped to 34463");
  CHECK(ls_bind("::1:162", SOCK_DGRAM, "receive traps", &e) == OHM_EINVAL,
        "UDP: a bare IPv6 address is refused");
  fd = ls_listen("127.0.0.1:0", &e);
  CHECK(fd >= 0, "TCP listens on loopback");
  if (fd >= 0) close(fd);
}

static void decimals(void) {
  double v = 0;
  long n = 0;
  CHECK(ls_decimal("12.5", &v) == 0 && v == 12.5, "12.5");
  CHECK(ls_decimal("-3", &v) == 0 && v == -3, "-3");
  CHECK(ls_decimal("+.5", &v) == 0 && v == 0.5, "+.5");
  CHECK(ls_decimal("7.", &v) == 0 && v == 7, "7.");
  static const char *bad[] = {"0x10", "1e3", "inf", "nan",   " 1",    "1 ",
                              "",     "-",   ".",   "1.2.3", "0X1p3", NULL};
  int ok = 1;
  for (int i = 0; bad[i]; i++)
    ok &= ls_decimal(bad[i], &v) < 0;
  CHECK(ok, "hex, exponent, inf, nan, blanks refused");
  CHECK(ls_decimal_int("8", 1, 1000, &n) == 0 && n == 8, "integer");
  CHECK(ls_decimal_int("2.5", 1, 1000, &n) < 0, "not an integer");
  CHECK(ls_decimal_int("0", 1, 1000, &n) < 0, "below range");
  CHECK(ls_decimal_int("99999999999999999999", 1, 1000, &n) < 0,
        "far above range");
}

static void lines(void) {
  char buf[64], *line;
  size_t used;
  strcpy(buf, "VER\r\nLIST UPS\n");
  CHECK(ls_line_next(buf, strlen("VER\r\nLIST UPS\n"), 1024, &line, &used) ==
                LS_LINE_OK &&
            strcmp(line, "VER") == 0 && used == 5,
        "CR LF line");
  memcpy(buf, "LIST UPS\0x\n", 11);
  CHECK(ls_line_next(buf, 11, 1024, &line, &used) == LS_LINE_BAD && used == 11,
        "NUL refused, whole line skipped");
  memcpy(buf, "A\x1b[2J\n", 6);
  CHECK(ls_line_next(buf, 6, 1024, &line, &used) == LS_LINE_BAD,
        "escape refused");
  memcpy(buf, "A\tB\n", 4);
  CHECK(ls_line_next(buf, 4, 1024, &line, &used) == LS_LINE_OK, "TAB taken");
  memset(buf, 'A', sizeof buf);
  CHECK(ls_line_next(buf, 10, 16, &line, &used) == LS_LINE_MORE, "partial");
  CHECK(ls_line_next(buf, 16, 16, &line, &used) == LS_LINE_LONG,
        "limit on raw bytes");
  buf[15] = '\n';
  CHECK(ls_line_next(buf, 16, 16, &line, &used) == LS_LINE_OK && used == 16,
        "a line of exactly the limit");
}

static void equal(void) {
  CHECK(lg_equal("s3cret", "s3cret"), "equal");
  CHECK(!lg_equal("s3cret", "s3cre"), "prefix");
  CHECK(!lg_equal("s3cre", "s3cret"), "longer");
  CHECK(!lg_equal("", "x") && lg_equal("", ""), "empty");
}

int main(void) {
  addresses();
  binding();
  decimals();
  lines();
  equal();
  T_DONE();
}
