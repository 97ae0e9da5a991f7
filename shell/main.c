/* ohm's entry point: a subcommand from sh_commands, else the Lua side
 * (script, -e, -, or the interactive REPL; see shell/repl.c). */
#include <stdio.h>
#include <string.h>

#include "shell.h"

static const struct sh_command *find_command(const char *name) {
  for (const struct sh_command *c = sh_commands; c->name; c++)
    if (strcmp(c->name, name) == 0)
      return c;
  return NULL;
}

int main(int argc, char **argv) {
  const struct sh_command *c = argc > 1 ? find_command(argv[1]) : NULL;
  if (c) {
    if (!c->run) {
      fprintf(stderr, "ohm: %s: not in this build\n", c->name);
      return EXIT_USAGE;
    }
    return c->run(argc - 1, argv + 1);
  }
  if (!sh_lua_main) {
    fprintf(stderr, "ohm: the Lua shell is not in this build\n");
    return EXIT_USAGE;
  }
  return sh_lua_main(argc, argv);
}
