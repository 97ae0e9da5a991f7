/* SNMP tables of a map (ohm-maps(5) "SNMP TABLES"): each table a map's
 * vars use is walked once, only the columns needed, all of them side by
 * side (GETBULK of every column, GETNEXT on v1), so a 160-probe unit
 * costs a few PDUs per table, not one per probe. A row's numbers (string
 * S, battery B) come from its index columns, never from the row number;
 * rows are joined across tables on the row index, and a row that does
 * not say the same numbers in every table, or whose numbers another row
 * claims too, is that block's error, never a value on the wrong block. */
#include "snmp_table.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "snmp_engine.h"

#define TAB_COLS 16   /* columns read of one table */
#define TAB_ROWS 4096 /* rows of one table (the BM100 has up to 960) */
/* varbinds asked for per GETBULK: an agent may send fewer (snmpsim 64)
 * or refuse (tooBig, genErr: then halved) */
#define TAB_PDU 128

int (*dev_snmp_table_bulk)(struct tp *, const char *const *, size_t, int *,
                           struct tp_snmp_val *, size_t *,
                           struct ohm_error *) = tp_snmp_bulk;

struct row {
  long idx;                       /* the row index (probe index) */
  struct tp_snmp_val v[TAB_COLS]; /* by column slot; zeroed = missing */
  int num[4];                     /* the numbers its index columns hold */
  int nonum;                      /* they hold none (missing, wrong type) */
  char why[120];                  /* why it is no good, "" if good */
};

struct table {
  const char *entry; /* borrowed from the first var */
  int cols[TAB_COLS];
  int ncols, nicol;
  int icol[4];
  int islot[4];     /* the slot of each index column (one if they repeat) */
  struct row *rows; /* sorted by idx */
  size_t nrows;
};

static void table_free(struct table *t) {
  for (size_t r = 0; r < t->nrows; r++)
    tp_snmp_vals_free(t->rows[r].v, TAB_COLS);
  free(t->rows);
}

static int col_slot(struct table *t, int col) {
  for (int k = 0; k < t->ncols; k++)
    if (t->cols[k] == col) return k;
  if (t->ncols == TAB_COLS) return -1;
  t->cols[t->ncols] = col;
  return t->ncols++;
}

/* The row with index idx, made if new (NULL when the table is too big). */
static struct row *row_at(struct table *t, long idx) {
  size_t lo = 0, hi = t->nrows;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (t->rows[mid].idx == idx) return &t->rows[mid];
    if (t->rows[mid].idx < idx)
      lo = mid + 1;
    else
      hi = mid;
  }
  if (t->nrows == TAB_ROWS) return NULL;
  if (t->nrows % 64 == 0) {
    struct row *n = realloc(t->rows, (t->nrows + 64) * sizeof *n);
    if (!n) return NULL;
    t->rows = n;
  }
  memmove(&t->rows[lo + 1], &t->rows[lo], (t->nrows - lo) * sizeof *t->rows);
  memset(&t->rows[lo], 0, sizeof *t->rows);
  t->rows[lo].idx = idx;
  t->nrows++;
  return &t->rows[lo];
}

/* The row index after prefix ("E.col.") in oid: one arc, else -1. */
static long row_index(const char *oid, const char *prefix) {
  size_t n = strlen(prefix);
  char *end;
  long idx;
  if (strncmp(oid, prefix, n) != 0) return -2; /* past the column */
  if (oid[n] < '0' || oid[n] > '9') return -1;
  errno = 0;
  idx = strtol(oid + n, &end, 10);
  /* an arc is 32 bits: a longer number (strtol's LONG_MAX) is no row */
  return *end || errno || idx > 4294967295L ? -1 : idx;
}

struct walk {
  struct table *t;
  char oids[TAB_COLS][160];   /* where each column's walk stands */
  char prefix[TAB_COLS][160]; /* ".E.col." */
  long last[TAB_COLS];
  int active[TAB_COLS], nactive;
  int max_rep;
  int one; /* one column a request */
};

/* One answer's object for column slot k: stored in its row, or the end
 * of that column. */
static int walk_take(struct walk *w, int k, struct tp_snmp_val *v,
                     struct ohm_error *e) {
  long idx = v->type == TP_SNMP_MISSING ? -2 : row_index(v->oid, w->prefix[k]);
  struct row *r;
  if (idx == -2) return w->active[k] = 0, 0;
  if (idx < 0 || idx <= w->last[k])
    return ohm_error_set(
        e, OHM_EPROTO, "table %s: agent sent %s (%s)", w->t->entry, v->oid,
        idx < 0 ? "not a row of one index" : "out of order: a loop");
  if (!(r = row_at(w->t, idx)))
    return ohm_error_set(e, OHM_ERANGE,
                         "table %s: more than %d rows (or out of memory)",
                         w->t->entry, TAB_ROWS);
  w->last[k] = idx;
  snprintf(w->oids[k], sizeof w->oids[k], "%s", v->oid);
  tp_snmp_vals_free(&r->v[k], 1);
  r->v[k] = *v;
  memset(v, 0, sizeof *v); /* the row owns it now */
  return 0;
}

/* One request for every column still going (for one column only once a
 * v1 agent said noSuchName: then we know which column ran out). */
static int walk_step(struct tp *tp, struct walk *w, struct tp_snmp_val *buf,
                     struct ohm_error *e) {
  const char *oids[TAB_COLS];
  int slot[TAB_COLS], n = 0, rc = 0;
  size_t got = 0;
  for (int k = 0; k < w->t->ncols && !(w->one && n); k++)
    if (w->active[k]) slot[n] = k, oids[n++] = w->oids[k];
  rc = dev_snmp_table_bulk(tp, oids, (size_t)n, &w->max_rep, buf, &got, e);
  if (rc < 0) tp_snmp_vals_free(buf, got); /* what came before the error */
  if (rc == OHM_ENOENT && n == 1)          /* v1: nothing after it in the MIB */
    return w->active[slot[0]] = 0, 0;
  if (rc == OHM_ENOENT) return w->one = 1, 0;
  if (rc < 0) return rc;
  for (size_t j = 0; j < got; j++) {
    int k = slot[j % (size_t)n];
    if (rc == 0 && w->active[k]) rc = walk_take(w, k, &buf[j], e);
  }
  tp_snmp_vals_free(buf, got);
  if (rc == 0 && got == 0)
    rc = ohm_error_set(e, OHM_EPROTO, "table %s: empty answer", w->t->entry);
  return rc;
}

/* Walk table t: every column of it at once until each runs out. */
static int table_walk(struct tp *tp, struct table *t, struct ohm_error *e) {
  struct walk w;
  struct tp_snmp_val *buf;
  int rc = 0;
  memset(&w, 0, sizeof w);
  w.t = t;
  w.max_rep = TAB_PDU / t->ncols > 0 ? TAB_PDU / t->ncols : 1;
  for (int k = 0; k < t->ncols; k++) {
    snprintf(w.oids[k], sizeof w.oids[k], "%s%s.%d",
             t->entry[0] == '.' ? "" : ".", t->entry, t->cols[k]);
    snprintf(w.prefix[k], sizeof w.prefix[k], "%s%s.%d.",
             t->entry[0] == '.' ? "" : ".", t->entry, t->cols[k]);
    w.active[k] = 1, w.last[k] = -1;
  }
  if (!(buf = calloc((size_t)t->ncols * (size_t)w.max_rep, sizeof *buf)))
    return ohm_error_set(e, OHM_ENOMEM, "out of memory");
  for (;;) {
    int going = 0;
    for (int k = 0; k < t->ncols; k++)
      going |= w.active[k];
    if (!going || (rc = walk_step(tp, &w, buf, e)) < 0) break;
  }
  free(buf);
  return rc;
}

/* The numbers a row's index columns hold, or why it has none. */
static void row_numbers(const struct table *t, struct row *r) {
  for (int k = 0; k < t->nicol; k++) {
    const struct tp_snmp_val *v = &r->v[t->islot[k]];
    if (v->type == TP_SNMP_MISSING)
      snprintf(r->why, sizeof r->why, "row %ld of %s has no column %d", r->idx,
               t->entry, t->icol[k]);
    else if (v->type != TP_SNMP_INTEGER && v->type != TP_SNMP_UNSIGNED)
      snprintf(r->why, sizeof r->why, "%s is a %s, not a number", v->oid,
               tp_snmp_type_name(v->type));
    else if ((v->type == TP_SNMP_INTEGER ? v->i : (int64_t)v->u) < 0 ||
             (v->type == TP_SNMP_INTEGER ? v->i : (int64_t)v->u) > 65535)
      snprintf(r->why, sizeof r->why, "%s is out of range", v->oid);
    else
      r->num[k] = (int)(v->type == TP_SNMP_INTEGER ? v->i : (int64_t)v->u);
    if (r->why[0]) {
      r->nonum = 1;
      return;
    }
  }
}

static int same_nums(const int *a, const int *b, int n) {
  return memcmp(a, b, (size_t)n * sizeof *a) == 0;
}

static void nums_text(const int *num, int n, char *buf, size_t sz) {
  size_t k = 0;
  buf[0] = 0;
  for (int i = 0; i < n && k < sz; i++)
    k += (size_t)snprintf(buf + k, sz - k, "%s%d", i ? "/" : "", num[i]);
}

/* Two rows of one table claiming the same numbers: both no good. */
static void check_dups(struct table *t) {
  for (size_t a = 0; a < t->nrows; a++)
    for (size_t b = a + 1; b < t->nrows; b++) {
      struct row *x = &t->rows[a], *y = &t->rows[b];
      char nums[40];
      if (x->nonum || y->nonum || !same_nums(x->num, y->num, t->nicol))
        continue;
      nums_text(x->num, t->nicol, nums, sizeof nums);
      snprintf(x->why, sizeof x->why, "rows %ld and %ld of %s both say %s",
               x->idx, y->idx, t->entry, nums);
      memcpy(y->why, x->why, sizeof y->why);
    }
}

/* The row index joins the tables: a row whose numbers differ from the
 * same row's in another table is no good in either. */
static void check_join(struct table *ts, size_t nt) {
  for (size_t a = 0; a < nt; a++)
    for (size_t b = a + 1; b < nt; b++) {
      size_t lo = 0, hi = ts[b].nrows; /* both sorted: one pass */
      if (ts[a].nicol != ts[b].nicol) continue;
      for (size_t r = 0; r < ts[a].nrows; r++) {
        struct row *x = &ts[a].rows[r], *y;
        char n1[40], n2[40], why[120];
        while (lo < hi && ts[b].rows[lo].idx < x->idx)
          lo++;
        if (lo == hi || (y = &ts[b].rows[lo])->idx != x->idx) continue;
        if (x->nonum || y->nonum || same_nums(x->num, y->num, ts[a].nicol))
          continue;
        nums_text(x->num, ts[a].nicol, n1, sizeof n1);
        nums_text(y->num, ts[b].nicol, n2, sizeof n2);
        snprintf(why, sizeof why, "row %ld is %s in %s but %s in %s", x->idx,
                 n1, ts[a].entry, n2, ts[b].entry);
        if (!x->why[0]) snprintf(x->why, sizeof x->why, "%s", why);
        if (!y->why[0]) snprintf(y->why, sizeof y->why, "%s", why);
      }
    }
}

/* Add var v to the tables (a new one for a new entry). */
static int table_add(struct table *ts, size_t *nt, size_t max,
                     const struct dev_var *v, struct ohm_error *e) {
  struct table *t = NULL;
  for (size_t i = 0; i < *nt && !t; i++)
    if (strcmp(ts[i].entry, v->entry) == 0) t = &ts[i];
  if (!t) {
    if (*nt == max)
      return ohm_error_set(e, OHM_ECONFIG, "more than %zu SNMP tables", max);
    t = &ts[(*nt)++];
    t->entry = v->entry, t->nicol = v->nicol;
    for (int k = 0; k < v->nicol; k++)
      t->icol[k] = v->icol[k], t->islot[k] = col_slot(t, v->icol[k]);
  }
  if (t->nicol != v->nicol ||
      memcmp(t->icol, v->icol, (size_t)v->nicol * sizeof *v->icol))
    return ohm_error_set(e, OHM_ECONFIG,
                         "%s: index_columns differ from another var of "
                         "table %s",
                         v->name, v->entry);
  if (col_slot(t, v->column) < 0)
    return ohm_error_set(e, OHM_ECONFIG, "table %s: more than %d columns",
                         v->entry, TAB_COLS);
  return 0;
}

/* Var v's value from its table. */
static void fill_var(const struct table *t, const struct dev_var *v,
                     struct dev_value *out) {
  int slot = 0;
  while (t->cols[slot] != v->column)
    slot++;
  memset(out, 0, sizeof *out); /* a block no row names: absent */
  for (size_t r = 0; r < t->nrows; r++) {
    const struct row *x = &t->rows[r];
    if (x->nonum || !same_nums(x->num, v->index, t->nicol)) continue;
    if (x->why[0]) { /* the block this row says it is: no value */
      out->kind = DV_ERR;
      out->err = OHM_EPROTO;
      snprintf(out->str, sizeof out->str, "%s", x->why);
      return;
    }
    dev_snmp_decode(v, &x->v[slot], out);
    return;
  }
}

int dev_snmp_tables(struct dev *d, const unsigned char *want,
                    struct dev_value *vals, struct ohm_error *e) {
  struct table ts[8];
  size_t nt = 0;
  int rc = 0;
  memset(ts, 0, sizeof ts);
  for (size_t i = 0; rc == 0 && i < d->map->nvars; i++)
    if (d->map->vars[i].entry) rc = table_add(ts, &nt, 8, &d->map->vars[i], e);
  for (size_t i = 0; rc == 0 && i < nt; i++)
    rc = table_walk(d->tp, &ts[i], e);
  for (size_t i = 0; rc == 0 && i < nt; i++) {
    for (size_t r = 0; r < ts[i].nrows; r++)
      row_numbers(&ts[i], &ts[i].rows[r]);
    check_dups(&ts[i]);
  }
  if (rc == 0) check_join(ts, nt);
  for (size_t i = 0; rc == 0 && i < d->map->nvars; i++) {
    const struct dev_var *v = &d->map->vars[i];
    for (size_t k = 0; v->entry && k < nt; k++)
      if (strcmp(ts[k].entry, v->entry) == 0) fill_var(&ts[k], v, &vals[i]);
  }
  for (size_t i = 0; i < nt; i++)
    table_free(&ts[i]);
  return rc;
}
