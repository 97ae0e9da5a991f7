/* ohm config save/diff/apply (shell/cmd_config*.c), internal. */
#ifndef OHM_SHELL_CMD_CONFIG_H
#define OHM_SHELL_CMD_CONFIG_H

#include "../lua/config.h"
#include "shell.h"

struct cfg_args {
  struct sh_opts so;
  const char *out;  /* save -o FILE */
  const char *only; /* --only VAR,... */
  int dry_run;
  int jobs;
  const char *usage;
};

/* One device of diff or apply: opened, compared, maybe written. */
struct cfg_target {
  const char *name; /* as given (shown redacted) */
  char *shown;      /* redacted */
  struct dev *d;
  char *bus; /* its serial line (tty path), or NULL */
  struct cfg_plan plan;
  int rc; /* 0 or the failure's code */
  struct ohm_error err;
  int stage; /* where it failed: 0 open, 1 compare/validate, 2 apply */
};

struct cfg_batch {
  const struct cfg_args *a;
  const struct cfg_file *f;
  struct cfg_target *t;
  size_t n;
  int validate;
  int refused;     /* apply refused the file: nothing written */
  size_t finished; /* progress */
  int tty;         /* progress lines on stderr */
};

/* Parse argv for SUB (save, diff, apply); returns optind or -1 (an
 * option SUB does not take is a usage error: nothing silently ignored). */
int cfg_parse(int argc, char **argv, struct cfg_args *a);
/* Targets for argv[0..n): open and compare each, on a->jobs threads.
 * 0, or the exit status after printing why none could be (a bad
 * inventory: 1; a device named twice: 2). */
int cfg_batch_new(struct cfg_batch *b, const struct cfg_args *a,
                  const struct cfg_file *f, char **names, size_t n,
                  int validate);
void cfg_batch_free(struct cfg_batch *b);
/* Target i's serial line, for cfg_parallel: one thread a line. */
const char *cfg_target_bus(void *ctx, size_t i);
/* `config SUB [OPTS] FILE DEVICE...` (argv[0] = SUB: diff or apply):
 * the options, FILE loaded into *f, the devices opened and compared into
 * b (validate: apply's checks too). 0, or the exit status after printing
 * why not; *f (NULL if not loaded) and b are the caller's to free either
 * way. */
int cfg_batch_args(int argc, char **argv, struct cfg_args *a, int validate,
                   struct cfg_file **f, struct cfg_batch *b);
int cfg_cmd_apply(int argc, char **argv, struct cfg_args *a);

#endif
