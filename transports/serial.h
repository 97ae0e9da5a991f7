/* Serial lines: the serial:// stream transport (transports/serial.c) and
 * the line settings every serial scheme takes from its URI query
 * (?baud=9600&parity=N&data=8&stop=1), shared with modbus-rtu. */
#ifndef OHM_TRANSPORTS_SERIAL_H
#define OHM_TRANSPORTS_SERIAL_H

#include "uri.h"

struct tp_line {
  long baud;   /* a standard rate, default 9600 */
  char parity; /* 'N', 'E' or 'O', default 'N' */
  long data;   /* 5..8, default 8 */
  long stop;   /* 1 or 2, default 1 */
};

/* Fill l from u's query, with the defaults above; OHM_EURI and a message
 * naming the bad parameter otherwise. */
int tp_line_parse(const struct ohm_uri *u, struct tp_line *l,
                  struct ohm_error *e);

#endif
