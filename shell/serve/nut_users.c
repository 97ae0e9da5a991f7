/* NUT users from the inventory's `nut.users` table (nut_users.h). */
#include "nut_users.h"

#include <lauxlib.h>
#include <lua.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "login.h"

struct nut_user {
  char *name, *password;
  int can_set;
  int primary;    /* upsmon = "primary": may PRIMARY/MASTER and FSD */
  char *instcmds; /* " a b c " or " all " */
};

static struct {
  int loaded; /* users were loaded: reloads replace them */
  struct nut_user *users;
  size_t nusers;
} nut;

static pthread_rwlock_t users_lock = PTHREAD_RWLOCK_INITIALIZER;

/* A string or an array of strings at idx as " a b c " into buf. Called
 * under inv_call: a metamethod may raise, so nothing here is allocated. */
static void list_of(lua_State *L, int idx, char *buf, size_t size) {
  snprintf(buf, size, " ");
  if (lua_type(L, idx) == LUA_TSTRING) {
    snprintf(buf, size, " %s ", lua_tostring(L, idx));
    return;
  }
  for (lua_Integer k = 1;
       lua_istable(L, idx) && lua_geti(L, idx, k) == LUA_TSTRING; k++) {
    size_t n = strlen(buf);
    snprintf(buf + n, size - n, "%s ", lua_tostring(L, -1));
    lua_pop(L, 1);
  }
  if (lua_istable(L, idx)) lua_pop(L, 1);
}

/* Every Lua access first (they may raise), then the copies. */
static void load_user(lua_State *L, const char *name) {
  char acts[2048], cmds[2048];
  lua_getfield(L, -1, "password");
  lua_getfield(L, -2, "actions");
  list_of(L, lua_gettop(L), acts, sizeof acts);
  lua_getfield(L, -3, "instcmds");
  list_of(L, lua_gettop(L), cmds, sizeof cmds);
  lua_getfield(L, -4, "upsmon"); /* "primary" (or "master") may set FSD */
  const char *mon = lua_isstring(L, -1) ? lua_tostring(L, -1) : "";
  int primary = !strcmp(mon, "primary") || !strcmp(mon, "master");
  lua_pop(L, 1);
  const char *pw = lua_isstring(L, -3) ? lua_tostring(L, -3) : NULL;
  struct nut_user *u = realloc(nut.users, (nut.nusers + 1) * sizeof *u);
  if (u) nut.users = u;
  if (!u || !pw) {
    lua_pop(L, 3);
    return;
  }
  u = &nut.users[nut.nusers];
  memset(u, 0, sizeof *u);
  u->password = strdup(pw);
  u->can_set = strcasestr(acts, " set ") != NULL;
  u->primary = primary;
  u->instcmds = strdup(cmds);
  u->name = strdup(name);
  lua_pop(L, 3);
  if (u->name && u->password && u->instcmds)
    nut.nusers++;
  else {
    free(u->name);
    free(u->password);
    free(u->instcmds);
  }
}

static void free_users(void);

static int read_users(lua_State *L, void *ud) {
  (void)ud;
  if (lua_getglobal(L, "nut") == LUA_TTABLE &&
      lua_getfield(L, -1, "users") == LUA_TTABLE) {
    lua_pushnil(L);
    while (lua_next(L, -2)) {
      if (lua_type(L, -2) == LUA_TSTRING && lua_istable(L, -1))
        load_user(L, lua_tostring(L, -2));
      lua_pop(L, 1);
    }
  }
  return 0;
}

static void free_users(void) {
  for (size_t i = 0; i < nut.nusers; i++) {
    free(nut.users[i].name);
    if (nut.users[i].password)
      memset(nut.users[i].password, 0, strlen(nut.users[i].password));
    free(nut.users[i].password);
    free(nut.users[i].instcmds);
  }
  free(nut.users);
  nut.users = NULL;
  nut.nusers = 0;
}

int nutu_load(struct inventory *inv, struct ohm_error *e) {
  pthread_rwlock_wrlock(&users_lock);
  free_users();
  int rc = inv_call(inv, read_users, NULL, e);
  if (rc < 0)
    free_users();
  else
    nut.loaded = 1;
  pthread_rwlock_unlock(&users_lock);
  return rc;
}

void serve_nut_reload(struct inventory *inv) {
  struct ohm_error e;
  if (nut.loaded && nutu_load(inv, &e) < 0)
    serve_log("reload: NUT users: %s", ohm_error_text(&e));
}

void nutu_free(void) {
  pthread_rwlock_wrlock(&users_lock);
  free_users();
  nut.loaded = 0;
  pthread_rwlock_unlock(&users_lock);
}

/* Every password is compared, in constant time, so the time says nothing
 * about which user exists. */
int nutu_auth(const char *user, const char *pass, struct nut_grant *g) {
  int rc = -1;
  pthread_rwlock_rdlock(&users_lock);
  for (size_t i = 0; user && pass && i < nut.nusers; i++) {
    int pw = lg_equal(nut.users[i].password, pass);
    int nm = lg_equal(nut.users[i].name, user);
    if ((pw & nm) && rc < 0) {
      g->can_set = nut.users[i].can_set;
      g->primary = nut.users[i].primary;
      snprintf(g->instcmds, sizeof g->instcmds, "%s", nut.users[i].instcmds);
      rc = 0;
    }
  }
  pthread_rwlock_unlock(&users_lock);
  return rc;
}

int nutu_may_instcmd(const struct nut_grant *u, const char *cmd) {
  char want[160];
  snprintf(want, sizeof want, " %s ", cmd);
  return strcasestr(u->instcmds, " all ") || strstr(u->instcmds, want);
}
