/* ohm config save DEVICE [-o FILE] / diff FILE DEVICE... / apply FILE
 * DEVICE...: a device's writable variables as a Lua file, compared with
 * and written to a fleet (lua/config.h does the work; apply's report is in
 * cmd_config_apply.c). */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../devices/poll.h"
#include "cmd_config.h"
#include "output.h"
#include "suggest.h"

#define CONFIG_USAGE                                                           \
  "config save [OPTS] DEVICE [-o FILE] | config diff [OPTS] [--json] FILE "    \
  "DEVICE... | config apply [OPTS] [--dry-run] [--yes] [--jobs N] "            \
  "[--only VAR,...] [--json] FILE DEVICE..."

enum { O_OUT = 450, O_ONLY, O_DRY, O_JOBS };

static const struct option own_long[] = {
    {"output", required_argument, NULL, O_OUT},
    {"only", required_argument, NULL, O_ONLY},
    {"dry-run", no_argument, NULL, O_DRY},
    {"jobs", required_argument, NULL, O_JOBS},
    {NULL, 0, NULL, 0}};

static int own_opt(void *ctx, int c, const char *arg) {
  struct cfg_args *a = ctx;
  char *end;
  long v;
  switch (c) {
  case 'o':
  case O_OUT:
    a->out = arg;
    return 0;
  case O_ONLY:
    a->only = arg;
    return 0;
  case O_DRY:
    a->dry_run = 1;
    return 0;
  case O_JOBS:
    v = strtol(arg, &end, 10);
    if (end == arg || *end || v < 1 || v > 64) {
      sh_errorf("config", "bad --jobs '%s' (1 to 64)", arg);
      return -1;
    }
    a->jobs = (int)v;
    return 0;
  }
  return 1;
}

/* The options each subcommand takes; the others are refused. */
static int check_sub(const char *sub, const struct cfg_args *a) {
  int save = !strcmp(sub, "save"), apply = !strcmp(sub, "apply");
  const char *bad = a->out && !save                 ? "-o"
                    : a->dry_run && !apply          ? "--dry-run"
                    : a->only && save               ? "--only"
                    : a->jobs && save               ? "--jobs"
                    : a->so.mode == SH_CSV          ? "--csv"
                    : a->so.mode == SH_JSON && save ? "--json"
                                                    : NULL;
  if (!bad) return 0;
  sh_errorf("config", "%s %s: not an option of config %s; usage: ohm %s", sub,
            bad, sub, a->usage);
  return -1;
}

int cfg_parse(int argc, char **argv, struct cfg_args *a) {
  const struct sh_own_opts own = {"config", a->usage, own_long,
                                  "o:",     own_opt,  a};
  int i = sh_parse_own(argc, argv, &own, &a->so);
  return i < 0 || check_sub(argv[0], a) < 0 ? -1 : i;
}

static int config_save(int argc, char **argv, struct cfg_args *a) {
  struct ohm_error e;
  struct dev *d;
  struct cfg_file *f = NULL;
  char *text = NULL;
  int i = cfg_parse(argc, argv, a), rc;
  if (i < 0) return EXIT_USAGE;
  if (argc - i != 1) {
    sh_errorf("config", "save takes one DEVICE; usage: ohm %s", a->usage);
    return EXIT_USAGE;
  }
  ohm_error_clear(&e);
  if ((rc = sh_open(argv[i], &a->so, &d, &e)) < 0) {
    sh_error(argv[i], &e);
    return sh_exit_code(rc);
  }
  rc = cfg_snapshot(d, argv[i], &f, &e);
  if (rc == 0 && !(text = cfg_render(f, d->map)))
    rc = ohm_error_set(&e, OHM_ENOMEM, "out of memory");
  if (rc == 0 && a->out)
    rc = cfg_write_file(a->out, text, &e);
  else if (rc == 0)
    fputs(text, stdout);
  if (rc < 0) sh_error(argv[i], &e);
  if (rc == 0 && a->out && !a->so.quiet)
    fprintf(stderr, "%zu writable variables saved to %s%s\n", f->n, a->out,
            f->nskipped ? " (others not: see its comments)" : "");
  free(text);
  cfg_free(f);
  dev_close(d);
  return rc < 0 ? EXIT_FAIL : EXIT_OK;
}

/* Open and compare target i (on a worker thread). */
static void target_run(void *ctx, size_t i) {
  struct cfg_batch *b = ctx;
  struct cfg_target *t = &b->t[i];
  struct inventory *inv = sh_inventory(&b->a->so, &t->err);
  ohm_error_clear(&t->err);
  t->rc = inv_open(inv, t->name, b->a->so.driver, &b->a->so.tp, &t->d, &t->err);
  if (t->rc < 0) return;
  t->stage = 1;
  t->rc = cfg_plan(t->d, b->f, b->a->only, b->validate, &t->plan, &t->err);
}

static void target_done(void *ctx, size_t i) {
  struct cfg_batch *b = ctx;
  (void)i;
  b->finished++;
  if (b->tty)
    fprintf(stderr, "\rcomparing: %zu/%zu devices", b->finished, b->n);
}

int cfg_batch_new(struct cfg_batch *b, const struct cfg_args *a,
                  const struct cfg_file *f, char **names, size_t n,
                  int validate) {
  struct ohm_error e;
  memset(b, 0, sizeof *b);
  b->a = a;
  b->f = f;
  b->n = n;
  b->validate = validate;
  b->tty = isatty(STDERR_FILENO) && !a->so.quiet && n > 1;
  ohm_error_clear(&e);
  struct inventory *inv = sh_inventory(&a->so, &e); /* before any thread */
  if (!inv) {
    sh_error(NULL, &e);
    return EXIT_FAIL;
  }
  for (size_t i = 0; i < n; i++)
    for (size_t k = 0; k < i; k++)
      if (!strcmp(names[i], names[k])) {
        char *shown = inv_redact(names[i]);
        sh_errorf("config", "%s given twice", shown ? shown : "a device");
        free(shown);
        return EXIT_USAGE;
      }
  if (!(b->t = calloc(n, sizeof *b->t))) return EXIT_FAIL;
  for (size_t i = 0; i < n; i++) {
    b->t[i].name = names[i];
    const struct inv_device *d = inv_find(inv, names[i]);
    char bus[256];
    b->t[i].shown = inv_redact(names[i]);
    if (!b->t[i].shown) return EXIT_FAIL;
    if (poll_bus_of(d ? d->uri : names[i], bus, sizeof bus) &&
        !(b->t[i].bus = strdup(bus)))
      return EXIT_FAIL;
    sh_ask_secrets(inv, names[i]); /* prompts stay in this thread */
  }
  cfg_parallel(n, a->jobs ? a->jobs : 8, cfg_target_bus, target_run,
               target_done, b);
  if (b->tty) fprintf(stderr, "\r\033[K");
  return 0;
}

const char *cfg_target_bus(void *ctx, size_t i) {
  return ((struct cfg_batch *)ctx)->t[i].bus;
}

void cfg_batch_free(struct cfg_batch *b) {
  for (size_t i = 0; b->t && i < b->n; i++) {
    cfg_plan_free(&b->t[i].plan);
    if (b->t[i].d) dev_close(b->t[i].d);
    free(b->t[i].shown);
    free(b->t[i].bus);
  }
  free(b->t);
  b->t = NULL;
}

static void diff_json(const struct cfg_batch *b) {
  struct sh_out o;
  sh_out_init(&o, SH_JSON, stdout);
  sh_out_str(&o, "[");
  for (size_t i = 0; i < b->n; i++) {
    const struct cfg_target *t = &b->t[i];
    sh_out_str(&o, i ? ",\n {\"device\": " : "{\"device\": ");
    sh_out_json_str(&o, t->shown);
    sh_out_printf(&o, ", \"equal\": %s, \"error\": ",
                  t->rc == 0 && !t->plan.n ? "true" : "false");
    if (t->rc < 0)
      sh_out_json_str(&o, ohm_error_text(&t->err));
    else
      sh_out_str(&o, "null");
    sh_out_str(&o, ", \"differences\": [");
    for (size_t k = 0; t->rc == 0 && k < t->plan.n; k++) {
      const struct cfg_change *c = &t->plan.ch[k];
      sh_out_str(&o, k ? ", {\"name\": " : "{\"name\": ");
      sh_out_json_str(&o, c->var->name);
      sh_out_str(&o, ", \"device\": ");
      sh_out_json_str(&o, c->dev_text);
      sh_out_str(&o, ", \"file\": ");
      sh_out_json_str(&o, c->file_text);
      sh_out_str(&o, "}");
    }
    sh_out_str(&o, "]}");
  }
  sh_out_str(&o, "]\n");
}

static void diff_table(const struct cfg_batch *b) {
  static const char *const cols[] = {"DEVICE", "VARIABLE", "DEVICE VALUE",
                                     "FILE VALUE"};
  struct sh_out o;
  size_t rows = 0, r = 0;
  for (size_t i = 0; i < b->n; i++)
    rows += b->t[i].rc == 0 ? b->t[i].plan.n : 0;
  if (!rows) return;
  struct sh_cell *cells = calloc(rows * 4, sizeof *cells);
  if (!cells) return;
  for (size_t i = 0; i < b->n; i++)
    for (size_t k = 0; b->t[i].rc == 0 && k < b->t[i].plan.n; k++, r++) {
      const struct cfg_change *c = &b->t[i].plan.ch[k];
      cells[r * 4] = (struct sh_cell){b->t[i].shown, 0};
      cells[r * 4 + 1] = (struct sh_cell){c->var->name, 0};
      cells[r * 4 + 2] =
          (struct sh_cell){c->dev_text[0] ? c->dev_text : "-", 0};
      cells[r * 4 + 3] = (struct sh_cell){c->file_text, 0};
    }
  sh_out_init(&o, SH_TABLE, stdout);
  o.header = 1;
  sh_out_table(&o, cols, 4, cells, rows);
  free(cells);
}

int cfg_batch_args(int argc, char **argv, struct cfg_args *a, int validate,
                   struct cfg_file **f, struct cfg_batch *b) {
  struct ohm_error e;
  int i = cfg_parse(argc, argv, a);
  memset(b, 0, sizeof *b);
  *f = NULL;
  if (i < 0) return EXIT_USAGE;
  if (argc - i < 2) {
    sh_errorf("config", "%s needs FILE and DEVICE...; usage: ohm %s", argv[0],
              a->usage);
    return EXIT_USAGE;
  }
  ohm_error_clear(&e);
  if (cfg_load(argv[i], f, &e) < 0) {
    sh_error(NULL, &e);
    return EXIT_USAGE;
  }
  return cfg_batch_new(b, a, *f, argv + i + 1, (size_t)(argc - i - 1),
                       validate);
}

/* Exit 0 all equal, 1 any differs, 2 an error (bad file, a device that
 * could not be read or compared). */
static int config_diff(int argc, char **argv, struct cfg_args *a) {
  struct cfg_file *f;
  struct cfg_batch b;
  int rc = cfg_batch_args(argc, argv, a, 0, &f, &b), differs = 0, failed = 0;
  for (size_t k = 0; rc == 0 && k < b.n; k++) {
    if (b.t[k].rc < 0) sh_error(b.t[k].shown, &b.t[k].err);
    failed += b.t[k].rc < 0;
    differs += b.t[k].rc == 0 && b.t[k].plan.n;
  }
  if (rc == 0 && a->so.mode == SH_JSON)
    diff_json(&b);
  else if (rc == 0 && !a->so.quiet)
    diff_table(&b);
  cfg_batch_free(&b);
  cfg_free(f);
  return rc || failed ? EXIT_USAGE : differs ? EXIT_FAIL : EXIT_OK;
}

int cmd_config(int argc, char **argv) {
  struct cfg_args a;
  memset(&a, 0, sizeof a);
  sh_opts_init(&a.so);
  a.usage = CONFIG_USAGE;
  if (argc < 2 || argv[1][0] == '-') {
    if (argc >= 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
      if (!sh_help_print("config")) printf("usage: ohm %s\n", a.usage);
      return EXIT_OK;
    }
    sh_errorf("config", "missing save, diff or apply; usage: ohm %s", a.usage);
    return EXIT_USAGE;
  }
  if (!strcmp(argv[1], "save")) return config_save(argc - 1, argv + 1, &a);
  if (!strcmp(argv[1], "diff")) return config_diff(argc - 1, argv + 1, &a);
  if (!strcmp(argv[1], "apply")) return cfg_cmd_apply(argc - 1, argv + 1, &a);
  sh_errorf("config", "unknown subcommand '%s' (save, diff or apply)", argv[1]);
  return EXIT_USAGE;
}
