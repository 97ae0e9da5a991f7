/* The Prometheus exposition of the polling cache (text format 0.0.4).
 *
 * Naming (prometheus.io/docs/practices/naming): ohm_ + the NUT name with
 * the phase taken out into a `phase` label (and `_phase` in the name, so a
 * total and its phases are different metrics: sum() never counts twice),
 * chain/sensor numbers into a label named after the part before them, then
 * the base unit:
 *   input.current      -> ohm_input_current_amperes{device}
 *   input.L1.current   -> ohm_input_phase_current_amperes{device,phase="L1"}
 *   input.L1-N.voltage -> ohm_input_phase_voltage_volts{device,phase="L1-N"}
 *   ambient.1.humidity -> ohm_ambient_humidity_ratio{device,ambient="1"}
 *   battery.pack.1.cell.5.voltage
 *                      -> ohm_battery_pack_cell_voltage_volts{device,
 *                         pack="1",cell="5"}
 *   battery.pack.1.temperature.3 (a sensor; .temperature is the highest)
 *                      -> ohm_battery_pack_temperature_sensor_celsius{
 *                         device,pack="1",temperature="3"}
 *   input.energy (kWh) -> ohm_input_energy_joules_total (counter)
 *   ups.alarms.count   -> ohm_ups_alarms (no _count on a gauge)
 *   ups.status         -> ohm_ups_status{device,flag="OB"} 0/1, one series
 *                         for each of pr_flags, always all of them
 * Other enumerated states are one series per state (1 for the current
 * one); device.* strings and the driver go to ohm_device_info. Per device:
 * ohm_up, ohm_scrape_duration_seconds, ohm_last_update_timestamp_seconds.
 * A device that is not OK exports only those: never a stale value.
 *
 * Speed: each map gets a plan once (its series, names, labels and
 * factors); a render walks the devices once, appending each line to its
 * family's buffer, and hands the buffers over as pieces in name order
 * (families are kept sorted as they appear, never sorted per render). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "serve/nut_fsd.h"
#include "serve_prom_int.h"

const char *const pr_flags[] = {"OL",   "OB",      "LB",     "HB",  "RB",
                                "CHRG", "DISCHRG", "BYPASS", "CAL", "OFF",
                                "OVER", "TRIM",    "BOOST",  "FSD", NULL};

struct pr_fam {
  char name[160];
  char help[200];
  const char *type;
  char *buf;             /* this render's HELP, TYPE and lines */
  size_t len, cap, hint; /* hint: the last render's length */
};

/* PS_PART: the serial or firmware of a numbered part (a bank's pack),
 * a label of ohm_<part>_info{...,serial=,firmware=} 1. */
enum { PS_NUM, PS_ENUM, PS_STATUS, PS_PART };

struct pr_ser {
  size_t var;
  int fam, kind, measured;
  double f;         /* to the base unit */
  char labels[256]; /* `,phase="L1"` after the device label */
  const char *key;  /* PS_PART: "serial" or "firmware" */
  char **states;    /* PS_ENUM: each state's `,state="..."`, escaped */
  size_t nstates;
};

struct pr_info {
  char label[64];
  size_t var;
};

struct pr_plan {
  const struct dev_map *map;
  struct pr_ser *s;
  size_t n;
  struct pr_info *info;
  size_t ninfo;
};

static struct {
  struct pr_fam *fams;
  size_t nfams;
  int *order; /* fams by name */
  struct pr_plan *plans;
  size_t nplans;
  int up, dur, last, info; /* the fixed families */
} R = {.up = -1};

/* Unit -> base-unit suffix and the factor to get there. */
static const char *unit_suffix(const char *unit, double *f, int *counter) {
  static const struct {
    const char *unit, *suffix;
    double f;
    int counter;
  } u[] = {{"V", "_volts", 1, 0},
           {"A", "_amperes", 1, 0},
           {"W", "_watts", 1, 0},
           {"VA", "_voltamperes", 1, 0},
           {"var", "_voltamperes_reactive", 1, 0},
           {"Hz", "_hertz", 1, 0},
           {"degC", "_celsius", 1, 0},
           {"%", "_ratio", 0.01, 0},
           {"s", "_seconds", 1, 0},
           {"kWh", "_joules_total", 3.6e6, 1},
           {"kVAh", "_voltampere_seconds_total", 3.6e6, 1},
           {"Wh", "_joules_total", 3600, 1}};
  *f = 1;
  *counter = 0;
  for (size_t i = 0; unit && i < sizeof u / sizeof u[0]; i++)
    if (strcmp(unit, u[i].unit) == 0) {
      *f = u[i].f;
      *counter = u[i].counter;
      return u[i].suffix;
    }
  return "";
}

static int is_phase(const char *p, size_t n) {
  return n >= 2 && p[0] == 'L' && p[1] >= '1' && p[1] <= '3' &&
         strspn(p, "L123N-") >= n;
}

/* Label-safe copy: \ " and newline escaped. */
static void esc(char *out, size_t n, const char *s) {
  size_t k = 0;
  for (; *s && k + 3 < n; s++) {
    if (*s == '\\' || *s == '"') out[k++] = '\\';
    out[k++] = *s == '\n' ? ' ' : *s;
  }
  out[k] = 0;
}

static void name_clean(char *name) {
  for (char *q = name; *q; q++)
    if (!((*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') ||
          (*q >= '0' && *q <= '9') || *q == '_'))
      *q = '_';
}

/* The metric name (without unit), labels and help for a NUT name (see
 * the file comment). */
static void metric_of(const char *var, char *name, size_t nn, char *labels,
                      size_t ln, char *help, size_t hn) {
  char prev[64] = "";
  size_t k = (size_t)snprintf(name, nn, "ohm"), l = 0, h = 0;
  labels[0] = help[0] = 0;
  for (const char *p = var; *p && k < nn;) {
    size_t n = strcspn(p, ".");
    int num = strspn(p, "0123456789") >= n, ph = is_phase(p, n);
    if (num && !p[n]) /* a sensor of a thing that has its own aggregate: */
      k += (size_t)snprintf(name + k, nn - k, "_sensor"); /* another metric */
    if (ph) /* the phases of a total are another metric than the total */
      k += (size_t)snprintf(name + k, nn - k, "_phase");
    if (ph || num) {
      if (l < ln)
        l += (size_t)snprintf(labels + l, ln - l, ",%s=\"%.*s\"",
                              ph ? "phase" : prev, (int)n, p);
      if (h < hn)
        h += (size_t)snprintf(help + h, hn - h, "%s<%s>", h ? "." : "",
                              ph ? "phase" : prev);
    } else {
      k += (size_t)snprintf(name + k, nn - k, "_%.*s", (int)n, p);
      snprintf(prev, sizeof prev, "%.*s", (int)(n < 63 ? n : 63), p);
      if (h < hn)
        h += (size_t)snprintf(help + h, hn - h, "%s%.*s", h ? "." : "", (int)n,
                              p);
    }
    p += n + (p[n] == '.');
  }
  name_clean(name);
}

/* The family called name (created, kept in name order); -1 if out of
 * memory. */
static int fam_get(const char *name, const char *help, const char *type) {
  size_t lo = 0, hi = R.nfams;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    int c = strcmp(R.fams[R.order[mid]].name, name);
    if (c == 0) return R.order[mid];
    if (c < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  struct pr_fam *f = realloc(R.fams, (R.nfams + 1) * sizeof *f);
  if (f) R.fams = f;
  int *o = f ? realloc(R.order, (R.nfams + 1) * sizeof *o) : NULL;
  if (!o) return -1;
  R.order = o;
  f = &R.fams[R.nfams];
  memset(f, 0, sizeof *f);
  snprintf(f->name, sizeof f->name, "%s", name);
  snprintf(f->help, sizeof f->help, "%s", help);
  f->type = type;
  memmove(o + lo + 1, o + lo, (R.nfams - lo) * sizeof *o);
  o[lo] = (int)R.nfams;
  return (int)R.nfams++;
}

static int fam_grow(struct pr_fam *f, size_t n) {
  if (f->len + n <= f->cap) return 0;
  size_t cap = f->cap ? f->cap * 2 : f->hint + f->hint / 16 + 4096;
  while (cap < f->len + n)
    cap *= 2;
  char *b = realloc(f->buf, cap);
  if (!b) return -1;
  f->buf = b;
  f->cap = cap;
  return 0;
}

/* Append s[0..n) to the family, after its HELP and TYPE if it is the
 * first line of this render. */
static void fam_put(int fam, const char *s, size_t n) {
  struct pr_fam *f = &R.fams[fam];
  if (!f->len) {
    char h[600];
    int k = snprintf(h, sizeof h, "# HELP %s %s\n# TYPE %s %s\n", f->name,
                     f->help, f->name, f->type);
    if (k < 0 || (size_t)k >= sizeof h || fam_grow(f, (size_t)k + n) < 0)
      return;
    memcpy(f->buf, h, (size_t)k);
    f->len = (size_t)k;
  }
  if (fam_grow(f, n) < 0) return;
  memcpy(f->buf + f->len, s, n);
  f->len += n;
}

/* One line: NAME{DEV LABELS EXTRA} VALUE */
static void line(int fam, const char *dev, const char *labels,
                 const char *extra, const char *value) {
  char b[1024];
  int n = snprintf(b, sizeof b, "%s{%s%s%s} %s\n", R.fams[fam].name, dev,
                   labels, extra, value);
  if (n > 0 && (size_t)n < sizeof b) fam_put(fam, b, (size_t)n);
}

/* A number as text: a device's reading to 15 significant digits (230.1,
 * not the double 2301 * 0.1 = 230.10000000000002: the registers carry far
 * fewer); anything else (timestamps, durations) in the shortest text that
 * reads back exactly. buf >= 32. */
static const char *shortest(char *buf, double x, int measured) {
  if (x == 0 || x == 1) return x == 0 ? "0" : "1";
  for (int prec = 15; prec <= 17; prec++) {
    snprintf(buf, 32, "%.*g", prec, x);
    if (measured || strtod(buf, NULL) == x) break;
  }
  return buf;
}

/* ---- plans: a map's series, made once ---- */

static int plan_enum(struct pr_ser *s, const struct dev_var *v) {
  char st[160];
  if (!(s->states = calloc(v->nenums + 1, sizeof *s->states))) return -1;
  s->nstates = v->nenums;
  for (size_t j = 0; j < v->nenums; j++) {
    esc(st, sizeof st, v->enums[j].text);
    size_t n = strlen(st) + 12;
    if ((s->states[j] = malloc(n)))
      snprintf(s->states[j], n, ",state=\"%s\"", st);
  }
  return 0;
}

/* A part's serial or firmware (battery.pack.1.serial): its info family
 * and labels into s; 0 if v is none. */
static int plan_part(const struct dev_var *v, struct pr_ser *s) {
  static const char *const keys[] = {"serial", "firmware"};
  const char *dot = strrchr(v->name, '.');
  char prefix[160], name[160], help[120], full[200], h[240];
  for (int i = 0; dot && !v->nenums && !v->text && i < 2; i++) {
    if (strcmp(dot + 1, keys[i])) continue;
    snprintf(prefix, sizeof prefix, "%.*s", (int)(dot - v->name), v->name);
    metric_of(prefix, name, sizeof name, s->labels, sizeof s->labels, help,
              sizeof help);
    if (!s->labels[0]) return 0; /* device.serial: ohm_device_info */
    size_t n = strlen(name);     /* the part itself, not a sensor of it */
    if (n > 7 && !strcmp(name + n - 7, "_sensor")) name[n - 7] = 0;
    snprintf(full, sizeof full, "%s_info", name);
    snprintf(h, sizeof h, "%s identity: serial and firmware", help);
    s->kind = PS_PART;
    s->key = keys[i];
    return (s->fam = fam_get(full, h, "gauge")) < 0 ? -1 : 1;
  }
  return 0;
}

/* The series of var k into s; 0 if the var exports none. */
static int plan_var(const struct dev_map *m, size_t k, struct pr_ser *s) {
  const struct dev_var *v = &m->vars[k];
  char name[160], help[120], full[200], h[200];
  double f = 1;
  int counter = 0;
  const char *suf = "";
  memset(s, 0, sizeof *s);
  s->var = k;
  int part = plan_part(v, s);
  if (part) return part;
  if (strcmp(v->name, "ups.status") == 0)
    s->kind = PS_STATUS;
  else if (v->nenums)
    s->kind = PS_ENUM;
  else if (v->type != DT_STRING && !v->text)
    s->kind = PS_NUM, suf = unit_suffix(v->unit, &f, &counter);
  else
    return 0;
  metric_of(v->name, name, sizeof name, s->labels, sizeof s->labels, help,
            sizeof help);
  snprintf(full, sizeof full, "%s%s", name, suf);
  size_t fl = strlen(full); /* no _count on a gauge (promtool) */
  if (!counter && fl > 6 && strcmp(full + fl - 6, "_count") == 0)
    full[fl - 6] = 0;
  if (s->kind == PS_STATUS)
    snprintf(h, sizeof h, "%s: 1 for each NUT status flag present", v->name);
  else
    snprintf(
        h, sizeof h, "%s%s%s%s", help, v->unit && *v->unit ? " (NUT, " : "",
        v->unit && *v->unit ? v->unit : "", v->unit && *v->unit ? ")" : "");
  s->f = f;
  s->measured = 1;
  s->fam = fam_get(full, h, counter ? "counter" : "gauge");
  if (s->fam < 0 || (s->kind == PS_ENUM && plan_enum(s, v) < 0)) return -1;
  return 1;
}

/* ohm_device_info's labels from device.*; serial and firmware also from
 * ups.* when device.* has none. */
static void plan_info(struct pr_plan *p, const struct dev_map *m) {
  int has_serial = dev_map_var(m, "device.serial") != NULL;
  int has_fw = dev_map_var(m, "device.firmware") != NULL;
  for (size_t k = 0; k < m->nvars; k++) {
    const char *n = m->vars[k].name, *label = NULL;
    if (!strncmp(n, "device.", 7) && !strchr(n + 7, '.'))
      label = n + 7;
    else if (!has_serial && !strcmp(n, "ups.serial"))
      label = "serial";
    else if (!has_fw && !strcmp(n, "ups.firmware"))
      label = "firmware";
    if (!label || !strcmp(label, "driver") || !strcmp(label, "device"))
      continue;
    struct pr_info *i = &p->info[p->ninfo++];
    snprintf(i->label, sizeof i->label, "%s", label);
    name_clean(i->label);
    i->var = k;
  }
}

static const struct pr_plan *plan_for(const struct dev_map *m) {
  for (size_t i = 0; i < R.nplans; i++)
    if (R.plans[i].map == m) return &R.plans[i];
  struct pr_plan *p = realloc(R.plans, (R.nplans + 1) * sizeof *p);
  if (!p) return NULL;
  R.plans = p;
  p = &R.plans[R.nplans];
  memset(p, 0, sizeof *p);
  p->map = m;
  p->s = calloc(m->nvars + 1, sizeof *p->s);
  p->info = calloc(m->nvars + 1, sizeof *p->info);
  if (!p->s || !p->info) {
    free(p->s);
    free(p->info);
    return NULL;
  }
  for (size_t k = 0; k < m->nvars; k++)
    if (plan_var(m, k, &p->s[p->n]) > 0) p->n++;
  plan_info(p, m);
  R.nplans++;
  return p;
}

/* ---- a render ---- */

static void render_status(const struct pr_ser *s, const struct sv_snap *sn,
                          const char *dev, const char *status) {
  char words[160], extra[32];
  snprintf(words, sizeof words, " %s ", status);
  int fsd = nutf_is_fsd(sn->name);
  for (int i = 0; pr_flags[i]; i++) {
    char w[16];
    snprintf(w, sizeof w, " %s ", pr_flags[i]);
    int on = strstr(words, w) != NULL || (fsd && !strcmp(pr_flags[i], "FSD"));
    snprintf(extra, sizeof extra, ",flag=\"%s\"", pr_flags[i]);
    line(s->fam, dev, s->labels, extra, on ? "1" : "0");
  }
}

static void render_enum(const struct pr_ser *s, const struct dev_var *v,
                        const struct dev_value *val, const char *dev) {
  int known = 0;
  for (size_t j = 0; j < v->nenums; j++) {
    const char *text = v->enums[j].text;
    if (!*text || !s->states[j]) continue; /* "no flag": never current */
    int on = strcmp(val->str, text) == 0;
    known |= on;
    line(s->fam, dev, s->labels, s->states[j], on ? "1" : "0");
  }
  if (!known && val->str[0]) { /* outside the enum: a series of its own */
    char st[160], extra[180];
    esc(st, sizeof st, val->str);
    snprintf(extra, sizeof extra, ",state=\"%s\"", st);
    line(s->fam, dev, s->labels, extra, "1");
  }
}

/* The info series of the part entry i is about (once, at its first
 * entry): every PS_PART entry with the same family and labels. */
static void render_part(const struct pr_plan *p, size_t i,
                        const struct sv_snap *sn, const char *dev) {
  const struct pr_ser *s = &p->s[i];
  char labels[600], t[200];
  size_t l = 0;
  for (size_t j = 0; j < i; j++)
    if (p->s[j].kind == PS_PART && p->s[j].fam == s->fam &&
        !strcmp(p->s[j].labels, s->labels))
      return;
  for (size_t j = i; j < p->n && l < sizeof labels; j++) {
    const struct pr_ser *o = &p->s[j];
    const struct dev_value *val = &sn->vals[o->var];
    if (o->kind != PS_PART || o->fam != s->fam ||
        strcmp(o->labels, s->labels) || val->kind != DV_STR)
      continue;
    esc(t, sizeof t, val->str);
    l += (size_t)snprintf(labels + l, sizeof labels - l, ",%s=\"%s\"", o->key,
                          t);
  }
  if (l && l < sizeof labels) line(s->fam, dev, s->labels, labels, "1");
}

static void render_info(const struct pr_plan *p, const struct sv_snap *sn,
                        const char *dev) {
  char labels[1024], t[200];
  size_t l = (size_t)snprintf(labels, sizeof labels, ",driver=\"%s\"",
                              p->map->name ? p->map->name : "");
  for (size_t i = 0; i < p->ninfo && l < sizeof labels; i++) {
    const struct dev_value *val = &sn->vals[p->info[i].var];
    if (val->kind != DV_STR && val->kind != DV_NUM) continue;
    if (val->kind == DV_STR)
      esc(t, sizeof t, val->str);
    else
      dev_value_format(&p->map->vars[p->info[i].var], val, t, sizeof t);
    if (!*t) continue;
    l += (size_t)snprintf(labels + l, sizeof labels - l, ",%s=\"%s\"",
                          p->info[i].label, t);
  }
  if (l < sizeof labels) line(R.info, dev, labels, "", "1");
}

static void render_dev(const struct sv_snap *sn) {
  char d[200], dev[220], num[32];
  int up = sn->state == SV_OK;
  esc(d, sizeof d, sn->name);
  snprintf(dev, sizeof dev, "device=\"%s\"", d);
  line(R.up, dev, "", "", up ? "1" : "0");
  line(R.dur, dev, "", "", shortest(num, sn->duration, 0));
  if (sn->updated > 0) line(R.last, dev, "", "", shortest(num, sn->updated, 0));
  const struct pr_plan *p =
      up && sn->vals && sn->map ? plan_for(sn->map) : NULL;
  if (!p) return;
  render_info(p, sn, dev);
  for (size_t i = 0; i < p->n; i++) {
    const struct pr_ser *s = &p->s[i];
    const struct dev_value *val = &sn->vals[s->var];
    if (s->kind == PS_NUM && val->kind == DV_NUM)
      line(s->fam, dev, s->labels, "", shortest(num, val->num * s->f, 1));
    else if (s->kind == PS_ENUM && val->kind == DV_STR)
      render_enum(s, &p->map->vars[s->var], val, dev);
    else if (s->kind == PS_STATUS && val->kind == DV_STR)
      render_status(s, sn, dev, val->str);
    else if (s->kind == PS_PART)
      render_part(p, i, sn, dev);
  }
}

static int fixed_fams(void) {
  if (R.up >= 0) return 0;
  R.up =
      fam_get("ohm_up", "1 if the last poll of the device succeeded", "gauge");
  R.dur = fam_get("ohm_scrape_duration_seconds",
                  "seconds the last poll of the device took", "gauge");
  R.last = fam_get("ohm_last_update_timestamp_seconds",
                   "unix time of the device's last good values", "gauge");
  R.info =
      fam_get("ohm_device_info",
              "device identity: driver and device.* of the device", "gauge");
  return R.up < 0 || R.dur < 0 || R.last < 0 || R.info < 0 ? -1 : 0;
}

/* Hand the families' buffers over to t, in name order. */
static int take(struct pr_text *t) {
  memset(t, 0, sizeof *t);
  if (!(t->iov = calloc(R.nfams + 1, sizeof *t->iov))) {
    for (size_t k = 0; k < R.nfams; k++)
      R.fams[k].len = 0;
    return -1;
  }
  for (size_t k = 0; k < R.nfams; k++) {
    struct pr_fam *f = &R.fams[R.order[k]];
    f->hint = f->len;
    if (f->len) {
      t->iov[t->n].iov_base = f->buf;
      t->iov[t->n++].iov_len = f->len;
      t->total += f->len;
    } else
      free(f->buf);
    f->buf = NULL;
    f->len = f->cap = 0;
  }
  return 0;
}

int pr_render(struct sv_cache *c, struct pr_text *out) {
  if (fixed_fams() < 0) return -1;
  for (size_t i = 0, n = sv_cache_count(c); i < n; i++) {
    struct sv_snap sn;
    if (sv_cache_snap(c, i, &sn) < 0) continue;
    render_dev(&sn);
    sv_snap_free(&sn);
  }
  return take(out);
}

void pr_text_free(struct pr_text *t) {
  for (int i = 0; t->iov && i < t->n; i++)
    free(t->iov[i].iov_base);
  free(t->iov);
  memset(t, 0, sizeof *t);
}

void pr_render_free(void) {
  for (size_t i = 0; i < R.nfams; i++)
    free(R.fams[i].buf);
  for (size_t i = 0; i < R.nplans; i++) {
    for (size_t k = 0; k < R.plans[i].n; k++) {
      struct pr_ser *s = &R.plans[i].s[k];
      for (size_t j = 0; j < s->nstates; j++)
        free(s->states[j]);
      free(s->states);
    }
    free(R.plans[i].s);
    free(R.plans[i].info);
  }
  free(R.fams);
  free(R.order);
  free(R.plans);
  memset(&R, 0, sizeof R);
  R.up = -1;
}
