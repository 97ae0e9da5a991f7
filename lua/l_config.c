/* ohm.config: save, load, diff and apply saved configurations from Lua
 * (lua/config.h does the work; `ohm config` is the same from the shell).
 *   ohm.config.save(dev [, file])          --> the saved table, or nil, msg
 *   ohm.config.load(file)                  --> the table, or nil, msg
 *   ohm.config.diff(file, dev...)          --> { {device=, equal=, error=,
 *                                               differences={...}}, ... }
 *   ohm.config.apply(file, devs [, opts])  --> {ok=, refused=, devices=}
 * dev: a device object or an inventory name / URI (opened with ohm.open);
 * file: a path or a table as save returns it. */
#include <lauxlib.h>
#include <stdlib.h>
#include <string.h>

#include "../devices/poll.h"
#include "config.h"
#include "inventory.h"
#include "ohm.h"

#define BOX_MT "ohm.config.file"

struct box {
  struct cfg_file *f;
};

static int box_gc(lua_State *L) {
  struct box *b = luaL_checkudata(L, 1, BOX_MT);
  cfg_free(b->f);
  b->f = NULL;
  return 0;
}

/* A zeroed cfg_file owned by a userdata pushed on the stack. */
static struct box *new_box(lua_State *L) {
  struct box *b = lua_newuserdatauv(L, sizeof *b, 0);
  b->f = NULL;
  if (luaL_newmetatable(L, BOX_MT)) {
    lua_pushcfunction(L, box_gc);
    lua_setfield(L, -2, "__gc");
  }
  lua_setmetatable(L, -2);
  if (!(b->f = calloc(1, sizeof *b->f))) luaL_error(L, "out of memory");
  return b;
}

/* The file argument at idx (path or table), its box left on the stack;
 * NULL with nil, message pushed when the path cannot be loaded. */
static struct cfg_file *file_arg(lua_State *L, int idx) {
  struct ohm_error e;
  idx = lua_absindex(L, idx);
  if (lua_type(L, idx) == LUA_TTABLE) {
    struct box *b = new_box(L);
    lua_pushvalue(L, idx);
    cfg_table_read(L, b->f);
    lua_pop(L, 1);
    return b->f;
  }
  const char *path = luaL_checkstring(L, idx);
  struct box *b = new_box(L);
  cfg_free(b->f);
  b->f = NULL;
  ohm_error_clear(&e);
  if (cfg_load(path, &b->f, &e) < 0) {
    l_push_error(L, &e);
    return NULL;
  }
  return b->f;
}

static void set_str(lua_State *L, const char *k, const char *v) {
  if (!v) return;
  lua_pushstring(L, v);
  lua_setfield(L, -2, k);
}

static void push_file(lua_State *L, const struct cfg_file *f) {
  lua_createtable(L, 0, 6);
  set_str(L, "device", f->device);
  set_str(L, "driver", f->driver);
  set_str(L, "model", f->model);
  set_str(L, "firmware", f->firmware);
  set_str(L, "time", f->time);
  lua_createtable(L, 0, (int)f->n);
  for (size_t i = 0; i < f->n; i++) {
    double x = f->vals[i].num;
    if (f->vals[i].is_str)
      lua_pushstring(L, f->vals[i].str);
    else if (x == (double)(lua_Integer)x && x > -9e15 && x < 9e15)
      lua_pushinteger(L, (lua_Integer)x); /* 16, not 16.0 */
    else
      lua_pushnumber(L, x);
    lua_setfield(L, -2, f->vals[i].name);
  }
  lua_setfield(L, -2, "values");
  if (!f->nskipped) return;
  lua_createtable(L, (int)f->nskipped, 0);
  for (size_t i = 0; i < f->nskipped; i++) {
    lua_pushstring(L, f->skipped[i]);
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
  lua_setfield(L, -2, "skipped");
}

/* One device of diff/apply: borrowed from a Lua device object that stays
 * on the stack. */
struct l_target {
  const char *name;
  struct dev *d;
  struct cfg_plan plan;
  int rc, stage; /* stage: 0 open, 1 compare/validate, 2 apply */
  struct ohm_error err;
};

/* The device at idx, or the one ohm.open (upvalue 1) gives for a name or
 * URI, which replaces it at idx (anchored there, closed by its __gc). */
static void target_of(lua_State *L, int idx, struct l_target *t) {
  memset(t, 0, sizeof *t);
  ohm_error_clear(&t->err);
  if (lua_type(L, idx) == LUA_TSTRING) {
    t->name = lua_tostring(L, idx);
    lua_getfield(L, lua_upvalueindex(1), "open");
    lua_pushvalue(L, idx);
    lua_call(L, 1, 2);
    if (lua_isnil(L, -2)) {
      t->rc = ohm_error_set(&t->err, OHM_EIO, "%s", lua_tostring(L, -1));
      lua_pop(L, 2);
      return;
    }
    lua_pop(L, 1);
    lua_replace(L, idx);
  }
  if (!(t->d = l_device_test(L, idx)))
    luaL_argerror(L, idx, "a device, an inventory name or a URI expected");
  t->name = l_device_name(L, idx);
}

struct l_batch {
  const struct cfg_file *f;
  struct l_target *t;
  size_t n;
  const char *only;
  int validate;
};

/* Devices on one serial line run on one thread, one after another. */
static const char *target_bus(void *ctx, size_t i) {
  return poll_dev_bus(((struct l_batch *)ctx)->t[i].d);
}

static void plan_one(void *ctx, size_t i) {
  struct l_batch *b = ctx;
  struct l_target *t = &b->t[i];
  if (t->rc < 0) return;
  t->stage = 1;
  t->rc = cfg_plan(t->d, b->f, b->only, b->validate, &t->plan, &t->err);
}

static void apply_one(void *ctx, size_t i) {
  struct l_batch *b = ctx;
  struct l_target *t = &b->t[i];
  if (t->rc < 0 || !t->plan.n) return;
  t->stage = 2;
  t->rc = cfg_apply(t->d, &t->plan, &t->err);
}

static int batch_gc(lua_State *L) {
  struct l_batch *b = lua_touserdata(L, 1);
  for (size_t i = 0; b->t && i < b->n; i++)
    cfg_plan_free(&b->t[i].plan);
  free(b->t);
  b->t = NULL;
  return 0;
}

/* The targets of the devices at first..last, in a userdata pushed on the
 * stack that frees the plans. */
static struct l_batch *batch_new(lua_State *L, int first, int last) {
  struct l_batch *b = lua_newuserdatauv(L, sizeof *b, 0);
  memset(b, 0, sizeof *b);
  lua_createtable(L, 0, 1);
  lua_pushcfunction(L, batch_gc);
  lua_setfield(L, -2, "__gc");
  lua_setmetatable(L, -2);
  b->n = last >= first ? (size_t)(last - first + 1) : 0;
  if (b->n && !(b->t = calloc(b->n, sizeof *b->t)))
    luaL_error(L, "out of memory");
  for (size_t i = 0; i < b->n; i++) {
    target_of(L, first + (int)i, &b->t[i]);
    for (size_t k = 0; b->t[i].d && k < i; k++) /* one thread per device */
      luaL_argcheck(L, b->t[k].d != b->t[i].d, first + (int)i,
                    "the same device twice");
  }
  return b;
}

static int l_save(lua_State *L) {
  struct ohm_error e;
  struct l_target t;
  const char *path = luaL_optstring(L, 2, NULL);
  lua_settop(L, 2);
  target_of(L, 1, &t);
  if (t.rc < 0) return l_push_error(L, &t.err);
  struct box *b = new_box(L);
  cfg_free(b->f);
  b->f = NULL;
  ohm_error_clear(&e);
  if (cfg_snapshot(t.d, t.name, &b->f, &e) < 0) return l_push_error(L, &e);
  if (path) {
    char *text = cfg_render(b->f, t.d->map);
    int rc = text ? cfg_write_file(path, text, &e)
                  : ohm_error_set(&e, OHM_ENOMEM, "out of memory");
    free(text);
    if (rc < 0) return l_push_error(L, &e);
  }
  push_file(L, b->f);
  return 1;
}

static int l_load(lua_State *L) {
  const struct cfg_file *f = file_arg(L, 1);
  if (!f) return 2;
  push_file(L, f);
  return 1;
}

static void push_error_field(lua_State *L, const struct l_target *t) {
  if (t->rc < 0) set_str(L, "error", ohm_error_text(&t->err));
}

static void push_diff(lua_State *L, const struct l_target *t) {
  lua_createtable(L, 0, 4);
  set_str(L, "device", t->name);
  lua_pushboolean(L, t->rc == 0 && !t->plan.n);
  lua_setfield(L, -2, "equal");
  push_error_field(L, t);
  lua_createtable(L, (int)t->plan.n, 0);
  for (size_t k = 0; t->rc == 0 && k < t->plan.n; k++) {
    lua_createtable(L, 0, 3);
    set_str(L, "name", t->plan.ch[k].var->name);
    set_str(L, "device", t->plan.ch[k].dev_text);
    set_str(L, "file", t->plan.ch[k].file_text);
    lua_rawseti(L, -2, (lua_Integer)k + 1);
  }
  lua_setfield(L, -2, "differences");
}

/* Devices from a table (array) at idx, moved onto the stack's top. */
static int spread(lua_State *L, int idx) {
  int n = (int)luaL_len(L, idx);
  luaL_checkstack(L, n + 8, "too many devices");
  for (int i = 1; i <= n; i++)
    lua_geti(L, idx, i);
  return n;
}

/* The devices of diff/apply: a table at idx (its elements pushed), or the
 * arguments idx..nargs. */
static struct l_batch *devices_arg(lua_State *L, int idx, int nargs) {
  int first = idx, last = nargs;
  if (lua_type(L, idx) == LUA_TTABLE) {
    first = lua_gettop(L) + 1;
    last = first + spread(L, idx) - 1;
  }
  luaL_argcheck(L, last >= first, idx, "no device given");
  return batch_new(L, first, last);
}

static int l_diff(lua_State *L) {
  int nargs = lua_gettop(L);
  const struct cfg_file *f = file_arg(L, 1);
  if (!f) return 2;
  struct l_batch *b = devices_arg(L, 2, nargs);
  b->f = f;
  cfg_parallel(b->n, 8, target_bus, plan_one, NULL, b);
  lua_createtable(L, (int)b->n, 0);
  for (size_t i = 0; i < b->n; i++) {
    push_diff(L, &b->t[i]);
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
  return 1;
}

static const char *const state_word[] = {"planned", "written", "mismatch",
                                         "failed", "not sent"};

static void push_change(lua_State *L, const struct cfg_change *c) {
  lua_createtable(L, 0, 6);
  set_str(L, "name", c->var->name);
  set_str(L, "before", c->dev_text);
  set_str(L, "after", c->file_text);
  set_str(L, "readback", c->back_text);
  set_str(L, "result", state_word[c->state]);
  if (c->msg[0]) set_str(L, "message", c->msg);
}

static int refused(const struct l_target *t) {
  return t->stage == 1 && t->rc < 0 && t->plan.refused;
}

static void push_applied(lua_State *L, const struct l_target *t, int dry,
                         int any_refused) {
  const char *res = t->rc < 0     ? (refused(t) ? "refused" : "failed")
                    : any_refused ? "not written"
                    : !t->plan.n  ? "equal"
                    : dry         ? "dry-run"
                                  : "applied";
  lua_createtable(L, 0, 4);
  set_str(L, "device", t->name);
  set_str(L, "result", res);
  push_error_field(L, t);
  lua_createtable(L, (int)t->plan.n, 0);
  for (size_t k = 0; k < t->plan.n; k++) {
    push_change(L, &t->plan.ch[k]);
    lua_rawseti(L, -2, (lua_Integer)k + 1);
  }
  lua_setfield(L, -2, "changes");
}

/* opts.only: "a,b" or {"a", "b"}, as one comma-separated string on the
 * stack (anchored there). */
static const char *only_opt(lua_State *L, int opts) {
  int t = lua_getfield(L, opts, "only");
  if (t == LUA_TNIL || t == LUA_TSTRING) return lua_tostring(L, -1);
  luaL_argcheck(L, t == LUA_TTABLE, opts, "'only' must be a string or a list");
  int list = lua_gettop(L);
  lua_Integer n = luaL_len(L, list);
  luaL_Buffer buf;
  luaL_buffinit(L, &buf);
  for (lua_Integer i = 1; i <= n; i++) {
    lua_geti(L, list, i);
    luaL_argcheck(L, lua_type(L, -1) == LUA_TSTRING, opts,
                  "'only' must list variable names");
    if (i > 1) luaL_addchar(&buf, ',');
    luaL_addvalue(&buf);
  }
  luaL_pushresult(&buf);
  return lua_tostring(L, -1);
}

static int l_apply(lua_State *L) {
  int dry = 0, jobs = 8, nref = 0, failed = 0;
  const char *only = NULL;
  lua_settop(L, 3);
  if (!lua_isnil(L, 3)) {
    luaL_checktype(L, 3, LUA_TTABLE);
    lua_getfield(L, 3, "dry_run");
    dry = lua_toboolean(L, -1);
    if (lua_getfield(L, 3, "jobs") != LUA_TNIL)
      jobs = (int)luaL_checkinteger(L, -1);
    luaL_argcheck(L, jobs >= 1 && jobs <= 64, 3, "'jobs' must be 1..64");
    only = only_opt(L, 3);
  }
  const struct cfg_file *f = file_arg(L, 1);
  if (!f) return 2;
  struct l_batch *b = devices_arg(L, 2, 2);
  b->f = f;
  b->only = only;
  b->validate = 1;
  cfg_parallel(b->n, jobs, target_bus, plan_one, NULL, b);
  for (size_t i = 0; i < b->n; i++)
    nref += refused(&b->t[i]);
  if (!nref && !dry) cfg_parallel(b->n, jobs, target_bus, apply_one, NULL, b);
  lua_createtable(L, 0, 3);
  lua_createtable(L, (int)b->n, 0);
  for (size_t i = 0; i < b->n; i++) {
    failed += b->t[i].rc < 0;
    push_applied(L, &b->t[i], dry, nref);
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
  lua_setfield(L, -2, "devices");
  lua_pushboolean(L, !failed);
  lua_setfield(L, -2, "ok");
  lua_pushboolean(L, nref > 0);
  lua_setfield(L, -2, "refused");
  return 1;
}

static const luaL_Reg config_funcs[] = {{"save", l_save},
                                        {"load", l_load},
                                        {"diff", l_diff},
                                        {"apply", l_apply},
                                        {NULL, NULL}};

/* The module table is on top: ohm.config, its functions with the module
 * as upvalue (for ohm.open). */
void l_config_register(lua_State *L) {
  lua_createtable(L, 0, 4);
  lua_pushvalue(L, -2);
  luaL_setfuncs(L, config_funcs, 1);
  lua_setfield(L, -2, "config");
}
