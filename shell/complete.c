/* Tab completion for the REPL (readline's attempted-completion hook). */
#include <readline/readline.h>
#include <stdio.h>

#include "lua_shell.h"

static lua_State *cL;

void sh_complete_init(lua_State *L) {
  cL = L;
}
