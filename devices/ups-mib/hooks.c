/* ups-mib hooks: NUT's ups.status from two objects, as NUT's ietf-mib
 * does. The map's ups.status enum already holds upsOutputSource's flags
 * ("OL", "OB", "OL BYPASS", ...); here upsBatteryStatus low or depleted
 * adds "LB". A status with no flag at all is left out (DV_NONE). */
#include <stdio.h>
#include <string.h>

#include "../engine.h"

static struct dev_value *val_of(struct dev *d, struct dev_value *vals,
                                const char *name) {
  const struct dev_var *v = dev_map_var(d->map, name);
  return v ? &vals[v - d->map->vars] : NULL;
}

static int ups_post_read(struct dev *d, struct dev_value *vals,
                         struct ohm_error *e) {
  struct dev_value *st = val_of(d, vals, "ups.status");
  const struct dev_value *bat = val_of(d, vals, "battery.status");
  char flags[sizeof st->str] = "";
  (void)e;
  if (!st) return 0;
  /* an unknown source code is no flag (NUT shows none either) */
  if (st->kind == DV_STR && strncmp(st->str, "unknown", 7) != 0)
    snprintf(flags, sizeof flags, "%s", st->str);
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
