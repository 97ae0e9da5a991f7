/* ohm list [OPTS] DEVICE: the variables (name, unit, access, description)
 * available over DEVICE's transport, then its commands (access "cmd").
 * When the driver is known (-d, the inventory, the URI's driver=, sim:NAME)
 * the map alone answers: no connection, so completion stays fast. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "output.h"
#include "shell.h"

#define LIST_USAGE "list [OPTS] DEVICE"

/* What list needs to know without connecting. */
struct list_target {
  const struct dev_map *map;
  enum tp_kind kind;
  struct dev *dev; /* set when we had to connect */
};

/* Whether v has a location for transport kind (fixed text: everywhere). */
static int var_over(const struct dev_var *v, enum tp_kind kind) {
  if (v->text)
    return 1;
  switch (kind) {
  case TP_REGS:
    return v->reg >= 0;
  case TP_OIDS:
    return v->oid != NULL;
  case TP_CONSOLE:
    return v->menu != NULL;
  default:
    return 0;
  }
}

/* The driver and transport kind of device from its text alone. Returns 1
 * when both are known, 0 when a connection is needed, < 0 on error. */
static int resolve_offline(const char *device, const struct sh_opts *o,
                           struct list_target *t, struct ohm_error *e) {
  struct inventory *inv = sh_inventory(o, e);
  const struct inv_device *id = inv ? inv_find(inv, device) : NULL;
  const char *drv = o->driver, *uri = id ? id->uri : device;
  struct ohm_uri u;
  int rc;
  if (!inv)
    return e->code ? e->code : OHM_ECONFIG;
  if (!id && !strchr(device, ':'))
    return 0; /* let sh_open say what is wrong */
  if ((rc = ohm_uri_parse(uri, &u, e)) < 0)
    return rc;
  if (!drv && id)
    drv = id->driver;
  if (!drv)
    drv = ohm_uri_param(&u, "driver");
  if (!drv && strcmp(u.scheme, "sim") == 0)
    drv = u.path;
  const struct tp_ops *ops = tp_find(u.scheme);
  if (ops)
    t->kind = ops->kind;
  else if (strcmp(u.scheme, "sim") == 0)
    t->kind = TP_REGS; /* the simulator speaks Modbus TCP */
  rc = (ops || t->kind) && drv ? 1 : 0;
  if (rc == 1 && (rc = dev_driver_find(drv, &t->map, e)) == 0)
    rc = 1;
  ohm_uri_free(&u);
  return rc;
}

static int is_avail(const struct list_target *t, const struct dev_var *v) {
  return t->dev ? dev_var_available(t->dev, v) : var_over(v, t->kind);
}

static void print_list(const struct list_target *t, const struct sh_opts *o) {
  static const char *const cols[] = {"name", "unit", "access", "desc"};
  const struct dev_map *m = t->map;
  struct sh_cell *cells = calloc((m->nvars + m->ncmds) * 4 + 1,
                                 sizeof *cells);
  size_t r = 0;
  struct sh_out out;
  const char *none = o->mode == SH_TABLE ? "-" : "";
  if (!cells)
    return;
  for (size_t i = 0; i < m->nvars; i++) {
    const struct dev_var *v = &m->vars[i];
    if (!is_avail(t, v))
      continue;
    cells[r * 4] = (struct sh_cell){v->name, 0};
    cells[r * 4 + 1] = (struct sh_cell){v->unit && *v->unit ? v->unit : none, 0};
    cells[r * 4 + 2] = (struct sh_cell){v->access == DA_RW ? "rw" : "ro", 0};
    cells[r++ * 4 + 3] = (struct sh_cell){v->desc ? v->desc : "", 0};
  }
  for (size_t i = 0; i < m->ncmds; i++, r++) {
    cells[r * 4] = (struct sh_cell){m->cmds[i].name, 0};
    cells[r * 4 + 1] = (struct sh_cell){none, 0};
    cells[r * 4 + 2] = (struct sh_cell){"cmd", 0};
    cells[r * 4 + 3] =
        (struct sh_cell){m->cmds[i].desc ? m->cmds[i].desc : "", 0};
  }
  sh_out_init(&out, o->mode, stdout);
  out.header = isatty(STDOUT_FILENO);
  sh_out_table(&out, cols, 4, cells, r);
  free(cells);
}

int cmd_list(int argc, char **argv) {
  struct sh_opts o;
  struct ohm_error e;
  struct list_target t = {0};
  int i, rc;
  sh_opts_init(&o);
  ohm_error_clear(&e);
  if ((i = sh_parse_common(argc, argv, &o, LIST_USAGE)) < 0)
    return EXIT_USAGE;
  if (argc - i != 1) {
    sh_errorf("list", "%s; usage: ohm %s",
              i >= argc ? "missing DEVICE" : "one DEVICE only", LIST_USAGE);
    return EXIT_USAGE;
  }
  rc = resolve_offline(argv[i], &o, &t, &e);
  if (rc == 0 && (rc = sh_open(argv[i], &o, &t.dev, &e)) == 0)
    t.map = t.dev->map;
  if (rc < 0) {
    sh_error(argv[i], &e);
    return sh_exit_code(rc);
  }
  print_list(&t, &o);
  if (t.dev)
    dev_close(t.dev);
  return EXIT_OK;
}
