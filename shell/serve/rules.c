/* The rules engine (see rules.h): loading, the rules thread, events from
 * readings (ups.status flags, answering or not, conditions with a hold
 * time and hysteresis), timers and schedules. */
#include <lauxlib.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cron.h"
#include "rules_int.h"
#include "rules_sb.h"
#include "util/suggest.h"

static const char *const rl_known[] = {
    "ONLINE", "ONBATT",   "LOWBATT", "FSD",       "COMMOK", "COMMBAD",
    "NOCOMM", "REPLBATT", "BYPASS",  "NOTBYPASS", "OVER",   "NOTOVER",
    "CAL",    "NOTCAL",   "OFF",     "NOTOFF",    "ALARM",  "NOTALARM",
    "TRAP",   "*",        NULL};

/* ---- loading ---- */

static int rl_known_event(lua_State *L, const char *ev, int names) {
  for (int i = 0; rl_known[i]; i++)
    if (!strcmp(rl_known[i], ev)) return 1;
  lua_getfield(L, names, ev);
  int ok = !lua_isnil(L, -1);
  lua_pop(L, 1);
  return ok || !strncmp(ev, "TRAP", 4) || !strcmp(ev, "CONFIGDRIFT");
}

/* Every event a rule listens to is NUT's, a trap's, or a when()'s. */
static int rl_check_events(struct rules *r, struct ohm_error *e) {
  lua_State *L = r->L;
  lua_newtable(L); /* names conditions define, and their NOT names */
  int names = lua_gettop(L);
  lua_rawgeti(L, LUA_REGISTRYINDEX, r->ref_rules);
  for (lua_Integer i = 1; lua_rawgeti(L, -1, i) == LUA_TTABLE; i++) {
    if (lua_getfield(L, -1, "name") == LUA_TSTRING) {
      lua_pushboolean(L, 1);
      lua_setfield(L, names, lua_tostring(L, -2));
      lua_pushfstring(L, "NOT%s", lua_tostring(L, -1));
      lua_pushboolean(L, 1);
      lua_settable(L, names);
    }
    lua_pop(L, 2);
  }
  lua_pop(L, 1);
  for (lua_Integer i = 1; lua_rawgeti(L, -1, i) == LUA_TTABLE; i++) {
    lua_getfield(L, -1, "events");
    lua_pushnil(L);
    while (lua_next(L, -2)) {
      const char *ev = lua_tostring(L, -2);
      if (!rl_known_event(L, ev, names)) {
        const char *near = ohm_suggest_best(ev, rl_known, 0);
        ohm_error_set(
            e, OHM_ECONFIG, "rule %lld: unknown event '%s'%s%s%s", (long long)i,
            ev, near ? " (did you mean " : "", near ? near : "",
            near ? "?)" : " (NUT's notify types, TRAP, or a when() name)");
        lua_settop(L, names - 1);
        return OHM_ECONFIG;
      }
      lua_pop(L, 1);
    }
    lua_pop(L, 2);
  }
  lua_settop(L, names - 1);
  return 0;
}

/* The inventory's smtp = { url, from, user, password, starttls } (read
 * under inv_call, as every read of the config). */
static int rl_read_smtp(lua_State *I, void *ud) {
  static const char *const keys[] = {"url",      "from",     "user",
                                     "password", "starttls", NULL};
  struct rules *r = ud;
  if (lua_getglobal(I, "smtp") != LUA_TTABLE) return 0;
  int tab = lua_gettop(I);
  for (int i = 0; keys[i]; i++) { /* every access first: they may raise */
    int t = lua_getfield(I, tab, keys[i]);
    if (t != LUA_TSTRING && t != LUA_TNUMBER && t != LUA_TBOOLEAN)
      lua_pushnil(I), lua_replace(I, -2);
  }
  if (!(r->smtp = calloc(1, sizeof *r->smtp))) return 0;
  for (int i = 0; keys[i]; i++) {
    int idx = tab + 1 + i;
    if (lua_type(I, idx) == LUA_TBOOLEAN)
      job_add_kv(r->smtp, keys[i], lua_toboolean(I, idx) ? "true" : "false");
    else if (!lua_isnil(I, idx))
      job_add_kv(r->smtp, keys[i], lua_tostring(I, idx));
  }
  return 0;
}

/* The inventory's shutdown = { command = {...} }: shutdown{}'s default. */
static int rl_read_shutdown(lua_State *I, void *ud) {
  struct rules *r = ud;
  if (lua_getglobal(I, "shutdown") == LUA_TTABLE &&
      lua_getfield(I, -1, "command") == LUA_TTABLE &&
      (r->down = calloc(1, sizeof *r->down)))
    for (lua_Integer i = 1; lua_rawgeti(I, -1, i) == LUA_TSTRING; i++) {
      job_add_list(r->down, lua_tostring(I, -1));
      lua_pop(I, 1);
    }
  return 0;
}

/* The inventory's snmp_users = { NAME = { auth, auth_pass, priv,
 * priv_pass, engine_id } }: v3 users for trap{user = NAME}. */
static int rl_read_snmp_users(lua_State *I, void *ud) {
  static const char *const keys[] = {"auth",      "auth_pass", "priv",
                                     "priv_pass", "engine_id", NULL};
  struct rules *r = ud;
  if (lua_getglobal(I, "snmp_users") != LUA_TTABLE ||
      !(r->snmpu = calloc(1, sizeof *r->snmpu)))
    return 0;
  for (lua_pushnil(I); lua_next(I, -2); lua_pop(I, 1)) {
    if (lua_type(I, -2) != LUA_TSTRING || !lua_istable(I, -1)) continue;
    char k[200];
    snprintf(k, sizeof k, "%s\t", lua_tostring(I, -2));
    job_add_kv(r->snmpu, k, "");
    for (int i = 0; keys[i]; i++) {
      if (lua_getfield(I, -1, keys[i]) == LUA_TSTRING) {
        snprintf(k, sizeof k, "%s\t%s", lua_tostring(I, -3), keys[i]);
        job_add_kv(r->snmpu, k, lua_tostring(I, -1));
      }
      lua_pop(I, 1);
    }
  }
  return 0;
}

static int rl_copy_inv(struct rules *r, const struct inventory *inv,
                       struct ohm_error *e) {
  int rc = 0;
  if (!inv || !inv->L) return 0;
  if ((rc = inv_call(inv, rl_read_smtp, r, e)) == 0)
    rc = inv_call(inv, rl_read_shutdown, r, e);
  if (rc == 0) rc = inv_call(inv, rl_read_snmp_users, r, e);
  return rc;
}

static int rl_newref(lua_State *L) {
  lua_newtable(L);
  return luaL_ref(L, LUA_REGISTRYINDEX);
}

int rules_load(const char *file, const struct rules_cfg *cfg,
               struct rules **out, struct ohm_error *e) {
  struct rules *r = calloc(1, sizeof *r);
  *out = NULL;
  if (!r) return ohm_error_set(e, OHM_ENOMEM, "out of memory");
  r->cfg = *cfg;
  if (!r->cfg.out) r->cfg.out = stderr;
  pthread_mutex_init(&r->mu, NULL);
  pthread_cond_init(&r->cv, NULL);
  pthread_mutex_init(&r->jmu, NULL);
  pthread_cond_init(&r->jcv, NULL);
  if (!(r->L = rsb_new(r->cfg.out))) {
    rules_free(r);
    return ohm_error_set(e, OHM_ENOMEM, "out of memory");
  }
  lua_State *L = r->L;
  r->ref_rules = rl_newref(L);
  r->ref_every = rl_newref(L);
  r->ref_timers = rl_newref(L);
  r->ref_prev = rl_newref(L);
  r->ref_values = rl_newref(L);
  rl_open_api(r);
  int irc = rl_copy_inv(r, cfg->inv, e);
  if (irc < 0) {
    rules_free(r);
    return irc;
  }
  static const char proxy[] =
      "local setmetatable, next = setmetatable, next\n"
      "return function(values, touched)\n"
      "  return setmetatable({}, {\n"
      "    __index = function(_, k) touched[k] = true; return values[k] end,\n"
      "    __pairs = function() return next, values, nil end})\n"
      "end\n";
  if (luaL_loadstring(L, proxy) != LUA_OK || lua_pcall(L, 0, 1, 0) != LUA_OK) {
    rules_free(r);
    return ohm_error_set(e, OHM_ENOMEM, "out of memory");
  }
  lua_setfield(L, LUA_REGISTRYINDEX, "ohm.rules.proxy");
  int rc = luaL_loadfilex(L, file, "t");
  if (rc == LUA_OK) rc = rsb_pcall(L, 0, 0);
  if (rc != LUA_OK) {
    ohm_error_set(e, OHM_ECONFIG, "%s", lua_tostring(L, -1));
    rules_free(r);
    return OHM_ECONFIG;
  }
  if (rl_check_events(r, e) < 0) {
    rules_free(r);
    return OHM_ECONFIG;
  }
  *out = r;
  return 0;
}

/* ---- describing (--check) ---- */

static void rl_describe_jobs(lua_State *L, int jobs, FILE *f) {
  for (lua_Integer i = 1; lua_rawgeti(L, jobs, i) != LUA_TNIL; i++) {
    const char *k = "function";
    if (lua_istable(L, -1) && lua_getfield(L, -1, "job") == LUA_TSTRING) {
      k = lua_tostring(L, -1);
      lua_pop(L, 1);
    }
    fprintf(f, "%s%s", i > 1 ? ", " : "", k);
    if (!strcmp(k, "after") || !strcmp(k, "cancel")) {
      lua_getfield(L, -1, "name");
      lua_getfield(L, -2, "secs");
      if (lua_isnumber(L, -1))
        fprintf(f, "(%g s, %s: ", lua_tonumber(L, -1), lua_tostring(L, -2));
      else
        fprintf(f, "(%s)", lua_tostring(L, -2));
      lua_pop(L, 2);
      if (!strcmp(k, "after")) {
        lua_getfield(L, -1, "jobs");
        rl_describe_jobs(L, lua_gettop(L), f);
        lua_pop(L, 1);
        fputc(')', f);
      }
    }
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
}

static void rl_describe_rule(lua_State *L, lua_Integer i, FILE *f) {
  int t = lua_gettop(L);
  lua_getfield(L, t, "pat");
  fprintf(f, "rule %lld: on %s", (long long)i, lua_tostring(L, -1));
  if (lua_getfield(L, t, "cond") == LUA_TTABLE) {
    lua_getfield(L, -1, "hold");
    lua_getfield(L, t, "name");
    fprintf(f, " when a condition holds %gs: %s", lua_tonumber(L, -2),
            lua_tostring(L, -1));
  } else {
    lua_getfield(L, t, "events");
    lua_pushnil(L);
    for (int n = 0; lua_next(L, -2); n++) {
      fprintf(f, "%s%s", n ? "," : " ", lua_tostring(L, -2));
      lua_pop(L, 1);
    }
  }
  lua_settop(L, t);
  fputs(" -> ", f);
  lua_getfield(L, t, "jobs");
  rl_describe_jobs(L, t + 1, f);
  lua_getfield(L, t, "limit");
  lua_getfield(L, t, "per");
  fprintf(f, " (at most %g per %g s)\n", lua_tonumber(L, -2),
          lua_tonumber(L, -1));
  lua_settop(L, t);
}

void rules_describe(struct rules *r, FILE *f) {
  lua_State *L = r->L;
  lua_rawgeti(L, LUA_REGISTRYINDEX, r->ref_rules);
  for (lua_Integer i = 1; lua_rawgeti(L, -1, i) == LUA_TTABLE; i++) {
    rl_describe_rule(L, i, f);
    lua_pop(L, 1);
  }
  lua_settop(L, 0);
  lua_rawgeti(L, LUA_REGISTRYINDEX, r->ref_every);
  for (lua_Integer i = 1; lua_rawgeti(L, -1, i) == LUA_TTABLE; i++) {
    char ts[64];
    lua_getfield(L, -1, "expr");
    lua_getfield(L, -2, "next");
    time_t next = (time_t)lua_tonumber(L, -1);
    struct tm tm;
    localtime_r(&next, &tm);
    strftime(ts, sizeof ts, "%Y-%m-%d %H:%M %Z", &tm);
    fprintf(f, "schedule %lld: every '%s' (next %s) -> ", (long long)i,
            lua_tostring(L, -2), ts);
    lua_pop(L, 2);
    lua_getfield(L, -1, "jobs");
    rl_describe_jobs(L, lua_gettop(L), f);
    fputc('\n', f);
    lua_pop(L, 1);
  }
  lua_settop(L, 0);
}
