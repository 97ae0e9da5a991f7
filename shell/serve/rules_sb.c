/* The rules sandbox (see rules_sb.h). */
#include <lauxlib.h>
#include <lualib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rules_sb.h"

struct rsb {
  size_t used;
  int steps;
  FILE *out;
};

static void *rsb_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
  struct rsb *a = ud;
  if (!ptr) osize = 0;
  if (nsize == 0) {
    a->used -= osize;
    free(ptr);
    return NULL;
  }
  if (nsize > osize && a->used + (nsize - osize) > RSB_MEM_MAX) return NULL;
  void *p = realloc(ptr, nsize);
  if (p) a->used = a->used - osize + nsize;
  return p;
}

static struct rsb *rsb_of(lua_State *L) {
  void *ud;
  lua_getallocf(L, &ud);
  return ud;
}

static void rsb_hook(lua_State *L, lua_Debug *ar) {
  (void)ar;
  if (++rsb_of(L)->steps > RSB_STEPS)
    luaL_error(L, "stopped: a rule ran over its step limit");
}

/* print(...): one line, tab-separated, to the configured stream. */
static int rsb_print(lua_State *L) {
  FILE *f = rsb_of(L)->out;
  int n = lua_gettop(L);
  for (int i = 1; i <= n; i++) {
    size_t len;
    const char *s = luaL_tolstring(L, i, &len);
    if (i > 1) fputc('\t', f);
    fwrite(s, 1, len, f);
    lua_pop(L, 1);
  }
  fputc('\n', f);
  fflush(f);
  return 0;
}

static void rsb_open(lua_State *L) {
  static const char *const drop[] = {"dofile", "loadfile", "load", "require",
                                     NULL};
  static const char *const os_keep[] = {"time", "date", "clock", "difftime",
                                        NULL};
  luaL_requiref(L, LUA_GNAME, luaopen_base, 1);
  luaL_requiref(L, LUA_STRLIBNAME, luaopen_string, 1);
  luaL_requiref(L, LUA_TABLIBNAME, luaopen_table, 1);
  luaL_requiref(L, LUA_MATHLIBNAME, luaopen_math, 1);
  luaL_requiref(L, LUA_UTF8LIBNAME, luaopen_utf8, 1);
  lua_settop(L, 0);
  for (int i = 0; drop[i]; i++) {
    lua_pushnil(L);
    lua_setglobal(L, drop[i]);
  }
  luaL_requiref(L, LUA_OSLIBNAME, luaopen_os, 0);
  lua_newtable(L); /* a new os with the safe functions only */
  for (int i = 0; os_keep[i]; i++) {
    lua_getfield(L, -2, os_keep[i]);
    lua_setfield(L, -2, os_keep[i]);
  }
  lua_setglobal(L, "os");
  lua_settop(L, 0);
  lua_pushcfunction(L, rsb_print);
  lua_setglobal(L, "print");
  lua_pushnil(L); /* string.dump and the string metatable stay: harmless */
  lua_setglobal(L, "collectgarbage");
}

lua_State *rsb_new(void *out) {
  struct rsb *a = calloc(1, sizeof *a);
  if (!a) return NULL;
  a->out = out ? out : stderr;
  lua_State *L = lua_newstate(rsb_alloc, a);
  if (!L) {
    free(a);
    return NULL;
  }
  rsb_open(L);
  return L;
}

void rsb_free(lua_State *L) {
  if (!L) return;
  struct rsb *a = rsb_of(L);
  lua_close(L);
  free(a);
}

int rsb_pcall(lua_State *L, int nargs, int nres) {
  rsb_of(L)->steps = 0;
  lua_sethook(L, rsb_hook, LUA_MASKCOUNT, 10000);
  int rc = lua_pcall(L, nargs, nres, 0);
  lua_sethook(L, NULL, 0, 0);
  if (rc == LUA_ERRMEM) {
    lua_pop(L, 1);
    lua_pushstring(L, "stopped: the rules ran out of their memory limit");
  }
  return rc;
}

size_t rsb_used(lua_State *L) {
  return rsb_of(L)->used;
}
