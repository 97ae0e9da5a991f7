/* libFuzzer target for the SNMP table reader (devices/snmp_table.c): the
 * input drives a hostile agent, answering each request of the table walk
 * (dev_snmp_table_bulk, the reader's one seam, in place of tp_snmp_bulk)
 * with varbinds made from the input: OIDs out of order, outside the
 * table, in another table or column, of several index arcs; repeated
 * rows; index columns that disagree; every type; huge and negative
 * numbers; short answers, end of MIB, timeouts, v1 noSuchName. Beyond
 * "no crash, no leak", it logs the objects the reader keeps and checks
 * the promise of ohm-maps(5) "SNMP TABLES" for every var: block (S,B)
 * shows the decoding of the object in the one row of its table whose
 * index columns said S and B; two such rows, or another table's same row
 * naming another block, is its error; no such row, absent.
 * The input: byte 0 chooses one of two maps; the rest is read per
 * request: a control byte (0xff timeout, 0xfe v1 noSuchName, 0xfd
 * tooBig, 0xfc an error after some objects, else the number of varbinds), then
 * per varbind a kind byte, an argument byte, a type byte and the value (4
 * bytes, or a length and text). An input that runs out is end of MIB. Builds
 * with tests/fuzz/run.sh. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../devices/snmp_engine.h"
#include "../../devices/snmp_table.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define BM ".1.3.6.1.4.1.3808.1.1.7.5."
/* the tables the map reads, and a neighbour whose prefix looks alike */
static const char *const entries[] = {BM "5.1", BM "7.1", BM "3.1", BM "5.10"};

/* Two maps: the BM100's layout, and one whose index columns repeat
 * ({ 3, 3 }) or come in another order ({ 4, 3 }). */
#define MAP_BODY                                                               \
  "local function t(n, e, c, x)\n"                                             \
  " local v = {name='s.{S}.b.{B}.'..n, entry='" BM "'..e, column=c,\n"         \
  "  index_columns=I[e] or {3, 4}, each={{'S', 1, 2}, {'B', 1, 3}}}\n"         \
  " for k, y in pairs(x or {}) do v[k] = y end\n"                              \
  " return v\n"                                                                \
  "end\n"                                                                      \
  "return { vars = {\n"                                                        \
  " t('volt', '5.1', 7, {scale=0.01, invalid={0xFFFF}}),\n"                    \
  " t('vstat', '5.1', 6, {enum={[1]='good', [2]='low'}}),\n"                   \
  " t('temp', '7.1', 7, {scale=0.1, type='s32'}),\n"                           \
  " t('pack', '3.1', 2, {type='string'}),\n"                                   \
  " t('cnt', '3.1', 5, {type='u32', accept={'counter32'}}),\n"                 \
  "}}"
static const char *const srcs[] = {
    "local I = {}\n" MAP_BODY,
    "local I = {['5.1'] = {3, 3}, ['7.1'] = {4, 3}}\n" MAP_BODY};

/* What the agent sent: every object, for the check. */
struct sent {
  int tab, col;
  long idx;
  struct tp_snmp_val v; /* oid NULL; str owned */
};

static struct {
  const struct dev_map *m; /* this input's */
  const uint8_t *p;
  size_t n;
  struct sent *log;
  size_t nlog, cap;
} A;

static const struct dev_map *the_map(int k) {
  static struct dev_map *m[2];
  struct ohm_error e;
  if (!m[k] && dev_map_load(srcs[k], strlen(srcs[k]), "fuzz", &m[k], &e) < 0) {
    fprintf(stderr, "map: %s\n", e.msg);
    abort();
  }
  return m[k];
}

static uint8_t next(void) {
  if (!A.n) return 0;
  A.n--;
  return *A.p++;
}

static uint32_t next32(void) {
  uint32_t x = 0;
  for (int i = 0; i < 4; i++)
    x = x << 8 | next();
  return x;
}

/* The table and column of a requested or sent OID ("E.c" or "E.c.idx"),
 * and its row index (-1 for none): 0 if not one of ours. */
static int parse_oid(const char *oid, int *tab, int *col, long *idx) {
  for (int t = 0; t < 4; t++) {
    size_t n = strlen(entries[t]);
    char *end;
    if (strncmp(oid, entries[t], n) != 0 || oid[n] != '.') continue;
    *tab = t;
    *col = (int)strtol(oid + n + 1, &end, 10);
    *idx = -1;
    if (*end == '.') *idx = strtol(end + 1, &end, 10);
    return *end == 0;
  }
  return 0;
}

/* The value: type, number, text from the input. */
static void make_value(struct tp_snmp_val *v) {
  uint8_t t = next();
  uint32_t x = next32();
  v->type = (enum tp_snmp_type)(t % (TP_SNMP_OTHER + 1));
  v->i = (int32_t)x;
  v->u = x;
  if (v->type == TP_SNMP_COUNTER64 && (t & 0x80))
    v->u = (uint64_t)x << 32 | next32();
  if (v->type >= TP_SNMP_STRING && v->type != TP_SNMP_NULL) {
    size_t len = next() % 24;
    if (!(v->str = malloc(len + 1))) abort();
    for (size_t i = 0; i < len; i++)
      v->str[i] = (char)next();
    v->str[len] = 0;
    v->len = len;
  }
}

/* The OID of the varbind answering request req (kind and argument bytes)
 * whose column the answer has taken to row *at so far. */
static void make_oid(const char *req, long *at, char *oid, size_t sz) {
  uint8_t kind = next(), arg = next();
  int tab = 0, col = 7, t2, c2;
  long idx = -1;
  parse_oid(req, &tab, &col, &idx);
  idx = *at > idx ? *at : idx < 0 ? 0 : idx;
  if (idx > 0xffffffffL) idx = 0xffffffffL; /* an arc is 32 bits */
  switch (kind % 8) {
  case 0:
  case 1:
  case 2: /* the next row, mostly */
    snprintf(oid, sz, "%s.%d.%ld", entries[tab], col, idx + arg % 4 + 1);
    break;
  case 3: /* anywhere in the column: back, same, far ahead */
    snprintf(oid, sz, "%s.%d.%ld", entries[tab], col, idx + (int8_t)arg);
    break;
  case 4: /* another column of the table */
    snprintf(oid, sz, "%s.%d.%ld", entries[tab], arg % 10, idx + 1);
    break;
  case 5: /* another table */
    snprintf(oid, sz, "%s.%d.%ld", entries[arg % 4], col, idx + arg / 4 % 3);
    break;
  case 6: /* odd indexes */
    if (arg % 3 == 0)
      snprintf(oid, sz, "%s.%d.%ld.%d", entries[tab], col, idx + 1, arg);
    else if (arg % 3 == 1)
      snprintf(oid, sz, "%s.%d.99999999999999999999", entries[tab], col);
    else
      snprintf(oid, sz, "%s.%d.", entries[tab], col);
    break;
  default: /* outside every table */
    snprintf(oid, sz, ".1.3.6.1.4.1.3808.1.1.8.%d", arg);
  }
  if (parse_oid(oid, &t2, &c2, &idx) && t2 == tab && c2 == col) *at = idx;
}

static void log_sent(const struct tp_snmp_val *v, int tab, int col, long idx) {
  struct sent *s;
  if (A.nlog == A.cap) {
    A.cap = A.cap ? 2 * A.cap : 256;
    if (!(A.log = realloc(A.log, A.cap * sizeof *A.log))) abort();
  }
  s = &A.log[A.nlog++];
  s->tab = tab, s->col = col, s->idx = idx, s->v = *v;
  s->v.text = NULL;
  if (!(s->v.oid = strdup(v->oid))) abort();
  s->v.str = v->str ? strdup(v->str) : NULL;
}

/* Varbind j of an answer to oids[0..n), for the log: an object the reader
 * keeps (its column still going in this answer, the OID in that column)
 * is logged; else that column ends here, as the reader has it (or the
 * reader fails the read, and nothing is checked). */
static void log_answer(const char *const *oids, size_t n, size_t j,
                       const struct tp_snmp_val *v, int *ended) {
  int tab, col, t2, c2;
  long idx;
  size_t k = j % n;
  if (ended[k]) return;
  if (v->type == TP_SNMP_MISSING || !parse_oid(oids[k], &tab, &col, &idx) ||
      !parse_oid(v->oid, &t2, &c2, &idx) || t2 != tab || c2 != col || idx < 0) {
    ended[k] = 1;
    return;
  }
  log_sent(v, tab, col, idx);
}

static int fake_bulk(struct tp *t, const char *const *oids, size_t n,
                     int *max_rep, struct tp_snmp_val *out, size_t *nout,
                     struct ohm_error *e) {
  size_t room = n * (size_t)*max_rep, count;
  long at[16];
  int ended[16] = {0};
  uint8_t c;
  (void)t;
  *nout = 0;
  if (!A.n) { /* end of MIB for every column */
    for (size_t k = 0; k < n; k++)
      out[k].oid = strdup(oids[k]), out[k].type = TP_SNMP_MISSING;
    return *nout = n, 0;
  }
  c = next();
  if (c == 0xff) return ohm_error_set(e, OHM_ETIMEDOUT, "no answer");
  if (c == 0xfe) return ohm_error_set(e, OHM_ENOENT, "noSuchName");
  if (c == 0xfd && *max_rep > 1) *max_rep /= 2, room = n * (size_t)*max_rep;
  count = c % (room + 1);
  for (size_t k = 0; k < n && k < 16; k++)
    at[k] = -1;
  for (size_t j = 0; j < count; j++) {
    char oid[200];
    memset(&out[j], 0, sizeof out[j]);
    make_oid(oids[j % n], &at[j % n % 16], oid, sizeof oid);
    out[j].oid = strdup(oid);
    make_value(&out[j]);
    log_answer(oids, n, j, &out[j], ended);
  }
  *nout = count;
  if (c == 0xfc) /* failed part-way, objects already out (out of memory) */
    return ohm_error_set(e, OHM_ENOMEM, "out of memory");
  return 0;
}

/* The object the reader kept for table tab, column col, row idx. */
static const struct tp_snmp_val *kept(int tab, int col, long idx) {
  for (size_t i = 0; i < A.nlog; i++)
    if (A.log[i].tab == tab && A.log[i].idx == idx && A.log[i].col == col)
      return &A.log[i].v;
  return NULL;
}

/* The number an index column holds (0..65535), or -1. */
static long number(const struct tp_snmp_val *v) {
  int64_t x;
  if (!v || (v->type != TP_SNMP_INTEGER && v->type != TP_SNMP_UNSIGNED))
    return -1;
  x = v->type == TP_SNMP_INTEGER ? v->i : (int64_t)v->u;
  return x < 0 || x > 65535 ? -1 : (long)x;
}

/* Row idx of table tab says block (s, b)? */
static int says(const struct dev_var *v, int tab, long idx, long s, long b) {
  return number(kept(tab, v->icol[0], idx)) == s &&
         number(kept(tab, v->icol[1], idx)) == b;
}

static int same_value(const struct dev_value *a, const struct dev_value *b) {
  return a->kind == b->kind && memcmp(&a->num, &b->num, sizeof a->num) == 0 &&
         strcmp(a->str, b->str) == 0;
}

static void fail(const struct dev_var *v, const struct dev_value *out,
                 const char *why) {
  fprintf(stderr, "%s shown as %d %g '%s': %s\n", v->name, out->kind, out->num,
          out->str, why);
  abort();
}

/* The index columns of table tab in this input's map (NULL: not read). */
static const int *tab_icols(int tab) {
  for (size_t i = 0; i < A.m->nvars; i++)
    if (A.m->vars[i].entry && strcmp(A.m->vars[i].entry, entries[tab]) == 0)
      return A.m->vars[i].icol;
  return NULL;
}

/* Another table's row idx names another block? */
static int joined_wrong(const struct dev_var *v, int tab, long idx) {
  for (int t2 = 0; t2 < 4; t2++) {
    const int *ic = tab_icols(t2);
    long s = ic ? number(kept(t2, ic[0], idx)) : -1;
    long b = ic ? number(kept(t2, ic[1], idx)) : -1;
    if (t2 != tab && s >= 0 && b >= 0 && (s != v->index[0] || b != v->index[1]))
      return 1;
  }
  return 0;
}

/* The promise for var v shown as out: absent if no row of its table
 * names its block; its error if two rows do, or another table's same
 * row names another block; else that row's object decoded. */
static void check(const struct dev_var *v, const struct dev_value *out) {
  int tab = 0, col, rows = 0;
  long idx, row = -1;
  char oid[200];
  struct dev_value d;
  snprintf(oid, sizeof oid, "%s.%d", v->entry, v->column);
  if (!parse_oid(oid, &tab, &col, &idx)) abort();
  for (size_t i = 0; i < A.nlog; i++) {
    const struct sent *s = &A.log[i];
    if (s->tab == tab && s->col == v->icol[0] &&
        says(v, tab, s->idx, v->index[0], v->index[1]))
      rows++, row = s->idx;
  }
  if (rows == 0 && out->kind != DV_NONE)
    fail(v, out, "no row of its table names its block");
  if (rows > 1 && out->kind != DV_ERR) fail(v, out, "two rows name its block");
  if (rows == 1 && joined_wrong(v, tab, row) && out->kind != DV_ERR)
    fail(v, out, "another table's same row names another block");
  if (rows != 1 || joined_wrong(v, tab, row)) return;
  if (!kept(tab, v->column, row)) {
    if (out->kind != DV_NONE) fail(v, out, "its row has no such object");
    return;
  }
  dev_snmp_decode(v, kept(tab, v->column, row), &d);
  if (!same_value(&d, out)) fail(v, out, "not the object its row holds");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const struct dev_map *m;
  struct dev d;
  struct dev_value *vals;
  struct ohm_error e;
  int rc;
  if (size < 1) return 0;
  A.m = m = the_map(data[0] & 1); /* byte 0: which map */
  data++, size--;
  if (!(vals = calloc(m->nvars, sizeof *vals))) return 0;
  memset(&d, 0, sizeof d);
  d.map = m;
  dev_snmp_table_bulk = fake_bulk;
  A.p = data, A.n = size, A.nlog = 0;
  rc = dev_snmp_tables(&d, NULL, vals, &e);
  for (size_t i = 0; rc == 0 && i < m->nvars; i++)
    check(&m->vars[i], &vals[i]);
  for (size_t i = 0; rc < 0 && i < m->nvars; i++) /* a failed read: none */
    if (vals[i].kind != DV_NONE) fail(&m->vars[i], &vals[i], "a failed read");
  for (size_t i = 0; i < A.nlog; i++)
    free(A.log[i].v.str), free(A.log[i].v.oid);
  free(vals);
  return 0;
}
