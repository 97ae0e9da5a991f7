/* ohm list [OPTS] [--all] DEVICE: the variables (name, unit, access,
 * description) available over DEVICE's transport, then its commands
 * (access "cmd"). --all: every var of the map, with its register and the
 * transports that carry it (the man page's table is made from this).
 * When the driver is known (-d, the inventory, the URI's driver=, sim:NAME)
 * the map alone answers: no connection, so completion stays fast. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "output.h"
#include "shell.h"

#define LIST_USAGE "list [OPTS] [--all] DEVICE"
#define LIST_ROW 400 /* text of one row: register, transports, desc */

/* What list needs to know without connecting. */
struct list_target {
  const struct dev_map *map;
  enum tp_kind kind;
  int sim;         /* sim:DRIVER, the in-process simulator */
  struct dev *dev; /* set when we had to connect */
};

/* The driver and transport kind of device from its text alone. Returns 1
 * when both are known, 0 when a connection is needed, < 0 on error. */
static int resolve_offline(const char *device, const struct sh_opts *o,
                           struct list_target *t, struct ohm_error *e) {
  struct inventory *inv = sh_inventory(o, e);
  const struct inv_device *id = inv ? inv_find(inv, device) : NULL;
  const char *drv = o->driver, *uri = id ? id->uri : device;
  struct ohm_uri u;
  int rc;
  if (!inv) return e->code ? e->code : OHM_ECONFIG;
  if (inv_entry_error(id, e) < 0) return e->code;
  if (!id && !strchr(device, ':')) return 0; /* let sh_open say what is wrong */
  if ((rc = ohm_uri_parse(uri, &u, e)) < 0) return rc;
  if (!drv && id) drv = id->driver;
  if (!drv) drv = ohm_uri_param(&u, "driver");
  if (!drv && strcmp(u.scheme, "sim") == 0) drv = u.path;
  t->sim = strcmp(u.scheme, "sim") == 0;
  const struct tp_ops *ops = tp_find(u.scheme);
  if (ops)
    t->kind = ops->kind;
  else if (strcmp(u.scheme, "sim") == 0)
    t->kind = TP_REGS; /* the simulator speaks Modbus TCP */
  rc = (ops || t->kind) && drv ? 1 : 0;
  if (rc == 1 && (rc = dev_driver_find(drv, &t->map, e)) == 0) rc = 1;
  if (rc == 1 && t->sim && !t->map->frame && !dev_map_blocks(t->map, NULL, 0))
    t->kind = TP_OIDS; /* a map without registers is simulated over SNMP */
  ohm_uri_free(&u);
  return rc;
}

static int is_avail(const struct list_target *t, const struct dev_var *v) {
  return t->dev ? dev_var_available(t->dev, v) : dev_var_has(t->kind, v);
}

static enum tp_kind target_kind(const struct list_target *t) {
  return t->dev && t->dev->tp ? t->dev->tp->ops->kind : t->kind;
}

/* "modbus,snmp,telnet": the transports that carry v (--all). */
static void over_text(const struct dev_var *v, char *buf, size_t n) {
  snprintf(buf, n, "%s%s%s%s%s", v->text ? "all" : "",
           !v->text && v->reg >= 0 ? "modbus," : "",
           !v->text && v->oid ? "snmp," : "",
           !v->text && v->menu ? "telnet," : "",
           !v->text && v->frame ? "stream," : ""); /* serial, tcp */
  size_t len = strlen(buf);
  if (len && buf[len - 1] == ',') buf[len - 1] = '\0';
}

/* One row of ncols cells: name, unit, access, [reg, over,] desc. */
/* One row: name, unit, access, [reg, over,] desc. A var the transport
 * cannot carry (carried 0) shows access "(ro)"/"(rw)" and a description
 * ending "(telnet only)", as the man page marks it. buf: reg (16 bytes),
 * over (32), desc (the rest of LIST_ROW). */
static void var_row(struct sh_cell *c, const struct dev_var *v, int all,
                    const char *none, char *buf, int carried) {
  char *reg = buf, *over = buf + 16, *desc = buf + 48;
  const char *acc = v->access == DA_RW ? "rw" : "ro";
  over_text(v, over, 32);
  snprintf(desc, LIST_ROW - 48, "%s%s%s%s", v->desc ? v->desc : "",
           carried ? "" : " (", carried ? "" : over, carried ? "" : " only)");
  *c++ = (struct sh_cell){v->name, 0};
  *c++ = (struct sh_cell){v->unit && *v->unit ? v->unit : none, 0};
  *c++ = (struct sh_cell){carried              ? acc
                          : v->access == DA_RW ? "(rw)"
                                               : "(ro)",
                          0};
  if (all) {
    if (v->reg >= 0 && !v->text)
      snprintf(reg, 16, "%d", v->reg);
    else
      snprintf(reg, 16, "%s", none);
    *c++ = (struct sh_cell){reg, v->reg >= 0 && !v->text};
    *c++ = (struct sh_cell){over, 0};
  }
  *c = (struct sh_cell){desc, 0};
}

/* A command this transport cannot carry shows access "(cmd)" and its
 * description ends "(VIA only)", as the man page marks it; completion
 * offers only "cmd" rows. desc is the row's own buffer (>= 200). */
static void cmd_row(struct sh_cell *c, const struct dev_cmd *d, int all,
                    const char *none, int carried, char *desc) {
  snprintf(desc, 200, "%s%s%s%s", d->desc ? d->desc : "", carried ? "" : " (",
           carried  ? ""
           : d->via ? d->via
           : d->oid ? "snmp"
                    : "modbus",
           carried ? "" : " only)");
  *c++ = (struct sh_cell){d->name, 0};
  *c++ = (struct sh_cell){none, 0};
  *c++ = (struct sh_cell){carried ? "cmd" : "(cmd)", 0};
  if (all) {
    *c++ = (struct sh_cell){none, 0};
    *c++ = (struct sh_cell){d->via ? d->via : "modbus", 0};
  }
  *c = (struct sh_cell){desc, 0};
}

/* The rows; all: every var of the map with its register and transports. */
static int print_list(const struct list_target *t, const struct sh_opts *o,
                      int all) {
  static const char *const cols4[] = {"name", "unit", "access", "desc"};
  static const char *const cols6[] = {"name", "unit", "access",
                                      "reg",  "over", "desc"};
  const struct dev_map *m = t->map;
  size_t nc = all ? 6 : 4, nr = m->nvars + m->ncmds, r = 0;
  struct sh_cell *cells = calloc(nr * nc + 1, sizeof *cells);
  char(*txt)[LIST_ROW] = calloc(nr + 1, sizeof *txt);
  const char *none = o->mode == SH_TABLE ? "-" : "";
  struct sh_out out;
  if (!cells || !txt) {
    free(cells);
    free(txt);
    return EXIT_FAIL;
  }
  for (size_t i = 0; i < m->nvars; i++, r++)
    var_row(&cells[r * nc], &m->vars[i], all, none, txt[r],
            all || is_avail(t, &m->vars[i]));
  for (size_t i = 0; i < m->ncmds; i++, r++)
    cmd_row(&cells[r * nc], &m->cmds[i], all, none,
            all || sh_cmd_carried(&m->cmds[i], target_kind(t),
                                  t->dev ? t->dev->sim != NULL : t->sim),
            txt[r]);
  sh_out_init(&out, o->mode, stdout);
  out.header = isatty(STDOUT_FILENO);
  sh_out_table(&out, all ? cols6 : cols4, nc, cells, r);
  free(cells);
  free(txt);
  return EXIT_OK;
}

int cmd_list(int argc, char **argv) {
  struct sh_opts o;
  struct ohm_error e;
  struct list_target t = {0};
  int i, rc, all = 0, n = 1;
  sh_opts_init(&o);
  ohm_error_clear(&e);
  for (i = 1; i < argc; i++) /* --all is ours: take it out */
    if (strcmp(argv[i], "--all") == 0)
      all = 1;
    else
      argv[n++] = argv[i];
  argc = n;
  if ((i = sh_parse_common(argc, argv, &o, LIST_USAGE)) < 0) return EXIT_USAGE;
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
  rc = print_list(&t, &o, all);
  if (t.dev) dev_close(t.dev);
  return rc;
}
