/* Rules (DESIGN.md "Events and jobs"): a Lua file, run in its own sandbox
 * (rules_sb.h), that says which events on which devices run which jobs:
 *
 *   on(DEVICE_OR_PATTERN, EVENT | {EVENT...}, job..., [{limit=, per=}])
 *   on(PATTERN, when(function(v) ... end, {hold=, clear=, clear_hold=}),
 *      NAME, job...)
 *   every(CRON, job...)
 *
 * Events come from readings fed in (ups.status flags become NUT's notify
 * types: ONLINE, ONBATT, LOWBATT, FSD, REPLBATT, BYPASS/NOTBYPASS, ...;
 * COMMOK/COMMBAD from a device answering or not; conditions with a hold
 * time and hysteresis: NAME and NOTNAME), from traps, and from
 * rules_fire. Jobs are Lua functions or built-ins (jobs.h) run on worker
 * threads; timers (after/cancel) and schedules (every) run on the rules
 * thread. Each matching rule writes its event, and every job its outcome,
 * to the event log; a rule fires at most `limit` times per `per` seconds
 * (default 10 per 60 s) and logs a summary of what it held back. */
#ifndef OHM_SERVE_RULES_H
#define OHM_SERVE_RULES_H

#include <stdio.h>

#include "evlog.h"
#include "jobs.h"

struct rules;

struct rules_cfg {
  struct evlog *log;           /* borrowed; NULL: no event log */
  const struct inventory *inv; /* borrowed: smtp settings; may be NULL */
  struct job_host host;        /* device commands and sets */
  FILE *out;                   /* print() and --dry-run lines; NULL: stderr */
  int dry_run;                 /* print jobs instead of running them */
  int echo;                    /* also print each job outcome to out */
};

/* Load and run FILE; OHM_ECONFIG with e saying what is wrong (a Lua error
 * with its line, an unknown event name, a bad cron expression). */
int rules_load(const char *file, const struct rules_cfg *cfg,
               struct rules **out, struct ohm_error *e);
void rules_free(struct rules *r); /* stops the thread, waits for jobs */

/* What the rules would do, one line per rule and schedule, to f. */
void rules_describe(struct rules *r, FILE *f);

/* The configuration r runs with, to set host before rules_start. */
struct rules_cfg *rules_cfg_of(struct rules *r);

/* Start the rules thread (timers, schedules, fed readings). */
int rules_start(struct rules *r, struct ohm_error *e);

/* A reading of dev: ok, and n values (names[i] = texts[i], isnum[i] for a
 * number). Copied and queued: returns at once. */
void rules_feed(struct rules *r, const char *dev, int ok, size_t n,
                const char *const *names, const char *const *texts,
                const unsigned char *isnum);

/* Fire EVENT on dev now, on the calling thread (no rules thread may be
 * running): ohm rules test. Returns how many rules matched; jobs run as
 * in serve. extra: n name=value pairs put in ev.trap (NULL if none). */
int rules_fire(struct rules *r, const char *dev, const char *event, size_t n,
               const char *const *names, const char *const *texts,
               const unsigned char *isnum);

/* Queue a trap event from another thread (ohm serve --traps). */
void rules_trap(struct rules *r, const char *dev, const char *event, size_t n,
                const char *const *names, const char *const *texts,
                const unsigned char *isnum);

/* SIGHUP (rules_reload.c): stop r's thread (r stays usable); carry what
 * old knew into new, both stopped (see rules_reload.c for what is kept
 * and what is reset). 0, or OHM_ENOMEM with new partly filled. */
struct rules_carried {
  int conditions, timers, dropped; /* states and timers kept, dropped */
};
void rules_stop(struct rules *r);
int rules_carry(struct rules *old, struct rules *new_rules,
                struct rules_carried *out);

/* Wait until no job is running, or seconds pass; how many failed so far. */
int rules_wait_jobs(struct rules *r, double seconds);

#endif
