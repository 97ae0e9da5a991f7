/* ohm set [OPTS] [--force] DEVICE VAR=VALUE...: every assignment is
 * checked against the map (name, access, type, range) and thresholds
 * against each other and the device's current ones (devices/thresh.h),
 * before anything is sent, so a typo in the third assignment does not
 * leave the first two written; over SNMP they all go in one SET PDU, which
 * the agent takes whole or not at all. --force writes thresholds out of
 * order.
 * Exit 2 for malformed arguments, 1 for a refused value or a device
 * failure. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../devices/thresh.h"
#include "shell.h"
#include "suggest.h"

#define SET_USAGE "set [OPTS] [--force] DEVICE VAR=VALUE..."

struct assign {
  char *name; /* points into a copy of the argument */
  const char *value;
  const struct dev_var *var;
};

/* Split the VAR=VALUE arguments; a malformed one is a usage error. */
static int parse_assigns(char **args, int n, struct assign *as) {
  for (int k = 0; k < n; k++) {
    char *eq = strchr(args[k], '=');
    if (!eq || eq == args[k] || !eq[1]) {
      sh_errorf("set", "'%s' is not VAR=VALUE; usage: ohm %s", args[k],
                SET_USAGE);
      return -1;
    }
    as[k].name = strndup(args[k], (size_t)(eq - args[k]));
    as[k].value = eq + 1;
    if (!as[k].name) return -1;
  }
  return 0;
}

/* Every assignment against d's map, nothing sent; message on the first
 * refused one. */
static int validate(struct dev *d, const char *device, struct assign *as,
                    int n) {
  struct ohm_error e;
  uint16_t regs[8];
  for (int k = 0; k < n; k++) {
    ohm_error_clear(&e);
    as[k].var = dev_map_var(d->map, as[k].name);
    if (!as[k].var) {
      sh_no_var(device, d->map, as[k].name);
      return OHM_ENOENT;
    }
    if (as[k].var->access != DA_RW) {
      sh_errorf(device, "%s is read-only; nothing written", as[k].name);
      return OHM_EACCES;
    }
    if (!dev_var_available(d, as[k].var)) {
      sh_errorf(device, "%s is not available over %s; nothing written",
                as[k].name, d->tp && d->tp->ops ? d->tp->ops->scheme : "it");
      return OHM_ENOTSUP;
    }
    int rc = dev_encode(as[k].var, as[k].value, regs, &e);
    if (rc < 0) {
      const char *why = ohm_error_text(&e);
      size_t len = strlen(as[k].name);
      if (strncmp(why, as[k].name, len) == 0 && why[len] == ':')
        sh_errorf(device, "%s; nothing written", why);
      else
        sh_errorf(device, "%s=%s refused (%s); nothing written", as[k].name,
                  as[k].value, why);
      return rc;
    }
  }
  return 0;
}

/* The thresholds among the assignments in their order, unless forced. */
static int check_order(struct dev *d, const char *device,
                       const struct assign *as, int n) {
  struct dev_thresh *p = calloc((size_t)n, sizeof *p);
  struct ohm_error e;
  size_t k = 0;
  int rc;
  if (!p) return OHM_ENOMEM;
  for (int i = 0; i < n; i++)
    if (as[i].var->type != DT_ENUM && dev_thresh_rank(as[i].name) >= 0) {
      p[k].name = as[i].name;
      p[k++].value = strtod(as[i].value, NULL);
    }
  ohm_error_clear(&e);
  rc = k ? dev_thresh_check_dev(d, p, k, &e) : 0;
  if (rc == OHM_EINVAL)
    sh_errorf(device, "%s; nothing written (--force writes it anyway)",
              ohm_error_text(&e));
  else if (rc < 0)
    sh_errorf(device, "%s; nothing written", ohm_error_text(&e));
  free(p);
  return rc;
}

/* Take --force out of argv (before "--"), so the common options never see
 * it. Returns 1 if it was there. */
static int take_force(int *argc, char **argv) {
  int found = 0, j = 1;
  for (int i = 1; i < *argc; i++) {
    if (strcmp(argv[i], "--") == 0) {
      while (i < *argc)
        argv[j++] = argv[i++];
      break;
    }
    if (strcmp(argv[i], "--force") == 0)
      found = 1;
    else
      argv[j++] = argv[i];
  }
  *argc = j;
  argv[j] = NULL;
  return found;
}

/* Several assignments in one all-or-none write (an SNMP SET PDU): 1 if
 * the transport has none (then they go one by one), else 0 or < 0. */
static int write_whole(struct dev *d, const char *device, struct assign *as,
                       int n, const struct sh_opts *o) {
  const char **names = calloc((size_t)n, sizeof *names);
  const char **texts = calloc((size_t)n, sizeof *texts);
  struct ohm_error e;
  size_t bad = 0;
  int rc = 1;
  ohm_error_clear(&e);
  for (int k = 0; names && texts && k < n; k++)
    names[k] = as[k].name, texts[k] = as[k].value;
  if (names && texts) rc = dev_set_many(d, names, texts, (size_t)n, &bad, &e);
  if (rc == OHM_ENOTSUP && bad == 0) rc = 1;
  if (rc < 0)
    sh_errorf(device,
              "%s%s%s; refused as one SET (an agent keeping to RFC 3416 "
              "wrote none of it)",
              bad ? as[bad - 1].name : "", bad ? ": " : "", ohm_error_text(&e));
  for (int k = 0; rc == 0 && o->tp.verbose && k < n; k++)
    sh_errorf(device, "%s=%s written", as[k].name, as[k].value);
  free(names);
  free(texts);
  return rc;
}

static int write_all(struct dev *d, const char *device, struct assign *as,
                     int n, const struct sh_opts *o) {
  struct ohm_error e;
  int rc = n > 1 ? write_whole(d, device, as, n, o) : 1;
  if (rc != 1) return rc;
  for (int k = 0; k < n; k++) {
    ohm_error_clear(&e);
    rc = dev_set(d, as[k].name, as[k].value, &e);
    if (rc < 0) {
      /* the transport's text already says what failed and why */
      sh_errorf(device, "%s: %s%s", as[k].name, ohm_error_text(&e),
                k ? "; earlier assignments were written" : "");
      return rc;
    }
    if (o->tp.verbose)
      sh_errorf(device, "%s=%s written", as[k].name, as[k].value);
  }
  return 0;
}

int cmd_set(int argc, char **argv) {
  struct sh_opts o;
  struct ohm_error e;
  struct dev *d;
  int i, n, rc, force = take_force(&argc, argv);
  sh_opts_init(&o);
  ohm_error_clear(&e);
  if ((i = sh_parse_common(argc, argv, &o, SET_USAGE)) < 0) return EXIT_USAGE;
  if (argc - i < 2) {
    sh_errorf("set", "missing %s; usage: ohm %s",
              i >= argc ? "DEVICE" : "VAR=VALUE", SET_USAGE);
    return EXIT_USAGE;
  }
  n = argc - i - 1;
  struct assign *as = calloc((size_t)n, sizeof *as);
  if (!as || parse_assigns(argv + i + 1, n, as) < 0)
    rc = EXIT_USAGE;
  else if ((rc = sh_open(argv[i], &o, &d, &e)) < 0) {
    sh_error(argv[i], &e);
    rc = sh_exit_code(rc);
  } else {
    rc = validate(d, argv[i], as, n);
    if (rc == 0 && !force) rc = check_order(d, argv[i], as, n);
    if (rc == 0) rc = write_all(d, argv[i], as, n, &o);
    rc = rc < 0 ? EXIT_FAIL : EXIT_OK;
    dev_close(d);
  }
  for (int k = 0; as && k < n; k++)
    free(as[k].name);
  free(as);
  return rc;
}
