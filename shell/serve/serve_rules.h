/* `ohm serve --rules FILE [--check] [--events-log FILE]`: the rules and
 * the event log behind the polling cache (shell/serve/rules_hook.c). */
#ifndef OHM_SERVE_SERVE_RULES_H
#define OHM_SERVE_SERVE_RULES_H

#include <stdio.h>

#include "../serve.h"

struct rules;

/* Load the rules (file, else the inventory's `rules`; none: returns 0 and
 * does nothing) and open the event log. check: print what the rules would
 * do to out and free them. 1 when rules were loaded, or an OHM_E* code. */
int serve_rules_open(const char *file, const char *log_path,
                     const struct inventory *inv, int check, FILE *out,
                     struct ohm_error *e);
/* Start them over the cache c (device jobs go through it). */
int serve_rules_attach(struct sv_cache *c, struct ohm_error *e);
/* sv_config.on_read: hand a reading to the rules (never blocks). */
void serve_rules_on_read(void *ctx, const char *name, const struct dev_map *m,
                         const struct dev_value *vals, int ok);
/* --traps ADDR: receive SNMP traps and informs for the rules (traps.c). */
int serve_rules_traps(const char *addr, const struct inventory *inv,
                      struct ohm_error *e);
int serve_traps_start(const char *addr, struct rules *r,
                      const struct inventory *inv, struct ohm_error *e);
void serve_traps_stop(void);
/* Traps go to r, devices found in inv, from now on (a reload). */
void serve_traps_swap(struct rules *r, const struct inventory *inv);
/* SIGHUP: read the rules file again (see rules_hook.c). */
void serve_rules_reload(const struct inventory *inv);

/* Stop the rules (and traps), wait for running jobs, close the log. */
void serve_rules_close(void);

/* A reading (m NULL: no values) handed to rules_feed, or event fired on
 * it through rules_fire (ohm rules test; returns the rules matched). */
void rules_feed_map(struct rules *r, const char *dev, int ok,
                    const struct dev_map *m, const struct dev_value *vals);
int rules_fire_map(struct rules *r, const char *dev, const char *event,
                   const struct dev_map *m, const struct dev_value *vals);

#endif
