/* One pack's replies decoded (0x42 analog, 0x44 alarms, texts) and turned
 * into the map's values (see frame_eng.h). Layout facts: DESIGN.md
 * "Drivers pylontech and pace"; numbers come from the map's dialect. */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frame_eng.h"

int fp_parse_list(const char *s, int *list, struct ohm_error *e) {
  int n = 0;
  while (*s) {
    char *end;
    long a = strtol(s, &end, 0), b = a;
    if (end == s) break;
    if (*end == '-') {
      s = end + 1;
      b = strtol(s, &end, 0);
      if (end == s) break;
    }
    if (a < 0 || b > 255 || a > b || n + (b - a + 1) > 256) break;
    for (long x = a; x <= b; x++)
      list[n++] = (int)x;
    s = end;
    if (*s == ',')
      s++;
    else if (*s)
      break;
  }
  if (*s || n == 0)
    return ohm_error_set(e, OHM_EURI,
                         "packs=%.60s: want addresses as in 1,2,4 or 0-3", s);
  return n;
}

void fp_read_text(struct dev *d, int adr, int cid2, char *out) {
  struct frm *rep = malloc(sizeof *rep);
  struct ohm_error e;
  uint8_t a = (uint8_t)adr;
  size_t k = 0;
  out[0] = 0;
  if (!rep) return;
  if (fe_xfer(d, adr, cid2, &a, d->map->frame->text_info ? 1 : 0, rep, &e) == 0)
    for (size_t i = 0; i < rep->ninfo && k < FP_TEXT - 1; i++)
      if (isprint(rep->info[i])) out[k++] = (char)rep->info[i];
  while (k > 0 && out[k - 1] == ' ')
    k--;
  out[k] = 0;
  free(rep);
}

/* A cursor over INFO that refuses to read past its end. */
struct cur {
  const uint8_t *p;
  size_t n, at;
  int short_;
};

static uint32_t take(struct cur *c, int bytes) {
  if (c->at + (size_t)bytes > c->n) {
    c->short_ = 1;
    return 0;
  }
  uint32_t v = frm_be(c->p + c->at, bytes);
  c->at += (size_t)bytes;
  return v;
}

static void extras(const struct dev_frame *f, struct cur *c, int np,
                   struct fpack *p) {
  for (int i = 0; i < f->nextras; i++) {
    if (f->extras[i].p != np) continue;
    for (int j = 0; j < f->extras[i].nf; j++) {
      const struct dev_frame_field *x = &f->extras[i].f[j];
      double v = take(c, x->bytes) * f->capacity_scale;
      if (strcmp(x->field, "capacity.remaining") == 0)
        p->remaining = v;
      else if (strcmp(x->field, "capacity") == 0)
        p->full = v;
      else if (strcmp(x->field, "capacity.design") == 0)
        p->design = v, p->has_design = 1;
      else if (strcmp(x->field, "cycles") == 0)
        p->cycles = (int)(v / f->capacity_scale);
    }
  }
}

int fp_parse_analog(const struct dev_frame *f, const struct frm *r,
                    struct fpack *p, struct ohm_error *e) {
  struct cur c = {r->info, r->ninfo, 2, 0}; /* INFOFLAG, address */
  int np;
  p->ncells = (int)take(&c, 1);
  if (p->ncells > FP_CELLS)
    return ohm_error_set(e, OHM_EPROTO, "%d cells in the reply (at most %d)",
                         p->ncells, FP_CELLS);
  for (int i = 0; i < p->ncells; i++)
    p->cell[i] = take(&c, 2) * f->cell_scale;
  p->ntemps = (int)take(&c, 1);
  if (p->ntemps > FP_TEMPS)
    return ohm_error_set(e, OHM_EPROTO, "%d temperatures in the reply",
                         p->ntemps);
  for (int i = 0; i < p->ntemps; i++)
    p->temp[i] = ((double)take(&c, 2) - f->temp_offset) * f->temp_scale;
  p->current = (int16_t)take(&c, 2) * f->current_scale;
  p->voltage = take(&c, 2) * f->voltage_scale;
  p->remaining = take(&c, 2) * f->capacity_scale;
  np = (int)take(&c, 1);
  p->full = take(&c, 2) * f->capacity_scale;
  p->cycles = (int)take(&c, 2);
  extras(f, &c, np, p);
  if (!c.short_ && c.at != c.n) /* not an analog reply for these counts */
    return ohm_error_set(e, OHM_EPROTO,
                         "analog reply of %zu bytes, want %zu for %d cells, "
                         "%d temperatures",
                         r->ninfo, c.at, p->ncells, p->ntemps);
  if (c.short_)
    return ohm_error_set(e, OHM_EPROTO,
                         "analog reply cut short (%zu bytes for %d cells, %d "
                         "temperatures)",
                         r->ninfo, p->ncells, p->ntemps);
  return 0;
}

int fp_parse_alarms(const struct dev_frame *f, const struct frm *r,
                    struct fpack *p, struct ohm_error *e) {
  struct cur c = {r->info, r->ninfo, 2, 0};
  int m = (int)take(&c, 1), n, left;
  if (m != p->ncells)
    return ohm_error_set(e, OHM_EPROTO, "alarm reply for %d cells, not %d", m,
                         p->ncells);
  for (int i = 0; i < m; i++)
    p->cell_st[i] = (uint8_t)take(&c, 1);
  if ((n = (int)take(&c, 1)) != p->ntemps)
    return ohm_error_set(
        e, OHM_EPROTO, "alarm reply for %d temperatures, not %d", n, p->ntemps);
  for (int i = 0; i < n; i++)
    p->temp_st[i] = (uint8_t)take(&c, 1);
  c.at += (size_t)f->alarm_states;
  if (c.short_ || c.at > c.n)
    return ohm_error_set(e, OHM_EPROTO, "alarm reply cut short");
  left = (int)(c.n - c.at);
  /* a unit that adds a count byte before its status bytes: skip it */
  if (left == f->nstatus + 1 && c.p[c.at] == f->nstatus) c.at++, left--;
  if (left > f->nstatus + 1)
    return ohm_error_set(e, OHM_EPROTO, "alarm reply of %zu bytes, want %zu",
                         r->ninfo, c.at + (size_t)f->nstatus);
  p->nstatus = left < f->nstatus ? left : f->nstatus;
  for (int i = 0; i < p->nstatus; i++)
    p->status[i] = c.p[c.at + (size_t)i];
  p->has_alarms = 1;
  return 0;
}
