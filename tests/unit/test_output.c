/* shell/output.c through a capturing writer: JSON escaping and typing, CSV
 * quoting, upsc-shaped records, aligned tables; lua/inventory.c's
 * redaction. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "../../lua/inventory.h"
#include "../../shell/output.h"
#include "t.h"

struct cap {
  char buf[4096];
  size_t n;
};

static void cap_write(void *ctx, const char *s, size_t n) {
  struct cap *c = ctx;
  if (c->n + n < sizeof c->buf) {
    memcpy(c->buf + c->n, s, n);
    c->n += n;
    c->buf[c->n] = '\0';
  }
}

static void cap_init(struct sh_out *o, struct cap *c, enum sh_mode m) {
  memset(c, 0, sizeof *c);
  sh_out_init(o, m, NULL);
  o->write = cap_write;
  o->ctx = c;
}

static const char *record(enum sh_mode m, struct cap *c) {
  struct sh_out o;
  cap_init(&o, c, m);
  sh_out_rec_begin(&o);
  sh_out_kv(&o, "device.mfr", (struct sh_cell){"BKT \"E\"\n", 0});
  sh_out_kv(&o, "input.L1.current", (struct sh_cell){"12.34", 1});
  sh_out_kv(&o, "weird", (struct sh_cell){"nan", 1});
  sh_out_rec_end(&o);
  return c->buf;
}

static void test_records(void) {
  struct cap c;
  CHECK_STR(record(SH_TABLE, &c),
            "device.mfr: BKT \"E\"?\ninput.L1.current: 12.34\nweird: nan\n",
            "record as upsc lines, control characters as '?'");
  CHECK_STR(record(SH_JSON, &c),
            "{\n  \"device.mfr\": \"BKT \\\"E\\\"\\n\",\n"
            "  \"input.L1.current\": 12.34,\n  \"weird\": \"nan\"\n}\n",
            "record as JSON: escaped strings, numbers bare, nan quoted");
  CHECK_STR(record(SH_CSV, &c),
            "name,value\ndevice.mfr,\"BKT \"\"E\"\"\n\"\n"
            "input.L1.current,12.34\nweird,nan\n",
            "record as CSV: quoted where needed");
  CHECK_STR(record(SH_LUA, &c),
            "{\n  [\"device.mfr\"] = \"BKT \\\"E\\\"\\010\",\n"
            "  [\"input.L1.current\"] = 12.34,\n  [\"weird\"] = \"nan\"\n}\n",
            "record as a Lua table");
  struct sh_out o;
  cap_init(&o, &c, SH_JSON);
  sh_out_rec_begin(&o);
  sh_out_rec_end(&o);
  CHECK_STR(c.buf, "{}\n", "empty record as JSON");
  cap_init(&o, &c, SH_JSON);
  sh_out_json_str(&o, "\x01\t\\");
  CHECK_STR(c.buf, "\"\\u0001\\t\\\\\"", "JSON control characters");
  cap_init(&o, &c, SH_JSON);
  sh_out_json_str(&o, "AUPS2\xb0"
                      "B \xc2\xb0"
                      "C \xe2\x82\xac \xed\xa0\x80");
  CHECK_STR(c.buf,
            "\"AUPS2\\u00b0B \xc2\xb0"
            "C \xe2\x82\xac "
            "\\u00ed\\u00a0\\u0080\"",
            "JSON: bytes that are not UTF-8 escaped as Latin-1");
}

/* The memory sink `ohm get` writes through: the same bytes as writing
 * directly, in every mode, past its first 4 KiB; one flush at the end. */
static void test_buf(void) {
  static const enum sh_mode modes[] = {SH_TABLE, SH_JSON, SH_CSV, SH_LUA};
  struct cap c;
  for (size_t m = 0; m < sizeof modes / sizeof *modes; m++) {
    FILE *fp = tmpfile();
    struct sh_buf b = {fp, NULL, 0, 0};
    struct sh_out o;
    char got[4096] = "";
    sh_out_init(&o, modes[m], fp);
    o.write = sh_buf_write;
    o.ctx = &b;
    sh_out_rec_begin(&o);
    sh_out_kv(&o, "device.mfr", (struct sh_cell){"BKT \"E\"\n", 0});
    sh_out_kv(&o, "input.L1.current", (struct sh_cell){"12.34", 1});
    sh_out_kv(&o, "weird", (struct sh_cell){"nan", 1});
    sh_out_rec_end(&o);
    CHECK(ftell(fp) == 0, "sink: nothing written before the flush");
    CHECK(sh_buf_flush(&b) == 0 && !b.p && b.len == 0, "sink: flushed");
    rewind(fp);
    got[fread(got, 1, sizeof got - 1, fp)] = 0;
    CHECK_STR(got, record(modes[m], &c), "sink: same bytes as direct");
    fclose(fp);
  }
  FILE *fp = tmpfile();
  struct sh_buf b = {fp, NULL, 0, 0};
  struct sh_out o;
  long size = 0;
  sh_out_init(&o, SH_TABLE, fp);
  o.write = sh_buf_write;
  o.ctx = &b;
  for (int i = 0; i < 1000; i++)
    sh_out_kv(&o, "a.name", (struct sh_cell){"x\x01y\x7fz", 0});
  sh_buf_flush(&b);
  size = ftell(fp);
  rewind(fp);
  char line[32];
  int same = 1;
  for (int i = 0; i < 1000; i++)
    same &=
        fgets(line, sizeof line, fp) && strcmp(line, "a.name: x?y?z\n") == 0;
  CHECK(size == 1000 * 14 && same, "sink grows: 14,000 bytes, all lines");
  fclose(fp);
}

/* What `ohm get` printed for num with d decimals before the fast paths:
 * snprintf's %.*f (round-half-even on the binary value), trailing zeros
 * and a lone "-0" cut. */
static void ref_fixed(double num, int d, char *buf, size_t n) {
  size_t len;
  snprintf(buf, n, "%.*f", d, num);
  len = strlen(buf);
  if (d > 0 && strchr(buf, '.')) {
    while (len > 0 && buf[len - 1] == '0')
      buf[--len] = 0;
    if (len > 0 && buf[len - 1] == '.') buf[--len] = 0;
  }
  if (strcmp(buf, "-0") == 0) snprintf(buf, n, "0");
}

/* One value through sh_value_cell against the reference; 1 if equal. */
static int same_fixed(double num, int d) {
  static const double scale[] = {1, 0.1, 0.01, 0.001, 0.0001, 1e-5, 1e-6};
  struct dev_var v = {.type = DT_S32, .scale = scale[d]};
  struct dev_value val = {.kind = DV_NUM, .num = num};
  char got[256], want[256];
  sh_value_cell(&v, &val, got, sizeof got);
  ref_fixed(num, d, want, sizeof want);
  if (strcmp(got, want) == 0) return 1;
  printf("# %.17g with %d decimals: got %s, want %s\n", num, d, got, want);
  return 0;
}

/* Fixed decimals exactly as printf rounds them, over edge and random
 * values (ties at every position, negatives, huge, tiny, non-finite). */
static void test_fixed(void) {
  static const double edge[] = {
      0,     -0.0,   0.125,   0.375,      -0.125, 2.5,   -2.5,   0.5,
      1.005, 2.675,  1e15,    -1e15,      1.5e15, 1e300, -1e300, 9.995,
      0.05,  0.0049, -0.0049, 123456.789, 4.35,   1e-7,  0.45,   -0.45};
  int bad = 0, n = 0;
  srand(17);
  for (int d = 0; d <= 6; d++) {
    for (size_t i = 0; i < sizeof edge / sizeof *edge; i++, n++)
      bad += !same_fixed(edge[i], d);
    for (int i = 0; i < 20000; i++, n++) {
      double x = (rand() - RAND_MAX / 2) / (double)(1 << (rand() % 20));
      if (i % 4 == 0) x = (double)(rand() % 200001 - 100000) / 1000 / 8;
      bad += !same_fixed(x, d);
    }
  }
  bad += !same_fixed(NAN, 1) + !same_fixed(INFINITY, 2);
  bad += !same_fixed(-INFINITY, 0);
  CHECK(bad == 0 && n > 100000, "fixed decimals as printf's %.*f");
  struct dev_var v = {.type = DT_STRING, .scale = 1};
  struct dev_value val = {.kind = DV_STR};
  char got[8];
  memset(val.str, 'x', sizeof val.str - 1);
  sh_value_cell(&v, &val, got, sizeof got);
  CHECK_STR(got, "xxxxxxx", "text cut to the buffer as snprintf does");
  strcpy(val.str, "online");
  CHECK_STR(sh_value_cell(&v, &val, got, sizeof got).text, "online",
            "text copied");
}

static void test_tables(void) {
  static const char *const cols[] = {"name", "unit", "desc"};
  const struct sh_cell cells[] = {
      {"a.long.name", 0}, {"A", 0}, {"first", 0},
      {"b", 0},           {"-", 0}, {"second, with comma", 0},
  };
  struct sh_out o;
  struct cap c;
  cap_init(&o, &c, SH_TABLE);
  sh_out_table(&o, cols, 3, cells, 2);
  CHECK_STR(c.buf,
            "a.long.name  A  first\n"
            "b            -  second, with comma\n",
            "table aligned, no header when piped");
  cap_init(&o, &c, SH_TABLE);
  o.header = 1;
  sh_out_table(&o, cols, 3, cells, 1);
  CHECK_STR(c.buf, "name         unit  desc\na.long.name  A     first\n",
            "table with a header");
  cap_init(&o, &c, SH_CSV);
  sh_out_table(&o, cols, 3, cells, 2);
  CHECK_STR(c.buf,
            "name,unit,desc\na.long.name,A,first\n"
            "b,-,\"second, with comma\"\n",
            "table as CSV");
  cap_init(&o, &c, SH_JSON);
  sh_out_table(&o, cols, 3, cells, 1);
  CHECK_STR(c.buf,
            "[\n  {\"name\": \"a.long.name\", \"unit\": \"A\", "
            "\"desc\": \"first\"}\n]\n",
            "table as JSON");
  cap_init(&o, &c, SH_JSON);
  sh_out_table(&o, cols, 3, cells, 0);
  CHECK_STR(c.buf, "[]\n", "empty table as JSON");
}

static void test_redact(void) {
  char *s = inv_redact("telnet://admin:pw@10.0.0.1:23");
  CHECK_STR(s, "telnet://admin:***@10.0.0.1:23", "redact user-info password");
  free(s);
  s = inv_redact("snmp://u@h?version=3&auth_pass=xx&priv_pass=yy&level=a");
  CHECK_STR(s, "snmp://u@h?version=3&auth_pass=***&priv_pass=***&level=a",
            "redact passphrase parameters");
  free(s);
  s = inv_redact("pdu1");
  CHECK_STR(s, "pdu1", "a name is left alone");
  free(s);
  s = inv_redact("modbus-tcp://h?flag&password=p#frag");
  CHECK_STR(s, "modbus-tcp://h?flag&password=***#frag",
            "redact with flags and a fragment");
  free(s);
}

int main(void) {
  test_records();
  test_buf();
  test_fixed();
  test_tables();
  test_redact();
  T_DONE();
}
