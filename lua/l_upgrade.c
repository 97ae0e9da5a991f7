/* ohm.upgrade{file=..., targets={...}, jobs=...}: a batch upgrade from a
 * maintenance script (issue 5). No confirmation (the call is the consent),
 * no printing; returns the report table, or nil + message when the batch
 * could not start (bad target, missing file). Bad arguments raise. */
#include <lauxlib.h>
#include <lua.h>
#include <string.h>

#include "ohm.h"
#include "upgrade.h"

/* How many strings t[key] holds (a string: 1, an array: its length). */
static size_t list_len(lua_State *L, const char *key) {
  int ty = lua_getfield(L, 1, key);
  size_t n = ty == LUA_TSTRING ? 1 : ty == LUA_TTABLE ? lua_rawlen(L, -1) : 0;
  lua_pop(L, 1);
  return n;
}

/* Strings of t[key] (a string or an array of strings) into out, at most
 * max (the caller sized out by list_len); they stay alive as long as the
 * argument table does. */
static size_t str_list(lua_State *L, const char *key, const char **out,
                       size_t max) {
  size_t n = 0;
  int ty = lua_getfield(L, 1, key);
  if (ty == LUA_TSTRING && max > 0)
    out[n++] = lua_tostring(L, -1);
  else if (ty == LUA_TTABLE)
    for (lua_Integer i = 1; n < max && lua_rawgeti(L, -1, i) != LUA_TNIL; i++) {
      luaL_argcheck(L, lua_type(L, -1) == LUA_TSTRING, 1,
                    "file/targets entries must be strings");
      out[n++] = lua_tostring(L, -1);
      lua_pop(L, 1);
    }
  else
    luaL_argcheck(L, ty == LUA_TNIL || ty == LUA_TSTRING, 1,
                  "file/targets: string or array");
  lua_pop(L, ty == LUA_TTABLE && n < max ? 2 : 1);
  return n;
}

static double num_field(lua_State *L, const char *key, double def) {
  lua_getfield(L, 1, key);
  double v = luaL_optnumber(L, -1, def);
  lua_pop(L, 1);
  return v;
}

static const char *str_field(lua_State *L, const char *key) {
  lua_getfield(L, 1, key);
  const char *s = luaL_optstring(L, -1, NULL);
  lua_pop(L, 1);
  return s; /* alive while the argument table holds it */
}

static void read_opts(lua_State *L, struct upg_opts *o, struct tp_opts *tp) {
  memset(o, 0, sizeof *o);
  memset(tp, 0, sizeof *tp);
  tp->retries = -1;
  tp->timeout = num_field(L, "timeout", 0);
  o->x.timeout = tp->timeout;
  o->x.retries = (int)num_field(L, "retries", -1);
  o->x.jobs = (int)num_field(L, "jobs", 8);
  o->x.blksize = (long)num_field(L, "blksize", 0);
  o->wait = num_field(L, "wait", 120);
  o->settle = num_field(L, "settle", 5);
  o->remote = str_field(L, "remote_name");
  o->driver = str_field(L, "driver");
  lua_getfield(L, 1, "dry_run");
  o->dry_run = lua_toboolean(L, -1);
  lua_getfield(L, 1, "push");
  o->push = lua_toboolean(L, -1);
  lua_pop(L, 2);
  o->tp = tp;
  o->x.cancel = &tp_interrupted;
}

static void set_str(lua_State *L, const char *k, const char *v) {
  if (v && *v) {
    lua_pushstring(L, v);
    lua_setfield(L, -2, k);
  }
}

static void set_num(lua_State *L, const char *k, double v) {
  lua_pushnumber(L, v);
  lua_setfield(L, -2, k);
}

static void push_target(lua_State *L, const struct upg_batch *b, size_t i) {
  const struct xfer_target *x = &b->xs[i];
  const struct upg_target *t = &b->ts[i];
  int dry_ok = x->state == XS_SKIPPED && b->o.dry_run && !x->err;
  lua_createtable(L, 0, 12);
  set_str(L, "target", t->arg);
  set_str(L, "method", xfer_method_name(x->method));
  set_str(L, "result", dry_ok ? "ok (dry run)" : xfer_state_name(x->state));
  lua_pushboolean(L, x->state == XS_DONE || dry_ok);
  lua_setfield(L, -2, "ok");
  lua_pushinteger(L, (lua_Integer)x->bytes_sent);
  lua_setfield(L, -2, "bytes");
  lua_pushinteger(L, (lua_Integer)x->bytes_total);
  lua_setfield(L, -2, "total");
  set_num(L, "seconds",
          x->t_end > x->t_start && x->t_start > 0 ? x->t_end - x->t_start : 0);
  lua_pushinteger(L, x->attempt);
  lua_setfield(L, -2, "tries");
  lua_pushboolean(L, x->method == XFER_TFTP && !x->no_options);
  lua_setfield(L, -2, "tftp_options");
  set_str(L, "version_before", t->ver_before);
  set_str(L, "version_after", t->ver_after);
  set_str(L, "message", x->msg);
}

static void push_report(lua_State *L, const struct upg_batch *b) {
  size_t ok, failed;
  int status = upg_summary(b, &ok, &failed);
  lua_createtable(L, 0, 8);
  lua_pushinteger(L, (lua_Integer)ok);
  lua_setfield(L, -2, "ok");
  lua_pushinteger(L, (lua_Integer)failed);
  lua_setfield(L, -2, "failed");
  lua_pushinteger(L, status);
  lua_setfield(L, -2, "status");
  set_num(L, "seconds", b->seconds);
  lua_pushboolean(L, b->o.dry_run);
  lua_setfield(L, -2, "dry_run");
  lua_createtable(L, (int)b->nfiles, 0);
  for (size_t k = 0; k < b->nfiles; k++) {
    lua_createtable(L, 0, 4);
    set_str(L, "path", b->files[k].path);
    set_str(L, "remote", b->files[k].remote);
    lua_pushinteger(L, (lua_Integer)b->files[k].size);
    lua_setfield(L, -2, "size");
    set_str(L, "sha256", b->files[k].sha256);
    lua_rawseti(L, -2, (lua_Integer)k + 1);
  }
  lua_setfield(L, -2, "files");
  lua_createtable(L, (int)b->n, 0);
  for (size_t i = 0; i < b->n; i++) {
    push_target(L, b, i);
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
  lua_setfield(L, -2, "targets");
}

static int l_upgrade(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_settop(L, 1);
  size_t mf = list_len(L, "file") + list_len(L, "files");
  size_t mt = list_len(L, "targets");
  luaL_argcheck(L, mf <= UPG_MAX_FILES, 1,
                lua_pushfstring(L, "too many files (%d; at most %d)", (int)mf,
                                UPG_MAX_FILES));
  const char **files = lua_newuserdatauv(L, (mf + 1) * sizeof *files, 0);
  const char **targets = lua_newuserdatauv(L, (mt + 1) * sizeof *targets, 0);
  size_t nf = str_list(L, "file", files, mf);
  nf += str_list(L, "files", files + nf, mf - nf);
  size_t nt = str_list(L, "targets", targets, mt);
  luaL_argcheck(L, nf > 0, 1, "file (or files) is required");
  luaL_argcheck(L, nt > 0, 1, "targets is required");
  struct upg_opts o;
  struct tp_opts tp;
  read_opts(L, &o, &tp);
  struct ohm_error e;
  ohm_error_clear(&e);
  struct inventory *inv = l_ohm_inventory(L, &e);
  if (!inv && e.code < 0) return l_push_error(L, &e);
  struct upg_batch b;
  tp_interrupted = 0;
  int rc = upg_prepare(&b, inv, (char *const *)targets, nt,
                       (char *const *)files, nf, &o, &e);
  if (rc == 0) {
    upg_check(&b);
    rc = upg_run(&b, &e);
  }
  if (rc < 0 && rc != OHM_EINTR) {
    upg_free(&b);
    return l_push_error(L, &e);
  }
  push_report(L, &b);
  upg_free(&b);
  return 1;
}

void l_upgrade_register(lua_State *L) {
  lua_pushcfunction(L, l_upgrade);
  lua_setfield(L, -2, "upgrade");
}
