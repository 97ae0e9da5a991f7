/* serial:///dev/ttyS0?baud=9600&parity=N&data=8&stop=1 through
 * libserialport: a raw byte stream (TP_STREAM, struct tp_stream_ops in
 * ops->ext), plus the line-settings parser that modbus-rtu shares. */
#include "serial.h"

#include <libserialport.h>
#include <stdlib.h>
#include <string.h>

#include "transport.h"

static int valid_baud(long b) {
  static const long rates[] = {300,    600,    1200,   1800,  2400,
                               4800,   9600,   19200,  38400, 57600,
                               115200, 230400, 460800, 921600};
  for (size_t i = 0; i < sizeof rates / sizeof rates[0]; i++)
    if (rates[i] == b) return 1;
  return 0;
}

int tp_line_parse(const struct ohm_uri *u, struct tp_line *l,
                  struct ohm_error *e) {
  const char *p = ohm_uri_param(u, "parity");
  int rc;
  if ((rc = ohm_uri_param_long(u, "baud", 9600, 1, 4000000, &l->baud, e)) < 0 ||
      (rc = ohm_uri_param_long(u, "data", 8, 5, 8, &l->data, e)) < 0 ||
      (rc = ohm_uri_param_long(u, "stop", 1, 1, 2, &l->stop, e)) < 0)
    return rc;
  if (!valid_baud(l->baud))
    return ohm_error_set(e, OHM_EURI, "baud=%ld is not a standard rate",
                         l->baud);
  if (!p) p = "N";
  if (strlen(p) != 1 || !strchr("NEOneo", p[0]))
    return ohm_error_set(e, OHM_EURI, "parity=%s: want N, E or O", p);
  l->parity = (char)(p[0] & ~0x20);
  return 0;
}

/* A libserialport failure rc as an OHM_EIO with a one-line reason. Its
 * errno-based message is meaningful for SP_ERR_FAIL only. */
static int sp_fail(struct ohm_error *e, enum sp_return rc, const char *what,
                   const char *path) {
  char *m;
  if (rc == SP_ERR_ARG)
    return ohm_error_set(e, OHM_EIO,
                         "%s %s failed (not a serial port that "
                         "libserialport recognises)",
                         what, path);
  if (rc != SP_ERR_FAIL)
    return ohm_error_set(e, OHM_EIO, "%s %s failed (libserialport error %d)",
                         what, path, (int)rc);
  m = sp_last_error_message();
  rc = ohm_error_set(e, OHM_EIO, "%s %s failed (%s)", what, path,
                     m ? m : "unknown error");
  sp_free_error_message(m);
  return rc;
}

static unsigned timeout_ms(const struct tp *t) {
  double ms = t->opts.timeout * 1000;
  return ms < 1 ? 1 : ms > 3600000 ? 3600000 : (unsigned)ms;
}

/* SP_OK, or the first failing call's code. */
static enum sp_return ser_configure(struct sp_port *p,
                                    const struct tp_line *l) {
  enum sp_parity par = l->parity == 'E'   ? SP_PARITY_EVEN
                       : l->parity == 'O' ? SP_PARITY_ODD
                                          : SP_PARITY_NONE;
  enum sp_return rc;
  if ((rc = sp_set_baudrate(p, (int)l->baud)) != SP_OK ||
      (rc = sp_set_bits(p, (int)l->data)) != SP_OK ||
      (rc = sp_set_parity(p, par)) != SP_OK ||
      (rc = sp_set_stopbits(p, (int)l->stop)) != SP_OK)
    return rc;
  return sp_set_flowcontrol(p, SP_FLOWCONTROL_NONE);
}

static void ser_close(struct tp *t) {
  struct sp_port *p = t->priv;
  if (!p) return;
  sp_close(p);
  sp_free_port(p);
  t->priv = NULL;
}

/* Open the tty of t->uri.path with the query's line settings. */
static int ser_open(struct tp *t, struct ohm_error *e) {
  struct tp_line l;
  struct sp_port *p = NULL;
  int rc;
  if (t->uri.host && *t->uri.host)
    return ohm_error_set(e, OHM_EURI,
                         "serial wants a device path, as in "
                         "serial:///dev/ttyS0");
  if (!*t->uri.path)
    return ohm_error_set(e, OHM_EURI, "missing serial device path");
  if ((rc = tp_line_parse(&t->uri, &l, e)) < 0) return rc;
  if ((rc = sp_get_port_by_name(t->uri.path, &p)) != SP_OK)
    return sp_fail(e, rc, "open", t->uri.path);
  t->priv = p;
  if ((rc = sp_open(p, SP_MODE_READ_WRITE)) != SP_OK) {
    rc = sp_fail(e, rc, "open", t->uri.path);
    sp_free_port(p);
    t->priv = NULL;
    return rc;
  }
  if ((rc = ser_configure(p, &l)) != SP_OK) {
    rc = sp_fail(e, rc, "configure", t->uri.path);
    ser_close(t);
    return rc;
  }
  return 0;
}

static long ser_read(struct tp *t, void *buf, size_t n, struct ohm_error *e) {
  int rc = sp_blocking_read_next(t->priv, buf, n, timeout_ms(t));
  if (rc < 0) return sp_fail(e, rc, "read from", t->uri.path);
  if (rc == 0 && tp_interrupted)
    return ohm_error_set(e, OHM_EINTR, "interrupted");
  return rc;
}

static int ser_write(struct tp *t, const void *buf, size_t n,
                     struct ohm_error *e) {
  int rc = sp_blocking_write(t->priv, buf, n, timeout_ms(t));
  if (rc < 0) return sp_fail(e, rc, "write to", t->uri.path);
  if ((size_t)rc < n)
    return ohm_error_set(e, OHM_ETIMEDOUT, "write to %s timed out after %g s",
                         t->uri.path, t->opts.timeout);
  return 0;
}

static const struct tp_stream_ops ser_stream = {
    .read = ser_read,
    .write = ser_write,
};

/* The serial line settings (tp_line_parse). */
static const char *const line_params[] = {"baud", "parity", "data", "stop",
                                          NULL};

const struct tp_ops tp_serial_ops = {
    .scheme = "serial",
    .desc = "raw serial line through libserialport",
    .kind = TP_STREAM,
    .open = ser_open,
    .close = ser_close,
    .ext = &ser_stream,
    .params = line_params,
};
