/* SNMP tables of a map (vars with `entry`, ohm-maps(5) "SNMP TABLES"),
 * read for the SNMP engine (snmp_engine.c). */
#ifndef OHM_DEVICES_SNMP_TABLE_H
#define OHM_DEVICES_SNMP_TABLE_H

#include "device.h"

struct tp_snmp_val;

/* The request a walk sends: tp_snmp_bulk, unless a test points it at a
 * fake agent (tests/fuzz/fuzz_snmp_table.c). */
extern int (*dev_snmp_table_bulk)(struct tp *t, const char *const *oids,
                                  size_t n, int *max_rep,
                                  struct tp_snmp_val *out, size_t *nout,
                                  struct ohm_error *e);

/* Walk the tables of the vars marked in want (NULL: every table of d's
 * map), each once, its needed columns side by side (GETBULK, GETNEXT on
 * v1), and fill its table vars in vals (indexed
 * like d->map->vars): a block no row names is absent (DV_NONE); a row
 * whose index columns disagree between tables, or that another row's
 * numbers collide with, is DV_ERR with the reason. A walk that fails
 * (timeout mid-walk, a loop, over 4096 rows) is the read's error. */
int dev_snmp_tables(struct dev *d, const unsigned char *want,
                    struct dev_value *vals, struct ohm_error *e);

#endif
