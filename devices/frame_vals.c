/* From decoded packs to the map's values: every var with a `frame` field
 * (ohm-maps(5) "FRAME FIELDS"), per pack by its address (index[0]) and
 * cell or sensor (index[1]), and the bank's aggregates. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "frame_eng.h"

static void set_num(struct dev_value *out, double x) {
  out->kind = DV_NUM;
  out->num = x;
}

static void set_str(struct dev_value *out, const char *s) {
  out->kind = DV_STR;
  snprintf(out->str, sizeof out->str, "%s", s);
}

/* A raw integer through the var's enum (or as a number). */
static void set_raw(const struct dev_var *v, struct dev_value *out, int raw) {
  struct ohm_error e;
  uint16_t r = (uint16_t)raw;
  double num;
  int rc = dev_decode(v, &r, &num, out->str, sizeof out->str, &e);
  if (rc < 0) {
    out->kind = DV_ERR;
    out->err = rc;
    snprintf(out->str, sizeof out->str, "%s", ohm_error_text(&e));
  } else {
    out->kind = rc ? DV_STR : DV_NUM;
    out->num = rc ? raw : num;
  }
}

static double max_temp(const struct dev_frame *f, const struct fpack *p) {
  int a = f->cell_temp_first ? f->cell_temp_first : 1;
  int b = f->cell_temp_last ? f->cell_temp_last : p->ntemps;
  double m = -INFINITY;
  for (int i = a; i <= b && i <= p->ntemps; i++)
    if (p->temp[i - 1] > m) m = p->temp[i - 1];
  return m;
}

static void add_word(char *buf, size_t n, const char *w) {
  size_t len = strlen(w), bl = strlen(buf);
  for (const char *s = strstr(buf, w); s; s = strstr(s + 1, w))
    if ((s == buf || s[-1] == ' ') && (s[len] == ' ' || !s[len])) return;
  snprintf(buf + bl, n - bl, "%s%s", bl ? " " : "", w);
}

static void alarms(const struct dev_frame *f, const struct fpack *p, char *buf,
                   size_t n) {
  buf[0] = 0;
  for (int i = 0; i < p->ncells; i++)
    if (p->cell_st[i] == 1)
      add_word(buf, n, "cell-low");
    else if (p->cell_st[i] == 2)
      add_word(buf, n, "cell-high");
  for (int i = 0; i < p->ntemps; i++)
    if (p->temp_st[i] == 1)
      add_word(buf, n, "temperature-low");
    else if (p->temp_st[i] == 2)
      add_word(buf, n, "temperature-high");
  for (size_t i = 0; i < f->nwords; i++) {
    const struct dev_frame_alarm *w = &f->words[i];
    if (w->status < p->nstatus && (p->status[w->status] >> w->bit) & 1)
      add_word(buf, n, w->word);
  }
}

static int balancing(const struct dev_frame *f, const struct fpack *p, int c) {
  int b = f->balance[(c - 1) / 8];
  if (c < 1 || c > 16 || b < 0 || b >= p->nstatus) return -1;
  return (p->status[b] >> ((c - 1) % 8)) & 1;
}

static void state(const struct dev_frame *f, const struct fpack *p,
                  struct dev_value *out) {
  if (f->full_status >= 0 && f->full_status < p->nstatus &&
      (p->status[f->full_status] >> f->full_bit) & 1)
    set_str(out, "full");
  else
    set_str(out, p->current > 0   ? "charging"
                 : p->current < 0 ? "discharging"
                                  : "resting");
}

static double cell_stat(const struct fpack *p, int which) {
  double lo = INFINITY, hi = -INFINITY;
  for (int i = 0; i < p->ncells; i++) {
    if (p->cell[i] < lo) lo = p->cell[i];
    if (p->cell[i] > hi) hi = p->cell[i];
  }
  return which < 0 ? lo : which > 0 ? hi : hi - lo;
}

/* Per-cell and per-sensor fields; 1 if k is none of them. */
static int indexed(const struct dev_frame *f, const struct dev_var *v,
                   const struct fpack *p, const char *k,
                   struct dev_value *out) {
  int i = v->nindex > 1 ? v->index[1] : 0, b;
  if (strncmp(k, "cell.", 5) == 0 && strncmp(k, "cell.voltage.", 13) != 0) {
    if (i < 1 || i > p->ncells) return 0;
    if (strcmp(k, "cell.voltage") == 0)
      set_num(out, p->cell[i - 1]);
    else if (strcmp(k, "cell.status") == 0 && p->has_alarms)
      set_raw(v, out, p->cell_st[i - 1]);
    else if (strcmp(k, "cell.balancing") == 0 && (b = balancing(f, p, i)) >= 0)
      set_raw(v, out, b);
    return 0;
  }
  if (strncmp(k, "temp", 4) == 0 && strcmp(k, "temperature") != 0) {
    if (i < 1 || i > p->ntemps) return 0;
    if (strcmp(k, "temp") == 0)
      set_num(out, p->temp[i - 1]);
    else if (strcmp(k, "temp.status") == 0 && p->has_alarms)
      set_raw(v, out, p->temp_st[i - 1]);
    return 0;
  }
  return 1;
}

/* "status:NAME" with bit = one flag (or the whole byte without). */
static void status_field(const struct dev_frame *f, const struct dev_var *v,
                         const struct fpack *p, const char *name,
                         struct dev_value *out) {
  int s = dev_frame_status(f, name);
  if (s < 0 || s >= p->nstatus) return;
  set_raw(v, out, v->bit >= 0 ? (p->status[s] >> v->bit) & 1 : p->status[s]);
}

static void pack_field(const struct dev_frame *f, const struct dev_var *v,
                       const struct fpack *p, struct dev_value *out) {
  const char *k = v->frame;
  char buf[sizeof out->str];
  if (indexed(f, v, p, k, out) == 0) return;
  if (strncmp(k, "status:", 7) == 0)
    status_field(f, v, p, k + 7, out);
  else if (strcmp(k, "voltage") == 0)
    set_num(out, p->voltage);
  else if (strcmp(k, "current") == 0)
    set_num(out, p->current);
  else if (strcmp(k, "capacity") == 0)
    set_num(out, p->full);
  else if (strcmp(k, "capacity.remaining") == 0)
    set_num(out, p->remaining);
  else if (strcmp(k, "capacity.design") == 0 && p->has_design)
    set_num(out, p->design);
  else if (strcmp(k, "cycles") == 0)
    set_num(out, p->cycles);
  else if (strcmp(k, "cells") == 0)
    set_num(out, p->ncells);
  else if (strcmp(k, "charge") == 0 && p->full > 0)
    set_num(out, 100 * p->remaining / p->full);
  else if (strcmp(k, "health") == 0 && p->has_design && p->design > 0)
    set_num(out, 100 * p->full / p->design);
  else if (strcmp(k, "temperature") == 0 && p->ntemps)
    set_num(out, max_temp(f, p));
  else if (strncmp(k, "cell.voltage.", 13) == 0 && p->ncells)
    set_num(out, cell_stat(p, strcmp(k + 13, "min") == 0   ? -1
                              : strcmp(k + 13, "max") == 0 ? 1
                                                           : 0));
  else if (strcmp(k, "state") == 0)
    state(f, p, out);
  else if (strcmp(k, "alarms") == 0 && p->has_alarms)
    alarms(f, p, buf, sizeof buf), set_str(out, buf);
  else if (strcmp(k, "serial") == 0 && p->serial[0])
    set_str(out, p->serial);
  else if (strcmp(k, "firmware") == 0 && p->firmware[0])
    set_str(out, p->firmware);
}

static void bank_field(const struct dev_frame *f, const char *k,
                       const struct fpack *packs, int n,
                       struct dev_value *out) {
  double v = 0, rem = 0, full = 0, t = -INFINITY;
  int np = 0;
  for (int i = 0; i < n; i++) {
    const struct fpack *p = &packs[i];
    if (!p->present) continue;
    np++;
    v += p->voltage;
    rem += p->remaining;
    full += p->full;
    if (p->ntemps && max_temp(f, p) > t) t = max_temp(f, p);
  }
  if (strcmp(k, "packs") == 0) return set_num(out, np);
  if (np == 0) return;
  if (strcmp(k, "voltage") == 0)
    set_num(out, v / np);
  else if (strcmp(k, "capacity") == 0)
    set_num(out, full);
  else if (strcmp(k, "charge") == 0 && full > 0)
    set_num(out, 100 * rem / full);
  else if (strcmp(k, "temperature") == 0 && isfinite(t))
    set_num(out, t);
  else if (strcmp(k, "current") == 0) {
    double c = 0;
    for (int i = 0; i < n; i++)
      if (packs[i].present) c += packs[i].current;
    set_num(out, c);
  }
}

void fp_fill(const struct dev_map *m, const struct fpack *packs, int n,
             int explicit, struct dev_value *vals) {
  const struct dev_frame *f = m->frame;
  for (size_t i = 0; i < m->nvars; i++) {
    const struct dev_var *v = &m->vars[i];
    if (!v->frame) continue;
    if (strncmp(v->frame, "bank.", 5) == 0) {
      bank_field(f, v->frame + 5, packs, n, &vals[i]);
      continue;
    }
    for (int k = 0; v->nindex > 0 && k < n; k++) {
      if (packs[k].adr != v->index[0]) continue;
      if (packs[k].present)
        pack_field(f, v, &packs[k], &vals[i]);
      else if ((explicit || packs[k].rc) && strcmp(v->frame, "state") == 0) {
        vals[i].kind = DV_ERR;
        vals[i].err = packs[k].rc ? packs[k].rc : OHM_ETIMEDOUT;
        snprintf(vals[i].str, sizeof vals[i].str, "%.127s", packs[k].err);
      }
    }
  }
}
