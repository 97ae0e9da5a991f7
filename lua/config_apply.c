/* Comparing a saved configuration with a device, and applying it: every
 * value checked against the device's map and threshold order before
 * anything is sent, only what differs written, in a safe order, then read
 * back. */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../devices/poll.h"
#include "../devices/thresh.h"
#include "config.h"

void cfg_plan_free(struct cfg_plan *p) {
  free(p->ch);
  memset(p, 0, sizeof *p);
}

/* Whether name is in the comma-separated list (NULL: every name is). */
static int in_list(const char *list, const char *name) {
  size_t n = strlen(name);
  if (!list) return 1;
  for (const char *s = list; *s;) {
    const char *c = strchr(s, ',');
    size_t len = c ? (size_t)(c - s) : strlen(s);
    if (len == n && strncmp(s, name, n) == 0) return 1;
    if (!c) break;
    s = c + 1;
  }
  return 0;
}

static const struct cfg_val *file_val(const struct cfg_file *f,
                                      const char *name) {
  for (size_t i = 0; i < f->n; i++)
    if (strcmp(f->vals[i].name, name) == 0) return &f->vals[i];
  return NULL;
}

/* Every name of --only must be in the file: nothing silently skipped. */
static int check_only(const struct cfg_file *f, const char *only,
                      struct ohm_error *e) {
  char name[200];
  for (const char *s = only; s && *s;) {
    const char *c = strchr(s, ',');
    size_t len = c ? (size_t)(c - s) : strlen(s);
    snprintf(name, sizeof name, "%.*s", (int)(len < 190 ? len : 190), s);
    if (!file_val(f, name))
      return ohm_error_set(e, OHM_ENOENT, "--only: %s is not in the file",
                           name);
    if (!c) break;
    s = c + 1;
  }
  return 0;
}

static void val_text(const struct cfg_val *c, char *buf, size_t n) {
  if (c->is_str)
    snprintf(buf, n, "%s", c->str);
  else
    snprintf(buf, n, "%.15g", c->num);
}

/* Whether the device's value equals the file's text. */
static int same(const struct dev_var *v, const struct dev_value *val,
                const char *text) {
  char buf[160], *end;
  double x;
  if (val->kind == DV_STR) return strcmp(val->str, text) == 0;
  if (val->kind != DV_NUM) return 0;
  if (v->nenums && !v->is_bits) {
    dev_value_format(v, val, buf, sizeof buf);
    if (strcmp(buf, text) == 0) return 1;
  }
  x = strtod(text, &end);
  if (end == text || *end) return 0;
  double big = fabs(x) > fabs(val->num) ? fabs(x) : fabs(val->num);
  return fabs(x - val->num) <= 1e-9 * (big > 1 ? big : 1);
}

/* The file's value c against d's map: writable over d's transport and
 * accepted by the encoder (type, range, resolution). */
static int validate(struct dev *d, const struct dev_var *v, const char *text,
                    struct ohm_error *e) {
  uint16_t regs[8];
  struct ohm_error why;
  if (v->access != DA_RW || v->text)
    return ohm_error_set(e, OHM_EACCES, "%s is read-only", v->name);
  if (!dev_var_available(d, v))
    return ohm_error_set(e, OHM_ENOTSUP, "%s is not available over %s", v->name,
                         d->tp && d->tp->ops ? d->tp->ops->scheme : "it");
  ohm_error_clear(&why);
  int rc = dev_encode(v, text, regs, &why);
  if (rc < 0) {
    const char *w = ohm_error_text(&why);
    size_t n = strlen(v->name);
    if (strncmp(w, v->name, n) == 0 && w[n] == ':') w += n + 2;
    return ohm_error_set(e, rc, "%s = %s refused (%s)", v->name, text, w);
  }
  return 0;
}

static int is_thresh(const struct dev_var *v) {
  return v->type != DT_ENUM && !v->nenums && dev_thresh_rank(v->name) >= 0;
}

/* The planned thresholds against each other and the device's others. */
static int check_order(const struct dev_map *m, const struct cfg_plan *p,
                       const struct dev_value *cur, struct ohm_error *e) {
  struct dev_thresh *t = calloc(p->n ? p->n : 1, sizeof *t);
  size_t k = 0;
  int rc;
  if (!t) return ohm_error_set(e, OHM_ENOMEM, "out of memory");
  for (size_t i = 0; i < p->n; i++)
    if (is_thresh(p->ch[i].var)) {
      t[k].name = p->ch[i].var->name;
      t[k++].value = strtod(p->ch[i].file_text, NULL);
    }
  rc = dev_thresh_check(m, t, k, cur, e);
  free(t);
  return rc;
}

/* Put the changes in a safe order: other variables first (by name), then
 * each threshold as soon as writing it keeps the order with what the
 * device holds at that point; cur is updated as if written. */
static void order(const struct dev_map *m, struct cfg_plan *p,
                  struct dev_value *cur) {
  struct cfg_change *out = calloc(p->n ? p->n : 1, sizeof *out);
  char *done = calloc(p->n ? p->n : 1, 1);
  size_t k = 0;
  if (!out || !done) goto end; /* out of memory: keep the name order */
  for (size_t i = 0; i < p->n; i++)
    if (!is_thresh(p->ch[i].var)) out[k++] = p->ch[i], done[i] = 1;
  while (k < p->n) {
    size_t pick = p->n, first = p->n;
    for (size_t i = 0; i < p->n && pick == p->n; i++) {
      struct dev_thresh t = {p->ch[i].var->name,
                             strtod(p->ch[i].file_text, NULL)};
      if (done[i]) continue;
      if (first == p->n) first = i;
      if (dev_thresh_check(m, &t, 1, cur, NULL) == 0) pick = i;
    }
    if (pick == p->n) pick = first; /* none fits alone: name order */
    size_t vi = (size_t)(p->ch[pick].var - m->vars);
    cur[vi].kind = DV_NUM;
    cur[vi].num = strtod(p->ch[pick].file_text, NULL);
    out[k++] = p->ch[pick];
    done[pick] = 1;
  }
  memcpy(p->ch, out, p->n * sizeof *out);
end:
  free(out);
  free(done);
}

/* Compare one file value; a change is appended to p when it differs. */
static int plan_one(struct dev *d, const struct cfg_val *c, int validate_it,
                    const struct dev_value *cur, struct cfg_plan *p,
                    struct ohm_error *e) {
  const struct dev_map *m = d->map;
  const struct dev_var *v = dev_map_var(m, c->name);
  struct cfg_change *ch = &p->ch[p->n];
  char text[160];
  int rc;
  if (!v)
    return ohm_error_set(e, OHM_ENOENT, "%s: no such variable in driver %s",
                         c->name, m->name);
  val_text(c, text, sizeof text);
  if (validate_it && (rc = validate(d, v, text, e)) < 0) return rc;
  p->nvals++;
  const struct dev_value *dv = &cur[v - m->vars];
  if (same(v, dv, text)) return 0;
  memset(ch, 0, sizeof *ch);
  ch->var = v;
  snprintf(ch->file_text, sizeof ch->file_text, "%s", text);
  if (dv->kind == DV_NUM || dv->kind == DV_STR)
    dev_value_format(v, dv, ch->dev_text, sizeof ch->dev_text);
  p->n++;
  return 0;
}

int cfg_plan(struct dev *d, const struct cfg_file *f, const char *only,
             int validate_it, struct cfg_plan *out, struct ohm_error *e) {
  const struct dev_map *m = d->map;
  struct dev_value *cur;
  int rc = 0, refused = 0;
  memset(out, 0, sizeof *out);
  out->refused = 1;
  if (!f->driver || strcmp(f->driver, m->name) != 0)
    return ohm_error_set(e, OHM_ECONFIG,
                         "the file was saved from driver %s, this device "
                         "is %s",
                         f->driver ? f->driver : "?", m->name);
  if ((rc = check_only(f, only, e)) < 0) return rc;
  out->refused = 0;
  cur = calloc(m->nvars ? m->nvars : 1, sizeof *cur);
  out->ch = calloc(f->n ? f->n : 1, sizeof *out->ch);
  if (!cur || !out->ch) rc = ohm_error_set(e, OHM_ENOMEM, "out of memory");
  if (rc == 0 && (rc = dev_read_all(d, cur, e)) == 0) {
    for (size_t i = 0; rc == 0 && i < f->n; i++)
      if (in_list(only, f->vals[i].name))
        rc = plan_one(d, &f->vals[i], validate_it, cur, out, e);
    if (rc == 0 && validate_it) rc = check_order(m, out, cur, e);
    refused = rc < 0 && rc != OHM_ENOMEM;
  }
  if (rc == 0) order(m, out, cur);
  free(cur);
  if (rc < 0) cfg_plan_free(out);
  out->refused = refused;
  return rc;
}

/* Read everything back and mark each written change equal or not. */
static int read_back(struct dev *d, struct cfg_plan *p, struct ohm_error *e) {
  const struct dev_map *m = d->map;
  struct dev_value *now = calloc(m->nvars ? m->nvars : 1, sizeof *now);
  int rc, bad = 0;
  if (!now) return ohm_error_set(e, OHM_ENOMEM, "out of memory");
  if ((rc = dev_read_all(d, now, e)) < 0) {
    free(now);
    return rc;
  }
  for (size_t i = 0; i < p->n; i++) {
    struct cfg_change *c = &p->ch[i];
    const struct dev_value *v = &now[c->var - m->vars];
    if (c->state != CFG_WRITTEN) continue;
    if (v->kind == DV_NUM || v->kind == DV_STR)
      dev_value_format(c->var, v, c->back_text, sizeof c->back_text);
    if (!same(c->var, v, c->file_text)) {
      c->state = CFG_MISMATCH;
      snprintf(c->msg, sizeof c->msg, "wrote %s, reads back %s", c->file_text,
               c->back_text[0] ? c->back_text : "nothing");
      if (!bad++) ohm_error_set(e, OHM_EDEVICE, "%s: %s", c->var->name, c->msg);
    }
  }
  free(now);
  return bad ? OHM_EDEVICE : 0;
}

int cfg_apply(struct dev *d, struct cfg_plan *p, struct ohm_error *e) {
  struct ohm_error we;
  int failed = 0, rc;
  for (size_t i = 0; i < p->n; i++) {
    struct cfg_change *c = &p->ch[i];
    if (failed) {
      c->state = CFG_NOT_SENT;
      snprintf(c->msg, sizeof c->msg, "not sent (an earlier write failed)");
      continue;
    }
    ohm_error_clear(&we);
    if (dev_set(d, c->var->name, c->file_text, &we) < 0) {
      c->state = CFG_FAILED;
      snprintf(c->msg, sizeof c->msg, "%s", ohm_error_text(&we));
      ohm_error_set(e, OHM_EDEVICE, "%s: %s", c->var->name, c->msg);
      failed = 1;
    } else {
      c->state = CFG_WRITTEN;
    }
  }
  if (!p->n) return 0;
  struct ohm_error re;
  ohm_error_clear(&re);
  rc = read_back(d, p, failed ? &re : e);
  if (failed) return OHM_EDEVICE;
  if (rc < 0 && rc != OHM_EDEVICE) {
    char why[400];
    snprintf(why, sizeof why, "%s", ohm_error_text(e));
    ohm_error_set(e, rc, "written, but the read-back failed (%s)", why);
  }
  return rc;
}

struct pool {
  pthread_mutex_t mu;
  size_t next, ngroups;
  const size_t *order, *gstart; /* the items of group g, in order */
  void (*fn)(void *ctx, size_t i);
  void (*done)(void *ctx, size_t i);
  void *ctx;
};

static void *worker(void *arg) {
  struct pool *p = arg;
  for (;;) {
    pthread_mutex_lock(&p->mu);
    size_t g = p->next < p->ngroups ? p->next++ : p->ngroups;
    pthread_mutex_unlock(&p->mu);
    if (g == p->ngroups) return NULL;
    for (size_t k = p->gstart[g]; k < p->gstart[g + 1]; k++) {
      p->fn(p->ctx, p->order[k]);
      pthread_mutex_lock(&p->mu);
      if (p->done) p->done(p->ctx, p->order[k]);
      pthread_mutex_unlock(&p->mu);
    }
  }
}

void cfg_parallel(size_t n, int jobs, const char *(*bus)(void *ctx, size_t i),
                  void (*fn)(void *ctx, size_t i),
                  void (*done)(void *ctx, size_t i), void *ctx) {
  size_t *order = calloc(n ? n : 1, sizeof *order);
  size_t *gstart = calloc(n + 1, sizeof *gstart);
  struct pool p = {
      PTHREAD_MUTEX_INITIALIZER, 0, 0, order, gstart, fn, done, ctx};
  pthread_t th[64];
  int k = 0;
  /* items on one line in one group: one thread drives a line, as in poll */
  if (!order || !gstart ||
      poll_group_by_bus(n, bus, ctx, order, gstart, &p.ngroups) < 0) {
    /* no memory: in this thread, in order */
    for (size_t i = 0; i < n; i++) {
      fn(ctx, i);
      if (done) done(ctx, i);
    }
    free(order), free(gstart);
    return;
  }
  if (jobs > 64) jobs = 64;
  if ((size_t)jobs > p.ngroups) jobs = (int)p.ngroups;
  for (; jobs > 1 && k < jobs; k++)
    if (pthread_create(&th[k], NULL, worker, &p) != 0) break;
  if (k == 0) worker(&p); /* one job, or no thread could start */
  for (int i = 0; i < k; i++)
    pthread_join(th[i], NULL);
  free(order), free(gstart);
}
