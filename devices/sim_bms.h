/* The BMS simulator: a bank of YD/T 1363.3 packs (any map with a `frame`
 * dialect: pace, pylontech, a user's) on a tty (a socat pty end) or a TCP
 * listener, for `ohm sim DRIVER --serial TTY | --tcp ADDR` and the
 * in-process sim:DRIVER. Packs sit at the dialect's first addresses with
 * 16 cells that drift a few mV, SOC that follows a slowly swinging current,
 * temperatures, MOS and buzzer commands that take effect (both MOSFETs off
 * is refused, RTN 09), and RTN errors for bad frames (VER, CHKSUM, LCHKSUM,
 * CID2). One cell can be set to run away (climbs until its alarm and
 * balancing show). A thread serves; nothing prints. */
#ifndef OHM_DEVICES_SIM_BMS_H
#define OHM_DEVICES_SIM_BMS_H

#include "map.h"

struct sim_bms;

struct sim_bms_opts {
  const char *tcp; /* "HOST:PORT" ("127.0.0.1:0": a free port), or NULL */
  const char *tty; /* a tty path, or NULL; one of the two */
  int packs;       /* 1..16 */
  int runaway;     /* a cell (1..16) of the first pack that climbs; 0 none */
};

/* m is borrowed and must have a frame dialect. */
int sim_bms_start(const struct dev_map *m, const struct sim_bms_opts *o,
                  struct sim_bms **out, struct ohm_error *e);
int sim_bms_port(const struct sim_bms *s);
/* Requests answered so far (for the benchmark's count). */
long sim_bms_requests(const struct sim_bms *s);
void sim_bms_stop(struct sim_bms *s);

#endif
