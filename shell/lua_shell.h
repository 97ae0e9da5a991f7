/* The Lua side of the shell: scripts, -e, stdin and the REPL share one
 * lua_State, one protected-call helper and one SIGINT policy (lua.c's:
 * Ctrl-C only sets a hook, plus tp_interrupt() to wake a blocked device
 * call). Only shell/ prints. */
#ifndef OHM_SHELL_LUA_SHELL_H
#define OHM_SHELL_LUA_SHELL_H

#include <lua.h>

#include "shell.h"

/* lua_pcall with a traceback handler and Ctrl-C armed; like lua.c's
 * docall. Leaves nres results (or the message) on the stack. */
int sh_docall(lua_State *L, int narg, int nres);

/* Print the message on top as "ohm: MESSAGE" to stderr and pop it, if
 * status is not LUA_OK. Returns status. */
int sh_report(lua_State *L, int status);

/* The interactive shell (prompts, readline, history, completion) when
 * stdin and stdout are terminals, else statements read from stdin with
 * expression results printed. Returns the exit status. */
int sh_repl(lua_State *L);

/* Print the n values on top of the stack (popped) in the REPL's mode. */
void sh_repl_print(lua_State *L, int n);

/* Output mode of the REPL (.mode). */
extern enum sh_mode sh_repl_mode;

/* Dot-commands (shell/dot.c): run line (starting with '.'); returns 1 to
 * keep going, 0 after .quit. */
int sh_dot_run(lua_State *L, const char *line);
/* Dot-command names for completion: the i-th, or NULL past the end. */
const char *sh_dot_name(int i);

/* readline tab completion (shell/complete.c), bound to L. */
void sh_complete_init(lua_State *L);

#endif
