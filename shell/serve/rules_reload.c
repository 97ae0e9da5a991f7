/* Rules reloaded (SIGHUP): what the new rules take over from the old.
 * Kept: each device's last status flags and values (so a reload fires
 * no ONLINE, ONBATT or COMMOK anew), event ids, the state of a when()
 * rule whose pattern, name, hold and clear_hold are unchanged (its hold
 * time keeps counting, an active condition stays active), and a running
 * timer whose name an after() of the new rules still starts (it fires
 * at its old due time with the new after()'s jobs). Reset: a changed or
 * new condition, timers no after() names any more (dropped), and every
 * rule's rate-limit window. Both rules threads are stopped meanwhile. */
#include <lauxlib.h>
#include <stdio.h>
#include <string.h>

#include "rules_int.h"

#define RL_COPY_DEPTH 8

void rules_stop(struct rules *r) {
  if (!r || !r->started) return;
  pthread_mutex_lock(&r->mu);
  r->stop = 1;
  pthread_cond_signal(&r->cv);
  pthread_mutex_unlock(&r->mu);
  pthread_join(r->thread, NULL);
  r->started = 0;
}

/* Push onto `to` a copy of the plain data at idx of `from` (strings,
 * numbers, booleans, tables of them); anything else becomes nil. */
static void rl_xcopy(lua_State *from, int idx, lua_State *to, int depth) {
  size_t n;
  const char *s;
  switch (lua_type(from, idx)) {
  case LUA_TNUMBER:
    if (lua_isinteger(from, idx))
      lua_pushinteger(to, lua_tointeger(from, idx));
    else
      lua_pushnumber(to, lua_tonumber(from, idx));
    return;
  case LUA_TBOOLEAN:
    lua_pushboolean(to, lua_toboolean(from, idx));
    return;
  case LUA_TSTRING:
    s = lua_tolstring(from, idx, &n);
    lua_pushlstring(to, s, n);
    return;
  case LUA_TTABLE:
    break;
  default:
    lua_pushnil(to);
    return;
  }
  idx = lua_absindex(from, idx);
  lua_newtable(to);
  if (depth <= 0) return;
  for (lua_pushnil(from); lua_next(from, idx); lua_pop(from, 1)) {
    int kt = lua_type(from, -2);
    if (kt != LUA_TSTRING && kt != LUA_TNUMBER) continue;
    rl_xcopy(from, -2, to, 0);
    rl_xcopy(from, -1, to, depth - 1);
    if (lua_isnil(to, -2) || lua_isnil(to, -1))
      lua_pop(to, 2);
    else
      lua_rawset(to, -3);
  }
}

static void rl_copy_ref(struct rules *o, struct rules *n, int oref, int nref) {
  lua_rawgeti(o->L, LUA_REGISTRYINDEX, oref);
  rl_xcopy(o->L, -1, n->L, RL_COPY_DEPTH);
  lua_rawseti(n->L, LUA_REGISTRYINDEX, nref);
  lua_pop(o->L, 1);
}

/* "pat\nname\nhold\nclear_hold" of the when() rule at top, or "". */
static void rl_cond_sig(lua_State *L, char *buf, size_t cap) {
  buf[0] = 0;
  if (lua_getfield(L, -1, "cond") == LUA_TTABLE) {
    lua_getfield(L, -2, "pat");
    lua_getfield(L, -3, "name");
    lua_getfield(L, -3, "hold");
    lua_getfield(L, -4, "clear_hold");
    snprintf(buf, cap, "%s\n%s\n%.17g\n%.17g", lua_tostring(L, -4),
             lua_tostring(L, -3), lua_tonumber(L, -2), lua_tonumber(L, -1));
    lua_pop(L, 4);
  }
  lua_pop(L, 1);
}

/* The state of every unchanged when() rule; how many were kept. */
static int rl_carry_conds(struct rules *o, struct rules *n) {
  lua_State *L = n->L, *O = o->L;
  int kept = 0;
  char a[512], b[512];
  lua_rawgeti(L, LUA_REGISTRYINDEX, n->ref_rules);
  lua_rawgeti(O, LUA_REGISTRYINDEX, o->ref_rules);
  int ot = lua_gettop(O);
  for (lua_Integer i = 1; lua_rawgeti(L, -1, i) == LUA_TTABLE; i++) {
    rl_cond_sig(L, a, sizeof a);
    for (lua_Integer k = 1; a[0] && lua_rawgeti(O, ot, k) == LUA_TTABLE; k++) {
      rl_cond_sig(O, b, sizeof b);
      if (!strcmp(a, b)) {
        if (lua_getfield(O, -1, "state") == LUA_TTABLE) {
          rl_xcopy(O, -1, L, RL_COPY_DEPTH);
          lua_setfield(L, -2, "state");
          kept++;
        }
        lua_pop(O, 1);
        a[0] = 0; /* one old rule per new one */
      }
      lua_pop(O, 1);
    }
    lua_settop(O, ot);
    lua_pop(L, 1);
  }
  lua_pop(L, 2);
  lua_settop(O, ot - 1);
  return kept;
}

/* Push the after() job named name in the jobs list at top of L (or in
 * those of its after()s), returning 1, else 0 with nothing pushed. */
static int rl_find_after(lua_State *L, const char *name, int depth) {
  int jobs = lua_gettop(L);
  for (lua_Integer i = 1; lua_rawgeti(L, jobs, i) != LUA_TNIL; i++) {
    if (lua_istable(L, -1) && lua_getfield(L, -1, "job") == LUA_TSTRING &&
        !strcmp(lua_tostring(L, -1), "after")) {
      lua_getfield(L, -2, "name");
      int same = !strcmp(lua_tostring(L, -1), name);
      lua_pop(L, 2);
      if (same) return 1;
      lua_getfield(L, -1, "jobs");
      if (depth > 0 && rl_find_after(L, name, depth - 1)) {
        lua_replace(L, jobs + 1);
        lua_settop(L, jobs + 1);
        return 1;
      }
    }
    lua_settop(L, jobs);
  }
  lua_settop(L, jobs);
  return 0;
}

/* A running timer (old state, at top of O, named name) into n's
 * timers, with the new after()'s jobs; 1 if it was kept. */
static int rl_carry_timer(struct rules *n, lua_State *O, const char *name) {
  lua_State *L = n->L;
  int base = lua_gettop(L);
  lua_rawgeti(L, LUA_REGISTRYINDEX, n->ref_rules);
  for (lua_Integer i = 1; lua_rawgeti(L, base + 1, i) == LUA_TTABLE; i++) {
    lua_getfield(L, -1, "jobs");
    if (rl_find_after(L, name, 4)) {
      lua_rawgeti(L, LUA_REGISTRYINDEX, n->ref_timers);
      lua_newtable(L);
      lua_getfield(L, -3, "jobs");
      lua_setfield(L, -2, "jobs");
      lua_getfield(O, -1, "due");
      lua_pushnumber(L, lua_tonumber(O, -1));
      lua_setfield(L, -2, "due");
      lua_getfield(O, -2, "ev");
      rl_xcopy(O, -1, L, RL_COPY_DEPTH);
      lua_setfield(L, -2, "ev");
      lua_pop(O, 2);
      lua_pushinteger(L, i);
      lua_setfield(L, -2, "rule");
      lua_setfield(L, -2, name);
      lua_settop(L, base);
      return 1;
    }
    lua_settop(L, base + 1);
  }
  lua_settop(L, base);
  return 0;
}

static void rl_carry_timers(struct rules *o, struct rules *n, int *kept,
                            int *dropped) {
  lua_State *O = o->L;
  lua_rawgeti(O, LUA_REGISTRYINDEX, o->ref_timers);
  for (lua_pushnil(O); lua_next(O, -2); lua_pop(O, 1)) {
    if (lua_type(O, -2) != LUA_TSTRING || !lua_istable(O, -1)) continue;
    if (rl_carry_timer(n, O, lua_tostring(O, -2)))
      ++*kept;
    else
      ++*dropped;
  }
  lua_settop(O, 0);
}

struct rl_carry {
  struct rules *o, *n;
  struct rules_carried *out;
};

static int rl_carry_main(lua_State *L) {
  struct rl_carry *c = lua_touserdata(L, 1);
  lua_settop(L, 0);
  rl_copy_ref(c->o, c->n, c->o->ref_prev, c->n->ref_prev);
  rl_copy_ref(c->o, c->n, c->o->ref_values, c->n->ref_values);
  c->out->conditions = rl_carry_conds(c->o, c->n);
  rl_carry_timers(c->o, c->n, &c->out->timers, &c->out->dropped);
  return 0;
}

int rules_carry(struct rules *o, struct rules *n, struct rules_carried *out) {
  struct rl_carry c = {o, n, out};
  memset(out, 0, sizeof *out);
  n->seq = o->seq;
  lua_settop(o->L, 0);
  lua_settop(n->L, 0);
  lua_pushcfunction(n->L, rl_carry_main);
  lua_pushlightuserdata(n->L, &c);
  int rc = lua_pcall(n->L, 1, 0, 0); /* memory errors in the new state */
  lua_settop(n->L, 0);
  lua_settop(o->L, 0);
  return rc == LUA_OK ? 0 : OHM_ENOMEM;
}
