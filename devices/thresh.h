/* Threshold order: a quantity X of a map may have X.low.critical,
 * X.low.warning, X.high.warning and X.high.critical, which only make sense
 * in that order (low.critical <= low.warning <= high.warning <=
 * high.critical). Checked once here for every way a value is written (the
 * command line, Lua, the console); callers decide whether to let a user
 * force a write past it. The names come from the map, so any driver with
 * the same vocabulary is covered. */
#ifndef OHM_DEVICES_THRESH_H
#define OHM_DEVICES_THRESH_H

#include <stddef.h>

#include "device.h"

/* One value about to be written (name borrowed). */
struct dev_thresh {
  const char *name;
  double value;
};

/* Which of the four suffixes name ends with (0 low.critical .. 3
 * high.critical), or -1 if none. */
int dev_thresh_rank(const char *name);

/* Check the proposed values p[0..n) against each other and, for the
 * thresholds not proposed, against cur (indexed like m->vars; NULL: only
 * the proposed ones count; a value not DV_NUM is unknown). Returns 0 or
 * OHM_EINVAL with e saying which two are out of order ("X.high.warning
 * 276 V would be above X.high.critical 253 V"). */
int dev_thresh_check(const struct dev_map *m, const struct dev_thresh *p,
                     size_t n, const struct dev_value *cur,
                     struct ohm_error *e);

/* The same against d's current values, read only when a proposed name is
 * a threshold with a sibling in the map (one read of the whole map). A
 * failed read is returned with e saying the order could not be checked. */
int dev_thresh_check_dev(struct dev *d, const struct dev_thresh *p, size_t n,
                         struct ohm_error *e);

#endif
