/* The simulator's SNMP side (`ohm sim DRIVER --snmp ADDR`, sim:DRIVER):
 * a driver's map served through the agent (snmp_agent.h) under the OIDs
 * the map holds. A map with registers (bps2000v2) is read from the Modbus
 * simulator (devices/sim.h) on loopback; a map with OIDs only (ups-mib)
 * gets a small UPS whose values move and whose ups.status is set over
 * SNMP: upsOutputSource 3 (OL), 5 (OB), 4 (bypass); upsBatteryStatus 3
 * (low: LB) or 2 (normal). */
#ifndef OHM_SHELL_SERVE_SNMP_SIM_H
#define OHM_SHELL_SERVE_SNMP_SIM_H

#include "../../devices/map.h"

struct snmp_sim;

/* Serve m (borrowed) on UDP addr (port 0 picks one; *port gets it) for
 * community (v1/v2c, SETs allowed). Caller frees with snmp_sim_stop. */
int snmp_sim_start(const struct dev_map *m, const char *addr,
                   const char *community, int *port, struct snmp_sim **out,
                   struct ohm_error *e);
void snmp_sim_stop(struct snmp_sim *s);

#endif
