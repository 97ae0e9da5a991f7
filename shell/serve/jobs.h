/* Built-in jobs, run on a worker thread with a timeout (DESIGN.md "Events
 * and jobs"): exec (argv, no shell, environment like NOTIFYCMD), http (GET
 * or POST through libcurl), mail (SMTP through libcurl), syslog (local, or
 * RFC 5424 over UDP), cmd and set (through the host's callbacks). A job is
 * built on the rules thread with its placeholders already expanded, so the
 * worker never touches Lua. Prints nothing. */
#ifndef OHM_SERVE_JOBS_H
#define OHM_SERVE_JOBS_H

#include <stddef.h>

#include "util/err.h"
#include "transports/uri.h"

struct dev;
struct job_host {
  void *ctx;
  int (*cmd)(void *ctx, const char *dev, const char *cmd, struct ohm_error *e);
  int (*set)(void *ctx, const char *dev, const char *var, const char *val,
             struct ohm_error *e);
  /* run fn with device dev open (serialised with the poller), for the
   * config_diff job; NULL: no device access */
  int (*with_dev)(void *ctx, const char *dev,
                  int (*fn)(struct dev *d, void *arg, struct ohm_error *e),
                  void *arg, struct ohm_error *e);
};

struct job {
  char *kind;  /* "exec", "http", "mail", "syslog", "cmd", "set" ... */
  char **list; /* exec: argv; mail: recipients; http: headers */
  size_t nlist;
  struct ohm_kv *kv; /* url, method, body, subject, server, ... (owned) */
  size_t nkv;
  char **env; /* exec: NAME=VALUE added to the environment */
  size_t nenv;
  double timeout; /* seconds */
  int retries;    /* extra attempts after a failure */
  double retry_delay;
};

/* A field of j, or NULL. */
const char *job_get(const struct job *j, const char *key);
/* Append a copy; 0 or OHM_ENOMEM. */
int job_add_kv(struct job *j, const char *key, const char *val);
int job_add_list(struct job *j, const char *s);
int job_add_env(struct job *j, const char *name, const char *val);
void job_free(struct job *j); /* and the struct itself */

/* Run j once. 0, or an OHM_E* code with e saying why ("exit 3", "killed
 * at its timeout (2 s)", "HTTP 500", ...). */
int job_run(const struct job *j, const struct job_host *h, struct ohm_error *e);

#endif
