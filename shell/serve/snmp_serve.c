/* `ohm serve --snmp ADDR | --agentx SOCKET`: the cache's devices through
 * the agent (snmp_agent.h). Every UPS- or battery-like device in RFC 1628
 * UPS-MIB, every device whose own map holds OIDs (bps2000v2) under them;
 * community (v1/v2c) and context (v3, AgentX) = the device's name,
 * read-only. The inventory's `agent = { communities = { NAME = { device =
 * "ups1", set = true } }, users = { NAME = { auth = "SHA", auth_pass =
 * "...", priv = "AES", priv_pass = "...", set = true } } }` adds
 * communities (one device each) and v3 users (any device by context), and
 * grants SET (validated by the map, then written to the device). Values
 * are the cache's: a device not read yet, or failed,
 * shows no object at all, never a stale value as good. */
#include <lua.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../lua/inventory.h"
#include "../serve.h"
#include "snmp_agent.h"
#include "snmp_map.h"

struct sv_snmp_dev {
  struct sv_cache *c;
  char *name;
};

static struct sv_snmp_dev *devs;
static size_t ndevs;

static int serve_objects(void *ctx, struct sa_obj **tab, size_t *n) {
  struct sv_snmp_dev *d = ctx;
  struct sv_snap s;
  int rc = -1;
  if (sv_cache_snap_name(d->c, d->name, &s) < 0) return -1;
  const struct dev_map *tm = s.map ? sa_map_target(s.map) : NULL;
  if (tm && s.vals && (s.state == SV_OK || s.state == SV_STALE))
    rc = sa_map_objects(tm, s.map, s.vals, tab, n);
  sv_snap_free(&s);
  return rc;
}

static int serve_set(void *ctx, const struct sa_obj *o, const struct sa_obj *v,
                     struct ohm_error *e) {
  struct sv_snmp_dev *d = ctx;
  struct sv_snap s;
  char text[128];
  int rc;
  if ((rc = sv_cache_snap_name(d->c, d->name, &s)) < 0)
    return ohm_error_set(e, rc, "%s: gone", d->name);
  const struct dev_map *tm = s.map ? sa_map_target(s.map) : NULL;
  if (!tm || o->var < 0 || (size_t)o->var >= tm->nvars)
    rc = ohm_error_set(e, OHM_EACCES, "read-only");
  else if ((rc = sa_map_text(tm, o, v, text, sizeof text, e)) == 0)
    rc = sv_cache_set(d->c, d->name, tm->vars[o->var].name, text, e);
  if (rc < 0)
    serve_log("snmp: SET on %s refused: %s", d->name, ohm_error_text(e));
  sv_snap_free(&s);
  return rc;
}

static const struct sa_source serve_source = {serve_objects, serve_set};

/* Serve device i under its map's subtree; a device whose map is not
 * known (never opened) is said so and left out. */
static int add_device(struct sv_cache *c, size_t i, struct ohm_error *e) {
  unsigned long root[SA_OID_MAX];
  size_t len;
  struct sv_snap s;
  int rc = 0;
  if (sv_cache_snap(c, i, &s) < 0) return 0;
  const struct dev_map *tm = s.map ? sa_map_target(s.map) : NULL;
  struct sv_snmp_dev *d = &devs[ndevs];
  if (!tm || sa_map_root(tm, root, &len) < 0) {
    serve_log("snmp: %s: not served (%s)", s.name,
              s.map ? "no UPS-MIB or own OIDs" : "not opened yet");
  } else if ((d->name = strdup(s.name))) {
    d->c = c;
    rc = sa_device_add(s.name, root, len, &serve_source, d, 0, e);
    if (rc == 0)
      ndevs++;
    else
      free(d->name);
  }
  sv_snap_free(&s);
  return rc;
}

static const char *field(lua_State *L, const char *k) {
  lua_getfield(L, -1, k);
  const char *v = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
  lua_pop(L, 1); /* the string stays in the table, which stays */
  return v;
}

static int flag(lua_State *L, const char *k) {
  lua_getfield(L, -1, k);
  int v = lua_toboolean(L, -1);
  lua_pop(L, 1);
  return v;
}

/* One more community for a device already served (found by name). */
static int add_community(const char *community, const char *dev, int set,
                         struct ohm_error *e) {
  for (size_t i = 0; i < ndevs; i++) {
    struct sv_snmp_dev *d = &devs[i];
    struct sv_snap s;
    unsigned long root[SA_OID_MAX];
    size_t len;
    int rc = -1;
    if (strcmp(d->name, dev) || sv_cache_snap_name(d->c, dev, &s) < 0) continue;
    const struct dev_map *tm = s.map ? sa_map_target(s.map) : NULL;
    if (tm && sa_map_root(tm, root, &len) == 0)
      rc = sa_device_add(community, root, len, &serve_source, d, set, e);
    sv_snap_free(&s);
    return rc < 0 && e->code ? rc : 0;
  }
  return ohm_error_set(e, OHM_EINVAL,
                       "agent: community for unknown device "
                       "'%.40s'",
                       dev);
}

/* The inventory's agent section (see the top of this file). */
static int load_agent(struct inventory *inv, struct ohm_error *e) {
  lua_State *L = inv ? inv->L : NULL;
  int rc = 0;
  if (!L) return 0;
  int top = lua_gettop(L);
  if (lua_getglobal(L, "agent") == LUA_TTABLE) {
    if (lua_getfield(L, -1, "communities") == LUA_TTABLE)
      for (lua_pushnil(L); rc == 0 && lua_next(L, -2); lua_pop(L, 1)) {
        const char *dev = lua_istable(L, -1) ? field(L, "device") : NULL;
        if (lua_type(L, -2) != LUA_TSTRING || !dev)
          rc = ohm_error_set(e, OHM_EINVAL,
                             "agent.communities: each is "
                             "NAME = { device = \"...\" }");
        else
          rc = add_community(lua_tostring(L, -2), dev, flag(L, "set"), e);
      }
    lua_settop(L, top + 1);
    if (rc == 0 && lua_getfield(L, -1, "users") == LUA_TTABLE)
      for (lua_pushnil(L); rc == 0 && lua_next(L, -2); lua_pop(L, 1)) {
        if (lua_type(L, -2) != LUA_TSTRING || !lua_istable(L, -1))
          rc = ohm_error_set(e, OHM_EINVAL, "agent.users: NAME = { ... }");
        else
          rc = sa_user_add(lua_tostring(L, -2), field(L, "auth"),
                           field(L, "auth_pass"), field(L, "priv"),
                           field(L, "priv_pass"), flag(L, "set"), e);
      }
  }
  lua_settop(L, top);
  return rc;
}

int serve_snmp_start(struct sv_cache *c, const char *addr, const char *agentx,
                     struct inventory *inv, struct ohm_error *e) {
  size_t n = sv_cache_count(c);
  int rc, port = 0;
  if (!(devs = calloc(n + 1, sizeof *devs)))
    return ohm_error_set(e, OHM_ENOMEM, "out of memory");
  sv_cache_wait_first(c, 10); /* the maps are known once opened */
  if ((rc = sa_start(agentx, e)) < 0) return rc;
  for (size_t i = 0; i < n && rc == 0; i++)
    rc = add_device(c, i, e);
  if (rc == 0) rc = load_agent(inv, e);
  if (rc == 0 && addr) rc = sa_listen(addr, &port, e);
  return rc;
}

void serve_snmp_stop(void) {
  sa_stop();
  for (size_t i = 0; i < ndevs; i++)
    free(devs[i].name);
  free(devs);
  devs = NULL, ndevs = 0;
}
