/* The shell's shared pieces: common options, the cached inventory, device
 * opening by name or URI, one-line errors, exit codes and confirmation.
 * Everything that prints here prints to stderr, except --help (stdout). */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "shell.h"
#include "suggest.h"

enum {
  OPT_TIMEOUT = 256,
  OPT_RETRIES,
  OPT_JSON,
  OPT_CSV,
  OPT_CONFIG,
  OPT_YES,
};

int sh_verbose;

const struct option sh_common_long[] = {
    {"driver", required_argument, NULL, 'd'},
    {"timeout", required_argument, NULL, OPT_TIMEOUT},
    {"retries", required_argument, NULL, OPT_RETRIES},
    {"json", no_argument, NULL, OPT_JSON},
    {"csv", no_argument, NULL, OPT_CSV},
    {"config", required_argument, NULL, OPT_CONFIG},
    {"verbose", no_argument, NULL, 'v'},
    {"quiet", no_argument, NULL, 'q'},
    {"yes", no_argument, NULL, OPT_YES},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0}};

void sh_opts_init(struct sh_opts *o) {
  memset(o, 0, sizeof *o);
  o->tp.timeout = 0;  /* transport default */
  o->tp.retries = -1; /* transport default */
  o->mode = SH_TABLE;
}

/* A number in [lo, hi] with nothing after it. */
static int parse_num(const char *s, double lo, double hi, double *out) {
  char *end;
  errno = 0;
  double v = strtod(s, &end);
  if (end == s || *end || errno || !isfinite(v) || v < lo || v > hi) return -1;
  *out = v;
  return 0;
}

int sh_common_opt(struct sh_opts *o, int opt, const char *arg) {
  double v;
  switch (opt) {
  case 'd':
    o->driver = arg;
    return 1;
  case OPT_TIMEOUT:
    if (parse_num(arg, 0.001, 3600, &v) < 0) {
      sh_errorf(NULL, "bad --timeout '%s' (seconds, 0.001 to 3600)", arg);
      return -1;
    }
    o->tp.timeout = v;
    return 1;
  case OPT_RETRIES:
    if (parse_num(arg, 0, 100, &v) < 0 || v != floor(v)) {
      sh_errorf(NULL, "bad --retries '%s' (an integer, 0 to 100)", arg);
      return -1;
    }
    o->tp.retries = (int)v;
    return 1;
  case OPT_JSON:
  case OPT_CSV:
    if (o->mode == (opt == OPT_JSON ? SH_CSV : SH_JSON)) {
      sh_errorf(NULL, "--json and --csv together: give one");
      return -1;
    }
    o->mode = opt == OPT_JSON ? SH_JSON : SH_CSV;
    return 1;
  case OPT_CONFIG:
    o->config = arg;
    return 1;
  case 'v':
    o->tp.verbose++;
    o->tp.trace = sh_trace;
    sh_verbose = o->tp.verbose;
    return 1;
  case 'q':
    o->quiet = 1;
    return 1;
  case OPT_YES:
    o->yes = 1;
    return 1;
  }
  return 0;
}

/* The one-line message for getopt's '?' or ':' return. */
static void bad_option(int ret, char **argv, const char *usage) {
  const char *arg = argv[optind - 1];
  if (ret == ':')
    fprintf(stderr, "ohm: %s: option '%s' needs a value; usage: ohm %s\n",
            argv[0], arg, usage);
  else if (optopt && optopt < 256 && arg[0] == '-' && arg[1] != '-')
    fprintf(stderr, "ohm: %s: unknown option '-%c'; usage: ohm %s\n", argv[0],
            optopt, usage);
  else if (sh_suggest_option(sh_common_long, arg))
    fprintf(stderr, "ohm: %s: unknown option '%s' (did you mean %s?)\n",
            argv[0], arg, sh_suggest_option(sh_common_long, arg));
  else
    fprintf(stderr, "ohm: %s: unknown option '%s'; usage: ohm %s\n", argv[0],
            arg, usage);
}

/* --help prints the usage on stdout and exits 0 right here: nothing is
 * allocated yet, and every command wants the same. */
static void help_exit(const char *name, const char *usage) {
  if (!sh_help_print(name)) printf("usage: ohm %s\n", usage);
  fflush(stdout);
  exit(EXIT_OK);
}

int sh_parse_common(int argc, char **argv, struct sh_opts *o,
                    const char *usage) {
  int c;
  optind = 0; /* glibc: full reset, as commands may parse more than once */
  opterr = 0;
  while ((c = getopt_long(argc, argv, ":" SH_COMMON_SHORT, sh_common_long,
                          NULL)) != -1) {
    if (c == 'h') help_exit(argv[0], usage);
    if (c == '?' || c == ':') {
      bad_option(c, argv, usage);
      return -1;
    }
    if (sh_common_opt(o, c, optarg) <= 0) return -1;
  }
  return optind;
}

/* The message for getopt's '?' or ':' on a command with options of its
 * own: the nearest of all its options, else the usage. */
static void bad_own_option(const char *name, const struct option *all, int ret,
                           const char *arg, const char *usage) {
  const char *near = sh_suggest_option(all, arg);
  if (ret == '?' && near)
    sh_errorf(name, "unknown option '%s' (did you mean %s?)", arg, near);
  else
    sh_errorf(name, "bad option '%s'; usage: ohm %s", arg, usage);
}

int sh_parse_own(int argc, char **argv, const struct sh_own_opts *own,
                 struct sh_opts *o) {
  struct option all[48];
  char shortopts[64];
  size_t n = 0;
  int c;
  for (const struct option *p = own->longopts; p->name && n < 47; p++)
    all[n++] = *p;
  for (const struct option *p = sh_common_long; p->name && n < 47; p++)
    all[n++] = *p;
  memset(&all[n], 0, sizeof all[n]);
  snprintf(shortopts, sizeof shortopts, ":%s" SH_COMMON_SHORT,
           own->shortopts ? own->shortopts : "");
  optind = 0;
  opterr = 0;
  while ((c = getopt_long(argc, argv, shortopts, all, NULL)) != -1) {
    if (c == 'h') {
      if (!sh_help_print(own->name)) printf("usage: ohm %s\n", own->usage);
      exit(EXIT_OK);
    }
    if (c == '?' || c == ':') {
      bad_own_option(own->name, all, c, argv[optind - 1], own->usage);
      return -1;
    }
    int r = own->opt(own->ctx, c, optarg);
    if (r < 0 || (r > 0 && sh_common_opt(o, c, optarg) <= 0)) return -1;
  }
  return optind;
}

static struct inventory *inv_cache;
static int inv_loaded;

static void inv_cache_free(void) {
  inv_free(inv_cache);
  inv_cache = NULL;
}

struct inventory *sh_inventory(const struct sh_opts *o, struct ohm_error *e) {
  if (inv_loaded) return inv_cache;
  if (inv_load(o->config, &inv_cache, e) < 0) return NULL;
  inv_loaded = 1;
  atexit(inv_cache_free);
  return inv_cache;
}

int sh_open(const char *device, const struct sh_opts *o, struct dev **out,
            struct ohm_error *e) {
  struct inventory *inv = sh_inventory(o, e);
  *out = NULL;
  if (!inv) return e->code ? e->code : OHM_ECONFIG;
  sh_ask_secrets(inv, device);
  return inv_open(inv, device, o->driver, &o->tp, out, e);
}

int sh_open_args(int argc, char **argv, struct sh_opts *o, const char *usage,
                 const char *what, int max, const char *too_many,
                 struct dev **d) {
  struct ohm_error e;
  int i, rc;
  sh_opts_init(o);
  ohm_error_clear(&e);
  if ((i = sh_parse_common(argc, argv, o, usage)) < 0) return -EXIT_USAGE;
  if (i >= argc || (max && argc - i > max)) {
    sh_errorf(argv[0], "%s%s; usage: ohm %s", i >= argc ? "missing " : "",
              i >= argc ? what : too_many, usage);
    return -EXIT_USAGE;
  }
  if ((rc = sh_open(argv[i], o, d, &e)) < 0) {
    sh_error(argv[i], &e);
    return -sh_exit_code(rc);
  }
  return i;
}

/* s on stderr with control characters as '?': an error stays one line,
 * and a device's or a URI's text cannot drive the terminal. */
static void put_clean(const char *s) {
  char buf[512];
  size_t n = 0;
  for (; *s; s++) { /* in pieces, not a write(2) per character */
    buf[n++] = (unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s;
    if (n == sizeof buf) fwrite(buf, 1, n, stderr), n = 0;
  }
  fwrite(buf, 1, n, stderr);
}

/* "ohm: DEVICE: " with DEVICE's secrets masked. */
static void prefix(const char *device) {
  fputs("ohm: ", stderr);
  if (device) {
    char *safe = inv_redact(device);
    put_clean(safe ? safe : "(device)");
    fputs(": ", stderr);
    free(safe);
  }
}

/* Each error line is written under stderr's lock: a daemon's threads
 * (serve's poller, its listeners) never interleave two lines. */
void sh_error(const char *device, const struct ohm_error *e) {
  flockfile(stderr);
  prefix(device);
  put_clean(ohm_error_text(e));
  fputc('\n', stderr);
  funlockfile(stderr);
}

void sh_errorf(const char *device, const char *fmt, ...) {
  va_list ap;
  char *msg = NULL;
  va_start(ap, fmt);
  int n = vasprintf(&msg, fmt, ap);
  va_end(ap);
  flockfile(stderr);
  prefix(device);
  put_clean(n >= 0 && msg ? msg : fmt);
  fputc('\n', stderr);
  funlockfile(stderr);
  free(msg);
}

int sh_usage(const char *usage) {
  fprintf(stderr, "usage: ohm %s\n", usage);
  return EXIT_USAGE;
}

int sh_exit_code(int code) {
  if (code >= 0) return EXIT_OK;
  if (code == OHM_EINVAL || code == OHM_EURI) return EXIT_USAGE;
  return EXIT_FAIL;
}

static int confirm(const char *prompt) {
  char line[64];
  if (!isatty(STDIN_FILENO) || !isatty(STDERR_FILENO)) {
    fprintf(stderr,
            "ohm: %s: refused: no terminal to confirm on "
            "(add --yes to proceed)\n",
            prompt);
    return 0;
  }
  fprintf(stderr, "%s: proceed? [y/N] ", prompt);
  fflush(stderr);
  if (!fgets(line, sizeof line, stdin)) return 0;
  return line[0] == 'y' || line[0] == 'Y';
}

int sh_confirm(const struct sh_opts *o, const char *shown) {
  if (o->yes) return 1;
  char *prompt = inv_redact(shown); /* "telnet://u:***@h: device.restart" */
  int ok = prompt && confirm(prompt);
  free(prompt);
  return ok;
}
