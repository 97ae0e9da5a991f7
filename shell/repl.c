/* The REPL, in the shape of lua.c's doREPL: try `return <line>` first,
 * then the line as a statement, reading more while the error ends in
 * <eof>. On a terminal: GNU readline (callback interface, so Ctrl-C at the
 * prompt drops the line and a Ctrl-C during a call only sets a hook),
 * history without secrets, completion. Otherwise no prompts: statements
 * from stdin, expression results printed. */
#include <errno.h>
#include <lauxlib.h>
#include <readline/history.h>
#include <readline/readline.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <unistd.h>

#include "../lua/ohm.h"
#include "repl_hist.h"
#include "lua_shell.h"
#include "../util/lazy_readline.h"

enum sh_mode sh_repl_mode = SH_TABLE;

static int tty;         /* stdin and stdout are terminals */
static int had_error;   /* piped input: exit 1 if any statement failed */
static int interrupted; /* Ctrl-C at the prompt */
static volatile sig_atomic_t got_sigint;

static char *line_got;
static int line_done;

static void on_line(char *line) {
  line_got = line;
  line_done = 1;
  rl_callback_handler_remove();
}

static void on_sigint(int sig) {
  (void)sig;
  got_sigint = 1;
}

/* One line from readline, without letting it own SIGINT: a Ctrl-C drops
 * the line being typed (interrupted = 1, returns NULL). NULL on EOF.
 * SIGINT is blocked except inside pselect, so a Ctrl-C that lands while a
 * key is being handled is seen at the next wait instead of being lost
 * before a select() that would then block until the next key. */
static char *read_tty(const char *prompt) {
  struct sigaction sa, old;
  sigset_t block, orig;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_sigint; /* no SA_RESTART: pselect() sees EINTR */
  sigemptyset(&sa.sa_mask);
  sigemptyset(&block);
  sigaddset(&block, SIGINT);
  sigprocmask(SIG_BLOCK, &block, &orig);
  sigaction(SIGINT, &sa, &old);
  line_done = 0;
  line_got = NULL;
  got_sigint = 0;
  rl_callback_handler_install(prompt, on_line);
  while (!line_done) {
    fd_set fds;
    FD_ZERO(&fds);
    FD_SET(fileno(rl_instream), &fds);
    int r = pselect(fileno(rl_instream) + 1, &fds, NULL, NULL, NULL, &orig);
    if (got_sigint) {
      got_sigint = 0;
      rl_free_line_state();
      rl_callback_sigcleanup();
      rl_callback_handler_remove();
      fputs("\n", stdout);
      interrupted = 1;
      break;
    }
    if (r < 0 && errno != EINTR) {
      rl_callback_handler_remove();
      break;
    }
    if (r > 0) rl_callback_read_char();
  }
  /* unblock first: a Ctrl-C pending from the last key is then caught by
   * our handler (and ignored), not by the old one, which may end ohm */
  sigprocmask(SIG_SETMASK, &orig, NULL);
  got_sigint = 0;
  sigaction(SIGINT, &old, NULL);
  return line_got;
}

/* One line from a pipe or file (no prompt); NULL on EOF. */
static char *read_pipe(void) {
  char *line = NULL;
  size_t cap = 0;
  ssize_t n = getline(&line, &cap, stdin);
  if (n < 0) {
    free(line);
    return NULL;
  }
  if (n > 0 && line[n - 1] == '\n') line[--n] = '\0';
  return line;
}

/* Push the next line; 0 at EOF or after Ctrl-C. */
static int pushline(lua_State *L, int first) {
  char *b = tty ? read_tty(first ? "> " : ">> ") : read_pipe();
  if (!b) return 0;
  lua_pushstring(L, b);
  free(b);
  return 1;
}

/* A syntax error at <eof>: the chunk may go on in the next line. The
 * message stays on the stack (it is the error if no line comes). */
static int incomplete(lua_State *L, int status) {
  static const char mark[] = "<eof>";
  size_t n;
  if (status != LUA_ERRSYNTAX) return 0;
  const char *msg = lua_tolstring(L, -1, &n);
  return n >= sizeof mark - 1 && strcmp(msg + n - (sizeof mark - 1), mark) == 0;
}

/* `return LINE;` compiled, or the status of the failure (nothing
 * pushed). */
static int addreturn(lua_State *L) {
  const char *line = lua_tostring(L, -1);
  const char *ret = lua_pushfstring(L, "return %s;", line);
  int status = luaL_loadbuffer(L, ret, strlen(ret), "=stdin");
  if (status == LUA_OK) {
    lua_remove(L, -2);
    sh_history_add(line);
  } else
    lua_pop(L, 2);
  return status;
}

/* The line as a statement, reading continuation lines while incomplete. */
static int multiline(lua_State *L) {
  for (;;) {
    size_t len;
    const char *line = lua_tolstring(L, 1, &len);
    int status = luaL_loadbuffer(L, line, len, "=stdin");
    if (!incomplete(L, status) || !pushline(L, 0)) {
      sh_history_add(line);
      return status; /* the chunk, or the message (lua.c's) */
    }
    lua_remove(L, -2); /* the message of the incomplete chunk */
    lua_pushliteral(L, "\n");
    lua_insert(L, -2);
    lua_concat(L, 3);
  }
}

/* A chunk to run on the stack: LUA_OK / error status; -1 at EOF; -2 for
 * a dot-command or an interrupted line (nothing to run; 0 to quit -> -1). */
static int loadline(lua_State *L) {
  int status;
  lua_settop(L, 0);
  interrupted = 0;
  if (!pushline(L, 1)) return interrupted ? -2 : -1;
  const char *line = lua_tostring(L, 1);
  line += strspn(line, " \t");
  if (line[0] == '.') {
    sh_history_add(line);
    return sh_dot_run(L, line) ? -2 : -1;
  }
  if ((status = addreturn(L)) != LUA_OK) status = multiline(L);
  lua_remove(L, 1);
  if (interrupted) /* Ctrl-C in a continuation line: drop it all */
    return lua_settop(L, 0), -2;
  return status;
}

/* The n values on top, in the current mode, via ohm.format (protected:
 * a __tostring may fail). Tab-separated like print. */
void sh_repl_print(lua_State *L, int n) {
  static const char *const modes[] = {"table", "json", "csv", "lua"};
  int base = lua_gettop(L) - n;
  for (int i = 1; i <= n; i++) {
    lua_getfield(L, LUA_REGISTRYINDEX, "ohm.format");
    lua_pushvalue(L, base + i);
    lua_pushstring(L, modes[sh_repl_mode]);
    if (sh_report(L, sh_docall(L, 2, 1)) != LUA_OK) break;
    fputs(lua_tostring(L, -1) ? lua_tostring(L, -1) : "?", stdout);
    fputs(i < n ? "\t" : "\n", stdout);
    lua_pop(L, 1);
  }
  fflush(stdout);
  lua_settop(L, base);
}

int sh_repl(lua_State *L) {
  struct ohm_error e;
  int status;
  tty = isatty(STDIN_FILENO) && isatty(STDOUT_FILENO);
  if (tty && lazy_readline_load(&e) < 0) { /* still usable, unedited */
    fprintf(stderr, "ohm: note: no line editing: %s\n", e.msg);
    tty = 0;
  }
  if (tty) {
    rl_catch_signals = 0;
    rl_readline_name = "ohm";
    sh_complete_init(L);
    sh_history_load();
    printf("ohm %s, %s. .help for help, .quit or Ctrl-D to leave.\n",
           OHM_VERSION, LUA_RELEASE);
  }
  while ((status = loadline(L)) != -1) {
    if (status == -2) continue;
    if (status == LUA_OK) status = sh_docall(L, 0, LUA_MULTRET);
    if (status == LUA_OK && lua_gettop(L) > 0)
      sh_repl_print(L, lua_gettop(L));
    else if (status != LUA_OK)
      had_error = 1, sh_report(L, status);
  }
  lua_settop(L, 0);
  if (tty) {
    fputs("\n", stdout);
    sh_history_save();
  }
  fflush(stdout);
  return !tty && had_error ? EXIT_FAIL : EXIT_OK;
}
