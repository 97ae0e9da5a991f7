/* "Did you mean ...?" for the shell's commands: the nearest variable of a
 * map, command-line option, or command name to what the user typed. The
 * distance itself is util/suggest.h's, shared by every layer; these
 * wrappers know the shell's lists. Results are borrowed (from the map,
 * the option table or a static buffer): use them before the next call. */
#ifndef OHM_SHELL_SUGGEST_H
#define OHM_SHELL_SUGGEST_H

#include <getopt.h>

#include "../devices/device.h"

/* The nearest variable name of m to name, or NULL. */
const char *sh_suggest_var(const struct dev_map *m, const char *name);

/* The nearest long option ("--json") of opts to arg ("--jsn", also
 * "--jsn=x"), or NULL. */
const char *sh_suggest_option(const struct option *opts, const char *arg);

/* The nearest command of sh_commands (in this build) to word, or NULL. */
const char *sh_suggest_command(const char *word);

/* "ohm: DEVICE: no command 'NAME' (did you mean X?; see ohm list
 * DEVICE)" on stderr, X the nearest command of m. */
void sh_no_cmd(const char *device, const struct dev_map *m, const char *name);

/* "ohm: DEVICE: no variable 'NAME' (did you mean X?; see ohm list
 * DEVICE)" on stderr. */
void sh_no_var(const char *device, const struct dev_map *m, const char *name);

/* "ohm: CMD: no variable matches 'PAT' (did you mean X? ...)" on stderr,
 * X the nearest variable of any built-in driver (poll, record, watch). */
void sh_no_match(const char *cmd, const char *pat);

#endif
