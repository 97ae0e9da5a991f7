/* Five-field cron expressions ("MIN HOUR DOM MON DOW") and the @hourly,
 * @daily (@midnight), @weekly, @monthly, @yearly (@annually) shorthands, in
 * local time (TZ), with Vixie cron's rules: names (jan..dec, sun..sat), 7
 * is Sunday, ranges, steps, lists; when both day fields are restricted a
 * day matching either runs (OR), otherwise both must match. Across DST, as
 * cronie does: a job at a fixed time (neither minute nor hour starting
 * with '*') whose time falls in a skipped hour runs right after the jump,
 * and runs once in a repeated hour; other jobs follow the wall clock. */
#ifndef OHM_SERVE_CRON_H
#define OHM_SERVE_CRON_H

#include <stdint.h>
#include <time.h>

#include "util/err.h"

struct cron_expr {
  uint64_t min;  /* bit 0..59 */
  uint32_t hour; /* bit 0..23 */
  uint32_t dom;  /* bit 1..31 */
  uint32_t mon;  /* bit 1..12 */
  uint32_t dow;  /* bit 0..6, Sunday 0 */
  unsigned dom_star : 1, dow_star : 1, fixed : 1;
};

/* Parse text into c. OHM_EINVAL with the bad field named in e; an
 * expression that can never fire ("0 0 30 2 *") is refused too. */
int cron_parse(const char *text, struct cron_expr *c, struct ohm_error *e);

/* The first time strictly after `after` at which c fires (whole minutes),
 * or (time_t)-1 if none within 30 years. Uses localtime_r and mktime. */
time_t cron_next(const struct cron_expr *c, time_t after);

#endif
