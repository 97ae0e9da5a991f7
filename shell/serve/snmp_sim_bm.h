/* The simulator of an SNMP map with tables (cps-bm100): strings of
 * blocks (2 x 8 unless snmp_sim_bm_shape says otherwise), one row per
 * block in each table, numbered string-major, with the index columns
 * the map names. Values drift; the last block of string 1 has a
 * resistance that climbs 0.1 mOhm a second so the warning and alarm
 * words show; status columns follow the writable thresholds; texts and
 * thresholds take SETs (checked against the map's limits, wrongValue
 * otherwise). A command with a `wait` (measure-now) puts its wait var in
 * "processing" and in its done state 1.5 s later; one sent while another
 * runs makes it the fail state ("rejected"). Nothing prints. */
#ifndef OHM_SHELL_SERVE_SNMP_SIM_BM_H
#define OHM_SHELL_SERVE_SNMP_SIM_BM_H

#include "../../devices/map.h"
#include "snmp_agent.h"

struct bm_sim;

/* Strings and blocks of the simulators made next (1..4, 1..40). */
void snmp_sim_bm_shape(int strings, int blocks);
/* Whether m has tables (served by this simulator). */
int snmp_sim_bm_wants(const struct dev_map *m);
int snmp_sim_bm_new(const struct dev_map *m, struct bm_sim **out,
                    struct ohm_error *e);
void snmp_sim_bm_free(struct bm_sim *s);
/* The agent source's two calls (snmp_agent.h struct sa_source). */
int snmp_sim_bm_objects(struct bm_sim *s, struct sa_obj **tab, size_t *n);
int snmp_sim_bm_set(struct bm_sim *s, const struct sa_obj *o,
                    const struct sa_obj *v, struct ohm_error *e);

#endif
