/* SNMP tables (devices/snmp_table.c) against a scripted agent in place of
 * tp_snmp_bulk (dev_snmp_table_bulk): the findings of
 * tests/fuzz/fuzz_snmp_table.c, each a case. */
#include <stdlib.h>

#include "../../devices/snmp_engine.h"
#include "../../devices/snmp_table.h"
#include "t.h"

#define E ".1.3.6.1.4.1.3808.1.1.7.5.5.1"

/* The map: index columns icols (a Lua list). */
#define MAP(icols)                                                             \
  "return { vars = {\n"                                                        \
  " {name='s.{S}.b.{B}.volt', entry='" E "', column=7,\n"                      \
  "  index_columns=" icols ", each={{'S', 1, 2}, {'B', 1, 2}}},\n"             \
  "}}"

/* One object of an answer: OID and INTEGER value. */
struct obj {
  const char *oid;
  long val;
};

/* The answers, in order (each ended by a NULL oid); then end of MIB. */
static const struct obj *const *script;
static size_t turn;
static int cut; /* the answers fail after their objects (out of memory) */

/* LeakSanitizer's check, in the ASan build (else NULL). */
int __lsan_do_recoverable_leak_check(void) __attribute__((weak));

static int fake_bulk(struct tp *t, const char *const *oids, size_t n,
                     int *max_rep, struct tp_snmp_val *out, size_t *nout,
                     struct ohm_error *e) {
  const struct obj *a = script[turn] ? script[turn++] : NULL;
  size_t j = 0;
  (void)t, (void)max_rep;
  for (; a && a[j].oid; j++) {
    memset(&out[j], 0, sizeof out[j]);
    out[j].oid = strdup(a[j].oid);
    out[j].type = TP_SNMP_INTEGER;
    out[j].i = a[j].val;
  }
  if (!a)
    for (; j < n; j++) {
      memset(&out[j], 0, sizeof out[j]);
      out[j].oid = strdup(oids[j]);
    }
  *nout = j;
  return cut && a ? ohm_error_set(e, OHM_ENOMEM, "out of memory") : 0;
}

/* Read the table through the script: the read's rc, e and values. */
static int read_table(const char *src, const struct obj *const *answers,
                      struct dev_value *vals, struct ohm_error *e) {
  struct dev_map *m;
  struct dev d;
  int rc;
  if (dev_map_load(src, strlen(src), "t", &m, e) < 0) abort();
  memset(&d, 0, sizeof d);
  memset(vals, 0, 4 * sizeof *vals);
  d.map = m;
  script = answers, turn = 0;
  dev_snmp_table_bulk = fake_bulk;
  rc = dev_snmp_tables(&d, NULL, vals, e);
  dev_map_free(m);
  return rc;
}

/* fuzz finding 1: a row index of more than 32 bits (no OID arc is) was
 * read as strtol's LONG_MAX, so two such rows became one. */
static void huge_index(void) {
  static const struct obj a1[] = {
      {E ".3.1", 1}, {E ".4.1", 1}, {E ".7.1", 1200}, {NULL, 0}};
  static const struct obj a2[] = {{E ".3.99999999999999999999", 1},
                                  {E ".4.99999999999999999999", 2},
                                  {E ".7.99999999999999999999", 1300},
                                  {NULL, 0}};
  static const struct obj a3[] = {{E ".3.4294967296", 1},
                                  {E ".4.4294967296", 2},
                                  {E ".7.4294967296", 1300},
                                  {NULL, 0}};
  static const struct obj a4[] = {{E ".3.4294967295", 1},
                                  {E ".4.4294967295", 2},
                                  {E ".7.4294967295", 1300},
                                  {NULL, 0}};
  const struct obj *const bad[] = {a1, a2, NULL}, *const bad32[] = {a1, a3,
                                                                    NULL};
  const struct obj *const good[] = {a1, a4, NULL};
  struct dev_value vals[4];
  struct ohm_error e;
  int rc = read_table(MAP("{3, 4}"), bad, vals, &e);
  CHECK(rc == OHM_EPROTO && strstr(e.msg, "not a row of one index"),
        "a row index past 64 bits fails the read");
  rc = read_table(MAP("{3, 4}"), bad32, vals, &e);
  CHECK(rc == OHM_EPROTO && strstr(e.msg, "not a row of one index"),
        "a row index past 32 bits fails the read");
  rc = read_table(MAP("{3, 4}"), good, vals, &e);
  CHECK(rc == 0 && vals[0].kind == DV_NUM && vals[0].num == 1200 &&
            vals[1].kind == DV_NUM && vals[1].num == 1300,
        "row index 4294967295 (the largest arc) is a row");
}

/* Found reading the code while the fuzzer ran: index columns { 3, 3 }
 * took the second number from the column slot after column 3, the value
 * column, so a row said block (1, value) and its value showed there. */
static void repeated_index_column(void) {
  static const struct obj a1[] = {{E ".3.1", 1}, {E ".7.1", 2}, {NULL, 0}};
  const struct obj *const walk[] = {a1, NULL};
  struct dev_value vals[4];
  struct ohm_error e;
  int rc = read_table(MAP("{3, 3}"), walk, vals, &e);
  CHECK(rc == 0 && vals[0].kind == DV_NUM && vals[0].num == 2,
        "index columns { 3, 3 }: row 1 (3 = 1) is block 1/1");
  CHECK(rc == 0 && vals[1].kind == DV_NONE,
        "index columns { 3, 3 }: the value names no block (1/2 absent)");
}

/* fuzz finding 3: an answer that fails after some objects (the
 * transport out of memory mid-answer) leaked them. */
static void error_after_objects(void) {
  static const struct obj a1[] = {
      {E ".3.1", 1}, {E ".4.1", 1}, {E ".7.1", 1200}, {NULL, 0}};
  const struct obj *const walk[] = {a1, NULL};
  struct dev_value vals[4];
  struct ohm_error e;
  int rc;
  cut = 1;
  rc = read_table(MAP("{3, 4}"), walk, vals, &e);
  cut = 0;
  CHECK(rc == OHM_ENOMEM, "an answer failing part-way fails the read");
  fflush(stdout); /* a leak ends the process at exit, output unflushed */
  if (__lsan_do_recoverable_leak_check)
    CHECK(__lsan_do_recoverable_leak_check() == 0,
          "its objects are freed (LeakSanitizer)");
  fflush(stdout);
}

int main(void) {
  huge_index();
  repeated_index_column();
  error_after_objects();
  T_DONE();
}
