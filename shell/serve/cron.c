/* Cron expressions: parsing and the next fire time (see cron.h). */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cron.h"

struct cron_field {
  const char *what;
  int lo, hi;
  const char *const *names; /* index 0 is the name of lo, or NULL */
};

static const char *const mon_names[] = {"jan", "feb", "mar", "apr", "may",
                                        "jun", "jul", "aug", "sep", "oct",
                                        "nov", "dec", NULL};
static const char *const dow_names[] = {"sun", "mon", "tue", "wed",
                                        "thu", "fri", "sat", NULL};

static const struct cron_field fields[5] = {{"minute", 0, 59, NULL},
                                            {"hour", 0, 23, NULL},
                                            {"day of month", 1, 31, NULL},
                                            {"month", 1, 12, mon_names},
                                            {"day of week", 0, 7, dow_names}};

static const struct {
  const char *name, *expr;
} shorthands[] = {{"@yearly", "0 0 1 1 *"},  {"@annually", "0 0 1 1 *"},
                  {"@monthly", "0 0 1 * *"}, {"@weekly", "0 0 * * 0"},
                  {"@daily", "0 0 * * *"},   {"@midnight", "0 0 * * *"},
                  {"@hourly", "0 * * * *"}};

/* A number or a name at *p; advances *p. -1 if neither. */
static int cron_atom(const struct cron_field *f, const char **p) {
  const char *s = *p;
  if (isdigit((unsigned char)*s)) {
    long v = 0;
    while (isdigit((unsigned char)*s) && v < 1000)
      v = v * 10 + (*s++ - '0');
    *p = s;
    return v >= f->lo && v <= f->hi ? (int)v : -1;
  }
  for (int i = 0; f->names && f->names[i]; i++)
    if (strncasecmp(s, f->names[i], 3) == 0 && !isalpha((unsigned char)s[3])) {
      *p = s + 3;
      return f->lo + i;
    }
  return -1;
}

/* One comma-separated item: *, N, N-M, with an optional /STEP. */
static int cron_item(const struct cron_field *f, const char **p,
                     uint64_t *bits) {
  int a = f->lo, b = f->hi, step = 1;
  if (**p == '*') {
    (*p)++;
  } else {
    if ((a = cron_atom(f, p)) < 0) return -1;
    b = a;
    if (**p == '-') {
      (*p)++;
      if ((b = cron_atom(f, p)) < 0 || b < a) return -1;
    } else if (**p == '/') {
      b = f->hi; /* "N/STEP" is N-max/STEP, as cronie reads it */
    }
  }
  if (**p == '/') {
    (*p)++;
    if (!isdigit((unsigned char)**p)) return -1;
    step = (int)strtol(*p, (char **)p, 10);
    if (step < 1 || step > f->hi - f->lo + 1) return -1;
  }
  for (int v = a; v <= b; v += step)
    *bits |= (uint64_t)1 << v;
  return 0;
}

static int cron_field_parse(int i, const char *s, uint64_t *bits,
                            struct ohm_error *e) {
  const char *p = s;
  *bits = 0;
  for (;;) {
    if (cron_item(&fields[i], &p, bits) < 0) break;
    if (*p == 0) {
      if (i == 4 && (*bits & (1u << 7))) *bits = (*bits | 1) & 0x7f;
      return 0;
    }
    if (*p++ != ',') break;
  }
  return ohm_error_set(e, OHM_EINVAL, "bad %s field '%s' (%s is %d-%d)",
                       fields[i].what, s, fields[i].what, fields[i].lo,
                       fields[i].hi);
}

static const char *cron_expand(const char *text, struct ohm_error *e) {
  if (text[0] != '@') return text;
  for (size_t i = 0; i < sizeof shorthands / sizeof shorthands[0]; i++)
    if (strcasecmp(text, shorthands[i].name) == 0) return shorthands[i].expr;
  ohm_error_set(e, OHM_EINVAL,
                "unknown schedule '%s' (@hourly, @daily, @weekly, @monthly, "
                "@yearly)",
                text);
  return NULL;
}

/* Some month of the set has a day of the set (Feb counts 29). */
static int cron_can_fire(const struct cron_expr *c) {
  static const int mdays[13] = {0,  31, 29, 31, 30, 31, 30,
                                31, 31, 30, 31, 30, 31};
  if (!c->dow_star) return 1;
  for (int m = 1; m <= 12; m++)
    if ((c->mon >> m) & 1)
      for (int d = 1; d <= mdays[m]; d++)
        if ((c->dom >> d) & 1) return 1;
  return 0;
}

int cron_parse(const char *text, struct cron_expr *c, struct ohm_error *e) {
  char buf[256], *f[6], *save = NULL;
  int n = 0;
  const char *expr = cron_expand(text, e);
  if (!expr) return OHM_EINVAL;
  memset(c, 0, sizeof *c);
  snprintf(buf, sizeof buf, "%s", expr);
  for (char *t = strtok_r(buf, " \t", &save); t && n < 6;
       t = strtok_r(NULL, " \t", &save))
    f[n++] = t;
  if (n != 5)
    return ohm_error_set(e, OHM_EINVAL,
                         "schedule '%s' needs 5 fields (MIN HOUR DOM MON "
                         "DOW), or @hourly/@daily/@weekly/@monthly",
                         text);
  uint64_t b[5];
  for (int i = 0; i < 5; i++)
    if (cron_field_parse(i, f[i], &b[i], e) < 0) return OHM_EINVAL;
  c->min = b[0];
  c->hour = (uint32_t)b[1];
  c->dom = (uint32_t)b[2];
  c->mon = (uint32_t)b[3];
  c->dow = (uint32_t)b[4];
  c->dom_star = f[2][0] == '*';
  c->dow_star = f[4][0] == '*';
  c->fixed = f[0][0] != '*' && f[1][0] != '*';
  if (!cron_can_fire(c))
    return ohm_error_set(e, OHM_EINVAL, "schedule '%s' never fires", text);
  return 0;
}

static int cron_day_ok(const struct cron_expr *c, const struct tm *t) {
  int dom = (c->dom >> t->tm_mday) & 1, dow = (c->dow >> t->tm_wday) & 1;
  if (!((c->mon >> (t->tm_mon + 1)) & 1)) return 0;
  if (!c->dom_star && !c->dow_star) return dom || dow;
  return dom && dow;
}

static int cron_match(const struct cron_expr *c, const struct tm *t) {
  return cron_day_ok(c, t) && ((c->hour >> t->tm_hour) & 1) &&
         ((c->min >> t->tm_min) & 1);
}

static long cron_gmtoff(time_t t) {
  struct tm tm;
  localtime_r(&t, &tm);
  return tm.tm_gmtoff;
}

/* t is the first minute after the clock jumped forward, and a wall time
 * skipped by the jump matches: a fixed job runs now. */
static int cron_gap_fires(const struct cron_expr *c, time_t t) {
  long before = cron_gmtoff(t - 60), after = cron_gmtoff(t);
  if (!c->fixed || after <= before) return 0;
  for (long k = 0; k < after - before; k += 60) {
    time_t wall = t + before + k;
    struct tm tm;
    gmtime_r(&wall, &tm); /* the skipped wall-clock fields */
    if (cron_match(c, &tm)) return 1;
  }
  return 0;
}

/* t's wall time was already shown before the clock went back. */
static int cron_repeated(time_t t, const struct tm *w) {
  long d = cron_gmtoff(t - 7200) - w->tm_gmtoff;
  struct tm p;
  if (d <= 0) return 0;
  time_t earlier = t - d;
  localtime_r(&earlier, &p);
  return p.tm_hour == w->tm_hour && p.tm_min == w->tm_min &&
         p.tm_mday == w->tm_mday;
}

/* Local midnight starting the day `days` after w's (or month after). */
static time_t cron_skip(const struct tm *w, int days, int months, time_t t) {
  struct tm n = *w;
  n.tm_sec = n.tm_min = n.tm_hour = 0;
  n.tm_mday = months ? 1 : n.tm_mday + days;
  n.tm_mon += months;
  n.tm_isdst = -1;
  time_t r = mktime(&n);
  return r > t ? r : t + 3600; /* a midnight in a gap may come out early */
}

time_t cron_next(const struct cron_expr *c, time_t after) {
  time_t t = after - (after % 60 + 60) % 60 + 60;
  time_t end = after + (time_t)30 * 366 * 86400;
  while (t < end) {
    struct tm w;
    localtime_r(&t, &w);
    if (cron_gap_fires(c, t)) return t;
    if (!((c->mon >> (w.tm_mon + 1)) & 1)) {
      t = cron_skip(&w, 0, 1, t);
    } else if (!cron_day_ok(c, &w)) {
      t = cron_skip(&w, 1, 0, t);
    } else if (!((c->hour >> w.tm_hour) & 1)) {
      t += 3600 - w.tm_min * 60 - w.tm_sec;
    } else if (!((c->min >> w.tm_min) & 1) ||
               (c->fixed && cron_repeated(t, &w))) {
      t += 60;
    } else {
      return t;
    }
  }
  return (time_t)-1;
}
