/* The cron parser and its next fire time (shell/serve/cron.c), against a
 * fake clock: every case gives the "now" and checks the next minute, in
 * real zones (TZ) across both DST changes and month ends. */
#include <stdlib.h>
#include <time.h>

#include "t.h"
#include "shell/serve/cron.h"

static void zone(const char *tz) {
  setenv("TZ", tz, 1);
  tzset();
}

/* "YYYY-MM-DD HH:MM" local; dst: -1 guess, 0 standard, 1 summer time. */
static time_t at(const char *s, int dst) {
  struct tm tm = {0};
  sscanf(s, "%d-%d-%d %d:%d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
         &tm.tm_min);
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  tm.tm_isdst = dst;
  return mktime(&tm);
}

static char out[64];
static const char *show(time_t t) {
  struct tm tm;
  if (t == (time_t)-1) return "never";
  localtime_r(&t, &tm);
  strftime(out, sizeof out, "%Y-%m-%d %H:%M %Z", &tm);
  return out;
}

static const char *next_of(const char *expr, time_t now) {
  struct cron_expr c;
  static struct ohm_error e;
  if (cron_parse(expr, &c, &e) < 0) return e.msg;
  return show(cron_next(&c, now));
}

/* The n-th fire time after now, to walk a schedule across a change. */
static const char *nth_of(const char *expr, time_t now, int n) {
  struct cron_expr c;
  static struct ohm_error e;
  if (cron_parse(expr, &c, &e) < 0) return e.msg;
  while (n-- > 0)
    now = cron_next(&c, now);
  return show(now);
}

static int refused(const char *expr, const char *want) {
  struct cron_expr c;
  struct ohm_error e = {0};
  int rc = cron_parse(expr, &c, &e);
  if (rc == 0) return 0;
  if (!strstr(e.msg, want)) printf("    message: %s\n", e.msg);
  return rc == OHM_EINVAL && strstr(e.msg, want) != NULL;
}

static void test_fields(void) {
  zone("UTC");
  time_t now = at("2026-06-10 10:07", 0); /* a Wednesday */
  CHECK_STR(next_of("*/15 * * * *", now), "2026-06-10 10:15 UTC", "step");
  CHECK_STR(next_of("*/15 * * * *", at("2026-06-10 10:15", 0)),
            "2026-06-10 10:30 UTC", "strictly after now");
  CHECK_STR(next_of("0-30/10 8-10,14 * * *", at("2026-06-10 10:31", 0)),
            "2026-06-10 14:00 UTC", "range with step, list");
  CHECK_STR(next_of("5,7 10 * * *", now), "2026-06-11 10:05 UTC",
            "a list already passed today runs tomorrow");
  CHECK_STR(next_of("10/20 * * * *", now), "2026-06-10 10:10 UTC",
            "N/STEP starts at N");
  CHECK_STR(next_of("0 9 * jan-mar mon-fri", now), "2027-01-01 09:00 UTC",
            "month and weekday names with ranges");
  CHECK_STR(next_of("0 0 * * SUN", now), "2026-06-14 00:00 UTC",
            "a day name in capitals");
  CHECK_STR(next_of("0 0 * * 7", now), "2026-06-14 00:00 UTC", "7 is Sunday");
  CHECK_STR(next_of("0 0 * * 5-7", now), "2026-06-12 00:00 UTC",
            "a range up to 7 takes Sunday");
  CHECK_STR(next_of("0 0 * * 5-7", at("2026-06-13 12:00", 0)),
            "2026-06-14 00:00 UTC", "a range up to 7 reaches Sunday");
}

static void test_shorthands(void) {
  zone("UTC");
  time_t now = at("2026-06-10 10:07", 0);
  CHECK_STR(next_of("@hourly", now), "2026-06-10 11:00 UTC", "@hourly");
  CHECK_STR(next_of("@daily", now), "2026-06-11 00:00 UTC", "@daily");
  CHECK_STR(next_of("@midnight", now), "2026-06-11 00:00 UTC", "@midnight");
  CHECK_STR(next_of("@weekly", now), "2026-06-14 00:00 UTC",
            "@weekly is Sunday midnight");
  CHECK_STR(next_of("@monthly", now), "2026-07-01 00:00 UTC", "@monthly");
  CHECK_STR(next_of("@yearly", now), "2027-01-01 00:00 UTC", "@yearly");
  CHECK_STR(next_of("@monthly", at("2026-12-31 23:59", 0)),
            "2027-01-01 00:00 UTC", "@monthly across a year end");
}

static void test_month_ends(void) {
  zone("UTC");
  CHECK_STR(next_of("0 0 31 * *", at("2026-04-01 00:00", 0)),
            "2026-05-31 00:00 UTC", "day 31 skips a 30-day month");
  CHECK_STR(next_of("0 12 31 * *", at("2026-01-31 12:00", 0)),
            "2026-03-31 12:00 UTC", "day 31 skips February");
  CHECK_STR(next_of("0 0 29 2 *", at("2026-03-01 00:00", 0)),
            "2028-02-29 00:00 UTC", "February 29 waits for a leap year");
  CHECK_STR(next_of("0 0 29 2 *", at("2096-03-01 00:00", 0)),
            "2104-02-29 00:00 UTC", "2100 is no leap year");
  CHECK_STR(nth_of("59 23 * * *", at("2026-02-27 12:00", 0), 2),
            "2026-02-28 23:59 UTC", "the last minute of February");
  CHECK_STR(nth_of("59 23 * * *", at("2026-02-27 12:00", 0), 3),
            "2026-03-01 23:59 UTC", "then March 1");
  CHECK_STR(next_of("0 0 28-31 * *", at("2026-02-28 00:00", 0)),
            "2026-03-28 00:00 UTC", "28-31 in February is the 28th only");
  CHECK_STR(next_of("0 0 29-31 2 *", at("2024-02-29 00:00", 0)),
            "2028-02-29 00:00 UTC", "29-31 February: leap days only");
}

static void test_dom_dow(void) {
  zone("UTC");
  /* 2026-06-10 is a Wednesday; Friday 12th, Saturday 13th */
  CHECK_STR(next_of("0 0 13 * 5", at("2026-06-10 10:00", 0)),
            "2026-06-12 00:00 UTC", "13th OR Friday: Friday comes first");
  CHECK_STR(nth_of("0 0 13 * 5", at("2026-06-10 10:00", 0), 2),
            "2026-06-13 00:00 UTC", "13th OR Friday: then the 13th");
  CHECK_STR(next_of("0 0 13 * *", at("2026-06-10 10:00", 0)),
            "2026-06-13 00:00 UTC", "day of week * : the 13th only");
  CHECK_STR(next_of("0 0 */2 * 5", at("2026-06-10 10:00", 0)),
            "2026-06-19 00:00 UTC",
            "a day-of-month starting with * : AND (odd days that are Fridays)");
  CHECK_STR(next_of("0 0 * 6 mon", at("2026-06-10 10:00", 0)),
            "2026-06-15 00:00 UTC", "day of month * : Mondays in June");
}

static void test_errors(void) {
  CHECK(refused("60 * * * *", "bad minute field '60'"), "minute 60 refused");
  CHECK(refused("* 24 * * *", "hour"), "hour 24 refused");
  CHECK(refused("* * 0 * *", "day of month"), "day 0 refused");
  CHECK(refused("* * * 13 *", "month"), "month 13 refused");
  CHECK(refused("* * * * 8", "day of week"), "weekday 8 refused");
  CHECK(refused("* * * *", "5 fields"), "four fields refused");
  CHECK(refused("* * * * * *", "5 fields"), "six fields refused");
  CHECK(refused("5-1 * * * *", "minute"), "a backward range refused");
  CHECK(refused("*/0 * * * *", "minute"), "step 0 refused");
  CHECK(refused("1,,2 * * * *", "minute"), "an empty list item refused");
  CHECK(refused("* * * foo *", "month"), "an unknown name refused");
  CHECK(refused("* * * * mond", "day of week"), "a longer name refused");
  CHECK(refused("0 0 30 2 *", "never fires"), "February 30 never fires");
  CHECK(refused("@reboot", "unknown schedule"), "@reboot refused");
  CHECK(refused("", "5 fields"), "empty refused");
  struct cron_expr c;
  CHECK(cron_parse("0 0 30 2 mon", &c, NULL) == 0,
        "February 30 OR Mondays is fine (NULL error allowed)");
}

static void test_dst_berlin(void) {
  zone("Europe/Berlin"); /* 2026-03-29 02:00 CET -> 03:00 CEST */
  time_t before = at("2026-03-29 01:00", 0);
  CHECK_STR(next_of("30 2 * * *", before), "2026-03-29 03:00 CEST",
            "spring: a fixed job in the skipped hour runs at the jump");
  CHECK_STR(nth_of("30 2 * * *", before, 2), "2026-03-30 02:30 CEST",
            "spring: then at its time the next day");
  CHECK_STR(next_of("0 2 * * *", before), "2026-03-29 03:00 CEST",
            "spring: 02:00 itself is skipped too");
  CHECK_STR(next_of("15 * * * *", at("2026-03-29 01:20", 0)),
            "2026-03-29 03:15 CEST",
            "spring: an hourly job follows the wall clock");
  CHECK_STR(next_of("*/30 * * * *", at("2026-03-29 01:45", 0)),
            "2026-03-29 03:00 CEST", "spring: */30 goes from 01:30 to 03:00");
  CHECK_STR(nth_of("30 3 * * *", before, 1), "2026-03-29 03:30 CEST",
            "spring: a job after the gap is not moved");
  /* 2026-10-25 03:00 CEST -> 02:00 CET */
  time_t fall = at("2026-10-25 00:00", 1);
  CHECK_STR(next_of("30 2 * * *", fall), "2026-10-25 02:30 CEST",
            "autumn: a fixed job runs in the first 02:30");
  CHECK_STR(nth_of("30 2 * * *", fall, 2), "2026-10-26 02:30 CET",
            "autumn: and not again in the repeated hour");
  CHECK_STR(nth_of("*/30 * * * *", at("2026-10-25 02:15", 1), 2),
            "2026-10-25 02:00 CET",
            "autumn: a wildcard job runs in the repeated hour too");
  CHECK_STR(nth_of("*/30 * * * *", at("2026-10-25 02:15", 1), 4),
            "2026-10-25 03:00 CET", "autumn: then on to 03:00");
  CHECK_STR(next_of("@daily", at("2026-10-24 12:00", 1)),
            "2026-10-25 00:00 CEST", "@daily on the day of the change");
  CHECK_STR(nth_of("@daily", at("2026-10-24 12:00", 1), 2),
            "2026-10-26 00:00 CET", "@daily the day after (25 h later)");
}

static void test_dst_elsewhere(void) {
  zone("America/New_York"); /* 2026-03-08 02:00 EST -> 03:00 EDT */
  CHECK_STR(next_of("30 2 8 3 *", at("2026-03-01 00:00", 0)),
            "2026-03-08 03:00 EDT", "New York spring: at the jump");
  /* 2026-11-01 02:00 EDT -> 01:00 EST */
  time_t t = at("2026-11-01 00:00", 1);
  CHECK_STR(next_of("30 1 * * *", t), "2026-11-01 01:30 EDT",
            "New York autumn: the first 01:30");
  CHECK_STR(nth_of("30 1 * * *", t, 2), "2026-11-02 01:30 EST",
            "New York autumn: once only");
  zone("Australia/Lord_Howe"); /* 2026-10-04 02:00 -> 02:30 (+30 min) */
  CHECK_STR(next_of("15 2 4 10 *", at("2026-10-01 00:00", -1)),
            "2026-10-04 02:30 +11", "a half-hour jump: at the jump");
  CHECK_STR(next_of("45 2 4 10 *", at("2026-10-01 00:00", -1)),
            "2026-10-04 02:45 +11", "a half-hour jump: after it, on time");
  zone("UTC");
}

int main(void) {
  test_fields();
  test_shorthands();
  test_month_ends();
  test_dom_dow();
  test_errors();
  test_dst_berlin();
  test_dst_elsewhere();
  T_DONE();
}
