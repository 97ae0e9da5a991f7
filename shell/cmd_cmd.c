/* ohm cmd [OPTS] [--yes] DEVICE COMMAND: run an instant command. A
 * dangerous one (reset.energy.Lx, device.restart, device.factory_reset)
 * asks on a terminal and, without one, needs --yes. A command the
 * transport cannot carry fails with the device layer's clear message
 * (energy reset over Modbus). */
#include <stdio.h>
#include <stdlib.h>

#include "output.h"
#include "shell.h"
#include "suggest.h"

#define CMD_USAGE "cmd [OPTS] [--yes] DEVICE [COMMAND]"

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

static int run_cmd(struct dev *d, const char *device, const char *name,
                   const struct sh_opts *o) {
  const struct dev_cmd *c = dev_map_cmd(d->map, name);
  struct ohm_error e;
  char prompt[300];
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
  if ((rc = dev_cmd(d, name, &e)) < 0) {
    sh_error(device, &e);
    return EXIT_FAIL;
  }
  if (o->tp.verbose) sh_errorf(device, "%s done", name); /* redacted */
  return EXIT_OK;
}

int cmd_cmd(int argc, char **argv) {
  struct sh_opts o;
  struct dev *d;
  int rc, i = sh_open_args(argc, argv, &o, CMD_USAGE, "DEVICE", 2,
                           "one COMMAND only", &d);
  if (i < 0) return -i;
  rc = argc - i == 1 ? list_cmds(d, argv[i])
                     : run_cmd(d, argv[i], argv[i + 1], &o);
  dev_close(d);
  return rc;
}
