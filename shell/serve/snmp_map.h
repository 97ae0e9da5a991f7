/* A driver map's OIDs as agent objects (shell/serve/snmp_agent.h): one
 * map says where each variable lives, read and served. A target map (the
 * device's own, e.g. bps2000v2, or ups-mib for any UPS) names the OIDs;
 * the values come by variable name from a device's values (indexed by its
 * own map). Nothing prints. */
#ifndef OHM_SHELL_SERVE_SNMP_MAP_H
#define OHM_SHELL_SERVE_SNMP_MAP_H

#include "../../devices/device.h"
#include "snmp_agent.h"

/* An OID text (".1.3.6.1...", "%d" = chain arc) into arcs; -1 if bad. */
int sa_oid_parse(const char *text, int chain, unsigned long *arcs, size_t *len);

/* The objects of tm's OID vars with dm's values (vals indexed like dm's
 * vars; absent and failed values are left out), sorted, in *tab (caller
 * frees). Numbers are INTEGERs scaled as the map says when its `agent`
 * says numbers = "integer", else decimal text (as BKT agents send); a
 * status of flags is the enum state of the most of them; the map's
 * agent.fixed objects and agent.derive var are added (ups-mib: the line
 * counts and indexes NUT's snmp-ups reads, upsBatteryStatus from LB).
 * writable(var) says which objects take a SET (NULL: those with access rw in
 * both maps). */
int sa_map_objects(const struct dev_map *tm, const struct dev_map *dm,
                   const struct dev_value *vals, struct sa_obj **tab,
                   size_t *n);

/* The text a SET value v means for o (an object of tm's var o->var), as
 * `ohm set` takes it: decimal text as is, an INTEGER scaled, an enum's
 * state by its code. OHM_EINVAL if it means nothing. */
int sa_map_text(const struct dev_map *tm, const struct sa_obj *o,
                const struct sa_obj *v, char *text, size_t n,
                struct ohm_error *e);

/* The map served for a device of map dm: dm when its own agent.serves
 * takes it, else the built-in map whose agent.serves does (ups-mib for
 * UPS- and battery-like ones), else dm when it has OIDs, else NULL. */
const struct dev_map *sa_map_target(const struct dev_map *dm);

/* The subtree a map's OIDs share (chain arc 2, the master), at least
 * four arcs; -1 if it has none. */
int sa_map_root(const struct dev_map *m, unsigned long *root, size_t *len);

#endif
