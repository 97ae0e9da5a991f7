/* Threshold order (contract in thresh.h). */
#include "thresh.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const suffix[4] = {".low.critical", ".low.warning",
                                      ".high.warning", ".high.critical"};

int dev_thresh_rank(const char *name) {
  size_t n = strlen(name);
  for (int r = 0; r < 4; r++) {
    size_t k = strlen(suffix[r]);
    if (n > k && strcmp(name + n - k, suffix[r]) == 0) return r;
  }
  return -1;
}

struct slot {
  const struct dev_var *var;
  int known, proposed;
  double v;
};

/* The four thresholds of the quantity name belongs to (rank r): proposed
 * values first (the last one given wins), else cur. */
static void slots_of(const struct dev_map *m, const char *name, int r,
                     const struct dev_thresh *p, size_t n,
                     const struct dev_value *cur, struct slot s[4]) {
  size_t base = strlen(name) - strlen(suffix[r]);
  for (int q = 0; q < 4; q++) {
    char full[192];
    memset(&s[q], 0, sizeof s[q]);
    snprintf(full, sizeof full, "%.*s%s", (int)base, name, suffix[q]);
    s[q].var = dev_map_var(m, full);
    if (s[q].var && cur && cur[s[q].var - m->vars].kind == DV_NUM) {
      s[q].known = 1;
      s[q].v = cur[s[q].var - m->vars].num;
    }
    for (size_t j = 0; s[q].var && j < n; j++)
      if (strcmp(p[j].name, s[q].var->name) == 0) {
        s[q].known = s[q].proposed = 1;
        s[q].v = p[j].value;
      }
  }
}

static int out_of_order(const struct slot *lo, const struct slot *hi,
                        struct ohm_error *e) {
  const struct slot *a = lo->proposed ? lo : hi, *b = lo->proposed ? hi : lo;
  const char *ua = a->var->unit[0] ? " " : "", *ub = b->var->unit[0] ? " " : "";
  return ohm_error_set(e, OHM_EINVAL, "%s %g%s%s would be %s %s %g%s%s",
                       a->var->name, a->v, ua, a->var->unit,
                       a == lo ? "above" : "below", b->var->name, b->v, ub,
                       b->var->unit);
}

int dev_thresh_check(const struct dev_map *m, const struct dev_thresh *p,
                     size_t n, const struct dev_value *cur,
                     struct ohm_error *e) {
  for (size_t k = 0; k < n; k++) {
    struct slot s[4];
    int r = dev_thresh_rank(p[k].name);
    if (r < 0 || !dev_map_var(m, p[k].name)) continue;
    slots_of(m, p[k].name, r, p, n, cur, s);
    for (int i = 0; i < 4; i++)
      for (int j = i + 1; j < 4; j++)
        if (s[i].known && s[j].known && (s[i].proposed || s[j].proposed) &&
            s[i].v > s[j].v + 1e-9)
          return out_of_order(&s[i], &s[j], e);
  }
  return 0;
}

/* Whether a proposed threshold has a sibling threshold in the map. */
static int needs_values(const struct dev_map *m, const struct dev_thresh *p,
                        size_t n) {
  for (size_t k = 0; k < n; k++) {
    struct slot s[4];
    int r = dev_thresh_rank(p[k].name), found = 0;
    if (r < 0 || !dev_map_var(m, p[k].name)) continue;
    slots_of(m, p[k].name, r, NULL, 0, NULL, s);
    for (int q = 0; q < 4; q++)
      found += s[q].var != NULL;
    if (found > 1) return 1;
  }
  return 0;
}

int dev_thresh_check_dev(struct dev *d, const struct dev_thresh *p, size_t n,
                         struct ohm_error *e) {
  struct dev_value *vals;
  int rc;
  if (!needs_values(d->map, p, n)) return 0;
  vals = calloc(d->map->nvars ? d->map->nvars : 1, sizeof *vals);
  if (!vals) return ohm_error_set(e, OHM_ENOMEM, "out of memory");
  rc = dev_read_all(d, vals, e);
  if (rc < 0) {
    char why[400];
    snprintf(why, sizeof why, "%s", ohm_error_text(e));
    rc = ohm_error_set(e, rc, "cannot check the threshold order (%s)", why);
  } else {
    rc = dev_thresh_check(d->map, p, n, vals, e);
  }
  free(vals);
  return rc;
}
