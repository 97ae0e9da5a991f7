/* ups-mib hooks: NUT's ups.status from two objects, as NUT's ietf-mib
 * does. The map's ups.status enum already holds upsOutputSource's flags
 * ("OL", "OB", "OL BYPASS", ...); here upsBatteryStatus low or depleted
 * adds "LB". A status with no flag at all is left out (DV_NONE); a
 * source code outside the list stays "unknown state N".
 * And NUT's choice of names by line count: the map reads each line under
 * both its single-phase name (line 1) and its Lx name; upsInputNumLines
 * (upsOutputNumLines, upsBypassNumLines) = 3 keeps the Lx names only,
 * anything else (1, or the object missing) the single-phase ones only. */
#include <stdio.h>
#include <string.h>

#include "../engine.h"

static struct dev_value *val_of(struct dev *d, struct dev_value *vals,
                                const char *name) {
  const struct dev_var *v = dev_map_var(d->map, name);
  return v ? &vals[v - d->map->vars] : NULL;
}

/* One group of lines: the var with its line count, the prefix of its Lx
 * names, and its single-phase names. */
struct lines {
  const char *count, *prefix;
  const char *single[5];
};

static const struct lines groups[] = {
    {"input.phases",
     "input.L",
     {"input.voltage", "input.frequency", "input.current", "input.realpower"}},
    {"output.phases",
     "output.L",
     {"output.voltage", "output.current", "output.realpower", "ups.load"}},
    {"input.bypass.phases",
     "input.bypass.L",
     {"input.bypass.voltage", "input.bypass.current",
      "input.bypass.realpower"}},
};

static int is_single(const struct lines *g, const char *name) {
  for (int i = 0; g->single[i]; i++)
    if (strcmp(g->single[i], name) == 0) return 1;
  return 0;
}

/* Keep the names NUT would use for g's line count, drop the others. */
static void choose_lines(struct dev *d, struct dev_value *vals,
                         const struct lines *g) {
  const struct dev_value *n = val_of(d, vals, g->count);
  int three = n && n->kind == DV_NUM && n->num == 3;
  size_t plen = strlen(g->prefix);
  for (size_t i = 0; i < d->map->nvars; i++) {
    const char *name = d->map->vars[i].name;
    int lx = strncmp(name, g->prefix, plen) == 0 && name[plen] >= '1' &&
             name[plen] <= '3';
    if ((three && is_single(g, name)) || (!three && lx))
      memset(&vals[i], 0, sizeof vals[i]);
  }
}

static int ups_post_read(struct dev *d, struct dev_value *vals,
                         struct ohm_error *e) {
  struct dev_value *st = val_of(d, vals, "ups.status");
  const struct dev_value *bat = val_of(d, vals, "battery.status");
  char flags[sizeof st->str] = "";
  (void)e;
  for (size_t i = 0; i < sizeof groups / sizeof groups[0]; i++)
    choose_lines(d, vals, &groups[i]);
  if (!st) return 0;
  /* a source code outside the MIB's list reads "unknown state N", as an
   * out-of-list state does over every transport */
  if (st->kind == DV_STR) snprintf(flags, sizeof flags, "%s", st->str);
  if (bat && bat->kind == DV_STR &&
      (!strcmp(bat->str, "low") || !strcmp(bat->str, "depleted")))
    snprintf(flags + strlen(flags), sizeof flags - strlen(flags), "%sLB",
             flags[0] ? " " : "");
  if (st->kind == DV_ERR)
    return 0; /* keep the error: never a partial status shown as good */
  memset(st, 0, sizeof *st);
  if (flags[0]) {
    st->kind = DV_STR;
    snprintf(st->str, sizeof st->str, "%s", flags);
  }
  return 0;
}

const struct dev_hooks dev_hooks_ups_mib = {
    .driver = "ups-mib",
    .post_read = ups_post_read,
};
