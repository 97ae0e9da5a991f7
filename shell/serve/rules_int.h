/* Inside the rules engine: shared by rules.c (the thread, events from
 * readings, timers, schedules) and rules_lua.c (the file's API, matching,
 * jobs). Lua is touched only by the rules thread (or by the caller of
 * rules_fire when there is no thread). */
#ifndef OHM_SERVE_RULES_INT_H
#define OHM_SERVE_RULES_INT_H

#include <lua.h>
#include <pthread.h>

#include "rules.h"

struct rq { /* a queued reading or trap */
  struct rq *next;
  char *dev, *event; /* event: a trap's; NULL for a reading */
  int ok;
  size_t n;
  char **names, **texts;
  unsigned char *isnum;
  double t;
};

struct rules {
  lua_State *L;
  struct rules_cfg cfg;
  struct job *smtp; /* the inventory's smtp settings, copied at load */
  struct job *down; /* the inventory's shutdown.command, copied at load */
  /* the inventory's snmp_users, copied at load: "NAME\tKEY" = value */
  struct job *snmpu;
  int ref_rules, ref_every, ref_timers, ref_prev, ref_values;
  pthread_t thread;
  int started, stop;
  pthread_mutex_t mu; /* queue and stop */
  pthread_cond_t cv;
  struct rq *head, *tail;
  size_t qlen;
  pthread_mutex_t jmu; /* running jobs */
  pthread_cond_t jcv;
  int running, failed;
  unsigned long seq; /* event ids, for job lines to point at */
};

/* Push the ev table {device, event, time, id, values[, trap]} (values:
 * the table at index vals, or an empty one). */
void rl_push_ev(struct rules *r, const char *dev, const char *event, double t,
                int vals);

/* Run every rule matching the ev table on top of the stack (popped);
 * returns how many matched. */
int rl_dispatch(struct rules *r);

/* Run a list of jobs (table at index jobs) for ev (at index ev). */
void rl_run_jobs(struct rules *r, int jobs, int ev, int rule);

/* The event line for ev (index) and the jobs (index) rule will run. */
void rl_log_event(struct rules *r, int ev, int rule, int jobs);

/* Write one line to the event log (NULL log: nothing). */
void rl_log(struct rules *r, struct evbuf *b);

/* Register the rules file's functions (on, when, every, jobs ...). */
void rl_open_api(struct rules *r);

double rl_now(void);

/* A job's outcome line (any thread); echoed to cfg.out with cfg.echo. */
void rl_outcome(struct rules *r, const char *dev, const char *event,
                unsigned long id, int rule, const char *job,
                const char *outcome, const char *detail, int attempt,
                double ms);

/* The config_diff{DEVICE..., file = FILE} job (rules_config.c), on a
 * worker: 0 when every device equals FILE; else OHM_EDEVICE with e naming
 * the drift (and CONFIGDRIFT queued on each drifted device) or failures. */
int rl_config_diff(struct rules *r, const struct job *j, struct ohm_error *e);

/* Log the summary of what rule (table at index t) held back, if any. */
void rl_flush_held(struct rules *r, int t, int rule);

#endif
