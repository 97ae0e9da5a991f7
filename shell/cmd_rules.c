/* `ohm rules test [--dry-run] [--events-log FILE] FILE EVENT DEVICE`:
 * fire one event through a rules file and run its jobs (or print them),
 * as `upsmon -c test` lets NUT users try NOTIFYCMD. DEVICE's values are
 * read first when it is an inventory name or a URI. */
#include <stdlib.h>
#include <string.h>

#include "serve.h"
#include "serve/rules.h"
#include "serve/serve_rules.h"

static const char rules_usage[] =
    "rules test [--dry-run] [--events-log FILE] FILE EVENT DEVICE";

struct rt {
  struct sh_opts o;
  const char *log;
  int dry;
};

static int rt_opt(void *ctx, int opt, const char *arg) {
  struct rt *t = ctx;
  if (opt == 'n')
    t->dry = 1;
  else if (opt == 'L')
    t->log = arg;
  else
    return -1;
  return 0;
}

static int rt_cmd(void *ctx, const char *dev, const char *cmd,
                  struct ohm_error *e) {
  struct dev *d;
  int rc = sh_open(dev, ctx, &d, e);
  if (rc == 0) rc = dev_cmd(d, cmd, e);
  if (d) dev_close(d);
  return rc;
}

static int rt_set(void *ctx, const char *dev, const char *var, const char *val,
                  struct ohm_error *e) {
  struct dev *d;
  int rc = sh_open(dev, ctx, &d, e);
  if (rc == 0) rc = dev_set(d, var, val, e);
  if (d) dev_close(d);
  return rc;
}

static int rt_with_dev(void *ctx, const char *dev,
                       int (*fn)(struct dev *d, void *arg, struct ohm_error *e),
                       void *arg, struct ohm_error *e) {
  struct dev *d;
  int rc = sh_open(dev, ctx, &d, e);
  if (rc == 0) rc = fn(d, arg, e);
  if (d) dev_close(d);
  return rc;
}

/* Fire EVENT on DEVICE, with its values when it is a device we can
 * read (an inventory name or a URI). Returns the rules matched. */
static int rt_fire(struct rt *t, struct inventory *inv, struct rules *r,
                   const char *name, const char *event) {
  struct dev *d = NULL;
  struct dev_value *vals = NULL;
  struct ohm_error e;
  int rc = -1;
  if (inv_find(inv, name) || strchr(name, ':')) {
    rc = sh_open(name, &t->o, &d, &e);
    vals = rc == 0 ? calloc(d->map->nvars + 1, sizeof *vals) : NULL;
    if (rc == 0 && !vals) rc = ohm_error_set(&e, OHM_ENOMEM, "out of memory");
    if (rc == 0) rc = dev_read_all(d, vals, &e);
    if (rc < 0)
      sh_errorf(name, "values not read, firing without them (%s)",
                ohm_error_text(&e));
  }
  int matched = rules_fire_map(r, name, event, rc == 0 ? d->map : NULL,
                               rc == 0 ? vals : NULL);
  free(vals);
  if (d) dev_close(d);
  return matched;
}

static int rules_test(struct rt *t, char **argv) {
  struct ohm_error e;
  char path[4096];
  struct evlog *log = NULL;
  struct rules *r = NULL;
  struct inventory *inv = sh_inventory(&t->o, &e);
  if (!inv) return sh_error(NULL, &e), EXIT_FAIL;
  if (!t->dry && (evlog_path(t->log, inv, path, sizeof path, &e) < 0 ||
                  evlog_open(path, NULL, &log, &e) < 0))
    return sh_error(NULL, &e), EXIT_FAIL;
  struct rules_cfg cfg = {.log = log,
                          .inv = inv,
                          .out = stdout,
                          .dry_run = t->dry,
                          .echo = 1,
                          .host = {&t->o, rt_cmd, rt_set, rt_with_dev}};
  if (rules_load(argv[0], &cfg, &r, &e) < 0) {
    sh_errorf(NULL, "rules: %s", ohm_error_text(&e));
    evlog_close(log);
    return EXIT_FAIL;
  }
  int matched = rt_fire(t, inv, r, argv[2], argv[1]);
  int failed = rules_wait_jobs(r, 3600);
  rules_free(r);
  evlog_close(log);
  if (!matched) {
    sh_errorf(NULL, "rules: no rule runs on %s %s", argv[2], argv[1]);
    return EXIT_FAIL;
  }
  return failed ? EXIT_FAIL : EXIT_OK;
}

int cmd_rules(int argc, char **argv) {
  static const struct option own[] = {
      {"dry-run", no_argument, NULL, 'n'},
      {"events-log", required_argument, NULL, 'L'},
      {NULL, 0, NULL, 0}};
  struct rt t;
  memset(&t, 0, sizeof t);
  sh_opts_init(&t.o);
  int ind = fleet_getopt(argc, argv, &t.o, own, "n", rt_opt, &t, rules_usage);
  if (ind < 0) return EXIT_USAGE;
  if (argc - ind != 4 || strcmp(argv[ind], "test") != 0) {
    sh_errorf(NULL, "rules: usage: ohm %s", rules_usage);
    return EXIT_USAGE;
  }
  return rules_test(&t, argv + ind + 1);
}
