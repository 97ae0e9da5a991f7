/* Device fields of the inventory: a table of known names and their value
 * checks, and the per-device transport options. */
#include "inv_fields.h"
#include "../util/suggest.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

enum field_kind { F_TEXT, F_SECONDS, F_COUNT };

struct field {
  const char *name;
  enum field_kind kind;
};

/* Every field some part of ohm reads from a device entry. */
static const struct field fields[] = {
    {"uri", F_TEXT},         {"driver", F_TEXT},      {"password", F_TEXT},
    {"auth_pass", F_TEXT},   {"priv_pass", F_TEXT},   {"user", F_TEXT},
    {"upgrade_uri", F_TEXT}, {"interval", F_SECONDS}, {"timeout", F_SECONDS},
    {"retries", F_COUNT},    {NULL, F_TEXT}};

/* The nearest known field to a misspelt one (util/suggest.h). */
static const char *nearest(const char *key) {
  struct ohm_suggest sg;
  ohm_suggest_init(&sg, key);
  for (const struct field *f = fields; f->name; f++)
    ohm_suggest_add(&sg, f->name);
  return sg.best;
}

/* A number in [lo, hi] with nothing after it. */
static int number_in(const char *s, double lo, double hi, double *out) {
  char *end;
  errno = 0;
  double v = strtod(s, &end);
  if (end == s || *end || errno || !isfinite(v) || v < lo || v > hi) return -1;
  *out = v;
  return 0;
}

int inv_field_check(const char *key, const char *val, struct ohm_error *e) {
  double v;
  for (const struct field *f = fields; f->name; f++) {
    if (strcmp(f->name, key)) continue;
    if (f->kind == F_SECONDS && number_in(val, 0.001, 86400, &v) < 0)
      return ohm_error_set(e, OHM_ECONFIG,
                           "%s = %.40s: seconds expected (0.001 to 86400)", key,
                           val);
    if (f->kind == F_COUNT && (number_in(val, 0, 100, &v) < 0 || v != floor(v)))
      return ohm_error_set(e, OHM_ECONFIG,
                           "%s = %.40s: an integer expected (0 to 100)", key,
                           val);
    return 0;
  }
  const char *near = nearest(key);
  return ohm_error_set(e, OHM_ECONFIG, "unknown field '%.40s'%s%s%s", key,
                       near ? " (did you mean " : "", near ? near : "",
                       near ? "?)" : "");
}

void inv_field_opts(const struct inv_device *d, const struct tp_opts *o,
                    struct tp_opts *out) {
  const char *t = inv_field(d, "timeout"), *r = inv_field(d, "retries");
  double v;
  if (o)
    *out = *o;
  else
    memset(out, 0, sizeof *out), out->retries = -1;
  if (t && out->timeout <= 0 && number_in(t, 0.001, 86400, &v) == 0)
    out->timeout = v;
  if (r && out->retries < 0 && number_in(r, 0, 100, &v) == 0)
    out->retries = (int)v;
}
