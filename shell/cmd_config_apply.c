/* ohm config apply FILE DEVICE... [--dry-run] [--yes] [--jobs N]
 * [--only VAR,...]: every device opened and every value validated against
 * its map and threshold order first; a refusal anywhere writes nothing
 * anywhere. Then, confirmed (terminal) or --yes (scripts), each device
 * gets only what differs, in a safe order, read back; a report per device
 * (table or --json). Exit 0 all applied, 1 refused before any write, 2
 * usage or a bad file, 3 some device failed. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd_config.h"
#include "output.h"

static const char *const state_word[] = {"planned", "written", "mismatch",
                                         "failed", "not sent"};

/* A refusal of the file's values (not a device that failed to answer). */
static int refused(const struct cfg_target *t) {
  return t->stage == 1 && t->rc < 0 && t->plan.refused;
}

static void apply_one(void *ctx, size_t i) {
  struct cfg_batch *b = ctx;
  struct cfg_target *t = &b->t[i];
  if (t->rc < 0 || !t->plan.n) return;
  ohm_error_clear(&t->err);
  t->stage = 2;
  t->rc = cfg_apply(t->d, &t->plan, &t->err);
}

static void apply_done(void *ctx, size_t i) {
  struct cfg_batch *b = ctx;
  (void)i;
  b->finished++;
  if (b->tty) fprintf(stderr, "\rapplying: %zu/%zu devices", b->finished, b->n);
}

static const char *target_result(const struct cfg_batch *b,
                                 const struct cfg_target *t, int dry) {
  if (b->refused && t->rc < 0 && t->plan.refused) return "refused";
  if (t->rc < 0) return "failed";
  if (b->refused) return "not written";
  if (!t->plan.n) return "equal";
  return dry ? "dry-run" : "applied";
}

static void report_json(const struct cfg_batch *b, int dry) {
  struct sh_out o;
  sh_out_init(&o, SH_JSON, stdout);
  sh_out_str(&o, "[");
  for (size_t i = 0; i < b->n; i++) {
    const struct cfg_target *t = &b->t[i];
    sh_out_str(&o, i ? ",\n {\"device\": " : "{\"device\": ");
    sh_out_json_str(&o, t->shown);
    sh_out_printf(
        &o, ", \"result\": \"%s\", \"error\": ", target_result(b, t, dry));
    if (t->rc < 0)
      sh_out_json_str(&o, ohm_error_text(&t->err));
    else
      sh_out_str(&o, "null");
    sh_out_str(&o, ", \"changes\": [");
    for (size_t k = 0; k < t->plan.n; k++) {
      const struct cfg_change *c = &t->plan.ch[k];
      sh_out_str(&o, k ? ", {\"name\": " : "{\"name\": ");
      sh_out_json_str(&o, c->var->name);
      sh_out_str(&o, ", \"before\": ");
      sh_out_json_str(&o, c->dev_text);
      sh_out_str(&o, ", \"after\": ");
      sh_out_json_str(&o, c->file_text);
      sh_out_str(&o, ", \"readback\": ");
      sh_out_json_str(&o, c->back_text);
      sh_out_printf(
          &o, ", \"result\": \"%s\", \"message\": ", state_word[c->state]);
      sh_out_json_str(&o, c->msg);
      sh_out_str(&o, "}");
    }
    sh_out_str(&o, "]}");
  }
  sh_out_str(&o, "]\n");
}

static void row(struct sh_cell *c, const char *dev, const char *var,
                const char *before, const char *after, const char *res) {
  c[0] = (struct sh_cell){dev, 0};
  c[1] = (struct sh_cell){var, 0};
  c[2] = (struct sh_cell){before && *before ? before : "-", 0};
  c[3] = (struct sh_cell){after && *after ? after : "-", 0};
  c[4] = (struct sh_cell){res, 0};
}

/* One row per change, one per device without changes or that failed
 * before writing: every device is accounted for. */
static void report_table(const struct cfg_batch *b, int dry) {
  static const char *const cols[] = {"DEVICE", "VARIABLE", "BEFORE", "AFTER",
                                     "RESULT"};
  struct sh_out o;
  size_t rows = 0, r = 0;
  char(*res)[480];
  for (size_t i = 0; i < b->n; i++)
    rows += b->t[i].plan.n ? b->t[i].plan.n : 1;
  struct sh_cell *cells = calloc(rows * 5, sizeof *cells);
  res = calloc(rows, sizeof *res);
  if (!cells || !res) goto end;
  for (size_t i = 0; i < b->n; i++) {
    const struct cfg_target *t = &b->t[i];
    if (!t->plan.n) {
      snprintf(res[r], sizeof res[r], "%s",
               t->rc < 0 ? "failed (see above)" : "equal, nothing to write");
      row(&cells[5 * r], t->shown, "-", NULL, NULL, res[r]);
      r++;
    }
    for (size_t k = 0; k < t->plan.n; k++, r++) {
      const struct cfg_change *c = &t->plan.ch[k];
      if (dry)
        snprintf(res[r], sizeof res[r], "would write");
      else if (c->state == CFG_WRITTEN)
        snprintf(res[r], sizeof res[r], "written, read back");
      else
        snprintf(res[r], sizeof res[r], "%s: %s", state_word[c->state], c->msg);
      row(&cells[5 * r], t->shown, c->var->name, c->dev_text, c->file_text,
          res[r]);
    }
  }
  sh_out_init(&o, SH_TABLE, stdout);
  o.header = 1;
  sh_out_table(&o, cols, 5, cells, rows);
end:
  free(cells);
  free(res);
}

static void report(const struct cfg_batch *b, int dry) {
  if (b->a->so.mode == SH_JSON)
    report_json(b, dry);
  else if (!b->a->so.quiet || dry)
    report_table(b, dry);
}

/* Validation: a refusal for any device is one for all. Returns the
 * number of refusals (each printed) and of devices that failed. */
static size_t check_all(const struct cfg_batch *b, size_t *failed,
                        size_t *changes) {
  size_t nref = 0;
  *failed = *changes = 0;
  for (size_t i = 0; i < b->n; i++) {
    const struct cfg_target *t = &b->t[i];
    if (refused(t)) {
      sh_errorf(t->shown, "%s; nothing written to any device",
                ohm_error_text(&t->err));
      nref++;
    } else if (t->rc < 0) {
      sh_error(t->shown, &t->err);
      (*failed)++;
    }
    *changes += t->rc == 0 ? t->plan.n : 0;
  }
  return nref;
}

static int confirm(const struct cfg_batch *b, size_t changes) {
  char prompt[200];
  size_t devs = 0;
  for (size_t i = 0; i < b->n; i++)
    devs += b->t[i].rc == 0 && b->t[i].plan.n;
  snprintf(prompt, sizeof prompt, "config apply: %zu change%s to %zu device%s",
           changes, changes == 1 ? "" : "s", devs, devs == 1 ? "" : "s");
  if (!b->a->so.yes && isatty(STDIN_FILENO) && isatty(STDERR_FILENO))
    report_table(b, 1); /* what will be written, before asking */
  return sh_confirm(&b->a->so, prompt);
}

static int run_apply(struct cfg_batch *b) {
  size_t failed, changes;
  if (check_all(b, &failed, &changes)) {
    b->refused = 1;
    if (b->a->so.mode == SH_JSON) report_json(b, 0);
    return EXIT_FAIL;
  }
  if (b->a->dry_run) {
    report(b, 1);
    return failed ? EXIT_PARTIAL : EXIT_OK;
  }
  if (changes && !confirm(b, changes)) return EXIT_USAGE;
  b->finished = 0;
  cfg_parallel(b->n, b->a->jobs ? b->a->jobs : 8, cfg_target_bus, apply_one,
               apply_done, b);
  if (b->tty) fprintf(stderr, "\r\033[K");
  for (size_t i = 0; i < b->n; i++)
    if (b->t[i].stage == 2 && b->t[i].rc < 0) {
      sh_error(b->t[i].shown, &b->t[i].err);
      failed++;
    }
  report(b, 0);
  return failed ? EXIT_PARTIAL : EXIT_OK;
}

int cfg_cmd_apply(int argc, char **argv, struct cfg_args *a) {
  struct cfg_file *f;
  struct cfg_batch b;
  int rc = cfg_batch_args(argc, argv, a, 1, &f, &b);
  if (rc == 0) rc = run_apply(&b);
  cfg_batch_free(&b);
  cfg_free(f);
  return rc;
}
