/* ohm help [COMMAND]: the commands of sh_commands, or one's usage.
 * Hidden, for completions/ohm.bash: `ohm help --commands` (names, one a
 * line) and `ohm help --devices [--config FILE]` (inventory names). */
#include <stdio.h>
#include <string.h>

#include "shell.h"

static void list_commands(int names_only) {
  if (!names_only)
    printf("usage: ohm COMMAND [OPTS] ...   (or ohm [SCRIPT [ARG...]], "
           "ohm -e CHUNK, ohm -)\ncommands:\n");
  for (const struct sh_command *c = sh_commands; c->name; c++) {
    if (!c->run) continue; /* not in this build */
    if (names_only)
      printf("%s\n", c->name);
    else
      printf("  %-8s %s\n", c->name, c->help);
  }
  if (!names_only)
    printf("common OPTS: -d/--driver NAME  --timeout SECONDS  --retries N  "
           "--json  --csv\n             --config FILE  -v  -q  --yes\n"
           "See `ohm COMMAND --help` and ohm(1).\n");
}

static int list_devices(int argc, char **argv) {
  struct sh_opts o;
  struct ohm_error e;
  struct inventory *inv;
  sh_opts_init(&o);
  ohm_error_clear(&e);
  if (sh_parse_common(argc, argv, &o, "help --devices [--config FILE]") < 0)
    return EXIT_USAGE;
  if (!(inv = sh_inventory(&o, &e))) {
    sh_error(NULL, &e);
    return EXIT_FAIL;
  }
  for (size_t i = 0; i < inv->ndevs; i++)
    printf("%s\n", inv->devs[i].name);
  return EXIT_OK;
}

int cmd_help(int argc, char **argv) {
  if (argc < 2) {
    list_commands(0);
    return EXIT_OK;
  }
  if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)
    argv[1] = "help";
  if (strcmp(argv[1], "--commands") == 0) {
    list_commands(1);
    return EXIT_OK;
  }
  if (strcmp(argv[1], "--devices") == 0) {
    argv[1] = argv[0];
    return list_devices(argc - 1, argv + 1);
  }
  for (const struct sh_command *c = sh_commands; c->name; c++)
    if (strcmp(c->name, argv[1]) == 0) {
      printf("usage: ohm %s\n%s\n", c->usage, c->help);
      return EXIT_OK;
    }
  sh_errorf(NULL, "help: no command '%s' (see ohm help)", argv[1]);
  return EXIT_USAGE;
}
