/* `ohm serve --snmp ADDR | --agentx SOCKET`: the cache's devices through
 * the agent (snmp_agent.h). Every UPS- or battery-like device in RFC 1628
 * UPS-MIB, every device whose own map holds OIDs (bps2000v2) under them;
 * community (v1/v2c) and context (v3, AgentX) = the device's name,
 * read-only. The inventory's `agent = { communities = { NAME = { device =
 * "ups1", set = true } }, users = { NAME = { auth = "SHA", auth_pass =
 * "...", priv = "AES", priv_pass = "...", set = true } } }` adds
 * communities (one device each) and v3 users (any device by context), and
 * grants SET (validated by the map, then written to the device);
 * `traps = { "HOST:PORT", ... }` (community `trap_community`, default
 * public) receive RFC 1628 traps: upsTrapOnBattery when a UPS goes on
 * battery, upsTrapAlarmEntryAdded / Removed for on-battery and low-battery.
 * Values
 * are the cache's: a device not read yet, or failed,
 * shows no object at all, never a stale value as good. */
#include <lua.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../lua/inventory.h"
#include "../serve.h"
#include "snmp_agent.h"
#include "snmp_map.h"

struct sv_snmp_dev {
  struct sv_cache *c;
  char *name;
  int ob, lb, known;       /* the UPS's flags last seen, for traps */
  long alarm_ob, alarm_lb; /* their upsAlarmId while present */
};

static struct sv_snmp_dev **devs; /* each its own: the agent holds them */
static size_t ndevs, cap;
static pthread_mutex_t devs_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_t trap_thread;
static volatile int traps_on, traps_stop;

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
 * known (never opened) is said so and left out. Under devs_lock. */
static int add_device(struct sv_cache *c, size_t i, struct ohm_error *e) {
  unsigned long root[SA_OID_MAX];
  size_t len;
  struct sv_snap s;
  int rc = 0;
  if (sv_cache_snap(c, i, &s) < 0) return 0;
  const struct dev_map *tm = s.map ? sa_map_target(s.map) : NULL;
  struct sv_snmp_dev *d = NULL;
  if (ndevs == cap) {
    struct sv_snmp_dev **nd = realloc(devs, (cap * 2 + 8) * sizeof *nd);
    if (!nd) return sv_snap_free(&s), OHM_ENOMEM;
    devs = nd, cap = cap * 2 + 8;
  }
  if (!tm || sa_map_root(tm, root, &len) < 0) {
    serve_log("snmp: %s: not served (%s)", s.name,
              s.map ? "no UPS-MIB or own OIDs" : "not opened yet");
  } else if ((d = calloc(1, sizeof *d)) && (d->name = strdup(s.name))) {
    d->c = c;
    rc = sa_device_add(s.name, root, len, &serve_source, d, 0, e);
    if (rc == 0) devs[ndevs++] = d, d = NULL;
  }
  if (d) free(d->name), free(d);
  sv_snap_free(&s);
  return rc;
}

/* SIGHUP, after the cache's reload: devices gone are no longer served,
 * new ones are (the agent section is read at start only). */
void serve_snmp_reload(struct sv_cache *c) {
  struct ohm_error e;
  size_t n = sv_cache_count(c);
  struct sv_snap s;
  for (int tries = 0; tries < 50; tries++) { /* maps: known once opened */
    size_t done = 0;
    for (size_t i = 0; i < n; i++)
      if (sv_cache_snap(c, i, &s) == 0) done += s.polled > 0, sv_snap_free(&s);
    if (done == n) break;
    usleep(100000);
  }
  pthread_mutex_lock(&devs_lock);
  for (size_t i = 0; i < ndevs;) {
    int keep = sv_cache_snap_name(c, devs[i]->name, &s) == 0;
    if (keep) sv_snap_free(&s);
    if (keep) {
      i++;
      continue;
    }
    sa_device_del(devs[i]);
    free(devs[i]->name);
    free(devs[i]);
    devs[i] = devs[--ndevs];
  }
  for (size_t i = 0; i < n; i++) {
    int have = 0;
    if (sv_cache_snap(c, i, &s) < 0) continue;
    for (size_t k = 0; k < ndevs && !have; k++)
      have = !strcmp(devs[k]->name, s.name);
    sv_snap_free(&s);
    if (!have && add_device(c, i, &e) < 0)
      serve_log("snmp: reload: %s", ohm_error_text(&e));
  }
  pthread_mutex_unlock(&devs_lock);
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
    struct sv_snmp_dev *d = devs[i];
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

static int load_traps(lua_State *L, struct ohm_error *e);

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
    if (rc == 0) rc = load_traps(L, e);
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

#define UPS ".1.3.6.1.2.1.33."

static void obj_at(struct sa_obj *o, const char *oid, long idx) {
  char t[96];
  memset(o, 0, sizeof *o);
  snprintf(t, sizeof t, idx ? "%s.%ld" : "%s", oid, idx);
  sa_oid_parse(t, 0, o->oid, &o->len);
}

/* upsTrapAlarmEntryAdded / Removed for alarm descr (upsWellKnownAlarms). */
static void alarm_trap(long *id, int added, const char *descr) {
  static long next = 1;
  struct sa_obj v[2];
  if (added) *id = next++;
  obj_at(&v[0], UPS "1.6.2.1.1", *id);
  v[0].num = *id;
  obj_at(&v[1], UPS "1.6.2.1.2", *id);
  v[1].type = SA_STR, v[1].var = -2;
  snprintf(v[1].str, sizeof v[1].str, "%s", descr);
  sa_trap_send(added ? UPS "2.3" : UPS "2.4", v, 2);
}

static int has_word(const char *s, const char *w) {
  size_t n = strlen(w);
  for (const char *p = s; (p = strstr(p, w)); p += n)
    if ((p == s || p[-1] == ' ') && (p[n] == ' ' || !p[n])) return 1;
  return 0;
}

/* One UPS's flags against those last seen; traps for what changed. */
static void watch(struct sv_snmp_dev *d) {
  struct sv_snap s;
  if (sv_cache_snap_name(d->c, d->name, &s) < 0) return;
  const struct dev_var *v = s.map ? dev_map_var(s.map, "ups.status") : NULL;
  const struct dev_value *x = v && s.vals ? &s.vals[v - s.map->vars] : NULL;
  if (x && x->kind == DV_STR && s.state == SV_OK) {
    int ob = has_word(x->str, "OB"), lb = has_word(x->str, "LB");
    if (d->known && ob && !d->ob) {
      const struct dev_var *rt = dev_map_var(s.map, "battery.runtime");
      const struct dev_value *r = rt ? &s.vals[rt - s.map->vars] : NULL;
      struct sa_obj t[2];
      obj_at(&t[0], UPS "1.2.3.0", 0);
      t[0].num = r && r->kind == DV_NUM ? (long)(r->num / 60) : 0;
      obj_at(&t[1], UPS "1.2.2.0", 0);
      sa_trap_send(UPS "2.1", t, 2);
    }
    if (d->known && ob != d->ob) alarm_trap(&d->alarm_ob, ob, UPS "1.6.3.2");
    if (d->known && lb != d->lb) alarm_trap(&d->alarm_lb, lb, UPS "1.6.3.3");
    d->ob = ob, d->lb = lb, d->known = 1;
  }
  sv_snap_free(&s);
}

static void *trap_loop(void *arg) {
  (void)arg;
  while (!traps_stop) {
    pthread_mutex_lock(&devs_lock);
    for (size_t i = 0; i < ndevs; i++)
      watch(devs[i]);
    pthread_mutex_unlock(&devs_lock);
    usleep(250000);
  }
  return NULL;
}

/* agent.traps: "HOST:PORT" strings; starts the watcher if any. */
static int load_traps(lua_State *L, struct ohm_error *e) {
  const char *com = field(L, "trap_community");
  int rc = 0, n = 0;
  if (lua_getfield(L, -1, "traps") == LUA_TTABLE)
    for (lua_pushnil(L); rc == 0 && lua_next(L, -2); lua_pop(L, 1)) {
      const char *t = lua_tostring(L, -1), *colon = t ? strrchr(t, ':') : 0;
      char host[256];
      if (!colon || colon == t)
        rc = ohm_error_set(e, OHM_EINVAL, "agent.traps: \"HOST:PORT\" each");
      else {
        snprintf(host, sizeof host, "%.*s", (int)(colon - t), t);
        rc = sa_trap_sink(host, atoi(colon + 1), com ? com : "public", e);
        n++;
      }
    }
  lua_pop(L, 1);
  if (rc == 0 && n && !traps_on) {
    traps_stop = 0;
    if (pthread_create(&trap_thread, NULL, trap_loop, NULL) == 0) traps_on = 1;
  }
  return rc;
}

int serve_snmp_start(struct sv_cache *c, const char *addr, const char *agentx,
                     struct inventory *inv, struct ohm_error *e) {
  size_t n = sv_cache_count(c);
  int rc, port = 0;
  sv_cache_wait_first(c, 10); /* the maps are known once opened */
  if ((rc = sa_start(agentx, e)) < 0) return rc;
  pthread_mutex_lock(&devs_lock);
  for (size_t i = 0; i < n && rc == 0; i++)
    rc = add_device(c, i, e);
  pthread_mutex_unlock(&devs_lock);
  if (rc == 0) rc = load_agent(inv, e);
  if (rc == 0 && addr) rc = sa_listen(addr, &port, e);
  return rc;
}

void serve_snmp_stop(void) {
  if (traps_on) {
    traps_stop = 1;
    pthread_join(trap_thread, NULL);
    traps_on = 0;
  }
  sa_stop();
  for (size_t i = 0; i < ndevs; i++)
    free(devs[i]->name), free(devs[i]);
  free(devs);
  devs = NULL, ndevs = cap = 0;
}
