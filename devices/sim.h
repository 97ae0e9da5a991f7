/* The built-in simulator: serves a driver map over Modbus TCP (and RTU on a
 * tty) with libmodbus, for `ohm sim` and the in-process `sim:DRIVER` URI.
 * Functions 03 and 06 only; every other function is answered with
 * exception 01. Values move plausibly, driven by the map's var names and
 * units (voltages ~230 V, slowly varying load, energy counters that grow
 * with power, drifting temperatures, writable thresholds that the
 * .status registers follow), so any driver's map is served, not just one.
 *
 * A server thread owns the sockets; sim_stop joins it. Nothing prints. */
#ifndef OHM_DEVICES_SIM_H
#define OHM_DEVICES_SIM_H

#include "map.h"

struct sim;

/* Start serving m (borrowed; must outlive the sim) for slave addresses
 * 1..units. tcp_addr "HOST:PORT" ("127.0.0.1:0" picks a free port; IPv6 as
 * "[::1]:PORT"), or NULL for none; rtu_tty a tty path, or NULL (its
 * settings as "PATH?baud=9600&parity=N&data=8&stop=1" are accepted).
 * At least one of the two. Caller frees with sim_stop. */
int sim_start(const struct dev_map *m, const char *tcp_addr,
              const char *rtu_tty, int units, struct sim **out,
              struct ohm_error *e);

/* The TCP port it listens on (after "…:0" the one picked), or 0. */
int sim_port(const struct sim *s);

/* Clear unit's (1..units) energy counters of phase 1..3, or every phase
 * for 0: what a unit's console does for "clearpN". Takes effect before the
 * next request is answered. OHM_EINVAL for a unit or phase out of range. */
int sim_reset_energy(struct sim *s, int unit, int phase, struct ohm_error *e);

/* A simulator running in this process whose Modbus TCP port is port, when
 * host is a loopback address; NULL otherwise. The caller holds a reference
 * (dropped by sim_stop), so a device reaching an in-process simulator over
 * Modbus (the console of `ohm sim --telnet`) can act on it for what Modbus
 * cannot carry, like energy resets. */
/* device.factory_reset on a simulated unit (1..units): its thresholds go
 * back to the simulator's defaults before the next request is answered. */
int sim_factory_reset(struct sim *s, int unit, struct ohm_error *e);

struct sim *sim_local(const char *host, int port);

/* Drop a reference (sim_start gives one); the last one stops the server
 * thread, closes every socket and frees. Safe on NULL. */
void sim_stop(struct sim *s);

/* sim:DRIVER for a map that only SNMP reaches (OIDs, no registers): set
 * by the SNMP agent's simulator (shell/serve/snmp_sim.c) when linked in,
 * else NULL. Writes the snmp:// URI of the simulated device into uri. */
extern int (*sim_snmp_hook)(const struct dev_map *m, char *uri, size_t n,
                            struct ohm_error *e);

#endif
