/* The one TCP listener of `ohm serve` (NUT, Prometheus, the console) and
 * `ohm sim --telnet`: accept loop, stop, a cap per client address and in
 * total, deadlines, TCP_NODELAY, replies written whole.
 *
 * Each accepted connection runs conf->serve on its own thread; when the
 * caps are reached the connection gets conf->busy (a protocol error or an
 * HTTP 503) and is closed after its request is drained, never silently.
 * Addresses: PORT and :PORT mean 127.0.0.1; HOST:PORT, [V6]:PORT; a
 * wildcard must be written out (0.0.0.0:PORT, [::]:PORT).
 *
 * Deadlines are absolute times on ls_now_ms()'s clock; the protocol sets
 * them (idle before login, a request, a reply), the listener enforces them
 * in ls_recv / ls_send, which also give up as soon as the listener stops. */
#ifndef OHM_SHELL_SERVE_LISTEN_H
#define OHM_SHELL_SERVE_LISTEN_H

#include <stddef.h>
#include <sys/types.h>

#include "../serve.h"

#define LS_FOREVER (-1LL)

struct ls_server;

/* One client connection, owned by the listener; valid during serve(). */
struct ls_conn {
  int fd;
  char addr[64]; /* client address without port ("127.0.0.1", "::1") */
  char peer[80]; /* address and port, for logs */
  void *user;    /* the protocol's own, untouched by the listener */
  struct ls_server *srv;
  int slot;
};

struct ls_conf {
  const char *name; /* "NUT", "Prometheus", "console": for logs */
  int max_total;    /* connections served at once */
  int max_per_addr; /* of them from one client address */
  const char *busy; /* sent to a connection refused for the caps */
  void (*serve)(struct ls_conn *c, void *ctx); /* returns to close */
  void *ctx;
};

/* Listen on addr (see above) and start accepting on a thread of its own;
 * returns once the socket listens. conf is copied (strings borrowed). */
int ls_start(const char *addr, const struct ls_conf *conf,
             struct ls_server **out, struct ohm_error *e);
/* Stop accepting, shut every connection down, wait for their serve() to
 * return and free. NULL: nothing. */
void ls_stop(struct ls_server *s);

/* The bound socket, parsed as above (SO_REUSEADDR, listening): an fd or a
 * negative OHM_E* code with e set. */
int ls_listen(const char *addr, struct ohm_error *e);
/* The same for any socket type (SOCK_DGRAM: bound only); what names it
 * in "cannot WHAT on ADDR (why)". */
int ls_bind(const char *addr, int type, const char *what, struct ohm_error *e);
/* Split ADDR into host and port; -1 if malformed or the port is out of
 * range. PORT and :PORT give "127.0.0.1". */
int ls_split_addr(const char *addr, char *host, size_t hn, char *port,
                  size_t pn);

long long ls_now_ms(void);
/* 1 once the listener is stopping. */
int ls_stopping(const struct ls_conn *c);
/* Up to n bytes, waiting until deadline: > 0 bytes read, 0 the peer
 * closed, -1 deadline passed, stop or error. */
ssize_t ls_recv(struct ls_conn *c, void *buf, size_t n, long long deadline);
/* All n bytes before deadline (0), or -1: the reply is written whole or
 * the connection is to be closed. */
int ls_send(struct ls_conn *c, const void *buf, size_t n, long long deadline);
/* The same for the pieces iov[0..n) one after another, in as few sends as
 * the socket takes (iov is changed). */
struct iovec;
int ls_sendv(struct ls_conn *c, struct iovec *iov, int n, long long deadline);

/* Protocol lines (NUT, any line protocol) from raw bytes buf[0..n):
 * a line ends at LF, a CR before it is dropped, and counts at most max
 * bytes with its LF. LS_LINE_OK: *line (inside buf, NUL-terminated) and
 * *used (bytes taken, LF included) are set. LS_LINE_BAD: the line holds a
 * NUL or another control byte (TAB aside); *used says what to skip.
 * LS_LINE_LONG: no LF within max bytes. LS_LINE_MORE: no LF yet. */
enum { LS_LINE_MORE, LS_LINE_OK, LS_LINE_BAD, LS_LINE_LONG };
int ls_line_next(char *buf, size_t n, size_t max, char **line, size_t *used);

/* Decimal numbers only, as every protocol and option parser takes them:
 * [+-]digits[.digits], no hex, exponent, inf or nan, no blanks. 0 and *v
 * set, or -1. */
int ls_decimal(const char *s, double *v);
/* The same for an integer in [min, max]. */
int ls_decimal_int(const char *s, long min, long max, long *v);

#endif
