/* `ohm upgrade` and `ohm push` (issue 5): one file (or several, in order)
 * to many units over TFTP or FTP, checks before and after, progress on
 * stderr, a report on stdout (table or --json). Exit 0 all ok, 3 some
 * failed, 1 none did, 2 usage. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "output.h"
#include "progress.h"
#include "shell.h"
#include "suggest.h"

#define UP_USAGE                                                               \
  "upgrade --file FILE [--file FILE...] [--jobs N] [--yes] [--dry-run] "       \
  "[--wait SECONDS] [--settle SECONDS] [--remote-name NAME] [--blksize N] "    \
  "[--json] TARGET..."
#define PUSH_USAGE                                                             \
  "push --file CONFIG [--jobs N] [--yes] [--dry-run] [--wait SECONDS] "        \
  "[--remote-name NAME] [--json] TARGET..."

enum { O_FILE = 400, O_JOBS, O_DRY, O_WAIT, O_SETTLE, O_REMOTE, O_BLK };

static const struct option own_long[] = {
    {"file", required_argument, NULL, O_FILE},
    {"jobs", required_argument, NULL, O_JOBS},
    {"dry-run", no_argument, NULL, O_DRY},
    {"wait", required_argument, NULL, O_WAIT},
    {"settle", required_argument, NULL, O_SETTLE},
    {"remote-name", required_argument, NULL, O_REMOTE},
    {"blksize", required_argument, NULL, O_BLK},
    {NULL, 0, NULL, 0}};

struct up_args {
  struct sh_opts so;
  char *files[UPG_MAX_FILES];
  size_t nfiles;
  struct upg_opts uo;
  const char *usage;
};

static int num_arg(const char *name, const char *s, double lo, double hi,
                   double *out) {
  char *end;
  double v = strtod(s, &end);
  if (end == s || *end || v < lo || v > hi) {
    sh_errorf(NULL, "bad --%s '%s' (%g to %g)", name, s, lo, hi);
    return -1;
  }
  *out = v;
  return 0;
}

/* One of our own options; -1 after printing what is wrong. */
static int own_opt(void *ctx, int c, const char *arg) {
  struct up_args *a = ctx;
  double v;
  switch (c) {
  case O_FILE:
    if (a->nfiles == sizeof a->files / sizeof a->files[0]) {
      sh_errorf(NULL, "too many files (at most %d)", UPG_MAX_FILES);
      return -1;
    }
    a->files[a->nfiles++] = (char *)arg;
    return 0;
  case O_JOBS:
    if (num_arg("jobs", arg, 1, 256, &v) < 0) return -1;
    a->uo.x.jobs = (int)v;
    return 0;
  case O_DRY:
    a->uo.dry_run = 1;
    return 0;
  case O_WAIT:
    return num_arg("wait", arg, 0, 86400, &a->uo.wait);
  case O_SETTLE:
    return num_arg("settle", arg, 0, 3600, &a->uo.settle);
  case O_REMOTE:
    a->uo.remote = arg;
    return 0;
  case O_BLK:
    if (num_arg("blksize", arg, 512, 65464, &v) < 0) return -1;
    a->uo.x.blksize = (long)v;
    return 0;
  }
  return 1;
}

static int parse(int argc, char **argv, struct up_args *a) {
  const struct sh_own_opts own = {argv[0], a->usage, own_long,
                                  NULL,    own_opt,  a};
  return sh_parse_own(argc, argv, &own, &a->so);
}

static void on_sigint(int sig) {
  (void)sig;
  tp_interrupt(); /* sets tp_interrupted: the batch's cancel flag */
}

/* A second Ctrl-C kills outright (SA_RESETHAND). */
static void catch_sigint(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_sigint;
  sa.sa_flags = SA_RESETHAND;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, NULL);
  tp_interrupted = 0;
}

static const char *result_text(const struct upg_batch *b, size_t i) {
  const struct xfer_target *x = &b->xs[i];
  if (x->state == XS_SKIPPED && b->o.dry_run && !x->err) return "ok (dry run)";
  return xfer_state_name(x->state);
}

static double target_seconds(const struct xfer_target *x) {
  return x->t_start > 0 && x->t_end > x->t_start ? x->t_end - x->t_start : 0;
}

/* The table: one row per target. */
static void report_table(const struct upg_batch *b) {
  static const char *const cols[] = {"target", "method", "bytes", "seconds",
                                     "result", "before", "after", "detail"};
  enum { NC = 8 };
  struct sh_cell *cells = calloc(b->n * NC + 1, sizeof *cells);
  char(*num)[2][32] = calloc(b->n + 1, sizeof *num);
  if (!cells || !num) {
    free(cells);
    free(num);
    return;
  }
  for (size_t i = 0; i < b->n; i++) {
    const struct xfer_target *x = &b->xs[i];
    struct sh_cell *r = &cells[i * NC];
    snprintf(num[i][0], 32, "%llu", (unsigned long long)x->bytes_sent);
    snprintf(num[i][1], 32, "%.2f", target_seconds(x));
    r[0] = (struct sh_cell){b->ts[i].arg, 0};
    r[1] = (struct sh_cell){
        x->no_options ? "tftp (rfc1350)" : xfer_method_name(x->method), 0};
    r[2] = (struct sh_cell){num[i][0], 1};
    r[3] = (struct sh_cell){num[i][1], 1};
    r[4] = (struct sh_cell){result_text(b, i), 0};
    r[5] =
        (struct sh_cell){b->ts[i].ver_before[0] ? b->ts[i].ver_before : "-", 0};
    r[6] =
        (struct sh_cell){b->ts[i].ver_after[0] ? b->ts[i].ver_after : "-", 0};
    r[7] = (struct sh_cell){x->msg, 0};
  }
  struct sh_out o;
  sh_out_init(&o, SH_TABLE, stdout);
  o.header = 1;
  sh_out_table(&o, cols, NC, cells, b->n);
  free(cells);
  free(num);
}

static void json_str_or_null(struct sh_out *o, const char *s) {
  if (s && *s)
    sh_out_json_str(o, s);
  else
    sh_out_str(o, "null");
}

static void json_files(struct sh_out *o, const struct upg_batch *b) {
  sh_out_str(o, "\"files\": [");
  for (size_t k = 0; k < b->nfiles; k++) {
    const struct xfer_file *f = &b->files[k];
    sh_out_str(o, k ? ", {\"path\": " : "{\"path\": ");
    sh_out_json_str(o, f->path);
    sh_out_str(o, ", \"remote\": ");
    sh_out_json_str(o, f->remote);
    sh_out_printf(o, ", \"size\": %zu, \"sha256\": \"%s\"}", f->size,
                  f->sha256);
  }
  sh_out_str(o, "]");
}

static void json_target(struct sh_out *o, const struct upg_batch *b, size_t i) {
  const struct xfer_target *x = &b->xs[i];
  const struct upg_target *t = &b->ts[i];
  sh_out_str(o, "{\"target\": ");
  sh_out_json_str(o, t->arg);
  sh_out_printf(
      o, ", \"method\": \"%s\", \"result\": ", xfer_method_name(x->method));
  sh_out_json_str(o, result_text(b, i));
  sh_out_printf(o, ", \"bytes\": %llu, \"total\": %llu, \"seconds\": %.3f",
                (unsigned long long)x->bytes_sent,
                (unsigned long long)x->bytes_total, target_seconds(x));
  sh_out_printf(o, ", \"tries\": %d, \"tftp_options\": %s", x->attempt,
                x->method == XFER_TFTP && !x->no_options ? "true" : "false");
  sh_out_str(o, ", \"version_before\": ");
  json_str_or_null(o, t->ver_before);
  sh_out_str(o, ", \"version_after\": ");
  json_str_or_null(o, t->ver_after);
  sh_out_str(o, ", \"message\": ");
  json_str_or_null(o, x->msg);
  sh_out_str(o, "}");
}

static void report_json(const struct upg_batch *b, int status) {
  struct sh_out o;
  size_t ok, failed;
  upg_summary(b, &ok, &failed);
  sh_out_init(&o, SH_JSON, stdout);
  sh_out_printf(&o, "{\"dry_run\": %s, ", b->o.dry_run ? "true" : "false");
  json_files(&o, b);
  sh_out_printf(&o,
                ", \"seconds\": %.3f, \"ok\": %zu, \"failed\": %zu, "
                "\"exit\": %d, \"targets\": [",
                b->seconds, ok, failed, status);
  for (size_t i = 0; i < b->n; i++) {
    sh_out_str(&o, i ? ",\n  " : "\n  ");
    json_target(&o, b, i);
  }
  sh_out_str(&o, "]}\n");
}

/* The check results worth a line before anything is sent. */
static void note_checks(struct sh_progress *p, const struct upg_batch *b) {
  for (size_t i = 0; i < b->n; i++) {
    char line[300];
    const struct xfer_target *x = &b->xs[i];
    if (x->state == XS_FAILED)
      snprintf(line, sizeof line, "check failed: %s", x->msg);
    else if (b->ts[i].probe == OHM_ETIMEDOUT)
      snprintf(line, sizeof line, "no answer to a TFTP probe; will try");
    else
      continue;
    sh_progress_note(p, b->ts[i].arg, line);
  }
}

/* On a terminal list what will happen and ask; in scripts --yes. */
static int confirm(const struct up_args *a, const struct upg_batch *b,
                   size_t pending) {
  char prompt[300], sz[32];
  if (!a->so.yes && isatty(STDIN_FILENO) && isatty(STDERR_FILENO))
    for (size_t i = 0; i < b->n; i++)
      if (b->xs[i].state == XS_PENDING)
        fprintf(stderr, "  %s (%s)\n", b->ts[i].arg,
                xfer_method_name(b->xs[i].method));
  snprintf(prompt, sizeof prompt, "%s %s (%s, sha256 %.12s) to %zu target%s",
           a->uo.push ? "push" : "upgrade", b->files[0].path,
           sh_human_bytes((double)b->files[0].size, sz, sizeof sz),
           b->files[0].sha256, pending, pending == 1 ? "" : "s");
  return sh_confirm(&a->so, prompt);
}

static size_t count_pending(const struct upg_batch *b) {
  size_t n = 0;
  for (size_t i = 0; i < b->n; i++)
    n += b->xs[i].state == XS_PENDING;
  return n;
}

/* Checks, confirmation, transfers, report; returns the exit status. */
static int run_batch(struct up_args *a, struct upg_batch *b) {
  struct sh_progress p;
  struct ohm_error e = {0};
  sh_progress_init(&p, b, a->so.quiet);
  upg_check(b);
  note_checks(&p, b);
  size_t pending = count_pending(b);
  if (pending && !b->o.dry_run && !confirm(a, b, pending)) return EXIT_USAGE;
  b->o.x.on_event = sh_progress_event;
  b->o.x.on_tick = sh_progress_tick;
  b->o.x.ud = &p;
  b->o.x.cancel = &tp_interrupted;
  catch_sigint();
  int rc = pending ? upg_run(b, &e) : 0;
  signal(SIGINT, SIG_DFL);
  sh_progress_end(&p);
  if (rc < 0 && rc != OHM_EINTR) {
    sh_error(a->so.quiet ? NULL : "upgrade", &e);
    return EXIT_FAIL;
  }
  size_t ok, failed;
  int status = upg_summary(b, &ok, &failed);
  if (a->so.mode == SH_JSON)
    report_json(b, status);
  else
    report_table(b);
  if (rc == OHM_EINTR)
    sh_errorf(NULL, "interrupted: %zu ok, %zu not finished", ok, failed);
  return status;
}

static int upgrade_main(int argc, char **argv, int push) {
  struct up_args a;
  memset(&a, 0, sizeof a);
  sh_opts_init(&a.so);
  a.usage = push ? PUSH_USAGE : UP_USAGE;
  a.uo.push = push;
  a.uo.wait = 120;
  a.uo.settle = 5;
  a.uo.x.retries = -1;
  int first = parse(argc, argv, &a);
  if (first < 0) return EXIT_USAGE;
  a.uo.driver = a.so.driver;
  a.uo.tp = &a.so.tp;
  a.uo.x.timeout = a.so.tp.timeout;
  a.uo.x.retries = a.so.tp.retries;
  struct ohm_error e = {0};
  struct inventory *inv = sh_inventory(&a.so, &e);
  if (!inv && e.code < 0) {
    sh_error(NULL, &e);
    return EXIT_FAIL;
  }
  for (int i = first; i < argc; i++)
    sh_ask_secrets(inv, argv[i]); /* ftp://USER@ without a password */
  struct upg_batch b;
  int rc = upg_prepare(&b, inv, argv + first, (size_t)(argc - first), a.files,
                       a.nfiles, &a.uo, &e);
  if (rc < 0) {
    sh_error(argv[0], &e);
    upg_free(&b);
    return rc == OHM_ENOMEM || rc == OHM_EIO || rc == OHM_ENOENT ? EXIT_FAIL
                                                                 : EXIT_USAGE;
  }
  int status = run_batch(&a, &b);
  upg_free(&b);
  return status;
}

int cmd_upgrade(int argc, char **argv) {
  return upgrade_main(argc, argv, 0);
}

int cmd_push(int argc, char **argv) {
  return upgrade_main(argc, argv, 1);
}
