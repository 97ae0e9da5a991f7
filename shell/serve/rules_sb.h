/* The rules' Lua sandbox: base, string, table, math, utf8 and a safe part
 * of os (time, date, clock); no files, no loading of code, no C modules.
 * Every call (loading the file, each rule function, each condition) runs
 * under pcall with a step limit and the whole state under a memory limit.
 * Self-contained on purpose: lua/inventory.c has its own sandbox, and the
 * two can become one later. */
#ifndef OHM_SERVE_RULES_SB_H
#define OHM_SERVE_RULES_SB_H

#include <lua.h>
#include <stddef.h>

#define RSB_MEM_MAX (32u << 20) /* bytes the rules may hold */
#define RSB_STEPS 200           /* x 10000 VM instructions per call */

/* A new sandboxed state, or NULL when out of memory. print() writes its
 * line to out (a FILE *, borrowed). */
lua_State *rsb_new(void *out);
void rsb_free(lua_State *L);

/* lua_pcall with the step limit reset; on error the message (with
 * "stopped: ..." for the limits) is left on the stack, as lua_pcall. */
int rsb_pcall(lua_State *L, int nargs, int nres);

/* Memory the state holds now, in bytes. */
size_t rsb_used(lua_State *L);

#endif
