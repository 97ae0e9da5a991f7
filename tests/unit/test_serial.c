/* Unit tests of the serial line settings (transports/serial.c) shared by
 * serial:// and modbus-rtu://, and of serial:// open errors. (libserialport
 * 0.1.1 does not open ptys: serial:// opens them through termios, tested
 * with real bytes in test_stream.c.) */
#include "transports/serial.h"
#include "transports/transport.h"

#include "t.h"

/* Parse uri's line settings; returns the rc, message in e. */
static int line(const char *uri, struct tp_line *l, struct ohm_error *e) {
  struct ohm_uri u;
  int rc = ohm_uri_parse(uri, &u, e);
  if (rc == 0) rc = tp_line_parse(&u, l, e);
  ohm_uri_free(&u);
  return rc;
}

static void bad(const char *uri, const char *want, const char *name) {
  struct tp_line l;
  struct ohm_error e;
  ohm_error_clear(&e);
  CHECK(line(uri, &l, &e) == OHM_EURI && strstr(e.msg, want), name);
  if (!strstr(e.msg, want))
    printf("    got \"%s\", want \"%s\"\n", e.msg, want);
}

int main(void) {
  struct tp_line l;
  struct ohm_error e;
  struct tp *t = NULL;

  CHECK(line("serial:///dev/ttyS0", &l, &e) == 0, "defaults parse");
  CHECK(l.baud == 9600 && l.parity == 'N' && l.data == 8 && l.stop == 1,
        "defaults are 9600 8N1");
  CHECK(line("modbus-rtu:///dev/x?baud=19200&parity=e&data=7&stop=2", &l, &e) ==
            0,
        "explicit settings parse");
  CHECK(l.baud == 19200 && l.parity == 'E' && l.data == 7 && l.stop == 2,
        "explicit settings, parity upper-cased");
  CHECK(line("serial:///dev/x?parity=O", &l, &e) == 0 && l.parity == 'O',
        "odd parity");
  bad("serial:///dev/x?baud=1234", "baud=1234 is not a standard rate",
      "odd baud rejected");
  bad("serial:///dev/x?baud=fast", "baud=fast is not a number",
      "non-numeric baud rejected");
  bad("serial:///dev/x?parity=X", "parity=X", "bad parity rejected");
  bad("serial:///dev/x?parity=NN", "parity=NN", "long parity rejected");
  bad("serial:///dev/x?data=9", "data=9 out of range", "data bits 9");
  bad("serial:///dev/x?stop=3", "stop=3 out of range", "stop bits 3");

  const struct tp_ops *ops = tp_find("serial");
  CHECK(ops && ops->kind == TP_STREAM && ops->ext, "serial is a stream");
  CHECK(tp_open("serial:///nonexistent/tty", NULL, &t, &e) == OHM_EIO && !t &&
            strstr(e.msg, "/nonexistent/tty"),
        "missing tty: error names it");
  CHECK(tp_open("serial://host/tty", NULL, &t, &e) == OHM_EURI && !t,
        "serial with a host rejected");
  CHECK(tp_open("modbus-rtu:///nonexistent/tty?baud=9600", NULL, &t, &e) ==
                OHM_EIO &&
            strstr(e.msg, "cannot open /nonexistent/tty"),
        "modbus-rtu missing tty: error names it");
  CHECK(tp_open("modbus-rtu:///dev/null?stop=0", NULL, &t, &e) == OHM_EURI,
        "modbus-rtu bad stop bits rejected before opening");
  T_DONE();
}
