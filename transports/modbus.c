/* Modbus TCP and RTU transports (DESIGN.md "Transports"). RTU goes
 * through libmodbus, loaded on its first use (util/lazy.h); TCP needs none
 * of it: the connect is tp_tcp_dial's, the framing modbus_adu.h's, so a
 * one-shot `ohm get` over TCP maps no library but libc.
 *
 *   modbus-tcp://HOST[:PORT][?unit=N]          port 502, unit 1
 *   modbus-rtu:///dev/tty?baud=9600&parity=N&data=8&stop=1&unit=1
 *
 * Functions 03 (read holding registers, at most 125 per request) and 06
 * (write single register) only. Each request is bounded: the response
 * timeout covers the whole reply (the byte timeout is disabled, so a peer
 * trickling bytes cannot stretch it), a timeout or malformed reply is
 * retried t->opts.retries times after flushing stale bytes (over TCP on a
 * new connection), and a dropped connection is reopened once and the
 * request sent again. Over TCP the request and its reply are framed and
 * checked here (modbus_adu.h: what libmodbus does not check); a reply
 * that does not match the request ends the connection. */
#include "modbus_adu.h"
#include "modbus_nb.h"
#include "../util/clock.h"
#include "serial.h"
#include "transport.h"

#include <arpa/inet.h>
#include <errno.h>
#include <modbus.h>
#include "../util/lazy_modbus.h"
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

struct mb {
  modbus_t *ctx; /* RTU only: libmodbus is not even loaded for TCP */
  int fd;        /* TCP: the socket, or -1 */
  int rtu;
  int up;       /* connected */
  int slot;     /* tp_intr slot of the socket, or -1 */
  uint16_t tid; /* TCP: the last transaction id sent */
  char why[96]; /* what was wrong with the last malformed reply */
};

/* A request of function fc (modbus_adu.h): read n registers or bits at
 * addr into dst, write val at addr (05, 06) or n values from dst (15, 16). */
struct mb_req {
  int fc;
  int addr;
  int n;
  uint16_t *dst;
  uint16_t val;
};

static const char *const exc_names[] = {
    NULL,
    "illegal function",
    "illegal data address",
    "illegal data value",
    "server device failure",
    "acknowledge",
    "server device busy",
    "negative acknowledge",
    "memory parity error",
    NULL,
    "gateway path unavailable",
    "gateway target device failed to respond",
};

/* Close the connection (if any); the next request reopens it. */
static void mb_down(struct mb *m) {
  if (m->slot >= 0) {
    tp_intr_unregister(m->slot);
    m->slot = -1;
  }
  if (m->up && m->ctx)
    modbus_close(m->ctx);
  else if (m->up)
    close(m->fd);
  m->fd = -1;
  m->up = 0;
}

/* Must run before modbus_connect: libmodbus bounds a TCP connect by the
 * response timeout. */
static void mb_timeouts(const struct tp *t, modbus_t *ctx) {
  double to = t->opts.timeout;
  uint32_t s = (uint32_t)to, us = (uint32_t)((to - s) * 1e6);
  if (us > 999999) us = 999999;
  if (s == 0 && us < 1000) us = 1000;
  modbus_set_response_timeout(ctx, s, us);
  modbus_set_byte_timeout(ctx, 0, 0);
}

/* Connect over TCP within the timeout: a numeric host directly (no
 * getaddrinfo: it dumps the interfaces over netlink and asks nscd on every
 * connect), a name through getaddrinfo, each of its addresses in turn.
 * The socket, or -1 with errno; *gai is set when the name does not
 * resolve. */
static int mb_dial(const struct tp *t, int *gai) {
  struct sockaddr_storage sa;
  socklen_t len;
  struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res, *ai;
  char port[16];
  int pn = t->uri.port > 0 ? t->uri.port : 502, fd = -1, err = ECONNREFUSED;
  if (mb_nb_addr(t->uri.host, pn, &sa, &len) == 0)
    return tp_tcp_dial((struct sockaddr *)&sa, len, t->opts.timeout);
  snprintf(port, sizeof port, "%d", pn);
  if ((*gai = getaddrinfo(t->uri.host, port, &hints, &res)) != 0) return -1;
  for (ai = res; ai && fd < 0 && !tp_interrupted; ai = ai->ai_next)
    if ((fd = tp_tcp_dial(ai->ai_addr, ai->ai_addrlen, t->opts.timeout)) < 0)
      err = errno;
  freeaddrinfo(res);
  if (fd < 0) errno = err;
  return fd;
}

/* Connect (or open the tty) if not connected. */
static int mb_up(struct tp *t, struct mb *m, struct ohm_error *e) {
  int err, gai = 0;
  if (m->up) return 0;
  errno = 0;
  if (m->rtu ? modbus_connect(m->ctx) == 0 : (m->fd = mb_dial(t, &gai)) >= 0) {
    m->up = 1;
    if (!m->rtu) m->slot = tp_intr_register(m->fd);
    return 0;
  }
  err = errno;
  if (tp_interrupted) return ohm_error_set(e, OHM_EINTR, "interrupted");
  if (m->rtu)
    return ohm_error_set(e, OHM_EIO, "cannot open %s (%s)", t->uri.path,
                         strerror(err));
  if (gai)
    return ohm_error_set(e, OHM_EIO, "connect failed (cannot resolve '%s': %s)",
                         t->uri.host, gai_strerror(gai));
  return tp_modbus_connect_fail(t, err, e);
}

int tp_modbus_connect_fail(struct tp *t, int err, struct ohm_error *e) {
  if (err == ECONNREFUSED)
    return ohm_error_set(e, OHM_ECONNREFUSED,
                         "connect failed (connection refused)");
  if (err == ETIMEDOUT || err == EINPROGRESS)
    return ohm_error_set(e, OHM_ETIMEDOUT,
                         "connect failed (timed out after %g s)",
                         t->opts.timeout);
  return ohm_error_set(e, OHM_EIO, "connect failed (%s)",
                       err ? strerror(err) : "unknown error");
}

static int mb_is_drop(int err) {
  return err == ECONNRESET || err == EPIPE || err == EBADF || err == ENOTCONN ||
         err == ESHUTDOWN || err == ECONNABORTED;
}

static int mb_is_malformed(int err) {
  return err == EMBBADCRC || err == EMBBADDATA || err == EMBBADEXC ||
         err == EMBUNKEXC || err == EMBMDATA || err == EMBBADSLAVE;
}

static const char *const mb_objs[] = {
    "",     "coils",   "discrete inputs", "registers", "input registers",
    "coil", "register"};

/* "read registers 0-98 from unit 1" / "write register 70 on unit 1" */
static const char *mb_what(char *buf, size_t n, const struct mb_req *r,
                           int unit) {
  if (r->fc == 5 || r->fc == 6)
    snprintf(buf, n, "write %s %d on unit %d", mb_objs[r->fc], r->addr, unit);
  else if (r->fc > 6)
    snprintf(buf, n, "write %s %d-%d on unit %d", mb_objs[r->fc == 15 ? 1 : 3],
             r->addr, r->addr + r->n - 1, unit);
  else
    snprintf(buf, n, "read %s %d-%d from unit %d", mb_objs[r->fc], r->addr,
             r->addr + r->n - 1, unit);
  return buf;
}

/* Words for err: libmodbus's own where it is loaded (RTU), else the
 * Modbus exception's name, the malformed reply's reason, or strerror. */
static const char *mb_strerror(const struct mb *m, int err) {
  int x = err - MODBUS_ENOBASE;
  if (m->ctx) return modbus_strerror(err);
  if (x > 0 && x < (int)(sizeof exc_names / sizeof exc_names[0]) &&
      exc_names[x])
    return exc_names[x];
  if (err >= MODBUS_ENOBASE) return m->why[0] ? m->why : "malformed reply";
  return strerror(err);
}

/* Map a libmodbus errno to an OHM_E* code and a one-line message. */
static int mb_error(const struct tp *t, int err, const char *what, int tries,
                    int unit, struct ohm_error *e) {
  const struct mb *m = t->priv;
  int x = err - MODBUS_ENOBASE;
  if ((err == EMBBADDATA || err == EMBBADSLAVE) && m->why[0])
    return ohm_error_set(e, OHM_EPROTO, "%s failed (%s%s)", what,
                         err == EMBBADSLAVE ? "" : "malformed reply: ", m->why);
  if (err == ETIMEDOUT && tries > 1)
    return ohm_error_set(e, OHM_ETIMEDOUT,
                         "%s failed (timed out after %g s, %d attempts)", what,
                         t->opts.timeout, tries);
  if (err == ETIMEDOUT)
    return ohm_error_set(e, OHM_ETIMEDOUT, "%s failed (timed out after %g s)",
                         what, t->opts.timeout);
  if (x > 0 && x < (int)(sizeof exc_names / sizeof exc_names[0]))
    return ohm_error_set(e, OHM_EDEVICE, "%s failed (Modbus exception %d: %s)",
                         what, x, exc_names[x] ? exc_names[x] : "unknown");
  if (err == EMBBADCRC)
    return ohm_error_set(e, OHM_EPROTO, "%s failed (bad CRC in reply)", what);
  if (err == EMBBADSLAVE)
    return ohm_error_set(e, OHM_EPROTO,
                         "%s failed (reply from the wrong unit id, asked %d)",
                         what, unit);
  if (mb_is_malformed(err))
    return ohm_error_set(e, OHM_EPROTO, "%s failed (malformed reply: %s)", what,
                         mb_strerror(m, err));
  if (mb_is_drop(err))
    return ohm_error_set(e, OHM_EIO, "%s failed (connection dropped)", what);
  return ohm_error_set(e, OHM_EIO, "%s failed (%s)", what, mb_strerror(m, err));
}

/* -v: the request PDU (unit, function, address, count or value) before
 * it goes, and the reply PDU, or the failure, after. */
static void mb_trace(const struct tp *t, const struct mb_req *r, int unit,
                     int rc, double t0) {
  uint8_t f[3 + 2 * 125];
  size_t n = 0;
  int rd = r->fc <= 4;
  uint16_t w = r->fc == 5 || r->fc == 6 ? r->val : (uint16_t)r->n;
  if (!t->opts.trace) return;
  f[n++] = (uint8_t)unit;
  f[n++] = (uint8_t)r->fc;
  if (t0 > 0 && rc < 0) {
    tp_trace(t, '!', NULL, 0, mb_strerror(t->priv, errno), t0);
    return;
  }
  if (t0 > 0 && rd && r->fc <= 2) {
    f[n++] = (uint8_t)((r->n + 7) / 8);
    memset(f + n, 0, (size_t)(r->n + 7) / 8);
    for (int i = 0; i < r->n; i++)
      f[n + i / 8] |= (uint8_t)((r->dst[i] & 1) << (i % 8));
    n += (size_t)(r->n + 7) / 8;
  } else if (t0 > 0 && rd) {
    f[n++] = (uint8_t)(2 * r->n);
    for (int i = 0; i < r->n; i++) {
      f[n++] = (uint8_t)(r->dst[i] >> 8);
      f[n++] = (uint8_t)r->dst[i];
    }
  } else {
    uint8_t q[4] = {(uint8_t)(r->addr >> 8), (uint8_t)r->addr,
                    (uint8_t)(w >> 8), (uint8_t)w};
    memcpy(f + n, q, 4);
    n += 4;
  }
  tp_trace(t, t0 > 0 ? '<' : '>', f, n, NULL, t0);
}

/* One attempt over TCP, checked whole (modbus_adu.h). */
static int mb_once_tcp(struct mb *m, const struct mb_req *r, int unit,
                       double timeout) {
  struct mb_adu q = {.tid = ++m->tid,
                     .unit = (uint8_t)unit,
                     .fc = (uint8_t)r->fc,
                     .addr = (uint16_t)r->addr,
                     .arg = r->fc == 5 || r->fc == 6 ? r->val : (uint16_t)r->n,
                     .data = r->dst};
  m->why[0] = 0;
  return mb_adu_transact(m->fd, &q, timeout, r->dst, m->why, sizeof m->why);
}

/* One attempt over RTU (libmodbus checks the slave id, CRC, function and
 * byte count there); stale bytes of a late reply are flushed first so
 * they cannot answer this request. 0 or -1 with errno set. */
static int mb_once(struct mb *m, const struct mb_req *r) {
  uint8_t bits[2000];
  int rc = -1;
  m->why[0] = 0;
  modbus_flush(m->ctx);
  switch (r->fc) {
  case 1:
  case 2:
    rc = (r->fc == 1 ? modbus_read_bits
                     : modbus_read_input_bits)(m->ctx, r->addr, r->n, bits);
    for (int i = 0; rc == r->n && i < r->n; i++)
      r->dst[i] = bits[i] & 1;
    break;
  case 3:
  case 4:
    rc = (r->fc == 3 ? modbus_read_registers : modbus_read_input_registers)(
        m->ctx, r->addr, r->n, r->dst);
    break;
  case 5:
    return modbus_write_bit(m->ctx, r->addr, r->val != 0) == 1 ? 0 : -1;
  case 6:
    return modbus_write_register(m->ctx, r->addr, r->val) == 1 ? 0 : -1;
  case 15:
    for (int i = 0; i < r->n; i++)
      bits[i] = r->dst[i] != 0;
    rc = modbus_write_bits(m->ctx, r->addr, r->n, bits);
    break;
  case 16:
    rc = modbus_write_registers(m->ctx, r->addr, r->n, r->dst);
    break;
  }
  if (rc == r->n) return 0;
  if (rc >= 0) errno = EMBBADDATA;
  return -1;
}

int tp_modbus_fail(struct tp *t, int err, const char *why, int fc, int addr,
                   int n, int tries, struct ohm_error *e) {
  struct mb *m = t->priv;
  struct mb_req r = {.fc = fc, .addr = addr, .n = n};
  char what[80];
  mb_what(what, sizeof what, &r, t->unit);
  snprintf(m->why, sizeof m->why, "%s", why ? why : "");
  return mb_error(t, err, what, tries, t->unit, e);
}

int tp_modbus_redial_fail(struct tp *t, int err, int fc, int addr, int n,
                          struct ohm_error *e) {
  struct mb_req r = {.fc = fc, .addr = addr, .n = n};
  char what[80];
  int rc = tp_modbus_connect_fail(t, err, e);
  mb_what(what, sizeof what, &r, t->unit);
  return ohm_error_set(
      e, rc, "%s failed (connection dropped, reconnect failed)", what);
}

int tp_modbus_interrupted(struct tp *t, int fc, int addr, int n,
                          struct ohm_error *e) {
  struct mb_req r = {.fc = fc, .addr = addr, .n = n};
  char what[80];
  return ohm_error_set(e, OHM_EINTR, "%s interrupted",
                       mb_what(what, sizeof what, &r, t->unit));
}

int tp_modbus_retry(const struct tp *t, int err, int *tries, int *redials) {
  if (mb_is_drop(err) && (*redials)++ == 0) {
    (*tries)--;
    return 1;
  }
  return (err == ETIMEDOUT || mb_is_malformed(err)) &&
         *tries <= t->opts.retries;
}

/* Run r with the retry policy above; 0 or a negative OHM_E* with e set. */
static int mb_request(struct tp *t, int unit, const struct mb_req *r,
                      struct ohm_error *e) {
  struct mb *m = t->priv;
  int tries = 0, redials = 0, rc, err;
  char what[80]; /* formatted only for an error: reads stay cheap */
  if (unit < 0) unit = t->unit;
  if (unit > (m->rtu ? 247 : 255) || (m->rtu && unit == 0))
    return ohm_error_set(e, OHM_EINVAL, "bad Modbus unit %d", unit);
  for (;;) {
    /* Ctrl-C before this request: don't start a wait the signal can no
     * longer wake (the shell clears the flag before its next command). */
    if (tp_interrupted)
      return ohm_error_set(e, OHM_EINTR, "%s interrupted",
                           mb_what(what, sizeof what, r, unit));
    if ((rc = mb_up(t, m, e)) < 0) {
      if (redials && rc != OHM_EINTR)
        return ohm_error_set(e, rc,
                             "%s failed (connection dropped, "
                             "reconnect failed)",
                             mb_what(what, sizeof what, r, unit));
      return rc;
    }
    if (m->rtu) modbus_set_slave(m->ctx, unit);
    errno = 0;
    tries++;
    double t0 = ohm_mono();
    mb_trace(t, r, unit, 0, 0);
    rc = m->rtu ? mb_once(m, r) : mb_once_tcp(m, r, unit, t->opts.timeout);
    err = errno;
    mb_trace(t, r, unit, rc, t0);
    if (rc == 0) return 0;
    if (tp_interrupted) {
      mb_down(m); /* the socket may be shut down: reopen next time */
      return ohm_error_set(e, OHM_EINTR, "%s interrupted",
                           mb_what(what, sizeof what, r, unit));
    }
    if (mb_is_drop(err) && redials++ == 0) {
      mb_down(m);
      tries--;
      continue;
    }
    if ((err == ETIMEDOUT || mb_is_malformed(err)) &&
        tries <= t->opts.retries) {
      /* A late reply must not answer the retry: over RTU flush it; over
       * TCP start a new connection (a reply arriving after a flush would
       * be one more stray for modbus_adu.c to skip on this one). */
      if (m->rtu)
        modbus_flush(m->ctx);
      else
        mb_down(m);
      continue;
    }
    if (mb_is_drop(err) || (!m->rtu && mb_is_malformed(err)))
      mb_down(m); /* a TCP stream out of step: resynchronise on a new one */
    return mb_error(t, err, mb_what(what, sizeof what, r, unit), tries, unit,
                    e);
  }
}

/* The most values one request of function fc carries (Modbus spec). */
static int mb_max(int fc) {
  switch (fc) {
  case 1:
  case 2:
    return MODBUS_MAX_READ_BITS;
  case 3:
  case 4:
    return MODBUS_MAX_READ_REGISTERS;
  case 15:
    return MODBUS_MAX_WRITE_BITS;
  case 16:
    return MODBUS_MAX_WRITE_REGISTERS;
  default:
    return 1;
  }
}

static int mb_call(struct tp *t, int unit, int fc, int addr, int n,
                   uint16_t *data, struct ohm_error *e) {
  struct mb_req r = {.fc = fc, .addr = addr, .n = n, .dst = data};
  if (fc < 1 || (fc > 6 && fc != 15 && fc != 16))
    return ohm_error_set(e, OHM_EINVAL,
                         "Modbus function %d not supported "
                         "(1-6, 15, 16)",
                         fc);
  if (n < 1 || n > mb_max(fc) || addr < 0 || addr + n > 65536)
    return ohm_error_set(e, OHM_EINVAL, "bad range %d+%d for function %d", addr,
                         n, fc);
  if (fc == 5 || fc == 6) r.val = fc == 5 && data[0] ? 0xff00 : data[0];
  return mb_request(t, unit, &r, e);
}

static int mb_read_regs(struct tp *t, int unit, int addr, int n, uint16_t *dst,
                        struct ohm_error *e) {
  return mb_call(t, unit, 3, addr, n, dst, e);
}

static int mb_write_reg(struct tp *t, int unit, int addr, uint16_t val,
                        struct ohm_error *e) {
  return mb_call(t, unit, 6, addr, 1, &val, e);
}

static void mb_close(struct tp *t) {
  struct mb *m = t->priv;
  if (!m) return;
  mb_down(m);
  if (m->ctx) modbus_free(m->ctx);
  free(m);
  t->priv = NULL;
}

/* Allocate t->priv around ctx (RTU, taken over; NULL for TCP), set
 * timeouts and connect. */
static int mb_start(struct tp *t, modbus_t *ctx, int rtu, struct ohm_error *e) {
  struct mb *m;
  int rc;
  if (rtu && !ctx)
    return ohm_error_set(e, OHM_ENOMEM, "cannot create Modbus context (%s)",
                         strerror(errno));
  if (!(m = calloc(1, sizeof *m))) {
    if (ctx) modbus_free(ctx);
    return ohm_error_set(e, OHM_ENOMEM, "out of memory");
  }
  m->ctx = ctx;
  m->fd = -1;
  m->rtu = rtu;
  m->slot = -1;
  t->priv = m;
  if (ctx) mb_timeouts(t, ctx);
  if (t->opts.defer) return 0; /* the first request connects */
  if ((rc = mb_up(t, m, e)) < 0) mb_close(t);
  return rc;
}

static int mb_tcp_open(struct tp *t, struct ohm_error *e) {
  if (!t->uri.host || !*t->uri.host)
    return ohm_error_set(e, OHM_EURI,
                         "missing host (want "
                         "modbus-tcp://HOST[:PORT])");
  return mb_start(t, NULL, 0, e);
}

static int mb_rtu_open(struct tp *t, struct ohm_error *e) {
  struct tp_line l;
  int rc;
  if (t->uri.host && *t->uri.host)
    return ohm_error_set(e, OHM_EURI,
                         "modbus-rtu wants a device path, as "
                         "in modbus-rtu:///dev/ttyUSB0");
  if (!t->uri.path || !*t->uri.path)
    return ohm_error_set(e, OHM_EURI, "missing serial device path");
  if ((rc = tp_line_parse(&t->uri, &l, e)) < 0 ||
      (rc = lazy_modbus_load(e)) < 0)
    return rc;
  return mb_start(t,
                  modbus_new_rtu(t->uri.path, (int)l.baud, l.parity,
                                 (int)l.data, (int)l.stop),
                  1, e);
}

const struct tp_ops tp_modbus_tcp_ops = {
    .scheme = "modbus-tcp",
    .desc = "Modbus TCP (functions 01-06, 15, 16)",
    .kind = TP_REGS,
    .default_port = 502,
    .open = mb_tcp_open,
    .close = mb_close,
    .read_regs = mb_read_regs,
    .write_reg = mb_write_reg,
    .modbus = mb_call,
};

/* The serial line settings (tp_line_parse). */
static const char *const line_params[] = {"baud", "parity", "data", "stop",
                                          NULL};

const struct tp_ops tp_modbus_rtu_ops = {
    .scheme = "modbus-rtu",
    .desc = "Modbus RTU on a serial line through libmodbus (01-06, 15, 16)",
    .kind = TP_REGS,
    .default_port = 0,
    .open = mb_rtu_open,
    .close = mb_close,
    .read_regs = mb_read_regs,
    .write_reg = mb_write_reg,
    .modbus = mb_call,
    .params = line_params,
};
