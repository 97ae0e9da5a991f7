/* ohm cmd [OPTS] [--yes] DEVICE COMMAND: run an instant command. A
 * dangerous one (reset.energy.Lx, device.restart, device.factory_reset)
 * asks on a terminal and, without one, needs --yes. A command the
 * transport cannot carry fails with the device layer's clear message
 * (energy reset over Modbus). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../util/clock.h"
#include "output.h"
#include "shell.h"
#include "suggest.h"

#define CMD_USAGE "cmd [OPTS] [--yes] [--wait[=S]] DEVICE [COMMAND]"

/* No COMMAND: the commands, as `upscmd -l` lists them; one the transport
 * cannot carry is marked "(telnet only)" as in `ohm list`. */
static int list_cmds(struct dev *d, const char *device) {
  const struct dev_map *m = d->map;
  enum tp_kind kind = d->tp && d->tp->ops ? d->tp->ops->kind : TP_REGS;
  char *safe = inv_redact(device);
  printf("Instant commands supported on %s:\n\n", safe ? safe : device);
  free(safe);
  for (size_t i = 0; i < m->ncmds; i++) {
    const struct dev_cmd *c = &m->cmds[i];
    int carried = sh_cmd_carried(c, kind, d->sim != NULL);
    printf("%s - %s%s%s%s\n", c->name, c->desc ? c->desc : "",
           carried ? "" : " (", carried ? "" : (c->via ? c->via : "modbus"),
           carried ? "" : " only)");
  }
  if (!m->ncmds) printf("(none)\n");
  return EXIT_OK;
}

/* The state of c's wait var as text into buf; < 0 on a failed read. */
static int wait_state(struct dev *d, const struct dev_cmd *c, char *buf,
                      size_t n, struct ohm_error *e) {
  const struct dev_var *v = dev_map_var(d->map, c->wait_var);
  struct dev_value val;
  int rc = dev_get(d, c->wait_var, &val, e);
  if (rc < 0) return rc;
  if (!v || val.kind == DV_NONE)
    return ohm_error_set(e, OHM_ENOENT, "%s: not available", c->wait_var);
  dev_value_format(v, &val, buf, n);
  return 0;
}

/* --wait: poll c's wait var every 0.2 s until it reads done (a done seen
 * before the command counts only after another state), fail (an error),
 * or secs pass. before is the state read before the command. */
static int wait_done(struct dev *d, const struct dev_cmd *c, const char *before,
                     double secs, struct ohm_error *e) {
  const struct timespec tick = {0, 200000000};
  double end = ohm_mono() + secs;
  int left_done = strcmp(before, c->wait_done) != 0, rc;
  char now[64];
  for (;;) {
    if ((rc = wait_state(d, c, now, sizeof now, e)) < 0) return rc;
    if (left_done && strcmp(now, c->wait_done) == 0) return 0;
    if (c->wait_fail && strcmp(now, c->wait_fail) == 0)
      return ohm_error_set(e, OHM_EDEVICE, "%s: %s says %s", c->name,
                           c->wait_var, now);
    left_done |= strcmp(now, c->wait_done) != 0;
    if (ohm_mono() > end)
      return ohm_error_set(e, OHM_ETIMEDOUT,
                           "%s: not %s after %g s (%s says %s)", c->name,
                           c->wait_done, secs, c->wait_var, now);
    if (tp_interrupted) return ohm_error_set(e, OHM_EINTR, "interrupted");
    nanosleep(&tick, NULL);
  }
}

static int run_cmd(struct dev *d, const char *device, const char *name,
                   const struct sh_opts *o, double wait) {
  const struct dev_cmd *c = dev_map_cmd(d->map, name);
  struct ohm_error e;
  char prompt[300], before[64];
  int rc;
  ohm_error_clear(&e);
  if (!c) {
    sh_no_cmd(device, d->map, name);
    return EXIT_FAIL;
  }
  if (c->dangerous) {
    snprintf(prompt, sizeof prompt, "%s: %s", device, name);
    if (!sh_confirm(o, prompt)) return EXIT_USAGE;
  }
  if (wait > 0 && !c->wait_var) {
    sh_errorf(device, "%s: nothing to wait for (--wait)", name);
    return EXIT_USAGE;
  }
  if ((wait > 0 && (rc = wait_state(d, c, before, sizeof before, &e)) < 0) ||
      (rc = dev_cmd(d, name, &e)) < 0 ||
      (wait > 0 && (rc = wait_done(d, c, before, wait, &e)) < 0)) {
    sh_error(device, &e);
    return EXIT_FAIL;
  }
  if (o->tp.verbose) sh_errorf(device, "%s done", name); /* redacted */
  return EXIT_OK;
}

/* Take --wait[=SECONDS] out of argv (default 600 s); -1 if malformed. */
static double take_wait(int *argc, char **argv) {
  double secs = 0;
  for (int i = 1; i < *argc; i++) {
    char *end;
    if (strcmp(argv[i], "--") == 0) break;
    if (strncmp(argv[i], "--wait", 6) || (argv[i][6] && argv[i][6] != '='))
      continue;
    secs = argv[i][6] ? strtod(argv[i] + 7, &end) : 600;
    if (argv[i][6] &&
        (*end || end == argv[i] + 7 || !(secs > 0) || secs > 86400))
      return -1;
    memmove(&argv[i], &argv[i + 1], (size_t)(*argc - i) * sizeof *argv);
    (*argc)--, i--;
  }
  return secs;
}

int cmd_cmd(int argc, char **argv) {
  struct sh_opts o;
  struct dev *d;
  double wait = take_wait(&argc, argv);
  if (wait < 0) {
    sh_errorf("cmd", "bad --wait (seconds, above 0 up to 86400)");
    return EXIT_USAGE;
  }
  int rc, i = sh_open_args(argc, argv, &o, CMD_USAGE, "DEVICE", 2,
                           "one COMMAND only", &d);
  if (i < 0) return -i;
  rc = argc - i == 1 ? list_cmds(d, argv[i])
                     : run_cmd(d, argv[i], argv[i + 1], &o, wait);
  dev_close(d);
  return rc;
}
