/* The glue between `ohm serve` and the rules: --rules FILE (or the
 * inventory's `rules = "FILE"`), --check, --events-log FILE; readings from
 * the polling cache go to the rules, device jobs go back through it. One
 * serve per process, so the state is static. */
#include <lua.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "../serve.h"
#include "rules.h"
#include "serve_rules.h"

static struct rules *sr_rules;
static struct evlog *sr_log;
static char *sr_given; /* --rules FILE, for SIGHUP */
/* sr_rules for the poller threads; only the signal thread swaps it */
static pthread_rwlock_t sr_lock = PTHREAD_RWLOCK_INITIALIZER;

static int sr_cmd(void *ctx, const char *dev, const char *cmd,
                  struct ohm_error *e) {
  return sv_cache_cmd(ctx, dev, cmd, e);
}

static int sr_set(void *ctx, const char *dev, const char *var, const char *val,
                  struct ohm_error *e) {
  return sv_cache_set(ctx, dev, var, val, e);
}

static int sr_with_dev(void *ctx, const char *dev,
                       int (*fn)(struct dev *d, void *arg, struct ohm_error *e),
                       void *arg, struct ohm_error *e) {
  return sv_cache_with_dev(ctx, dev, fn, arg, e);
}

/* The readable values as arrays, then fed (event NULL) or fired. */
static int sr_values(struct rules *r, const char *dev, int ok,
                     const struct dev_map *m, const struct dev_value *vals,
                     const char *event) {
  int matched = 0;
  size_t n = 0, nv = m && vals && ok ? m->nvars : 0;
  const char **names = calloc(nv + 1, sizeof *names);
  char **texts = calloc(nv + 1, sizeof *texts);
  unsigned char *isnum = calloc(nv + 1, 1);
  for (size_t i = 0; names && texts && isnum && i < nv; i++) {
    char buf[192];
    if (vals[i].kind != DV_NUM && vals[i].kind != DV_STR) continue;
    dev_value_format(&m->vars[i], &vals[i], buf, sizeof buf);
    if (!(texts[n] = strdup(buf))) break;
    names[n] = m->vars[i].name;
    isnum[n++] = vals[i].kind == DV_NUM;
  }
  if (names && texts && isnum && !event)
    rules_feed(r, dev, ok, n, names, (const char *const *)texts, isnum);
  else if (names && texts && isnum)
    matched =
        rules_fire(r, dev, event, n, names, (const char *const *)texts, isnum);
  for (size_t i = 0; texts && i < n; i++)
    free(texts[i]);
  free(names);
  free(texts);
  free(isnum);
  return matched;
}

void rules_feed_map(struct rules *r, const char *dev, int ok,
                    const struct dev_map *m, const struct dev_value *vals) {
  sr_values(r, dev, ok, m, vals, NULL);
}

int rules_fire_map(struct rules *r, const char *dev, const char *event,
                   const struct dev_map *m, const struct dev_value *vals) {
  return sr_values(r, dev, 1, m, vals, event);
}

/* The rules file: --rules, else the inventory's `rules = "FILE"` or
 * `rules = { file = "FILE" }` (read under inv_call: the config may be
 * hostile). */
static int sr_file_read(lua_State *L, void *ud) {
  const char **f = ud;
  int t = lua_getglobal(L, "rules");
  if (t == LUA_TTABLE) t = lua_getfield(L, -1, "file");
  if (t == LUA_TSTRING)
    *f = lua_tostring(L, -1); /* held by the inventory's globals */
  return 0;
}

static int sr_file(const char **file, const struct inventory *inv,
                   struct ohm_error *e) {
  if (*file || !inv || !inv->L) return 0;
  return inv_call(inv, sr_file_read, file, e);
}

int serve_rules_open(const char *file, const char *log_path,
                     const struct inventory *inv, int check, FILE *out,
                     struct ohm_error *e) {
  char path[4096];
  struct rules_cfg cfg = {.inv = inv, .out = check ? out : stderr};
  const char *s_file_given = file;
  int frc = sr_file(&file, inv, e);
  if (frc < 0) return frc;
  if (!file) {
    if (!check) return 0;
    return ohm_error_set(e, OHM_EINVAL,
                         "--check: no rules file (--rules "
                         "FILE or rules = \"FILE\")");
  }
  if (!check) {
    int rc = evlog_path(log_path, inv, path, sizeof path, e);
    if (rc == 0) rc = evlog_open(path, NULL, &sr_log, e);
    if (rc < 0) return rc;
  }
  cfg.log = sr_log;
  free(sr_given);
  sr_given = s_file_given ? strdup(s_file_given) : NULL;
  int rc = rules_load(file, &cfg, &sr_rules, e);
  if (rc == 0 && check) {
    rules_describe(sr_rules, out);
    serve_rules_close();
  }
  return rc < 0 ? rc : 1;
}

int serve_rules_attach(struct sv_cache *c, struct ohm_error *e) {
  if (!sr_rules) return 0;
  struct rules_cfg *cfg = rules_cfg_of(sr_rules);
  cfg->host = (struct job_host){c, sr_cmd, sr_set, sr_with_dev};
  return rules_start(sr_rules, e);
}

void serve_rules_on_read(void *ctx, const char *name, const struct dev_map *m,
                         const struct dev_value *vals, int ok) {
  (void)ctx;
  pthread_rwlock_rdlock(&sr_lock);
  if (sr_rules) rules_feed_map(sr_rules, name, ok, m, vals);
  pthread_rwlock_unlock(&sr_lock);
}

/* SIGHUP: the rules file (--rules, else the new inventory's) read and
 * checked again; a bad one keeps the old rules running. */
void serve_rules_reload(const struct inventory *inv) {
  const char *file = sr_given;
  struct ohm_error e;
  struct rules *nr = NULL, *old = sr_rules;
  struct rules_carried kept;
  if (!old) return; /* serve started without rules: none to reload */
  struct rules_cfg cfg = *rules_cfg_of(old);
  cfg.inv = inv;
  if (sr_file(&file, inv, &e) == 0 && !file)
    ohm_error_set(&e, OHM_EINVAL, "no rules file any more");
  if (!file || rules_load(file, &cfg, &nr, &e) < 0) {
    serve_log("rules: reload failed, keeping the old rules: %s",
              ohm_error_text(&e));
    rules_cfg_of(old)->inv = inv; /* the old inventory is freed next */
    serve_traps_swap(old, inv);
    return;
  }
  pthread_rwlock_wrlock(&sr_lock);
  sr_rules = nr;
  pthread_rwlock_unlock(&sr_lock);
  serve_traps_swap(nr, inv);
  rules_stop(old);
  int rc = rules_carry(old, nr, &kept);
  if (rules_start(nr, &e) < 0 || rc < 0)
    serve_log("rules: reload: %s", rc < 0 ? "out of memory carrying the "
                                            "old state"
                                          : ohm_error_text(&e));
  serve_info("rules: reloaded %s (kept %d condition state(s) and %d "
             "timer(s), dropped %d timer(s))",
             file, kept.conditions, kept.timers, kept.dropped);
  rules_free(old); /* waits for its running jobs */
}

int serve_rules_traps(const char *addr, const struct inventory *inv,
                      struct ohm_error *e) {
  if (!sr_rules)
    return ohm_error_set(e, OHM_EINVAL, "--traps needs rules (--rules FILE)");
  return serve_traps_start(addr, sr_rules, inv, e);
}

void serve_rules_close(void) {
  struct rules *r = sr_rules;
  pthread_rwlock_wrlock(&sr_lock); /* no poller feeds it any more */
  sr_rules = NULL;
  pthread_rwlock_unlock(&sr_lock);
  serve_traps_stop();
  rules_free(r);
  free(sr_given);
  sr_given = NULL;
  evlog_close(sr_log);
  sr_log = NULL;
}
