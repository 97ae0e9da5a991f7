/* serial:///dev/ttyS0?baud=9600&parity=N&data=8&stop=1: a raw byte stream
 * (TP_STREAM, struct tp_stream_ops in ops->ext), plus the line-settings
 * parser that modbus-rtu shares. Real ports go through libserialport; a
 * tty it refuses (a pseudo-terminal of socat or ser2net: no /sys entry,
 * no modem lines) is opened through termios. Either way the line is used
 * exclusively per request (transports/line.h) and stale bytes are dropped
 * before each request. */
#include "serial.h"

#include <errno.h>
#include <fcntl.h>
#include <libserialport.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "line.h"
#include "transport.h"
#include "../util/lazy_serialport.h"

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

/* One open line: a libserialport port, or a termios fd (sp NULL). */
struct ser {
  struct sp_port *sp;
  int fd;
  struct tp_busy *busy;
};

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
  struct ser *s = t->priv;
  if (!s) return;
  tp_busy_put(s->busy);
  if (s->sp) {
    sp_close(s->sp);
    sp_free_port(s->sp);
  } else if (s->fd >= 0) {
    close(s->fd);
  }
  free(s);
  t->priv = NULL;
}

static speed_t tio_speed(long baud) {
  static const struct {
    long b;
    speed_t s;
  } r[] = {{300, B300},       {600, B600},       {1200, B1200},
           {1800, B1800},     {2400, B2400},     {4800, B4800},
           {9600, B9600},     {19200, B19200},   {38400, B38400},
           {57600, B57600},   {115200, B115200}, {230400, B230400},
           {460800, B460800}, {921600, B921600}};
  for (size_t i = 0; i < sizeof r / sizeof r[0]; i++)
    if (r[i].b == baud) return r[i].s;
  return B9600;
}

/* Raw mode with the line settings; a pty ignores the rate but keeps raw. */
static int tio_configure(int fd, const struct tp_line *l) {
  struct termios tio;
  if (tcgetattr(fd, &tio) < 0) return -1;
  cfmakeraw(&tio);
  cfsetispeed(&tio, tio_speed(l->baud));
  cfsetospeed(&tio, tio_speed(l->baud));
  tio.c_cflag &= ~(tcflag_t)(CSIZE | PARENB | PARODD | CSTOPB | CRTSCTS);
  tio.c_cflag |= CLOCAL | CREAD;
  tio.c_cflag |= l->data == 5   ? CS5
                 : l->data == 6 ? CS6
                 : l->data == 7 ? CS7
                                : CS8;
  if (l->parity != 'N') tio.c_cflag |= PARENB | (l->parity == 'O' ? PARODD : 0);
  if (l->stop == 2) tio.c_cflag |= CSTOPB;
  tio.c_cc[VMIN] = 0;
  tio.c_cc[VTIME] = 0;
  return tcsetattr(fd, TCSANOW, &tio);
}

/* The termios path for a tty libserialport refuses. */
static int tio_open(struct tp *t, struct ser *s, const struct tp_line *l,
                    struct ohm_error *e) {
  const char *path = t->uri.path;
  s->fd = open(path, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
  if (s->fd < 0)
    return ohm_error_set(e, OHM_EIO, "open %s failed (%s)", path,
                         strerror(errno));
  if (!isatty(s->fd))
    return ohm_error_set(e, OHM_EIO, "open %s failed (not a serial port)",
                         path);
  if (tio_configure(s->fd, l) < 0)
    return ohm_error_set(e, OHM_EIO, "configure %s failed (%s)", path,
                         strerror(errno));
  return 0;
}

static int sp_path_open(struct tp *t, struct ser *s, const struct tp_line *l,
                        struct ohm_error *e) {
  const char *path = t->uri.path;
  int rc;
  if ((rc = sp_open(s->sp, SP_MODE_READ_WRITE)) != SP_OK) {
    rc = sp_fail(e, rc, "open", path);
    sp_free_port(s->sp);
    s->sp = NULL;
    return rc;
  }
  if ((rc = ser_configure(s->sp, l)) != SP_OK)
    return sp_fail(e, rc, "configure", path);
  if (sp_get_port_handle(s->sp, &s->fd) != SP_OK) s->fd = -1;
  return 0;
}

/* Open the tty of t->uri.path with the query's line settings. */
static int ser_open(struct tp *t, struct ohm_error *e) {
  struct tp_line l;
  struct ser *s;
  char *real;
  int rc;
  if (t->uri.host && *t->uri.host)
    return ohm_error_set(e, OHM_EURI,
                         "serial wants a device path, as in "
                         "serial:///dev/ttyS0");
  if (!*t->uri.path)
    return ohm_error_set(e, OHM_EURI, "missing serial device path");
  if ((rc = tp_line_parse(&t->uri, &l, e)) < 0 ||
      (rc = lazy_serialport_load(e)) < 0)
    return rc;
  if (!(s = calloc(1, sizeof *s)))
    return ohm_error_set(e, OHM_ENOMEM, "out of memory");
  s->fd = -1;
  t->priv = s;
  rc = sp_get_port_by_name(t->uri.path, &s->sp);
  if (rc == SP_ERR_ARG) { /* a pty, or a tty without a /sys entry */
    s->sp = NULL;
    rc = tio_open(t, s, &l, e);
  } else {
    rc = rc != SP_OK ? sp_fail(e, rc, "open", t->uri.path)
                     : sp_path_open(t, s, &l, e);
  }
  real = rc == 0 ? realpath(t->uri.path, NULL) : NULL;
  if (rc == 0) rc = tp_busy_get(real ? real : t->uri.path, s->fd, &s->busy, e);
  free(real);
  if (rc < 0) ser_close(t);
  return rc;
}

static long ser_read(struct tp *t, void *buf, size_t n, struct ohm_error *e) {
  struct ser *s = t->priv;
  int rc;
  if (!s->sp)
    return tp_fd_read(s->fd, 1, buf, n, t->opts.timeout, t->uri.path, e);
  rc = sp_blocking_read_next(s->sp, buf, n, timeout_ms(t));
  if (rc < 0) return sp_fail(e, rc, "read from", t->uri.path);
  if (rc == 0 && tp_interrupted)
    return ohm_error_set(e, OHM_EINTR, "interrupted");
  return rc;
}

static int ser_write(struct tp *t, const void *buf, size_t n,
                     struct ohm_error *e) {
  struct ser *s = t->priv;
  int rc;
  if (!s->sp)
    return tp_fd_write(s->fd, buf, n, t->opts.timeout, t->uri.path, e);
  rc = sp_blocking_write(s->sp, buf, n, timeout_ms(t));
  if (rc < 0) return sp_fail(e, rc, "write to", t->uri.path);
  if ((size_t)rc < n)
    return ohm_error_set(e, OHM_ETIMEDOUT, "write to %s timed out after %g s",
                         t->uri.path, t->opts.timeout);
  return 0;
}

static void ser_flush(struct tp *t) {
  struct ser *s = t->priv;
  if (s->sp)
    sp_flush(s->sp, SP_BUF_INPUT);
  else
    tcflush(s->fd, TCIFLUSH);
  if (s->fd >= 0 && !s->sp) tp_fd_drain(s->fd);
}

/* Waits for another process's request as long as a few of ours take. */
static int ser_lock(struct tp *t, struct ohm_error *e) {
  struct ser *s = t->priv;
  return tp_busy_lock(s->busy, 10 + 4 * t->opts.timeout, e);
}

static void ser_unlock(struct tp *t) {
  struct ser *s = t->priv;
  tp_busy_unlock(s->busy);
}

static const struct tp_stream_ops ser_stream = {
    .read = ser_read,
    .write = ser_write,
    .flush = ser_flush,
    .lock = ser_lock,
    .unlock = ser_unlock,
};

/* The serial line settings (tp_line_parse), and packs= for a bank. */
static const char *const line_params[] = {"baud", "parity", "data",
                                          "stop", "packs",  NULL};

const struct tp_ops tp_serial_ops = {
    .scheme = "serial",
    .desc = "raw serial line (libserialport; termios for pseudo-terminals)",
    .kind = TP_STREAM,
    .open = ser_open,
    .close = ser_close,
    .ext = &ser_stream,
    .params = line_params,
};
