/* The rules file's API (on, when, every, the job constructors, values)
 * and what runs when an event matches: rate limits, the event log lines,
 * Lua jobs, timers, and built-in jobs handed to worker threads. */
#include <fnmatch.h>
#include <lauxlib.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cron.h"
#include "rules_int.h"
#include "rules_sb.h"

static struct rules *rl_self(lua_State *L) {
  return lua_touserdata(L, lua_upvalueindex(1));
}

double rl_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---- the file's API ---- */

/* Collect jobs (functions or tables with a `job` field) from index from
 * on into a new list on the stack; a last table without `job` is opts
 * (returned as its index, or 0). */
static int rl_collect_jobs(lua_State *L, int from, int *opts) {
  int top = lua_gettop(L);
  *opts = 0;
  lua_newtable(L);
  for (int i = from, n = 0; i <= top; i++) {
    int t = lua_type(L, i);
    int is_job = t == LUA_TFUNCTION ||
                 (t == LUA_TTABLE && lua_getfield(L, i, "job") == LUA_TSTRING);
    if (t == LUA_TTABLE) lua_pop(L, 1);
    if (!is_job && t == LUA_TTABLE && i == top && i > from) {
      *opts = i;
      break;
    }
    if (!is_job)
      return luaL_error(L,
                        "argument %d: a job (log(), exec{...}, a "
                        "function ...) expected, got %s",
                        i, luaL_typename(L, i));
    lua_pushvalue(L, i);
    lua_rawseti(L, -2, ++n);
  }
  return lua_gettop(L);
}

static void rl_set_events(lua_State *L, int spec) {
  lua_newtable(L);
  if (lua_type(L, spec) == LUA_TSTRING) {
    lua_pushboolean(L, 1);
    lua_setfield(L, -2, lua_tostring(L, spec));
    return;
  }
  luaL_checktype(L, spec, LUA_TTABLE);
  for (lua_Integer i = 1; lua_rawgeti(L, spec, i) == LUA_TSTRING; i++) {
    lua_pushboolean(L, 1);
    lua_settable(L, -3);
  }
  lua_pop(L, 1);
}

/* on(PATTERN, EVENTS | when(...), [NAME], job..., [opts]) */
static int rl_on(lua_State *L) {
  struct rules *r = rl_self(L);
  int opts, next = 3, cond = 0;
  luaL_checkstring(L, 1);
  if (lua_type(L, 2) == LUA_TTABLE &&
      lua_getfield(L, 2, "__when") == LUA_TFUNCTION) {
    cond = 1;
    luaL_checkstring(L, 3);
    next = 4;
  }
  if (lua_type(L, 2) == LUA_TTABLE) lua_pop(L, 1);
  if (lua_gettop(L) < next)
    return luaL_error(L, "on(): no job given (log(), exec{...}, ...)");
  int jobs = rl_collect_jobs(L, next, &opts);
  lua_newtable(L); /* the rule */
  lua_pushvalue(L, 1);
  lua_setfield(L, -2, "pat");
  rl_set_events(L, cond ? 3 : 2);
  lua_setfield(L, -2, "events");
  if (cond) {
    lua_pushvalue(L, 2);
    lua_setfield(L, -2, "cond");
    lua_pushvalue(L, 3);
    lua_setfield(L, -2, "name");
  }
  lua_pushvalue(L, jobs);
  lua_setfield(L, -2, "jobs");
  lua_Number limit = 10, per = 60;
  if (opts) {
    if (lua_getfield(L, opts, "limit") == LUA_TNUMBER)
      limit = lua_tonumber(L, -1);
    if (lua_getfield(L, opts, "per") == LUA_TNUMBER) per = lua_tonumber(L, -1);
    lua_pop(L, 2);
  }
  lua_pushnumber(L, limit);
  lua_setfield(L, -2, "limit");
  lua_pushnumber(L, per);
  lua_setfield(L, -2, "per");
  lua_rawgeti(L, LUA_REGISTRYINDEX, r->ref_rules);
  lua_pushvalue(L, -2);
  lua_rawseti(L, -2, (lua_Integer)lua_rawlen(L, -2) + 1);
  return 0;
}

/* when(function(values) ... end, {hold=, clear=, clear_hold=}) */
static int rl_when(lua_State *L) {
  luaL_checktype(L, 1, LUA_TFUNCTION);
  lua_newtable(L);
  lua_pushvalue(L, 1);
  lua_setfield(L, -2, "__when");
  if (lua_type(L, 2) == LUA_TTABLE) {
    static const char *const keys[] = {"hold", "clear", "clear_hold", NULL};
    for (int i = 0; keys[i]; i++) {
      lua_getfield(L, 2, keys[i]);
      lua_setfield(L, -2, keys[i]);
    }
  }
  return 1;
}

/* every(CRON, job...) */
static int rl_every(lua_State *L) {
  struct rules *r = rl_self(L);
  struct ohm_error e;
  const char *text = luaL_checkstring(L, 1);
  int opts, jobs = rl_collect_jobs(L, 2, &opts);
  if (lua_rawlen(L, jobs) == 0) return luaL_error(L, "every(): no job given");
  struct cron_expr *c = lua_newuserdatauv(L, sizeof *c, 0);
  int ud = lua_gettop(L);
  if (cron_parse(text, c, &e) < 0) return luaL_error(L, "every(): %s", e.msg);
  lua_newtable(L);
  lua_pushvalue(L, 1);
  lua_setfield(L, -2, "expr");
  lua_pushvalue(L, ud);
  lua_setfield(L, -2, "cron");
  lua_pushnumber(L, (lua_Number)cron_next(c, (time_t)rl_now()));
  lua_setfield(L, -2, "next");
  lua_pushvalue(L, jobs);
  lua_setfield(L, -2, "jobs");
  lua_rawgeti(L, LUA_REGISTRYINDEX, r->ref_every);
  lua_pushvalue(L, -2);
  lua_rawseti(L, -2, (lua_Integer)lua_rawlen(L, -2) + 1);
  return 0;
}

/* exec{...}, mail{...}, http{...}, syslog{...}, trap{...}, shutdown{...},
 * log(): a copy of the table with job = KIND. */
static int rl_job_table(lua_State *L) {
  const char *kind = lua_tostring(L, lua_upvalueindex(2));
  lua_newtable(L);
  if (lua_type(L, 1) == LUA_TTABLE) {
    lua_pushnil(L);
    while (lua_next(L, 1)) {
      lua_pushvalue(L, -2);
      lua_insert(L, -2);
      lua_settable(L, -4);
    }
  } else if (!lua_isnoneornil(L, 1)) {
    return luaL_error(L, "%s{...}: a table expected", kind);
  }
  lua_pushstring(L, kind);
  lua_setfield(L, -2, "job");
  int t = lua_gettop(L);
  if (!strcmp(kind, "exec")) {
    const char *p =
        lua_rawgeti(L, t, 1) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
    if (!p || !strchr(p, '/'))
      return luaL_error(L, "exec{...}: the first item is the program's path "
                           "(no shell, no PATH search)");
  }
  const char *need = !strcmp(kind, "http")   ? "url"
                     : !strcmp(kind, "trap") ? "to"
                     : !strcmp(kind, "mail") ? "to"
                                             : NULL;
  if (!strcmp(kind, "config_diff") && (need = "file") && !lua_rawlen(L, t))
    return luaL_error(L, "config_diff{...}: name the devices "
                         "(config_diff{\"pdu1\", file = \"FILE\"})");
  if (need && lua_getfield(L, t, need) == LUA_TNIL)
    return luaL_error(L, "%s{...}: needs %s", kind, need);
  lua_settop(L, t);
  return 1;
}

/* cmd(DEVICE, COMMAND), set(DEVICE, VAR, VALUE), cancel(NAME) */
static int rl_job_args(lua_State *L) {
  const char *kind = lua_tostring(L, lua_upvalueindex(2));
  static const char *const cmd[] = {"device", "command", NULL};
  static const char *const set[] = {"device", "var", "value", NULL};
  static const char *const cancel[] = {"name", NULL};
  const char *const *keys = kind[0] == 'c' && kind[1] == 'm' ? cmd
                            : kind[0] == 's'                 ? set
                                                             : cancel;
  lua_newtable(L);
  for (int i = 0; keys[i]; i++) {
    lua_pushstring(L, luaL_tolstring(L, i + 1, NULL));
    if (lua_isnoneornil(L, i + 1))
      return luaL_error(L, "%s(): argument %d (%s) missing", kind, i + 1,
                        keys[i]);
    lua_setfield(L, -3, keys[i]);
    lua_pop(L, 1);
  }
  lua_pushstring(L, kind);
  lua_setfield(L, -2, "job");
  return 1;
}

/* after(SECONDS, NAME, job...) */
static int rl_after(lua_State *L) {
  lua_Number s = luaL_checknumber(L, 1);
  luaL_checkstring(L, 2);
  luaL_argcheck(L, s >= 0 && s <= 86400 * 7, 1, "seconds in 0..604800");
  int opts, jobs = rl_collect_jobs(L, 3, &opts);
  lua_newtable(L);
  lua_pushstring(L, "after");
  lua_setfield(L, -2, "job");
  lua_pushnumber(L, s);
  lua_setfield(L, -2, "secs");
  lua_pushvalue(L, 2);
  lua_setfield(L, -2, "name");
  lua_pushvalue(L, jobs);
  lua_setfield(L, -2, "jobs");
  return 1;
}

/* values(DEVICE): the latest values read from another device, or nil. */
static int rl_values(lua_State *L) {
  struct rules *r = rl_self(L);
  lua_rawgeti(L, LUA_REGISTRYINDEX, r->ref_values);
  lua_getfield(L, -1, luaL_checkstring(L, 1));
  return 1;
}

void rl_open_api(struct rules *r) {
  lua_State *L = r->L;
  static const char *const tables[] = {"log",      "exec",        "mail",
                                       "http",     "syslog",      "trap",
                                       "shutdown", "config_diff", NULL};
  static const char *const args[] = {"cmd", "set", "cancel", NULL};
  static const struct {
    const char *name;
    lua_CFunction fn;
  } fns[] = {{"on", rl_on},
             {"when", rl_when},
             {"every", rl_every},
             {"after", rl_after},
             {"values", rl_values}};
  for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++) {
    lua_pushlightuserdata(L, r);
    lua_pushcclosure(L, fns[i].fn, 1);
    lua_setglobal(L, fns[i].name);
  }
  for (int k = 0; k < 2; k++)
    for (const char *const *n = k ? args : tables; *n; n++) {
      lua_pushlightuserdata(L, r);
      lua_pushstring(L, *n);
      lua_pushcclosure(L, k ? rl_job_args : rl_job_table, 2);
      lua_setglobal(L, *n);
    }
}
