/* The REPL's dot-commands: one table {name, handler, usage, help} that
 * dispatch, .help and completion all read. */
#include <ctype.h>
#include <lauxlib.h>
#include <stdio.h>
#include <string.h>

#include "../lua/ohm.h"
#include "../util/suggest.h"
#include "lua_shell.h"

#define DOT_MAXARGS 8

struct dot_cmd {
  const char *name;
  int (*run)(lua_State *L, int argc, char **argv); /* 0 ends the REPL */
  const char *usage;
  const char *help;
};

static const struct dot_cmd dot_cmds[];

/* Push package.loaded.ohm[field]. */
static void push_ohm_field(lua_State *L, const char *field) {
  luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
  lua_getfield(L, -1, "ohm");
  lua_getfield(L, -1, field);
  lua_replace(L, -3);
  lua_pop(L, 1);
}

static int dot_help(lua_State *L, int argc, char **argv) {
  for (const struct dot_cmd *c = dot_cmds; c->name; c++)
    printf("%-28s %s\n", c->usage, c->help);
  printf("Lua statements and expressions run as in lua(1); an expression\n"
         "prints its value. Ctrl-C stops a running call.\n");
  return 1;
}

static int is_ident(const char *s) {
  if (!isalpha((unsigned char)*s) && *s != '_') return 0;
  for (; *s; s++)
    if (!isalnum((unsigned char)*s) && *s != '_') return 0;
  return 1;
}

/* .open NAME URI [DRIVER]: NAME = ohm.open(URI, {driver = DRIVER}). */
static int dot_open(lua_State *L, int argc, char **argv) {
  if (argc < 3 || argc > 4 || !is_ident(argv[1])) {
    fprintf(stderr, "usage: %s\n", dot_cmds[1].usage);
    return 1;
  }
  push_ohm_field(L, "open");
  lua_pushstring(L, argv[2]);
  lua_createtable(L, 0, 1);
  if (argc == 4) {
    lua_pushstring(L, argv[3]);
    lua_setfield(L, -2, "driver");
  }
  if (sh_report(L, sh_docall(L, 2, 2)) != LUA_OK) return 1;
  if (lua_isnil(L, -2)) {
    fprintf(stderr, "ohm: %s\n", lua_tostring(L, -1));
  } else {
    lua_pushvalue(L, -2);
    lua_setglobal(L, argv[1]);
    printf("%s = %s\n", argv[1], luaL_tolstring(L, -2, NULL));
    lua_pop(L, 1);
  }
  lua_pop(L, 2);
  return 1;
}

/* .devices: the inventory's names, then devices open in globals. */
static int dot_devices(lua_State *L, int argc, char **argv) {
  push_ohm_field(L, "devices");
  if (sh_report(L, sh_docall(L, 0, 2)) != LUA_OK) return 1;
  if (lua_istable(L, -2)) {
    lua_Integer n = luaL_len(L, -2);
    printf("inventory (%d):\n", (int)n);
    for (lua_Integer i = 1; i <= n; i++) {
      lua_rawgeti(L, -2, i);
      lua_getfield(L, -1, "name");
      lua_getfield(L, -2, "uri");
      lua_getfield(L, -3, "driver");
      printf("  %-16s %s%s%s\n", lua_tostring(L, -3), lua_tostring(L, -2),
             lua_isstring(L, -1) ? " driver=" : "",
             lua_isstring(L, -1) ? lua_tostring(L, -1) : "");
      lua_pop(L, 4);
    }
  } else
    fprintf(stderr, "ohm: %s\n", lua_tostring(L, -1));
  lua_pop(L, 2);
  printf("open:\n");
  lua_pushglobaltable(L);
  for (lua_pushnil(L); lua_next(L, -2); lua_pop(L, 1))
    if (lua_type(L, -2) == LUA_TSTRING && l_device_test(L, -1)) {
      const char *desc = luaL_tolstring(L, -1, NULL);
      printf("  %-16s %s\n", lua_tostring(L, -3), desc);
      lua_pop(L, 1);
    }
  lua_pop(L, 1);
  return 1;
}

static void print_list(lua_State *L, int idx, const char *title) {
  lua_Integer n = luaL_len(L, idx);
  printf("%s:", title);
  for (lua_Integer i = 1; i <= n; i++) {
    lua_rawgeti(L, idx, i);
    printf(" %s", lua_tostring(L, -1));
    lua_pop(L, 1);
  }
  printf("\n");
}

static int dot_drivers(lua_State *L, int argc, char **argv) {
  push_ohm_field(L, "drivers");
  if (sh_report(L, sh_docall(L, 0, 2)) != LUA_OK) return 1;
  print_list(L, -2, "drivers");
  print_list(L, -1, "transports");
  lua_pop(L, 2);
  return 1;
}

static int dot_mode(lua_State *L, int argc, char **argv) {
  static const char *const names[] = {"table", "json", "csv", "lua"};
  if (argc == 1) {
    printf("%s\n", names[sh_repl_mode]);
    return 1;
  }
  if (argc == 2 && strcmp(argv[1], "table") == 0)
    sh_repl_mode = SH_TABLE;
  else if (argc == 2 && strcmp(argv[1], "json") == 0)
    sh_repl_mode = SH_JSON;
  else if (argc == 2 && strcmp(argv[1], "lua") == 0)
    sh_repl_mode = SH_LUA;
  else
    fprintf(stderr, "usage: .mode table|json|lua\n");
  return 1;
}

static int dot_quit(lua_State *L, int argc, char **argv) {
  return 0;
}

static const struct dot_cmd dot_cmds[] = {
    {".help", dot_help, ".help", "this list"},
    {".open", dot_open, ".open NAME URI [DRIVER]",
     "open a device (URI or inventory name) into global NAME"},
    {".devices", dot_devices, ".devices", "inventory names and open devices"},
    {".drivers", dot_drivers, ".drivers", "drivers and transports"},
    {".mode", dot_mode, ".mode [table|json|lua]", "how results print"},
    {".quit", dot_quit, ".quit", "leave (also .exit, Ctrl-D)"},
    {".exit", dot_quit, ".exit", "leave"},
    {NULL, NULL, NULL, NULL}};

const char *sh_dot_name(int i) {
  for (int k = 0; dot_cmds[k].name; k++)
    if (k == i) return dot_cmds[k].name;
  return NULL;
}

int sh_dot_run(lua_State *L, const char *line) {
  char buf[1024], *argv[DOT_MAXARGS];
  int argc = 0;
  snprintf(buf, sizeof buf, "%s", line);
  for (char *t = strtok(buf, " \t"); t && argc < DOT_MAXARGS;
       t = strtok(NULL, " \t"))
    argv[argc++] = t;
  if (argc == 0) return 1;
  for (const struct dot_cmd *c = dot_cmds; c->name; c++)
    if (strcmp(c->name, argv[0]) == 0) {
      int top = lua_gettop(L);
      int r = c->run(L, argc, argv);
      lua_settop(L, top);
      fflush(stdout);
      return r;
    }
  struct ohm_suggest s;
  ohm_suggest_init(&s, argv[0]);
  for (const struct dot_cmd *c = dot_cmds; c->name; c++)
    ohm_suggest_add(&s, c->name);
  if (s.best)
    fprintf(stderr, "ohm: unknown command %s (did you mean %s?)\n", argv[0],
            s.best);
  else
    fprintf(stderr, "ohm: unknown command %s (try .help)\n", argv[0]);
  return 1;
}
