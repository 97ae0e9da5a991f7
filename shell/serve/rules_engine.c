/* The rules thread (see rules.h): readings and traps queued by other
 * threads become events here; timers, schedules and rate-limit summaries
 * are checked ten times a second. */
#include <fnmatch.h>
#include <lauxlib.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cron.h"
#include "rules_int.h"
#include "rules_sb.h"

#define RL_QUEUE_MAX 10000

/* NUT's notify types, with the ups.status flag behind each. */
static const struct {
  const char *flag, *on, *off;
} rl_flags[] = {{"OL", "ONLINE", NULL},      {"OB", "ONBATT", NULL},
                {"LB", "LOWBATT", NULL},     {"FSD", "FSD", NULL},
                {"RB", "REPLBATT", NULL},    {"BYPASS", "BYPASS", "NOTBYPASS"},
                {"OVER", "OVER", "NOTOVER"}, {"CAL", "CAL", "NOTCAL"},
                {"OFF", "OFF", "NOTOFF"},    {"ALARM", "ALARM", "NOTALARM"}};

static const char *const rl_status_vars[] = {
    "ups.status", "battery.charge", "battery.runtime", "input.voltage", NULL};

/* A values table from the arrays (numbers where isnum says so). */
static void rl_push_values(lua_State *L, size_t n, const char *const *names,
                           const char *const *texts,
                           const unsigned char *isnum) {
  lua_createtable(L, 0, (int)n);
  for (size_t i = 0; i < n; i++) {
    if (isnum && isnum[i] && lua_stringtonumber(L, texts[i]))
      ;
    else
      lua_pushstring(L, texts[i]);
    lua_setfield(L, -2, names[i]);
  }
}

/* Fire event on dev with the values table at vals; mattered: a table
 * index (keys that mattered) or 0, or a NULL-ended list of names. */
static void rl_fire(struct rules *r, const char *dev, const char *event,
                    int vals, int mattered, const char *const *names) {
  lua_State *L = r->L;
  rl_push_ev(r, dev, event, rl_now(), vals);
  if (mattered) {
    lua_pushvalue(L, mattered);
    lua_setfield(L, -2, "mattered");
  } else if (names) {
    lua_newtable(L);
    for (; *names; names++) {
      lua_pushboolean(L, 1);
      lua_setfield(L, -2, *names);
    }
    lua_setfield(L, -2, "mattered");
  }
  rl_dispatch(r);
}

/* ups.status flags as a set, at the top of the stack. */
static void rl_push_flags(lua_State *L, int vals) {
  lua_newtable(L);
  if (lua_getfield(L, vals, "ups.status") == LUA_TSTRING) {
    char buf[256], *save = NULL;
    snprintf(buf, sizeof buf, "%s", lua_tostring(L, -1));
    for (char *w = strtok_r(buf, " ", &save); w;
         w = strtok_r(NULL, " ", &save)) {
      lua_pushboolean(L, 1);
      lua_setfield(L, -3, w);
    }
  }
  lua_pop(L, 1);
}

/* NUT's notify events from the change of ups.status and of answering. */
static void rl_status_events(struct rules *r, const char *dev, int ok, int vals,
                             int prev) {
  lua_State *L = r->L;
  int had = !lua_isnil(L, prev), was_ok = 0;
  if (had) {
    lua_getfield(L, prev, "ok");
    was_ok = lua_toboolean(L, -1);
    lua_pop(L, 1);
  }
  if (ok != was_ok && (had || !ok))
    rl_fire(r, dev, ok ? "COMMOK" : "COMMBAD", vals, 0, rl_status_vars);
  if (!ok) return;
  rl_push_flags(L, vals);
  int now = lua_gettop(L);
  if (had)
    lua_getfield(L, prev, "flags");
  else
    lua_newtable(L);
  for (size_t i = 0; i < sizeof rl_flags / sizeof rl_flags[0]; i++) {
    lua_getfield(L, now, rl_flags[i].flag);
    lua_getfield(L, now + 1, rl_flags[i].flag);
    int is = lua_toboolean(L, -2), was = lua_toboolean(L, -1);
    lua_pop(L, 2);
    if (is && !was && (had || strcmp(rl_flags[i].flag, "OL")))
      rl_fire(r, dev, rl_flags[i].on, vals, 0, rl_status_vars);
    else if (!is && was && rl_flags[i].off)
      rl_fire(r, dev, rl_flags[i].off, vals, 0, rl_status_vars);
  }
  lua_settop(L, now);
}

/* rule.state[dev], created empty, on top of the stack. */
static void rl_cond_state(lua_State *L, int rule, const char *dev) {
  if (lua_getfield(L, rule, "state") != LUA_TTABLE) {
    lua_pop(L, 1);
    lua_newtable(L);
    lua_pushvalue(L, -1);
    lua_setfield(L, rule, "state");
  }
  if (lua_getfield(L, -1, dev) != LUA_TTABLE) {
    lua_pop(L, 1);
    lua_newtable(L);
    lua_pushvalue(L, -1);
    lua_setfield(L, -3, dev);
  }
  lua_remove(L, -2);
}

/* Call fn (index) on a proxy of vals that records the keys read into
 * the table at touched; the truth of its result, or -1 (message pushed). */
static int rl_eval(struct rules *r, int fn, int vals, int touched) {
  lua_State *L = r->L;
  lua_getfield(L, LUA_REGISTRYINDEX, "ohm.rules.proxy");
  lua_pushvalue(L, vals);
  lua_pushvalue(L, touched);
  lua_call(L, 2, 1); /* tiny and ours: cannot fail but for memory */
  lua_pushvalue(L, fn);
  lua_insert(L, -2);
  if (rsb_pcall(L, 1, 1) != LUA_OK) return -1;
  int v = lua_toboolean(L, -1);
  lua_pop(L, 1);
  return v;
}

static double rl_num(lua_State *L, int t, const char *k) {
  lua_getfield(L, t, k);
  double v = lua_tonumber(L, -1);
  lua_pop(L, 1);
  return v;
}

static void rl_setnum(lua_State *L, int t, const char *k, double v) {
  if (v == 0)
    lua_pushnil(L);
  else
    lua_pushnumber(L, v);
  lua_setfield(L, t, k);
}

/* One when() rule on one reading: hold before firing NAME, and before
 * clearing (NOTNAME) the clear function (or the condition false) held
 * for clear_hold. */
static void rl_condition(struct rules *r, int rule, const char *dev, int vals) {
  lua_State *L = r->L;
  int base = lua_gettop(L);
  lua_getfield(L, rule, "cond");
  int cond = base + 1;
  rl_cond_state(L, rule, dev);
  int st = base + 2;
  lua_newtable(L);
  int touched = base + 3;
  int active = rl_num(L, st, "active") != 0, has_clear = 0;
  double now = rl_now();
  if (active) {
    lua_getfield(L, cond, "clear");
    has_clear = lua_isfunction(L, -1);
    if (!has_clear) lua_pop(L, 1);
  }
  if (!has_clear) lua_getfield(L, cond, "__when");
  int v = rl_eval(r, lua_gettop(L), vals, touched);
  if (v < 0) {
    lua_getfield(L, rule, "name");
    rl_outcome(r, dev, lua_tostring(L, -1), 0, 0, "when", "failed",
               lua_tostring(L, -2), 1, 0);
    lua_settop(L, base);
    return;
  }
  int towards = active ? (has_clear ? v : !v) : v;
  const char *key = active ? "csince" : "since";
  if (!towards) {
    rl_setnum(L, st, key, 0);
  } else {
    double since = rl_num(L, st, key);
    if (since == 0) rl_setnum(L, st, key, since = now);
    double hold = rl_num(L, cond, active ? "clear_hold" : "hold");
    if (now - since >= hold) {
      rl_setnum(L, st, "active", !active);
      rl_setnum(L, st, key, 0);
      lua_getfield(L, rule, "name");
      const char *name = lua_tostring(L, -1);
      char ev[160];
      snprintf(ev, sizeof ev, "%s%s", active ? "NOT" : "", name);
      rl_fire(r, dev, ev, vals, touched, NULL);
    }
  }
  lua_settop(L, base);
}

static void rl_conditions(struct rules *r, const char *dev, int vals) {
  lua_State *L = r->L;
  lua_rawgeti(L, LUA_REGISTRYINDEX, r->ref_rules);
  int rules = lua_gettop(L);
  for (lua_Integer i = 1; lua_rawgeti(L, rules, i) == LUA_TTABLE; i++) {
    int t = lua_gettop(L);
    lua_getfield(L, t, "pat");
    int hit = lua_getfield(L, t, "cond") == LUA_TTABLE &&
              fnmatch(lua_tostring(L, -2), dev, 0) == 0;
    lua_settop(L, t);
    if (hit) rl_condition(r, t, dev, vals);
    lua_settop(L, t - 1);
  }
  lua_settop(L, rules - 1);
}

/* A reading: remember its values, derive events, remember the state. */
static void rl_reading(struct rules *r, const struct rq *q) {
  lua_State *L = r->L;
  int base = lua_gettop(L);
  rl_push_values(L, q->n, (const char *const *)q->names,
                 (const char *const *)q->texts, q->isnum);
  int vals = base + 1;
  if (q->ok) {
    lua_rawgeti(L, LUA_REGISTRYINDEX, r->ref_values);
    lua_pushvalue(L, vals);
    lua_setfield(L, -2, q->dev);
    lua_pop(L, 1);
  }
  lua_rawgeti(L, LUA_REGISTRYINDEX, r->ref_prev);
  lua_getfield(L, -1, q->dev);
  rl_status_events(r, q->dev, q->ok, vals, base + 3);
  if (q->ok) rl_conditions(r, q->dev, vals);
  lua_newtable(L);
  lua_pushboolean(L, q->ok);
  lua_setfield(L, -2, "ok");
  if (q->ok) {
    rl_push_flags(L, vals);
    lua_setfield(L, -2, "flags");
  } else if (lua_istable(L, base + 3)) { /* keep the flags across a gap */
    lua_getfield(L, base + 3, "flags");
    lua_setfield(L, -2, "flags");
  }
  lua_setfield(L, base + 2, q->dev);
  lua_settop(L, base);
}

/* A trap: ev.values are the device's latest, ev.trap the trap's fields. */
static void rl_trap_event(struct rules *r, const struct rq *q) {
  lua_State *L = r->L;
  int base = lua_gettop(L);
  lua_rawgeti(L, LUA_REGISTRYINDEX, r->ref_values);
  if (lua_getfield(L, -1, q->dev) != LUA_TTABLE) {
    lua_pop(L, 1);
    lua_newtable(L);
  }
  rl_push_ev(r, q->dev, q->event, q->t, base + 2);
  rl_push_values(L, q->n, (const char *const *)q->names,
                 (const char *const *)q->texts, q->isnum);
  lua_setfield(L, -2, "trap");
  lua_newtable(L); /* the trap's fields are what mattered */
  lua_setfield(L, -2, "mattered");
  rl_dispatch(r);
  lua_settop(L, base);
}

/* Timers due: removed first, then their jobs run with the event that
 * started them. */
static void rl_timers(struct rules *r, double now) {
  lua_State *L = r->L;
  int base = lua_gettop(L);
  lua_rawgeti(L, LUA_REGISTRYINDEX, r->ref_timers);
  lua_newtable(L); /* due ones */
  lua_pushnil(L);
  while (lua_next(L, base + 1)) {
    if (rl_num(L, lua_gettop(L), "due") <= now) {
      lua_pushvalue(L, -2);
      lua_pushvalue(L, -2);
      lua_settable(L, base + 2);
    }
    lua_pop(L, 1);
  }
  lua_pushnil(L);
  while (lua_next(L, base + 2)) {
    int t = lua_gettop(L);
    lua_pushvalue(L, t - 1);
    lua_pushnil(L);
    lua_settable(L, base + 1);
    lua_getfield(L, t, "ev");
    lua_getfield(L, t, "jobs");
    lua_getfield(L, t, "rule");
    int rule = (int)lua_tointeger(L, -1);
    lua_pop(L, 1);
    rl_run_jobs(r, t + 2, t + 1, rule);
    lua_settop(L, t - 1);
  }
  lua_settop(L, base);
}

static void rl_schedules(struct rules *r, double now) {
  lua_State *L = r->L;
  int base = lua_gettop(L);
  lua_rawgeti(L, LUA_REGISTRYINDEX, r->ref_every);
  for (lua_Integer i = 1; lua_rawgeti(L, base + 1, i) == LUA_TTABLE; i++) {
    int t = lua_gettop(L);
    double next = rl_num(L, t, "next");
    if (next > 0 && next <= now) {
      lua_getfield(L, t, "cron");
      const struct cron_expr *c = lua_touserdata(L, -1);
      rl_setnum(L, t, "next", (double)cron_next(c, (time_t)now));
      lua_getfield(L, t, "expr");
      rl_push_ev(r, lua_tostring(L, -1), "SCHEDULE", now, 0);
      int ev = lua_gettop(L);
      lua_getfield(L, t, "jobs");
      rl_log_event(r, ev, 0, ev + 1);
      rl_run_jobs(r, ev + 1, ev, 0);
    }
    lua_settop(L, t - 1);
  }
  lua_rawgeti(L, LUA_REGISTRYINDEX, r->ref_rules);
  for (lua_Integer i = 1; lua_rawgeti(L, -1, i) == LUA_TTABLE; i++) {
    if (now - rl_num(L, -1, "win") >= rl_num(L, -1, "per"))
      rl_flush_held(r, lua_gettop(L), (int)i);
    lua_pop(L, 1);
  }
  lua_settop(L, base);
}

static void rq_free(struct rq *q) {
  for (size_t i = 0; i < q->n; i++) {
    free(q->names[i]);
    free(q->texts[i]);
  }
  free(q->names);
  free(q->texts);
  free(q->isnum);
  free(q->dev);
  free(q->event);
  free(q);
}

static void *rl_thread(void *arg) {
  struct rules *r = arg;
  pthread_mutex_lock(&r->mu);
  while (!r->stop) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += 100000000;
    if (ts.tv_nsec >= 1000000000) {
      ts.tv_sec++;
      ts.tv_nsec -= 1000000000;
    }
    if (!r->head) pthread_cond_timedwait(&r->cv, &r->mu, &ts);
    struct rq *q = r->head;
    r->head = r->tail = NULL;
    r->qlen = 0;
    pthread_mutex_unlock(&r->mu);
    while (q) {
      struct rq *next = q->next;
      if (q->event)
        rl_trap_event(r, q);
      else
        rl_reading(r, q);
      rq_free(q);
      q = next;
    }
    double now = rl_now();
    rl_timers(r, now);
    rl_schedules(r, now);
    lua_settop(r->L, 0);
    pthread_mutex_lock(&r->mu);
  }
  pthread_mutex_unlock(&r->mu);
  return NULL;
}

struct rules_cfg *rules_cfg_of(struct rules *r) {
  return &r->cfg;
}

int rules_start(struct rules *r, struct ohm_error *e) {
  if (pthread_create(&r->thread, NULL, rl_thread, r) != 0)
    return ohm_error_set(e, OHM_ENOMEM, "cannot start the rules thread");
  r->started = 1;
  return 0;
}

static struct rq *rq_new(const char *dev, const char *event, size_t n,
                         const char *const *names, const char *const *texts,
                         const unsigned char *isnum) {
  struct rq *q = calloc(1, sizeof *q);
  if (!q) return NULL;
  q->dev = strdup(dev);
  q->event = event ? strdup(event) : NULL;
  q->names = calloc(n + 1, sizeof *q->names);
  q->texts = calloc(n + 1, sizeof *q->texts);
  q->isnum = calloc(n + 1, 1);
  q->t = rl_now();
  int bad =
      !q->dev || (event && !q->event) || !q->names || !q->texts || !q->isnum;
  for (size_t i = 0; !bad && i < n; i++, q->n++) {
    q->names[i] = strdup(names[i]);
    q->texts[i] = strdup(texts[i]);
    q->isnum[i] = isnum ? isnum[i] : 0;
    bad = !q->names[i] || !q->texts[i];
  }
  if (bad) {
    q->n += q->n < n; /* free the half-made pair too */
    rq_free(q);
    return NULL;
  }
  return q;
}

static void rq_push(struct rules *r, struct rq *q) {
  if (!q) return;
  pthread_mutex_lock(&r->mu);
  if (r->qlen >= RL_QUEUE_MAX) {
    pthread_mutex_unlock(&r->mu);
    rq_free(q); /* the rules thread is far behind: keep memory bounded */
    return;
  }
  if (r->tail)
    r->tail->next = q;
  else
    r->head = q;
  r->tail = q;
  r->qlen++;
  pthread_cond_signal(&r->cv);
  pthread_mutex_unlock(&r->mu);
}

void rules_feed(struct rules *r, const char *dev, int ok, size_t n,
                const char *const *names, const char *const *texts,
                const unsigned char *isnum) {
  struct rq *q = rq_new(dev, NULL, n, names, texts, isnum);
  if (q) q->ok = ok;
  rq_push(r, q);
}

void rules_trap(struct rules *r, const char *dev, const char *event, size_t n,
                const char *const *names, const char *const *texts,
                const unsigned char *isnum) {
  rq_push(r, rq_new(dev, event, n, names, texts, isnum));
}

int rules_fire(struct rules *r, const char *dev, const char *event, size_t n,
               const char *const *names, const char *const *texts,
               const unsigned char *isnum) {
  lua_State *L = r->L;
  rl_push_values(L, n, names, texts, isnum);
  lua_rawgeti(L, LUA_REGISTRYINDEX, r->ref_values);
  lua_pushvalue(L, -2);
  lua_setfield(L, -2, dev);
  lua_pop(L, 1);
  rl_push_ev(r, dev, event, rl_now(), lua_gettop(L));
  int matched = rl_dispatch(r);
  lua_settop(L, 0);
  return matched;
}

int rules_wait_jobs(struct rules *r, double seconds) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  ts.tv_sec += (time_t)seconds;
  pthread_mutex_lock(&r->jmu);
  while (r->running > 0)
    if (pthread_cond_timedwait(&r->jcv, &r->jmu, &ts) != 0) break;
  int failed = r->failed;
  pthread_mutex_unlock(&r->jmu);
  return failed;
}

void rules_free(struct rules *r) {
  if (!r) return;
  if (r->started) {
    pthread_mutex_lock(&r->mu);
    r->stop = 1;
    pthread_cond_signal(&r->cv);
    pthread_mutex_unlock(&r->mu);
    pthread_join(r->thread, NULL);
  }
  pthread_mutex_lock(&r->jmu); /* workers hold r: wait for the last one */
  while (r->running > 0)
    pthread_cond_wait(&r->jcv, &r->jmu);
  pthread_mutex_unlock(&r->jmu);
  for (struct rq *q = r->head, *n; q; q = n) {
    n = q->next;
    rq_free(q);
  }
  rsb_free(r->L);
  job_free(r->smtp);
  job_free(r->down);
  job_free(r->snmpu);
  pthread_mutex_destroy(&r->mu);
  pthread_cond_destroy(&r->cv);
  pthread_mutex_destroy(&r->jmu);
  pthread_cond_destroy(&r->jcv);
  free(r);
}
