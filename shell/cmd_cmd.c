/* ohm cmd [OPTS] [--yes] DEVICE COMMAND: run an instant command. A
 * dangerous one (reset.energy.Lx, device.restart, device.factory_reset)
 * asks on a terminal and, without one, needs --yes. A command the
 * transport cannot carry fails with the device layer's clear message
 * (energy reset over Modbus). */
#include <stdio.h>

#include "shell.h"

#define CMD_USAGE "cmd [OPTS] [--yes] DEVICE COMMAND"

static int run_cmd(struct dev *d, const char *device, const char *name,
                   const struct sh_opts *o) {
  const struct dev_cmd *c = dev_map_cmd(d->map, name);
  struct ohm_error e;
  char prompt[300];
  int rc;
  ohm_error_clear(&e);
  if (!c) {
    sh_errorf(device, "no command '%s' (see ohm list %s)", name, device);
    return EXIT_FAIL;
  }
  if (c->dangerous) {
    snprintf(prompt, sizeof prompt, "%s: %s", device, name);
    if (!sh_confirm(o, prompt)) return EXIT_USAGE;
  }
  if ((rc = dev_cmd(d, name, &e)) < 0) {
    sh_error(device, &e);
    return EXIT_FAIL;
  }
  if (o->tp.verbose) sh_errorf(device, "%s done", name); /* redacted */
  return EXIT_OK;
}

int cmd_cmd(int argc, char **argv) {
  struct sh_opts o;
  struct ohm_error e;
  struct dev *d;
  int i, rc;
  sh_opts_init(&o);
  ohm_error_clear(&e);
  if ((i = sh_parse_common(argc, argv, &o, CMD_USAGE)) < 0) return EXIT_USAGE;
  if (argc - i != 2) {
    sh_errorf("cmd", "%s; usage: ohm %s",
              argc - i < 2 ? "missing DEVICE or COMMAND" : "one COMMAND only",
              CMD_USAGE);
    return EXIT_USAGE;
  }
  if ((rc = sh_open(argv[i], &o, &d, &e)) < 0) {
    sh_error(argv[i], &e);
    return sh_exit_code(rc);
  }
  rc = run_cmd(d, argv[i], argv[i + 1], &o);
  dev_close(d);
  return rc;
}
