/* What runs when an event matches a rule: the rate limit, the event line,
 * Lua jobs under the sandbox, timers, and built-in jobs on worker threads
 * whose outcomes go to the event log. */
#include <ctype.h>
#include <fnmatch.h>
#include <lauxlib.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rules_int.h"
#include "transports/uri.h"
#include "rules_sb.h"
#include "util/clock.h"

#define RL_MAX_RUNNING 64

void rl_log(struct rules *r, struct evbuf *b) {
  struct ohm_error e;
  if (r->cfg.log && b->s && !b->oom) evlog_append(r->cfg.log, b->s, &e);
  evbuf_free(b);
}

/* {"time":..,"id":..,"device":..,"event":..,"rule":N, — the common head. */
static void rl_head(struct evbuf *b, double t, unsigned long id,
                    const char *dev, const char *event, int rule) {
  char ts[40];
  evlog_time(t, ts, sizeof ts);
  evbuf_printf(b, "{\"time\":\"%s\",\"id\":%lu,\"device\":", ts, id);
  evbuf_json_str(b, dev);
  evbuf_add(b, ",\"event\":", 9);
  evbuf_json_str(b, event);
  if (rule > 0) evbuf_printf(b, ",\"rule\":%d", rule);
}

static void rl_json_value(lua_State *L, int i, struct evbuf *b) {
  if (lua_type(L, i) == LUA_TNUMBER && isfinite(lua_tonumber(L, i)))
    evbuf_printf(b, "%.10g", lua_tonumber(L, i));
  else if (lua_type(L, i) == LUA_TBOOLEAN)
    evbuf_printf(b, "%s", lua_toboolean(L, i) ? "true" : "false");
  else
    evbuf_json_str(b, lua_isstring(L, i) ? lua_tostring(L, i) : "");
}

/* "values":{...}: ev.values limited to ev.mattered when there is one. */
static void rl_json_values(lua_State *L, int ev, struct evbuf *b) {
  int n = 0;
  lua_getfield(L, ev, "values");
  lua_getfield(L, ev, "mattered");
  evbuf_add(b, ",\"values\":{", 11);
  lua_pushnil(L);
  while (lua_next(L, -3)) {
    int keep = lua_type(L, -2) == LUA_TSTRING;
    if (keep && lua_istable(L, -3)) {
      lua_pushvalue(L, -2);
      keep = lua_rawget(L, -4) != LUA_TNIL;
      lua_pop(L, 1);
    }
    if (keep) {
      if (n++) evbuf_add(b, ",", 1);
      evbuf_json_str(b, lua_tostring(L, -2));
      evbuf_add(b, ":", 1);
      rl_json_value(L, -1, b);
    }
    lua_pop(L, 1);
  }
  evbuf_add(b, "}", 1);
  lua_pop(L, 2);
}

static void rl_json_trap(lua_State *L, int ev, struct evbuf *b) {
  if (lua_getfield(L, ev, "trap") == LUA_TTABLE) {
    int n = 0;
    evbuf_add(b, ",\"trap\":{", 9);
    lua_pushnil(L);
    while (lua_next(L, -2)) {
      if (n++) evbuf_add(b, ",", 1);
      evbuf_json_str(b, lua_tostring(L, -2));
      evbuf_add(b, ":", 1);
      rl_json_value(L, -1, b);
      lua_pop(L, 1);
    }
    evbuf_add(b, "}", 1);
  }
  lua_pop(L, 1);
}

static const char *rl_job_name(lua_State *L, int i) {
  if (lua_type(L, i) == LUA_TFUNCTION) return "function";
  lua_getfield(L, i, "job");
  const char *k = lua_tostring(L, -1);
  lua_pop(L, 1); /* the string stays: the job table holds it */
  return k ? k : "?";
}

/* The event line for a matching rule, with the jobs it will run. */
void rl_log_event(struct rules *r, int ev, int rule, int jobs) {
  lua_State *L = r->L;
  struct evbuf b = {0};
  lua_getfield(L, ev, "device");
  lua_getfield(L, ev, "event");
  lua_getfield(L, ev, "time");
  lua_getfield(L, ev, "id");
  rl_head(&b, lua_tonumber(L, -2), (unsigned long)lua_tointeger(L, -1),
          lua_tostring(L, -4), lua_tostring(L, -3), rule);
  lua_pop(L, 4);
  rl_json_values(L, ev, &b);
  rl_json_trap(L, ev, &b);
  evbuf_add(&b, ",\"jobs\":[", 9);
  for (lua_Integer i = 1; lua_rawgeti(L, jobs, i) != LUA_TNIL; i++) {
    if (i > 1) evbuf_add(&b, ",", 1);
    evbuf_json_str(&b, rl_job_name(L, -1));
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
  evbuf_add(&b, "]}", 2);
  rl_log(r, &b);
}

/* A job's outcome line (any thread). */
void rl_outcome(struct rules *r, const char *dev, const char *event,
                unsigned long id, int rule, const char *job,
                const char *outcome, const char *detail, int attempt,
                double ms) {
  struct evbuf b = {0};
  rl_head(&b, rl_now(), id, dev, event, rule);
  evbuf_add(&b, ",\"job\":", 7);
  evbuf_json_str(&b, job);
  evbuf_add(&b, ",\"outcome\":", 11);
  evbuf_json_str(&b, outcome);
  if (detail && *detail) {
    evbuf_add(&b, ",\"detail\":", 10);
    evbuf_json_str(&b, detail);
  }
  evbuf_printf(&b, ",\"attempt\":%d,\"ms\":%.0f}", attempt, ms);
  rl_log(r, &b);
  if (r->cfg.echo) {
    pthread_mutex_lock(&r->jmu);
    fprintf(r->cfg.out, "%s %s: %s: %s%s%s%s\n", dev, event, job, outcome,
            detail && *detail ? " (" : "", detail ? detail : "",
            detail && *detail ? ")" : "");
    fflush(r->cfg.out);
    pthread_mutex_unlock(&r->jmu);
  }
}

/* ---- placeholders and building a job ---- */

/* {device}, {event}, {time}, {var:NAME} in s, from the ev table. */
static char *rl_expand(lua_State *L, int ev, const char *s) {
  struct evbuf b = {0};
  evbuf_add(&b, "", 0);
  while (*s) {
    const char *o = strchr(s, '{'), *c = o ? strchr(o, '}') : NULL;
    if (!o || !c) {
      evbuf_add(&b, s, strlen(s));
      break;
    }
    evbuf_add(&b, s, (size_t)(o - s));
    char key[200];
    snprintf(key, sizeof key, "%.*s", (int)(c - o - 1), o + 1);
    int t = LUA_TNIL;
    if (!strncmp(key, "var:", 4) || !strncmp(key, "trap:", 5)) {
      int var = key[0] == 'v';
      lua_getfield(L, ev, var ? "values" : "trap");
      t = lua_istable(L, -1) ? lua_getfield(L, -1, key + (var ? 4 : 5))
                             : (lua_pushnil(L), LUA_TNIL);
      lua_remove(L, -2);
    } else if (!strcmp(key, "time")) {
      char ts[40];
      lua_getfield(L, ev, "time");
      evlog_time(lua_tonumber(L, -1), ts, sizeof ts);
      lua_pop(L, 1);
      lua_pushstring(L, ts);
      t = LUA_TSTRING;
    } else if (!strcmp(key, "device") || !strcmp(key, "event")) {
      t = lua_getfield(L, ev, key);
    } else {
      lua_pushnil(L); /* not a placeholder: kept as written */
    }
    if (t == LUA_TSTRING || t == LUA_TNUMBER)
      evbuf_add(&b, lua_tostring(L, -1), strlen(lua_tostring(L, -1)));
    else if (t == LUA_TNIL && strchr(key, ':'))
      ; /* an unknown variable expands to nothing */
    else
      evbuf_add(&b, o, (size_t)(c - o + 1));
    lua_pop(L, 1);
    s = c + 1;
  }
  return b.oom ? NULL : b.s;
}

static void rl_add_expanded(lua_State *L, int ev, struct job *j,
                            const char *key, int list) {
  char *x = rl_expand(L, ev, lua_tostring(L, -1));
  if (x) {
    if (list)
      job_add_list(j, x);
    else
      job_add_kv(j, key, x);
  }
  free(x);
}

/* A list field (to, headers, command) or the array part into j->list. */
static void rl_build_list(lua_State *L, int t, int ev, struct job *j) {
  const char *lk = !strcmp(j->kind, "mail")       ? "to"
                   : !strcmp(j->kind, "http")     ? "headers"
                   : !strcmp(j->kind, "shutdown") ? "command"
                                                  : NULL;
  int src = t;
  if (lk) {
    lua_getfield(L, t, lk);
    src = lua_gettop(L);
    if (lua_type(L, src) == LUA_TSTRING) {
      rl_add_expanded(L, ev, j, NULL, 1);
      lua_pop(L, 1);
      return;
    }
  }
  if (lua_istable(L, src))
    for (lua_Integer i = 1; lua_rawgeti(L, src, i) != LUA_TNIL; i++) {
      if (lua_isstring(L, -1)) rl_add_expanded(L, ev, j, NULL, 1);
      lua_pop(L, 1);
    }
  lua_pop(L, 1);
  if (lk) lua_pop(L, 1);
}

/* The values as OHM_BATTERY_CHARGE=..., plus NOTIFYTYPE and UPSNAME. */
static void rl_build_env(lua_State *L, int ev, struct job *j) {
  lua_getfield(L, ev, "event");
  job_add_env(j, "NOTIFYTYPE", lua_tostring(L, -1));
  job_add_env(j, "OHM_EVENT", lua_tostring(L, -1));
  lua_getfield(L, ev, "device");
  job_add_env(j, "UPSNAME", lua_tostring(L, -1));
  job_add_env(j, "OHM_DEVICE", lua_tostring(L, -1));
  lua_pop(L, 2);
  lua_getfield(L, ev, "values");
  lua_pushnil(L);
  while (lua_next(L, -2)) {
    if (lua_type(L, -2) == LUA_TSTRING && lua_isstring(L, -1)) {
      char name[160] = "OHM_";
      size_t k = 4;
      for (const char *p = lua_tostring(L, -2); *p && k + 1 < sizeof name; p++)
        name[k++] = isalnum((unsigned char)*p) ? (char)toupper(*p) : '_';
      name[k] = 0;
      job_add_env(j, name, lua_tostring(L, -1));
    }
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
}

/* trap{user = NAME}: the inventory's snmp_users entry into j (its
 * secrets too: the worker needs them; nothing prints a key with "pass"). */
static void rl_build_user(struct rules *r, struct job *j) {
  size_t n = strlen(job_get(j, "user"));
  for (size_t i = 0; r->snmpu && i < r->snmpu->nkv; i++) {
    const char *k = r->snmpu->kv[i].key;
    if (strncmp(k, job_get(j, "user"), n) || k[n] != '\t') continue;
    if (!k[n + 1])
      job_add_kv(j, "user_found", "true");
    else if (!job_get(j, k + n + 1))
      job_add_kv(j, k + n + 1, r->snmpu->kv[i].val);
  }
}

static struct job *rl_build(struct rules *r, int t, int ev) {
  lua_State *L = r->L;
  struct job *j = calloc(1, sizeof *j);
  if (!j || !(j->kind = strdup(rl_job_name(L, t)))) {
    free(j);
    return NULL;
  }
  j->timeout = 30;
  j->retry_delay = 5;
  lua_pushnil(L);
  while (lua_next(L, t)) {
    const char *k = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : NULL;
    if (k && !strcmp(k, "timeout") && lua_isnumber(L, -1))
      j->timeout = lua_tonumber(L, -1);
    else if (k && !strcmp(k, "retries") && lua_isnumber(L, -1))
      j->retries = (int)lua_tonumber(L, -1);
    else if (k && !strcmp(k, "retry_delay") && lua_isnumber(L, -1))
      j->retry_delay = lua_tonumber(L, -1);
    else if (k && strcmp(k, "job") && lua_isstring(L, -1))
      rl_add_expanded(L, ev, j, k, 0);
    else if (k && lua_type(L, -1) == LUA_TBOOLEAN)
      job_add_kv(j, k, lua_toboolean(L, -1) ? "true" : "false");
    lua_pop(L, 1);
  }
  rl_build_list(L, t, ev, j);
  if (!strcmp(j->kind, "trap") && job_get(j, "user")) rl_build_user(r, j);
  if (!strcmp(j->kind, "shutdown") && !j->nlist && r->down)
    for (size_t i = 0; i < r->down->nlist; i++) /* the inventory's */
      job_add_list(j, r->down->list[i]);
  if (!strcmp(j->kind, "exec") || !strcmp(j->kind, "shutdown"))
    rl_build_env(L, ev, j);
  if (!strcmp(j->kind, "trap") || !strcmp(j->kind, "shutdown")) {
    lua_getfield(L, ev, "device");
    lua_getfield(L, ev, "event");
    job_add_kv(j, "device", lua_tostring(L, -2));
    job_add_kv(j, "event", lua_tostring(L, -1));
    lua_pop(L, 2);
  }
  for (size_t i = 0; r->smtp && !strcmp(j->kind, "mail") && i < r->smtp->nkv;
       i++)
    if (!job_get(j, r->smtp->kv[i].key))
      job_add_kv(j, r->smtp->kv[i].key, r->smtp->kv[i].val);
  if (!strcmp(j->kind, "mail") && !job_get(j, "subject")) {
    char *x = rl_expand(L, ev, "ohm: {device} {event}");
    if (x) job_add_kv(j, "subject", x);
    free(x);
  }
  if (!job_get(j, "message") && !strcmp(j->kind, "syslog")) {
    char *x = rl_expand(L, ev, "{device}: {event}");
    if (x) job_add_kv(j, "message", x);
    free(x);
  }
  if (!strcmp(j->kind, "mail") && !job_get(j, "body"))
    job_add_kv(j, "body", job_get(j, "subject"));
  return j;
}

/* ---- worker threads ---- */

struct rl_work {
  struct rules *r;
  struct job *j;
  char *dev, *event;
  unsigned long id;
  int rule;
};

static void *rl_worker(void *arg) {
  struct rl_work *w = arg;
  struct ohm_error e;
  int rc = 0;
  for (int attempt = 1; attempt <= 1 + w->j->retries; attempt++) {
    double t0 = ohm_mono();
    rc = !strcmp(w->j->kind, "config_diff")
             ? rl_config_diff(w->r, w->j, &e) /* rules_config.c */
             : job_run(w->j, &w->r->cfg.host, &e);
    const char *out = rc == 0               ? "ok"
                      : rc == OHM_ETIMEDOUT ? "timeout"
                                            : "failed";
    rl_outcome(w->r, w->dev, w->event, w->id, w->rule, w->j->kind, out,
               rc ? ohm_error_text(&e) : "", attempt, (ohm_mono() - t0) * 1000);
    if (rc == 0 || attempt > w->j->retries) break;
    double d = w->j->retry_delay;
    nanosleep(&(struct timespec){(time_t)d, (long)((d - floor(d)) * 1e9)},
              NULL);
  }
  pthread_mutex_lock(&w->r->jmu);
  w->r->running--;
  w->r->failed += rc != 0;
  pthread_cond_broadcast(&w->r->jcv);
  pthread_mutex_unlock(&w->r->jmu);
  job_free(w->j);
  free(w->dev);
  free(w->event);
  free(w);
  return NULL;
}

static void rl_submit(struct rules *r, struct job *j, const char *dev,
                      const char *event, unsigned long id, int rule) {
  struct rl_work *w = calloc(1, sizeof *w);
  pthread_t th;
  pthread_attr_t at;
  pthread_mutex_lock(&r->jmu);
  int full = r->running >= RL_MAX_RUNNING;
  if (!full) r->running++;
  pthread_mutex_unlock(&r->jmu);
  if (w) {
    *w = (struct rl_work){r, j, strdup(dev), strdup(event), id, rule};
  }
  if (full || !w || !w->dev || !w->event) {
    rl_outcome(r, dev, event, id, rule, j->kind, "dropped",
               full ? "too many jobs running" : "out of memory", 1, 0);
    if (w) {
      free(w->dev);
      free(w->event);
    }
    free(w);
    job_free(j);
    if (!full) {
      pthread_mutex_lock(&r->jmu);
      r->running--;
      pthread_mutex_unlock(&r->jmu);
    }
    return;
  }
  pthread_attr_init(&at);
  pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
  if (pthread_create(&th, &at, rl_worker, w) != 0) {
    w->j->retries = 0;
    rl_worker(w); /* no thread to be had: run it here rather than lose it */
  }
  pthread_attr_destroy(&at);
}

/* ---- running a rule's jobs ---- */

static void rl_dry(struct rules *r, int t, int ev) {
  lua_State *L = r->L;
  FILE *f = r->cfg.out;
  lua_getfield(L, ev, "device");
  lua_getfield(L, ev, "event");
  fprintf(f, "%s %s: would run %s", lua_tostring(L, -2), lua_tostring(L, -1),
          rl_job_name(L, t));
  lua_pop(L, 2);
  if (lua_type(L, t) == LUA_TTABLE) {
    struct job *j = rl_build(r, t, ev);
    for (size_t i = 0; j && i < j->nlist; i++)
      fprintf(f, " %s", j->list[i]);
    for (size_t i = 0; j && i < j->nkv; i++)
      if (strcmp(j->kv[i].key, "user_found"))
        fprintf(f, " %s=%s", j->kv[i].key,
                ohm_secret_key(j->kv[i].key, strlen(j->kv[i].key))
                    ? "***" /* never a secret */
                    : j->kv[i].val);
    job_free(j);
  }
  fputc('\n', f);
}

static void rl_timer_start(struct rules *r, int t, int ev, int rule) {
  lua_State *L = r->L;
  lua_rawgeti(L, LUA_REGISTRYINDEX, r->ref_timers);
  lua_getfield(L, t, "name");
  if (lua_rawget(L, -2) != LUA_TNIL) { /* running: upssched ignores it */
    lua_pop(L, 2);
    return;
  }
  lua_pop(L, 1);
  lua_getfield(L, t, "name");
  lua_newtable(L);
  lua_getfield(L, t, "secs");
  lua_pushnumber(L, rl_now() + lua_tonumber(L, -1));
  lua_setfield(L, -3, "due");
  lua_pop(L, 1);
  lua_getfield(L, t, "jobs");
  lua_setfield(L, -2, "jobs");
  lua_pushvalue(L, ev);
  lua_setfield(L, -2, "ev");
  lua_pushinteger(L, rule);
  lua_setfield(L, -2, "rule");
  lua_rawset(L, -3);
  lua_pop(L, 1);
  if (r->cfg.echo) {
    lua_getfield(L, ev, "device");
    lua_getfield(L, ev, "event");
    lua_getfield(L, t, "name");
    lua_getfield(L, t, "secs");
    fprintf(r->cfg.out, "%s %s: timer %s started (%g s)\n", lua_tostring(L, -4),
            lua_tostring(L, -3), lua_tostring(L, -2), lua_tonumber(L, -1));
    lua_pop(L, 4);
  }
}

static void rl_timer_cancel(struct rules *r, int t) {
  lua_State *L = r->L;
  lua_rawgeti(L, LUA_REGISTRYINDEX, r->ref_timers);
  lua_getfield(L, t, "name");
  lua_pushnil(L);
  lua_rawset(L, -3);
  lua_pop(L, 1);
}

/* A Lua function job: called here, under the step limit. */
static void rl_call(struct rules *r, int t, int ev, const char *dev,
                    const char *event, unsigned long id, int rule) {
  lua_State *L = r->L;
  double t0 = ohm_mono();
  lua_pushvalue(L, t);
  lua_pushvalue(L, ev);
  int rc = rsb_pcall(L, 1, 0);
  rl_outcome(r, dev, event, id, rule, "function", rc ? "failed" : "ok",
             rc ? lua_tostring(L, -1) : "", 1, (ohm_mono() - t0) * 1000);
  if (rc) {
    lua_pop(L, 1);
    pthread_mutex_lock(&r->jmu);
    r->failed++;
    pthread_mutex_unlock(&r->jmu);
  }
}

void rl_run_jobs(struct rules *r, int jobs, int ev, int rule) {
  lua_State *L = r->L;
  lua_getfield(L, ev, "device");
  lua_getfield(L, ev, "event");
  lua_getfield(L, ev, "id");
  const char *dev = lua_tostring(L, -3), *event = lua_tostring(L, -2);
  unsigned long id = (unsigned long)lua_tointeger(L, -1);
  for (lua_Integer i = 1; lua_rawgeti(L, jobs, i) != LUA_TNIL; i++) {
    int t = lua_gettop(L);
    const char *k = rl_job_name(L, t);
    if (r->cfg.dry_run)
      rl_dry(r, t, ev);
    else if (lua_type(L, t) == LUA_TFUNCTION)
      rl_call(r, t, ev, dev, event, id, rule);
    else if (!strcmp(k, "after"))
      rl_timer_start(r, t, ev, rule);
    else if (!strcmp(k, "cancel"))
      rl_timer_cancel(r, t);
    else if (!strcmp(k, "log"))
      rl_outcome(r, dev, event, id, rule, "log", "ok", "", 1, 0);
    else {
      struct job *j = rl_build(r, t, ev);
      if (j) rl_submit(r, j, dev, event, id, rule);
    }
    lua_settop(L, t - 1);
  }
  lua_settop(L, jobs);
}

/* Whether rule (at index t) may fire now; counts what it holds back. */
static int rl_rate_ok(struct rules *r, int t, int rule, double now) {
  lua_State *L = r->L;
  lua_getfield(L, t, "win");
  lua_getfield(L, t, "count");
  lua_getfield(L, t, "per");
  lua_getfield(L, t, "limit");
  double win = lua_tonumber(L, -4), per = lua_tonumber(L, -2);
  lua_Integer count = lua_tointeger(L, -3), limit = lua_tointeger(L, -1);
  lua_pop(L, 4);
  if (now - win >= per) {
    rl_flush_held(r, t, rule);
    win = now;
    count = 0;
    lua_pushnumber(L, win);
    lua_setfield(L, t, "win");
  }
  lua_pushinteger(L, ++count);
  lua_setfield(L, t, "count");
  if (count <= limit) return 1;
  lua_getfield(L, t, "held");
  lua_pushinteger(L, lua_tointeger(L, -1) + 1);
  lua_setfield(L, t, "held");
  lua_pop(L, 1);
  return 0;
}

/* The summary of a rule's held-back events, once its window is over. */
void rl_flush_held(struct rules *r, int t, int rule) {
  lua_State *L = r->L;
  lua_getfield(L, t, "held");
  lua_Integer held = lua_tointeger(L, -1);
  lua_pop(L, 1);
  if (held <= 0) return;
  lua_pushinteger(L, 0);
  lua_setfield(L, t, "held");
  struct evbuf b = {0};
  rl_head(&b, rl_now(), ++r->seq, "*", "SUPPRESSED", rule);
  lua_getfield(L, t, "per");
  evbuf_printf(&b, ",\"count\":%lld,\"per\":%g}", (long long)held,
               lua_tonumber(L, -1));
  lua_pop(L, 1);
  rl_log(r, &b);
}

int rl_dispatch(struct rules *r) {
  lua_State *L = r->L;
  int ev = lua_gettop(L), matched = 0;
  double now = rl_now();
  lua_getfield(L, ev, "device");
  lua_getfield(L, ev, "event");
  const char *dev = lua_tostring(L, -2), *event = lua_tostring(L, -1);
  lua_rawgeti(L, LUA_REGISTRYINDEX, r->ref_rules);
  int rules = lua_gettop(L);
  for (lua_Integer i = 1; lua_rawgeti(L, rules, i) == LUA_TTABLE; i++) {
    int t = lua_gettop(L);
    lua_getfield(L, t, "pat");
    lua_getfield(L, t, "events");
    int hit = fnmatch(lua_tostring(L, -2), dev, 0) == 0 &&
              (lua_getfield(L, -1, event) != LUA_TNIL ||
               lua_getfield(L, -2, "*") != LUA_TNIL);
    lua_settop(L, t);
    if (hit && rl_rate_ok(r, t, (int)i, now)) {
      matched++;
      lua_getfield(L, t, "jobs");
      rl_log_event(r, ev, (int)i, t + 1);
      rl_run_jobs(r, t + 1, ev, (int)i);
    }
    lua_settop(L, t - 1);
  }
  lua_settop(L, ev - 1);
  return matched;
}

void rl_push_ev(struct rules *r, const char *dev, const char *event, double t,
                int vals) {
  lua_State *L = r->L;
  if (vals) lua_pushvalue(L, vals);
  lua_newtable(L);
  lua_pushstring(L, dev);
  lua_setfield(L, -2, "device");
  lua_pushstring(L, event);
  lua_setfield(L, -2, "event");
  lua_pushnumber(L, t);
  lua_setfield(L, -2, "time");
  lua_pushinteger(L, (lua_Integer)++r->seq);
  lua_setfield(L, -2, "id");
  if (vals)
    lua_insert(L, -2);
  else
    lua_newtable(L);
  lua_setfield(L, -2, "values");
}
