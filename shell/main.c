/* ohm's entry point: a subcommand from sh_commands, else the Lua side
 * (script, -e, -, or the interactive REPL; see shell/repl.c). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../transports/uri.h"
#include "shell.h"
#include "suggest.h"

static const struct sh_command *find_command(const char *name) {
  for (const struct sh_command *c = sh_commands; c->name; c++)
    if (strcmp(c->name, name) == 0) return c;
  return NULL;
}

/* -v, -vv ..., --verbose, -q, --quiet: flags every command takes. */
static int is_flag(const char *a) {
  if (!strcmp(a, "--verbose") || !strcmp(a, "-q") || !strcmp(a, "--quiet"))
    return 1;
  if (a[0] != '-' || a[1] != 'v') return 0;
  return a[strspn(a + 1, "v") + 1] == '\0';
}

/* `ohm --config FILE get pdu1`, `ohm -v get pdu1`: the options the Lua
 * side and every command share (--config, --timeout, --retries, -v, -q)
 * may come before a command's name; they are moved after it, where the
 * command reads them. Without this the command's name was taken for a
 * script. */
static void hoist_command(int argc, char **argv) {
  static const char *const with_arg[] = {"--config", "--timeout", "--retries",
                                         NULL};
  int i = 1;
  while (i < argc && argv[i][0] == '-') {
    int k = 0, n = is_flag(argv[i]);
    for (; !n && with_arg[k]; k++) {
      size_t len = strlen(with_arg[k]);
      if (strncmp(argv[i], with_arg[k], len) == 0)
        n = argv[i][len] == '\0' ? 2 : argv[i][len] == '=' ? 1 : 0;
      if (n) break;
    }
    if (!n) break;
    i += n;
  }
  if (i == 1 || i >= argc || !find_command(argv[i])) return;
  char *name = argv[i];
  memmove(argv + 2, argv + 1, (size_t)(i - 1) * sizeof *argv);
  argv[1] = name;
}

/* At exit: output that could not be written (a full disk) fails the run,
 * as coreutils' close_stdout does, so a cron job's report that never
 * reached its file is not a success. Runs after os.exit() too. */
static void check_stdout(void) {
  int bad = ferror(stdout), err = 0;
  if (fflush(stdout) != 0) {
    bad = 1;
    err = errno;
  }
  if (!bad || err == EPIPE) return;
  fprintf(stderr, "ohm: write error on standard output%s%s%s\n",
          err ? " (" : "", err ? strerror(err) : "", err ? ")" : "");
  _exit(EXIT_FAIL);
}

/* `ohm gett pdu1`: a word that is no file but is close to a command's
 * name is a mistyped command (exit 2), not a script that cannot open. */
static int unknown_command(int argc, char **argv) {
  int i = 1;
  while (i < argc && is_flag(argv[i])) /* ohm -v gett */
    i++;
  const char *w = i < argc ? argv[i] : "", *best;
  if (w[0] == '-' || strchr(w, '/') || access(w, F_OK) == 0) return 0;
  if (!(best = sh_suggest_command(w))) return 0;
  fprintf(stderr, "ohm: unknown command '%s' (did you mean %s?)\n", w, best);
  return 1;
}

/* Secrets given on the command line (a URI's password, passphrase
 * parameters) are overwritten in the process's own argv memory, so `ps` and
 * /proc/PID/cmdline show the redacted text from here on; the program works
 * on private copies. The redacted text may be cut to the original length:
 * it is the secret that was replaced, so what is left still shows none. */
static char **argv_owned; /* the copies, for freeing: commands may permute
                           * or overwrite the pointers of the argv they get */

static void free_argv_copy(void) {
  for (size_t i = 0; argv_owned && argv_owned[i]; i++)
    free(argv_owned[i]);
  free(argv_owned);
}

static char **scrub_argv(int argc, char **argv) {
  static char **copy;
  copy = calloc((size_t)argc + 1, sizeof *copy);
  argv_owned = calloc((size_t)argc + 1, sizeof *argv_owned);
  if (!copy || !argv_owned) return argv; /* out of memory: as is */
  atexit(free_argv_copy);
  for (int i = 0; i < argc; i++)
    if (!(copy[i] = argv_owned[i] = strdup(argv[i]))) return argv;
  for (int i = 0; i < argc; i++) {
    char *red = ohm_uri_redact(argv[i]);
    if (red && strcmp(red, argv[i]) != 0)
      strncpy(argv[i], red, strlen(argv[i]));
    free(red);
  }
  return copy; /* kept for the whole run */
}

static void print_note(const char *msg) {
  fprintf(stderr, "ohm: note: %s\n", msg);
}

int main(int argc, char **argv) {
  atexit(check_stdout);
  argv = scrub_argv(argc, argv);
  dev_set_note(print_note);
  hoist_command(argc, argv);
  const struct sh_command *c = argc > 1 ? find_command(argv[1]) : NULL;
  if (c) {
    if (!c->run) {
      fprintf(stderr, "ohm: %s: not in this build\n", c->name);
      return EXIT_USAGE;
    }
    return c->run(argc - 1, argv + 1);
  }
  if (unknown_command(argc, argv)) return EXIT_USAGE;
  if (!sh_lua_main) {
    fprintf(stderr, "ohm: the Lua shell is not in this build\n");
    return EXIT_USAGE;
  }
  return sh_lua_main(argc, argv);
}
