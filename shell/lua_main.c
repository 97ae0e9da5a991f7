/* `ohm SCRIPT [ARG...]`, `ohm -e CHUNK [-i]`, `ohm -`, and `ohm` alone
 * (the REPL): lua.c's command line, with the `ohm` module preloaded. */
#include <lauxlib.h>
#include <lualib.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../lua/ohm.h"
#include "../util/suggest.h"
#include "lua_shell.h"

/* From transports/intr.c: sets tp_interrupted and wakes blocked sockets;
 * weak so the shell still links (and falls back to the flag) without it. */
void tp_interrupt(void) __attribute__((weak));

static lua_State *globalL; /* for the signal handler, as lua.c */

static const char usage_text[] =
    "usage: ohm [OPTIONS] [SCRIPT [ARG...]]\n"
    "       ohm COMMAND [OPTS] ...\n"
    "Options:\n"
    "  -e CHUNK       run CHUNK\n"
    "  -l NAME        require NAME into global NAME\n"
    "  -i             enter the interactive shell after the others\n"
    "  --config FILE  inventory file (default $OHM_CONFIG, else\n"
    "                 ~/.config/ohm/config.lua)\n"
    "  --timeout S    default timeout of ohm.open/ohm.connect (seconds)\n"
    "  --retries N    default retries after a timeout\n"
    "  -v, --verbose  trace device traffic (-vv more)\n"
    "  --version      print the version\n"
    "  -h, --help     this help\n"
    "  --             stop handling options\n"
    "  -              run stdin as a script\n"
    "With no SCRIPT and no -e: the interactive shell (a terminal), else\n"
    "statements read from stdin.\n"
    "Commands:\n";

static void print_help(void) {
  fputs(usage_text, stdout);
  for (const struct sh_command *c = sh_commands; c->name; c++)
    printf("  %-10s %s\n", c->name, c->help);
  printf("See `ohm COMMAND --help` and ohm(1).\n");
}

static void lstop(lua_State *L, lua_Debug *ar) {
  (void)ar;
  lua_sethook(L, NULL, 0, 0);
  luaL_error(L, "interrupted!");
}

/* SIGINT during a call: a hook stops Lua code at its next instruction and
 * tp_interrupt() wakes a call blocked in a transport. A second Ctrl-C
 * before that kills the process, as in lua.c. */
static void laction(int sig) {
  int flag = LUA_MASKCALL | LUA_MASKRET | LUA_MASKLINE | LUA_MASKCOUNT;
  signal(sig, SIG_DFL);
  lua_sethook(globalL, lstop, flag, 1);
  if (tp_interrupt)
    tp_interrupt();
  else
    tp_interrupted = 1;
}

static int msghandler(lua_State *L) {
  const char *msg = lua_tostring(L, 1);
  if (msg == NULL) {
    if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING)
      return 1;
    msg =
        lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
  }
  luaL_traceback(L, L, msg, 1);
  return 1;
}

int sh_docall(lua_State *L, int narg, int nres) {
  int base = lua_gettop(L) - narg;
  struct sigaction sa, old;
  lua_pushcfunction(L, msghandler);
  lua_insert(L, base);
  globalL = L;
  tp_interrupted = 0;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = laction; /* no SA_RESTART: blocked reads see EINTR */
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, &old);
  int status = lua_pcall(L, narg, nres, base);
  sigaction(SIGINT, &old, NULL);
  lua_sethook(L, NULL, 0, 0); /* a Ctrl-C after the last instruction */
  tp_interrupted = 0;
  lua_remove(L, base);
  return status;
}

int sh_report(lua_State *L, int status) {
  if (status != LUA_OK) {
    const char *msg = lua_tostring(L, -1);
    fprintf(stderr, "ohm: %s\n", msg ? msg : "(error object)");
    fflush(stderr);
    lua_pop(L, 1);
  }
  return status;
}

/* arg as lua(1): arg[0] the script, the interpreter and options at
 * negative indices, the script's arguments at 1..n. */
static void create_arg_table(lua_State *L, char **argv, int argc, int script) {
  if (script == argc) script = 0;
  lua_createtable(L, argc - (script + 1), script + 1);
  for (int i = 0; i < argc; i++) {
    lua_pushstring(L, argv[i]);
    lua_rawseti(L, -2, i - script);
  }
  lua_setglobal(L, "arg");
}

static int dochunk(lua_State *L, int status) {
  if (status == LUA_OK) status = sh_docall(L, 0, 0);
  return sh_report(L, status);
}

static int dostring(lua_State *L, const char *s, const char *name) {
  return dochunk(L, luaL_loadbuffer(L, s, strlen(s), name));
}

/* -l NAME: require NAME into global NAME. */
static int dolibrary(lua_State *L, const char *name) {
  lua_getglobal(L, "require");
  lua_pushstring(L, name);
  int status = sh_docall(L, 1, 1);
  if (status == LUA_OK) lua_setglobal(L, name);
  return sh_report(L, status);
}

/* Run SCRIPT (or stdin for "-") with the script's arguments as `...`;
 * luaL_loadfile skips a first line starting with '#' (shebang). */
static int handle_script(lua_State *L, char **argv, int script, int argc) {
  const char *fname = argv[script];
  if (strcmp(fname, "-") == 0 && strcmp(argv[script - 1], "--") != 0)
    fname = NULL;
  int status = luaL_loadfile(L, fname);
  if (status == LUA_OK) {
    int n = argc - script - 1;
    luaL_checkstack(L, n + 3, "too many arguments to script");
    for (int i = 1; i <= n; i++)
      lua_pushstring(L, argv[script + i]);
    status = sh_docall(L, n, 0);
  }
  return sh_report(L, status);
}

struct lopts {
  int script; /* index of the script in argv, 0 if none */
  int has_e, has_i, has_v, help;
  const char *config;
  struct tp_opts tp; /* --timeout, --retries */
};

/* --timeout/--retries value a in [lo, hi] (integral if integer); -1 after
 * printing the error. */
static int num_opt(const char *name, const char *a, double lo, double hi,
                   int integer, double *out) {
  char *end;
  double v = a ? strtod(a, &end) : 0;
  if (!a || end == a || *end || !(v >= lo && v <= hi) ||
      (integer && v != (double)(long)v)) {
    fprintf(stderr, "ohm: bad %s '%s' (%s %g to %g)\n", name, a ? a : "",
            integer ? "an integer," : "seconds,", lo, hi);
    return -1;
  }
  *out = v;
  return 0;
}

/* Options up to the script, as lua.c's collectargs; -1 on a bad one
 * (message printed). */
static int collect_args(int argc, char **argv, struct lopts *o) {
  double v;
  memset(o, 0, sizeof *o);
  o->tp.retries = -1;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (a[0] != '-' || strcmp(a, "-") == 0) {
      o->script = i;
      return 0;
    }
    if (strcmp(a, "--") == 0) {
      o->script = i + 1 < argc ? i + 1 : 0;
      return 0;
    }
    if (strcmp(a, "-i") == 0)
      o->has_i = 1;
    else if (strcmp(a, "--version") == 0)
      o->has_v = 1;
    else if (strcmp(a, "--verbose") == 0)
      o->tp.verbose++;
    else if (a[1] == 'v' && a[strspn(a + 1, "v") + 1] == '\0')
      o->tp.verbose += (int)strlen(a + 1); /* -v, -vv, ... */
    else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0)
      o->help = 1;
    else if (strcmp(a, "--config") == 0 && i + 1 < argc)
      o->config = argv[++i];
    else if (strncmp(a, "--config=", 9) == 0)
      o->config = a + 9;
    else if (strcmp(a, "--timeout") == 0) {
      if (num_opt(a, argv[++i], 0.001, 3600, 0, &v) < 0) return -1;
      o->tp.timeout = v;
    } else if (strcmp(a, "--retries") == 0) {
      if (num_opt(a, argv[++i], 0, 100, 1, &v) < 0) return -1;
      o->tp.retries = (int)v;
    } else if ((a[1] == 'e' || a[1] == 'l') && (a[2] || i + 1 < argc)) {
      o->has_e |= a[1] == 'e';
      i += a[2] ? 0 : 1;
    } else {
      int needs =
          !strcmp(a, "-e") || !strcmp(a, "-l") || !strcmp(a, "--config");
      static const char *const known[] = {"--config",  "--timeout", "--retries",
                                          "--verbose", "--version", "--help",
                                          NULL};
      const char *near = ohm_suggest_best(a, known, 0);
      if (!needs && near)
        fprintf(stderr, "ohm: unrecognized option '%s' (did you mean %s?)\n", a,
                near);
      else
        fprintf(stderr,
                needs ? "ohm: '%s' needs an argument\n"
                      : "ohm: unrecognized option '%s'\n",
                a);
      fprintf(stderr, "usage: ohm [OPTIONS] [SCRIPT [ARG...]] "
                      "(ohm --help)\n");
      return -1;
    }
  }
  return 0;
}

/* -e and -l in command-line order; 0, or the failing status. */
static int run_args(lua_State *L, char **argv, int n) {
  for (int i = 1; i < n; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "--config") || !strcmp(a, "--timeout") ||
        !strcmp(a, "--retries"))
      i++; /* skip the value, whatever it looks like */
    if (a[0] != '-' || (a[1] != 'e' && a[1] != 'l')) continue;
    const char *x = a[2] ? a + 2 : argv[++i];
    int st = a[1] == 'e' ? dostring(L, x, "=(command line)") : dolibrary(L, x);
    if (st != LUA_OK) return st;
  }
  return LUA_OK;
}

static int exit_status;

/* Everything after option parsing, under lua_pcall as in lua.c. */
static int pmain(lua_State *L) {
  int argc = (int)lua_tointeger(L, 1);
  char **argv = lua_touserdata(L, 2);
  const struct lopts *o = lua_touserdata(L, 3);
  int end = o->script ? o->script : argc;
  luaL_openlibs(L);
  luaL_requiref(L, "ohm", luaopen_ohm, 1);
  lua_pop(L, 1);
  l_ohm_set_config(L, o->config);
  l_ohm_set_defaults(L, &o->tp);
  create_arg_table(L, argv, argc, end);
  lua_gc(L, LUA_GCRESTART);
  lua_gc(L, LUA_GCGEN, 0, 0);
  if (run_args(L, argv, end) != LUA_OK) return exit_status = EXIT_FAIL, 0;
  if (o->script && handle_script(L, argv, o->script, argc) != LUA_OK)
    return exit_status = EXIT_FAIL, 0;
  if (o->has_i || (!o->script && !o->has_e && !o->has_v))
    exit_status = sh_repl(L);
  return 0;
}

int sh_lua_main(int argc, char **argv) {
  struct lopts o;
  if (collect_args(argc, argv, &o) < 0) return EXIT_USAGE;
  sh_verbose = o.tp.verbose;
  if (o.help) return print_help(), EXIT_OK;
  if (o.has_v) printf("ohm %s (%s)\n", OHM_VERSION, LUA_RELEASE);
  lua_State *L = luaL_newstate();
  if (!L) {
    fprintf(stderr, "ohm: cannot create state: not enough memory\n");
    return EXIT_FAIL;
  }
  globalL = L;
  lua_gc(L, LUA_GCSTOP);
  lua_pushcfunction(L, pmain);
  lua_pushinteger(L, argc);
  lua_pushlightuserdata(L, argv);
  lua_pushlightuserdata(L, &o);
  exit_status = EXIT_OK;
  if (sh_report(L, lua_pcall(L, 3, 0, 0)) != LUA_OK) exit_status = EXIT_FAIL;
  lua_close(L);
  return exit_status;
}
