/* ohm.poll(list [, opts]): read many devices in parallel (devices/poll.c).
 * list holds inventory names or URIs (opened and closed here, on worker
 * threads) and/or open device objects (lent to the poller, left open).
 * opts: {jobs=N, driver=, timeout=, retries=}.
 *
 * Returns values, errors: values[key] is the device's name -> value table
 * (as dev:get()), errors[key] the failure message; key is the name or URI
 * given, or the device object itself. Device failures are reported, never
 * thrown; bad arguments raise.
 *
 * Worker threads never touch the lua_State: results are copied into C
 * memory and turned into tables once every device is done. */
#include <lauxlib.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../devices/poll.h"
#include "inventory.h"
#include "ohm.h"

struct lp_item {
  const char *name; /* borrowed from the Lua string, or NULL */
  struct dev *lent; /* a device object's device, or NULL */
  const struct dev_map *map;
  struct dev_value *vals; /* copied results, owned */
  int rc;
  char err[512];
};

struct lp {
  struct lp_item *it;
  size_t n;
  struct inventory *inv;
  struct tp_opts o;
  const char *driver;
};

static int lp_open(void *ctx, size_t i, struct dev **out, struct ohm_error *e) {
  struct lp *p = ctx;
  if (p->it[i].lent) {
    *out = p->it[i].lent;
    return 0;
  }
  return inv_open(p->inv, p->it[i].name, p->driver, &p->o, out, e);
}

static void lp_close(void *ctx, size_t i, struct dev *d) {
  struct lp *p = ctx;
  if (d != p->it[i].lent) dev_close(d);
}

static void lp_done(void *ctx, size_t i, const struct poll_result *r) {
  struct lp_item *it = &((struct lp *)ctx)->it[i];
  it->rc = r->rc;
  if (r->rc < 0) {
    snprintf(it->err, sizeof it->err, "%s", ohm_error_text(&r->err));
    return;
  }
  size_t nv = r->map->nvars ? r->map->nvars : 1;
  if (!(it->vals = malloc(nv * sizeof *it->vals))) {
    it->rc = OHM_ENOMEM;
    snprintf(it->err, sizeof it->err, "out of memory");
    return;
  }
  memcpy(it->vals, r->vals, r->map->nvars * sizeof *it->vals);
  it->map = r->map;
}

/* values table of one device (what dev:get() gives, without its
 * metatable); var errors are left out as there. */
static void push_vals(lua_State *L, const struct lp_item *it) {
  lua_createtable(L, 0, (int)it->map->nvars);
  for (size_t k = 0; k < it->map->nvars; k++) {
    const struct dev_value *v = &it->vals[k];
    if (v->kind == DV_NUM) {
      if (v->num == floor(v->num) && fabs(v->num) < 1e15)
        lua_pushinteger(L, (lua_Integer)v->num);
      else
        lua_pushnumber(L, v->num);
    } else if (v->kind == DV_STR) {
      lua_pushstring(L, v->str);
    } else {
      continue;
    }
    lua_setfield(L, -2, it->map->vars[k].name);
  }
}

/* Read the list at arg 1 into p->it (raises on a bad element). */
static void lp_items(lua_State *L, struct lp *p) {
  luaL_checktype(L, 1, LUA_TTABLE);
  p->n = (size_t)luaL_len(L, 1);
  p->it = lua_newuserdatauv(L, (p->n ? p->n : 1) * sizeof *p->it, 0);
  memset(p->it, 0, (p->n ? p->n : 1) * sizeof *p->it);
  for (size_t i = 0; i < p->n; i++) {
    int t = lua_geti(L, 1, (lua_Integer)i + 1);
    if (t == LUA_TSTRING)
      p->it[i].name = lua_tostring(L, -1); /* anchored by the list */
    else if (!(p->it[i].lent = l_device_test(L, -1)))
      luaL_error(L,
                 "bad argument #1 to 'poll' (element %d: a name, URI "
                 "or open device expected)",
                 (int)i + 1);
    lua_pop(L, 1);
  }
}

static int l_poll(lua_State *L) {
  struct lp p = {0};
  struct ohm_error e;
  lua_Integer jobs = 0;
  ohm_error_clear(&e);
  lua_settop(L, 2); /* list, opts: the items' userdata lands at 3 */
  if (!lua_isnil(L, 2)) luaL_checktype(L, 2, LUA_TTABLE);
  lp_items(L, &p);
  if (lua_istable(L, 2) && lua_getfield(L, 2, "jobs") != LUA_TNIL) {
    jobs = lua_tointeger(L, -1);
    luaL_argcheck(L, jobs >= 1 && jobs <= 1024, 2,
                  "'jobs' must be an integer 1..1024");
  }
  lua_settop(L, 3);
  /* at 2 itself, so a bad option's error names argument #2 */
  l_opts_from_table(L, 2, &p.o, &p.driver, "jobs");
  for (size_t i = 0; i < p.n; i++)
    if (p.it[i].name && !p.inv && !(p.inv = l_ohm_inventory(L, &e)))
      return l_push_error(L, &e);
  struct poll_target *t = lua_newuserdatauv(L, (p.n ? p.n : 1) * sizeof *t, 0);
  for (size_t i = 0; i < p.n; i++)
    t[i] = (struct poll_target){.name = p.it[i].name ? p.it[i].name : "?"};
  struct poll_opts po = {.jobs = (int)jobs,
                         .open = lp_open,
                         .done = lp_done,
                         .close = lp_close,
                         .ctx = &p};
  int rc = poll_run(t, p.n, &po, &e);
  lua_newtable(L); /* values */
  lua_newtable(L); /* errors */
  for (size_t i = 0; i < p.n; i++) {
    struct lp_item *it = &p.it[i];
    lua_geti(L, 1, (lua_Integer)i + 1); /* the key: as given */
    if (rc >= 0 && it->rc == 0 && it->vals) {
      push_vals(L, it);
      lua_settable(L, -4);
    } else {
      lua_pushstring(L, rc < 0       ? ohm_error_text(&e)
                        : it->err[0] ? it->err
                                     : "failed");
      lua_settable(L, -3);
    }
    free(it->vals);
    it->vals = NULL;
  }
  return 2;
}

void l_poll_register(lua_State *L) {
  lua_pushcfunction(L, l_poll);
  lua_setfield(L, -2, "poll");
}
