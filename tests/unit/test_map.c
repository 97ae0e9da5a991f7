/* Unit tests for devices/: energy8, decoding of every type, scaling and
 * formatting, write validation, read coalescing, the map loader's errors,
 * and the bps2000v2 map against DESIGN.md's table. */
#include <math.h>
#include <stdlib.h>
#include <unistd.h>

#include "../../devices/device.h"
#include "t.h"

static struct dev_map *load(const char *src, struct ohm_error *e) {
  struct dev_map *m = NULL;
  ohm_error_clear(e);
  dev_map_load(src, strlen(src), "t", &m, e);
  return m;
}

static void test_energy8(void) {
  uint16_t ex[4] = {0, 27, 119, 184}, zero[4] = {0},
           max[4] = {255, 255, 255, 255};
  uint16_t bad[4] = {0, 256, 0, 0};
  double kwh = -1;
  int b = -1;
  CHECK(dev_energy8(ex, &kwh, &b) == 0 && fabs(kwh - 1800.12) < 1e-9,
        "energy8: manual 12.1 example 0,27,119,184 is 1800.12 kWh");
  CHECK(dev_energy8(zero, &kwh, &b) == 0 && kwh == 0, "energy8: zero");
  CHECK(dev_energy8(max, &kwh, &b) == 0 && fabs(kwh - 4294967.295) < 1e-6,
        "energy8: maximum 255,255,255,255 is 4294967.295");
  CHECK(dev_energy8(bad, &kwh, &b) == OHM_ERANGE && b == 1,
        "energy8: a register above 255 is ERANGE naming it");
}

static const char *fmt(const struct dev_var *v, const uint16_t *r) {
  static char buf[600];
  struct dev_value val = {0};
  struct ohm_error e;
  int rc = dev_decode(v, r, &val.num, val.str, sizeof val.str, &e);
  if (rc < 0)
    snprintf(buf, sizeof buf, "ERR %d %s", rc, e.msg);
  else {
    val.kind = rc ? DV_STR : DV_NUM;
    dev_value_format(v, &val, buf, sizeof buf);
  }
  return buf;
}

static const char types_map[] =
    "return { vars = {\n"
    " {name='u', reg=0, scale=0.1},\n"
    " {name='s', reg=1, type='s16', scale=0.1},\n"
    " {name='uh', reg=2, type='u32'},\n"
    " {name='ul', reg=4, type='u32', word_order='low'},\n"
    " {name='s32', reg=6, type='s32', scale=0.01},\n"
    " {name='f', reg=8, type='float32'},\n"
    " {name='e', reg=10, type='energy8'},\n"
    " {name='str', reg=14, type='string', words=3},\n"
    " {name='en', reg=17, enum={[1]='open',[2]='closed'}},\n"
    " {name='q', reg=18, scale=0.25},\n"
    " {name='fixed', text='hello'},\n"
    " {name='n', text=3},\n"
    "}}";

static void test_types(void) {
  struct ohm_error e;
  struct dev_map *m = load(types_map, &e);
  CHECK(m != NULL, "types map loads");
  if (!m) {
    printf("    %s\n", e.msg);
    return;
  }
  uint16_t r1[] = {2397}, r2[] = {0xfffe}, r3[] = {1, 2}, r4[] = {2, 1};
  uint16_t r5[] = {0xffff, 0xff9c}, r6[] = {0x3fc0, 0}; /* 1.5f */
  uint16_t r7[] = {0, 27, 119, 184}, r8[] = {0x4142, 0x4320, 0x2020};
  uint16_t r9[] = {2}, r10[] = {7}, r11[] = {5}, r12[] = {0, 300, 0, 0};
  CHECK_STR(fmt(dev_map_var(m, "u"), r1), "239.7", "u16 /10: 239.7");
  CHECK_STR(fmt(dev_map_var(m, "s"), r2), "-0.2", "s16 /10: -0.2");
  CHECK_STR(fmt(dev_map_var(m, "uh"), r3), "65538", "u32 high word first");
  CHECK_STR(fmt(dev_map_var(m, "ul"), r4), "65538", "u32 low word first");
  CHECK_STR(fmt(dev_map_var(m, "s32"), r5), "-1", "s32 /100: -1");
  CHECK_STR(fmt(dev_map_var(m, "f"), r6), "1.5", "float32 1.5");
  CHECK_STR(fmt(dev_map_var(m, "e"), r7), "1800.12", "energy8 1800.12");
  CHECK_STR(fmt(dev_map_var(m, "str"), r8), "ABC",
            "string, trailing "
            "blanks dropped");
  CHECK_STR(fmt(dev_map_var(m, "en"), r9), "closed", "enum 2 = closed");
  CHECK_STR(fmt(dev_map_var(m, "en"), r10), "unknown state 7",
            "enum unknown code says so");
  CHECK_STR(fmt(dev_map_var(m, "q"), r11), "1.25",
            "scale 0.25 keeps 2 "
            "decimals");
  CHECK_STR(fmt(dev_map_var(m, "fixed"), NULL), "hello", "fixed text");
  CHECK_STR(fmt(dev_map_var(m, "n"), NULL), "3", "fixed number");
  const char *s = fmt(dev_map_var(m, "e"), r12);
  CHECK(strstr(s, "ERR") && strstr(s, "register 11"),
        "energy8 out of spec names the register");
  CHECK(dev_var_nregs(dev_map_var(m, "e")) == 4 &&
            dev_var_nregs(dev_map_var(m, "f")) == 2 &&
            dev_var_nregs(dev_map_var(m, "fixed")) == 0,
        "dev_var_nregs");
  dev_map_free(m);
}

static void test_format(void) {
  struct dev_var v = {.name = "x", .unit = "", .scale = 0.01, .type = DT_U16};
  struct dev_value val = {.kind = DV_NUM};
  char b[64];
  val.num = 50.0;
  dev_value_format(&v, &val, b, sizeof b);
  CHECK_STR(b, "50", "format: 5000/100 is 50");
  val.num = 0.32;
  dev_value_format(&v, &val, b, sizeof b);
  CHECK_STR(b, "0.32", "format: 0.32");
  val.num = 2397 * 0.1;
  v.scale = 0.1;
  dev_value_format(&v, &val, b, sizeof b);
  CHECK_STR(b, "239.7", "format: 2397*0.1 is 239.7, no float noise");
  v.type = DT_ENERGY8;
  v.scale = 1;
  val.num = 1800.12;
  dev_value_format(&v, &val, b, sizeof b);
  CHECK_STR(b, "1800.12", "format: energy8 keeps Wh precision");
  val.num = 0.001;
  dev_value_format(&v, &val, b, sizeof b);
  CHECK_STR(b, "0.001", "format: energy8 1 Wh is 0.001");
  val.kind = DV_ERR;
  snprintf(val.str, sizeof val.str, "broken");
  dev_value_format(&v, &val, b, sizeof b);
  CHECK(strstr(b, "error") != NULL, "format: an error is not a value");
}

static const char rw_map[] =
    "return { vars = {\n"
    " {name='ro', reg=0, scale=0.01},\n"
    " {name='th', reg=1, scale=0.1, access='rw', min=0, max=63, unit='A'},\n"
    " {name='t', reg=2, type='s16', access='rw', min=-20, max=80},\n"
    " {name='raw', reg=3, access='rw'},\n"
    " {name='sraw', reg=4, type='s16', access='rw'},\n"
    " {name='en', reg=5, access='rw', enum={[1]='on',[2]='off'}},\n"
    " {name='w', reg=6, type='u32', access='rw', word_order='low'},\n"
    " {name='e8', reg=8, type='energy8', access='rw'},\n"
    "}}";

static void test_encode(void) {
  struct ohm_error e;
  struct dev_map *m = load(rw_map, &e);
  uint16_t r[4] = {0};
  CHECK(m != NULL, "rw map loads");
  if (!m) return;
  CHECK(dev_encode(dev_map_var(m, "ro"), "1", r, &e) == OHM_EACCES &&
            strstr(e.msg, "ro is read-only"),
        "write: read-only refused");
  CHECK(dev_encode(dev_map_var(m, "th"), "25.5", r, &e) == 0 && r[0] == 255,
        "write: 25.5 A at /10 is 255");
  CHECK(dev_encode(dev_map_var(m, "th"), "64", r, &e) == OHM_ERANGE &&
            strstr(e.msg, "0..63 A"),
        "write: above max refused with the range");
  CHECK(dev_encode(dev_map_var(m, "th"), "-1", r, &e) == OHM_ERANGE,
        "write: below min refused");
  CHECK(dev_encode(dev_map_var(m, "th"), "abc", r, &e) == OHM_EINVAL &&
            strstr(e.msg, "not a number"),
        "write: bad syntax refused");
  CHECK(dev_encode(dev_map_var(m, "th"), "12x", r, &e) == OHM_EINVAL,
        "write: trailing junk refused");
  CHECK(dev_encode(dev_map_var(m, "th"), "", r, &e) == OHM_EINVAL,
        "write: empty refused");
  CHECK(dev_encode(dev_map_var(m, "th"), "25.05", r, &e) == OHM_ERANGE,
        "write: finer than the register's resolution refused");
  CHECK(dev_encode(dev_map_var(m, "t"), "-10", r, &e) == 0 && r[0] == 0xfff6,
        "write: s16 -10");
  CHECK(dev_encode(dev_map_var(m, "raw"), "65536", r, &e) == OHM_ERANGE &&
            strstr(e.msg, "fit"),
        "write: u16 65536 does not fit");
  CHECK(dev_encode(dev_map_var(m, "raw"), "-1", r, &e) == OHM_ERANGE,
        "write: u16 -1 does not fit");
  CHECK(dev_encode(dev_map_var(m, "sraw"), "32768", r, &e) == OHM_ERANGE,
        "write: s16 32768 does not fit");
  CHECK(dev_encode(dev_map_var(m, "sraw"), "-32768", r, &e) == 0 &&
            r[0] == 0x8000,
        "write: s16 -32768 fits");
  CHECK(dev_encode(dev_map_var(m, "en"), "off", r, &e) == 0 && r[0] == 2,
        "write: enum by state name");
  CHECK(dev_encode(dev_map_var(m, "en"), "maybe", r, &e) == OHM_EINVAL,
        "write: unknown enum state refused");
  CHECK(dev_encode(dev_map_var(m, "w"), "65538", r, &e) == 0 && r[0] == 2 &&
            r[1] == 1,
        "write: u32 low word first");
  CHECK(dev_encode(dev_map_var(m, "e8"), "1", r, &e) == OHM_ENOTSUP,
        "write: energy8 cannot be written");
  dev_map_free(m);
}

static size_t blocks_of(const char *src, struct dev_block *b, size_t max) {
  struct ohm_error e;
  struct dev_map *m = load(src, &e);
  size_t n;
  if (!m) {
    printf("    %s\n", e.msg);
    return 0;
  }
  n = dev_map_blocks(m, b, max);
  dev_map_free(m);
  return n;
}

static void test_blocks(void) {
  struct dev_block b[8];
  size_t n;
  const struct dev_map *m;
  struct ohm_error e;
  CHECK(dev_driver_find("bps2000v2", &m, &e) == 0, "bps2000v2 loads");
  n = dev_map_blocks(m, b, 8);
  CHECK(n == 1 && b[0].first == 0 && b[0].count == 99,
        "bps2000v2 is one block of 99 registers");
  n = blocks_of("return {vars={{name='a',reg=0},{name='b',reg=60,"
                "type='u32'}}}",
                b, 8);
  CHECK(n == 2 && b[0].first == 0 && b[0].count == 1 && b[1].first == 60 &&
            b[1].count == 2,
        "a big gap makes two blocks");
  n = blocks_of("return {vars={{name='a',reg=0},{name='b',reg=4}}}", b, 8);
  CHECK(n == 1 && b[0].first == 0 && b[0].count == 5, "a small gap is bridged");
  n = blocks_of("return {max_read=10, vars={{name='a',reg=0,"
                "type='energy8'},{name='b',reg=4,type='energy8'},"
                "{name='c',reg=8,type='energy8'},{name='d',reg=12}}}",
                b, 8);
  CHECK(n == 2 && b[0].count == 8 && b[1].first == 8 && b[1].count == 5,
        "max_read splits without cutting a var");
  n = blocks_of("return {vars={{name='a',reg=0},{name='t',text='x'}}}", b, 0);
  CHECK(n == 1, "count returned even when max is 0; text vars read nothing");
}

static void load_err(const char *src, const char *want, const char *name) {
  struct ohm_error e;
  struct dev_map *m = load(src, &e);
  CHECK(!m && e.code == OHM_ECONFIG && strstr(e.msg, want), name);
  if (m || !strstr(e.msg, want))
    printf("    got \"%s\", want \"%s\"\n", m ? "(loaded)" : e.msg, want);
  dev_map_free(m);
}

static void test_loader_errors(void) {
  load_err("return {vars={{name='a',reg=0},{name='input.L1.current',"
           "reg=1,scael=0.01}}}",
           "map t: vars[2] (input.L1.current): unknown key 'scael'",
           "loader: unknown var key names var and key");
  load_err("return {vars={{name='a',reg=0},{name='input.L1.current',reg=1,"
           "scale='x'}}}",
           "map t: vars[2] (input.L1.current): scale must be a number",
           "loader: wrong type names the entry");
  load_err("return {vars={{name='a',reg=0},{name='a',reg=1}}}",
           "duplicate var 'a'", "loader: duplicate name");
  load_err("return {vars={{reg=0}}}", "vars[1]: name missing",
           "loader: missing name");
  load_err("return {vars={{name='a'}}}", "needs reg, oid, menu, frame or text",
           "loader: a var without a location");
  load_err("return {vars={{name='a',reg=0,type='u128'}}}", "type must be",
           "loader: unknown type");
  load_err("return {vars={{name='a',reg=0,access='wo'}}}",
           "access must be \"ro\" or \"rw\"", "loader: bad access");
  load_err("return {vars={{name='a',reg=70000}}}", "reg 70000 out of range",
           "loader: register out of range");
  load_err("return {vars={}, colour='red'}", "unknown key 'colour'",
           "loader: unknown top-level key");
  load_err("return {vars={}, commands={{name='x'}}}",
           "commands[1] (x): needs reg, oid, cid2 or via",
           "loader: bad command");
  load_err("return {vars={{name='t.{S}', entry='.1.3.6.1.9.1', column=7, "
           "index_columns={3,4}, each={{'S',1,2}}}}}",
           "index_columns needs one column per group of each (2, each has 1)",
           "loader: a table var's index columns match its groups");
  load_err("return {vars={{name='t.{S}', entry='.1.3.6.1.9.1', "
           "index_columns={3}, each={{'S',1,2}}}}}",
           "needs entry, column and index_columns",
           "loader: a table var needs its column");
  load_err("return {vars={{name='t.{S}', entry='1.3.x', column=7, "
           "index_columns={3}, each={{'S',1,2}}}}}",
           "entry must be a numeric OID", "loader: a table entry is an OID");
  load_err("return {vars={{name='t.{S}', entry='.1.3.6.1.9.1', column=3, "
           "index_columns={3}, each={{'S',1,2}}}}}",
           "column 3 is an index column",
           "loader: a value column is not an index column");
  load_err("return {vars={{name='t.{S}', entry='.1.3.6.1.9.1', column=7, "
           "index_columns={3}, each={{'S',1,2}}, access='rw'}}}",
           "a table var is read-only",
           "loader: a table var is not writable (a SET needs its row)");
  load_err(
      "return {oid_unit={base=2,max=5}, vars={{name='t.{S}', "
      "entry='.1.3.6.1.9.1', column=7, index_columns={3}, "
      "each={{'S',1,2}}}}}",
      "SNMP tables (entry) and oid_unit exclude each other",
      "loader: no tables in a unit chain (every unit would show unit 0's)");
  load_err("return 5", "must return a table", "loader: not a table");
  load_err("return {vars={{name='a',reg=0}",
           "map t:", "loader: Lua syntax error reported");
  load_err("while true do end", "map t: runs too long",
           "loader: endless map stopped");
  load_err("local t = {} for i = 1, 1e9 do t[i] = i end",
           "map t: not enough memory", "loader: memory bomb stopped");
  load_err("return {vars={{name='a',reg=0}}, max_read=200}",
           "max_read 200 out of range", "loader: max_read above 125");
  load_err("io.open('/etc/passwd')", "map t", "loader: no io library");
  struct ohm_error e;
  struct dev_map *m = load("return {name='t', mfr='ACME', vars={}}", &e);
  CHECK(m && dev_map_var(m, "device.mfr") &&
            strcmp(dev_map_var(m, "device.mfr")->text, "ACME") == 0,
        "loader: mfr becomes the fixed var device.mfr");
  dev_map_free(m);
}

struct row {
  const char *name;
  int reg;
  enum dev_type type;
  double scale;
  const char *unit;
  enum dev_access access;
};

/* One or more rows of each line of DESIGN.md's table. */
static const struct row rows[] = {
    {"input.L1-N.voltage", 0, DT_U16, 0.1, "V", DA_RO},
    {"input.L3-N.voltage", 2, DT_U16, 0.1, "V", DA_RO},
    {"input.L2.current", 4, DT_U16, 0.01, "A", DA_RO},
    {"input.L3.realpower", 8, DT_U16, 0.1, "W", DA_RO},
    {"input.L1.reactivepower", 9, DT_U16, 0.1, "var", DA_RO},
    {"input.L2.power", 13, DT_U16, 0.1, "VA", DA_RO},
    {"input.L3.frequency", 17, DT_U16, 0.01, "Hz", DA_RO},
    {"input.L1.powerfactor", 18, DT_U16, 0.01, "", DA_RO},
    {"input.L1.energy", 21, DT_ENERGY8, 1, "kWh", DA_RO},
    {"input.L2.energy", 25, DT_ENERGY8, 1, "kWh", DA_RO},
    {"input.L3.energy", 29, DT_ENERGY8, 1, "kWh", DA_RO},
    {"input.L1.energy.apparent", 33, DT_ENERGY8, 1, "kVAh", DA_RO},
    {"input.L3.energy.apparent", 41, DT_ENERGY8, 1, "kVAh", DA_RO},
    {"input.energy", 45, DT_ENERGY8, 1, "kWh", DA_RO},
    {"input.energy.apparent", 49, DT_ENERGY8, 1, "kVAh", DA_RO},
    {"ambient.temperature", 53, DT_S16, 0.1, "degC", DA_RO},
    {"ambient.2.temperature", 55, DT_S16, 0.1, "degC", DA_RO},
    {"ambient.humidity", 56, DT_U16, 0.1, "%", DA_RO},
    {"ambient.2.humidity", 58, DT_U16, 0.1, "%", DA_RO},
    {"ambient.contacts.1.status", 59, DT_ENUM, 1, "", DA_RO},
    {"ambient.contacts.2.status", 60, DT_ENUM, 1, "", DA_RO},
    {"ambient.smoke", 61, DT_ENUM, 1, "", DA_RO},
    {"ambient.water", 62, DT_ENUM, 1, "", DA_RO},
    {"input.L1-N.voltage.low.critical", 63, DT_U16, 0.1, "V", DA_RW},
    {"input.L3-N.voltage.high.critical", 68, DT_U16, 0.1, "V", DA_RW},
    {"input.L1.current.low.critical", 69, DT_U16, 0.1, "A", DA_RW},
    {"input.L3.current.high.critical", 74, DT_U16, 0.1, "A", DA_RW},
    {"ambient.temperature.low.critical", 75, DT_S16, 1, "degC", DA_RW},
    {"ambient.1.temperature.high.critical", 78, DT_S16, 1, "degC", DA_RW},
    {"ambient.2.temperature.low.critical", 79, DT_S16, 1, "degC", DA_RW},
    {"ambient.humidity.high.critical", 82, DT_U16, 1, "%", DA_RW},
    {"ambient.1.humidity.low.critical", 83, DT_U16, 1, "%", DA_RW},
    {"ambient.2.humidity.high.critical", 86, DT_U16, 1, "%", DA_RW},
    {"input.L1-N.voltage.status", 87, DT_ENUM, 1, "", DA_RO},
    {"input.L3.current.status", 92, DT_ENUM, 1, "", DA_RO},
    {"ambient.temperature.status", 93, DT_ENUM, 1, "", DA_RO},
    {"ambient.1.humidity.status", 97, DT_ENUM, 1, "", DA_RO},
    {"ambient.2.humidity.status", 98, DT_ENUM, 1, "", DA_RO},
};

static void test_bps2000v2(void) {
  const struct dev_map *m;
  struct ohm_error e;
  int covered[99] = {0}, ok = 1, total = 0;
  if (dev_driver_find("bps2000v2", &m, &e) < 0) {
    CHECK(0, "bps2000v2 map loads");
    return;
  }
  for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
    const struct dev_var *v = dev_map_var(m, rows[i].name);
    char name[128];
    snprintf(name, sizeof name, "bps2000v2: %s at %d", rows[i].name,
             rows[i].reg);
    CHECK(v && v->reg == rows[i].reg && v->type == rows[i].type &&
              fabs(v->scale - rows[i].scale) < 1e-12 &&
              strcmp(v->unit, rows[i].unit) == 0 && v->access == rows[i].access,
          name);
  }
  for (size_t i = 0; i < m->nvars; i++) {
    const struct dev_var *v = &m->vars[i];
    for (int r = v->reg; v->reg >= 0 && r < v->reg + dev_var_nregs(v); r++) {
      ok &= r < 99 && !covered[r];
      if (r < 99) covered[r] = 1;
      total++;
    }
    if (v->access == DA_RW) ok &= v->has_min && v->has_max;
  }
  CHECK(ok && total == 99, "bps2000v2: 99 registers, each exactly once; "
                           "every rw var has limits");
  const struct dev_var *st = dev_map_var(m, "input.L2.current.status");
  uint16_t r16[] = {16}, r1[] = {1}, r0[] = {0};
  CHECK_STR(fmt(st, r16), "critical-high", "status 16 is critical-high");
  CHECK_STR(fmt(st, r1), "critical-low", "status 1 is critical-low");
  CHECK_STR(fmt(st, r0), "good", "status 0 is good");
  uint16_t d1[] = {1};
  CHECK_STR(fmt(dev_map_var(m, "ambient.contacts.1.status"), d1), "open",
            "door 1 is open");
  CHECK_STR(fmt(dev_map_var(m, "ambient.smoke"), d1), "yes", "smoke 1 yes");
  CHECK_STR(fmt(dev_map_var(m, "device.mfr"), NULL), "BKT ELEKTRONIK",
            "device.mfr");
  CHECK_STR(fmt(dev_map_var(m, "device.model"), NULL), "BPS2000v2",
            "device.model");
  CHECK_STR(fmt(dev_map_var(m, "device.type"), NULL), "pdu", "device.type");
  CHECK_STR(fmt(dev_map_var(m, "input.phases"), NULL), "3", "input.phases");
  double ph = 0;
  char phs[16];
  CHECK(dev_decode(dev_map_var(m, "input.phases"), NULL, &ph, phs, sizeof phs,
                   &e) == 0 &&
            ph == 3,
        "input.phases is the number 3 (a fixed value with type=)");
  CHECK(dev_decode(dev_map_var(m, "device.mfr"), NULL, &ph, phs, sizeof phs,
                   &e) == 1,
        "device.mfr is text");
  const struct dev_cmd *c = dev_map_cmd(m, "device.factory_reset");
  CHECK(c && c->dangerous && c->reg < 0 && strcmp(c->via, "telnet") == 0 &&
            dev_map_cmd(m, "reset.energy.L3") &&
            dev_map_cmd(m, "device.restart"),
        "bps2000v2 commands (console only; factory reset dangerous)");
  CHECK(m->upgrade && strcmp(m->upgrade, "tftp") == 0, "upgrade over tftp");
  const struct dev_map *again;
  CHECK(dev_driver_find("bps2000v2", &again, &e) == 0 && again == m,
        "a driver is loaded once");
  CHECK(dev_driver_find("nosuch", &again, &e) == OHM_ENOENT &&
            strstr(e.msg, "unknown driver 'nosuch'"),
        "unknown driver");
  CHECK(dev_driver_find("../etc/passwd", &again, &e) == OHM_ENOENT,
        "a driver name cannot walk out of the drivers directory");
}

static void test_user_map(void) {
  char dir[] = "/tmp/ohm-test-drivers-XXXXXX", path[128];
  const struct dev_map *m;
  struct ohm_error e;
  FILE *f;
  if (!mkdtemp(dir)) {
    CHECK(0, "mkdtemp");
    return;
  }
  snprintf(path, sizeof path, "%s/mymeter.lua", dir);
  f = fopen(path, "w");
  fputs("return { desc = 'my meter', vars = {\n"
        "  { name = 'input.voltage', reg = 10, scale = 0.1, unit = 'V' } } }",
        f);
  fclose(f);
  setenv("OHM_DRIVERS", dir, 1);
  CHECK(dev_driver_find("mymeter", &m, &e) == 0 && m->nvars == 1 &&
            m->vars[0].reg == 10,
        "a user's map loads from $OHM_DRIVERS with the same loader");
  unlink(path);
  rmdir(dir);
}

/* cps-bm100's block vars: one per string and block, their row found by
 * the index columns .3 and .4 of the table entry, v1 by default. */
static void test_cps_bm100(void) {
  const struct dev_map *m;
  const struct dev_var *v;
  struct ohm_error e;
  CHECK(dev_driver_find("cps-bm100", &m, &e) == 0, "cps-bm100 loads");
  if (!m) return;
  v = dev_map_var(m, "battery.string.4.block.40.resistance");
  CHECK(v && v->entry && strstr(v->entry, "3808.1.1.7.5.9.1") &&
            v->column == 7 && v->nicol == 2 && v->icol[0] == 3 &&
            v->icol[1] == 4 && v->nindex == 2 && v->index[0] == 4 &&
            v->index[1] == 40 && strcmp(v->unit, "mOhm") == 0 &&
            strstr(v->oid, "5.9.1.7") && !strstr(v->oid, "5.9.1.7."),
        "cps-bm100: a block's var names its table, column and index columns");
  CHECK(!dev_map_var(m, "battery.string.5.block.1.voltage") &&
            dev_map_var(m, "battery.string.1.block.40.voltage.status"),
        "cps-bm100: 4 strings of 40 blocks");
  CHECK(m->snmp_version && strcmp(m->snmp_version, "1") == 0,
        "cps-bm100: SNMPv1 unless the URI says otherwise");
  CHECK(dev_map_cmd(m, "battery.resistance.measure") &&
            dev_map_cmd(m, "battery.resistance.measure")->wait_var,
        "cps-bm100: measure-now is a command with a result to wait for");
}

int main(void) {
  test_energy8();
  test_cps_bm100();
  test_types();
  test_format();
  test_encode();
  test_blocks();
  test_loader_errors();
  test_bps2000v2();
  test_user_map();
  T_DONE();
}
