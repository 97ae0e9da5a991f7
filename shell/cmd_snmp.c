/* ohm snmp get DEVICE OID... / ohm snmp set DEVICE OID TYPE VALUE...: raw
 * SNMP, snmpget/snmpset's job, with their -On output and type letters
 * (i u t a o s x d n c C U I F D as net-snmp takes them). A set asks on a
 * terminal, needs --yes without one, and prints the objects read back.
 * An object the agent lacks is printed as snmpget does and makes the exit
 * status 1. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../transports/snmp.h"
#include "output.h"
#include "shell.h"
#include "snmp_out.h"

#define SNMP_USAGE "snmp get|set [OPTS] DEVICE OID... | OID TYPE VALUE..."

/* GET the n OIDs in one request and print them; 0, 1 if one is missing,
 * or a negative OHM_E*. */
static int get_print(struct tp *t, const char *const *oids, size_t n,
                     struct sh_snmp_out *w, struct ohm_error *e) {
  struct tp_snmp_val *v = calloc(n, sizeof *v);
  int rc, missing = 0;
  if (!v) return ohm_error_set(e, OHM_ENOMEM, "out of memory");
  if ((rc = tp_snmp_get(t, oids, n, v, e)) == 0)
    for (size_t i = 0; i < n; i++) {
      sh_snmp_print(w, &v[i]);
      missing |= v[i].type == TP_SNMP_MISSING;
    }
  tp_snmp_vals_free(v, n);
  free(v);
  return rc < 0 ? rc : missing;
}

static int snmp_set(struct tp *t, const char *dev, const struct sh_opts *o,
                    char **args, int n, struct sh_snmp_out *w,
                    struct ohm_error *e) {
  const char **oids = calloc((size_t)n / 3 + 1, sizeof *oids);
  char prompt[200];
  int rc = 0;
  if (!oids) return ohm_error_set(e, OHM_ENOMEM, "out of memory");
  for (int i = 0; i + 2 < n; i += 3) {
    if (strlen(args[i + 1]) != 1) {
      free(oids);
      return ohm_error_set(e, OHM_EINVAL,
                           "bad type '%.20s' (one of i u t a o s x d b n c "
                           "C U I F D, as snmpset)",
                           args[i + 1]);
    }
    oids[i / 3] = args[i];
  }
  snprintf(prompt, sizeof prompt, "%s: set %d object%s (%s ...)", dev, n / 3,
           n > 3 ? "s" : "", args[0]);
  if (!sh_confirm(o, prompt)) {
    free(oids);
    return 1;
  }
  for (int i = 0; i + 2 < n && rc == 0; i += 3)
    rc = tp_snmp_set(t, args[i], args[i + 1][0], args[i + 2], e);
  if (rc == 0) rc = get_print(t, oids, (size_t)n / 3, w, e);
  free(oids);
  return rc;
}

int cmd_snmp(int argc, char **argv) {
  struct sh_snmp_out w;
  struct sh_opts o;
  struct ohm_error e;
  struct tp *t;
  int i, rc, set;
  sh_opts_init(&o);
  ohm_error_clear(&e);
  if (argc < 2 || (strcmp(argv[1], "get") && strcmp(argv[1], "set") &&
                   strcmp(argv[1], "--help") && strcmp(argv[1], "-h")))
    return sh_usage(SNMP_USAGE);
  set = strcmp(argv[1], "set") == 0;
  if (argv[1][0] != '-') argc--, argv++;
  if ((i = sh_parse_common(argc, argv, &o, SNMP_USAGE)) < 0) return EXIT_USAGE;
  if (argc - i < 2 || (set && (argc - i - 1) % 3)) return sh_usage(SNMP_USAGE);
  if ((rc = sh_open_tp(argv[i], &o, &t, &e)) < 0) {
    sh_error(argv[i], &e);
    return sh_exit_code(rc);
  }
  if (t->ops->kind != TP_OIDS) {
    sh_errorf(argv[i], "snmp needs an snmp:// device");
    tp_free(t);
    return EXIT_USAGE;
  }
  memset(&w, 0, sizeof w);
  w.mode = o.mode;
  sh_out_init(&w.out, o.mode, stdout);
  if (set)
    rc = snmp_set(t, argv[i], &o, argv + i + 1, argc - i - 1, &w, &e);
  else
    rc = get_print(t, (const char *const *)(argv + i + 1),
                   (size_t)(argc - i - 1), &w, &e);
  if (w.mode == SH_JSON && w.n) sh_out_str(&w.out, "\n]\n");
  fflush(stdout);
  tp_free(t);
  if (rc < 0) sh_error(argv[i], &e);
  return rc < 0 ? sh_exit_code(rc) : rc ? EXIT_FAIL : EXIT_OK;
}
