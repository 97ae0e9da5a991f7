/* Unit tests for issue 10 ("no wrong value is ever shown as good"): the
 * map's invalid= sentinels and accept= SNMP types, SNMP value decoding by
 * type and range, and the Modbus TCP reply checks (modbus_adu.c). */
#include <errno.h>
#include <modbus.h>
#include <stdlib.h>

#include "../../devices/snmp_engine.h"
#include "../../transports/modbus_adu.h"
#include "t.h"

static struct dev_map *load(const char *src, struct ohm_error *e) {
  struct dev_map *m = NULL;
  ohm_error_clear(e);
  dev_map_load(src, strlen(src), "t", &m, e);
  return m;
}

static const char map_src[] =
    "return { vars = {\n"
    " {name='u', reg=0, oid='.1.1', scale=0.01, invalid={0xFFFF}},\n"
    " {name='s', reg=1, oid='.1.2', type='s16', scale=0.1, "
    "invalid={0x7FFF, -32768}},\n"
    " {name='e', reg=2, type='energy8', invalid={'0xFFFFFFFFFFFFFFFF'}},\n"
    " {name='mfr', oid='.1.3', type='string'},\n"
    " {name='st', oid='.1.4', enum={[1]='normal',[2]='low'}},\n"
    " {name='t', oid='.1.5', scale=0.1, accept={'integer','string'}},\n"
    " {name='rt', oid='.1.6', scale=60},\n"
    "}}";

static void test_map_keys(void) {
  struct ohm_error e;
  struct dev_map *m = load(map_src, &e);
  CHECK(m != NULL, "map: invalid= and accept= load");
  if (m) {
    const struct dev_var *u = dev_map_var(m, "u"), *t = dev_map_var(m, "t");
    CHECK(u && u->ninvalid == 1 && u->invalid[0] == 0xFFFF,
          "map: invalid={0xFFFF}");
    CHECK(t && t->accept == (DEV_ACCEPT_INTEGER | DEV_ACCEPT_STRING),
          "map: accept={'integer','string'}");
    CHECK(dev_map_var(m, "e")->invalid[0] == UINT64_MAX,
          "map: a 64-bit sentinel as a hex string");
    dev_map_free(m);
  }
  const char *bad[][2] = {
      {"return {vars={{name='x', reg=0, invalid={'12'}}}}", "not a hex"},
      {"return {vars={{name='x', reg=0, invalid=5}}}", "list of raw"},
      {"return {vars={{name='x', reg=0, invalid={}}}}", "1..16"},
      {"return {vars={{name='x', oid='.1', accept={'float'}}}}", "not one of"},
      {"return {vars={{name='x', oid='.1', type='string', invalid={1}}}}",
       "not text"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    m = load(bad[i][0], &e);
    CHECK(!m && strstr(e.msg, bad[i][1]), bad[i][1]);
    if (!m && !strstr(e.msg, bad[i][1])) printf("    got: %s\n", e.msg);
    dev_map_free(m);
  }
}

static void test_sentinels(void) {
  struct ohm_error e;
  struct dev_map *m = load(map_src, &e);
  uint16_t ffff[4] = {0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF}, r[1] = {0x8000};
  uint16_t fine[1] = {1234};
  double x;
  char s[64];
  if (!m) return;
  CHECK(dev_decode(dev_map_var(m, "u"), ffff, &x, s, sizeof s, &e) ==
            DEV_ABSENT,
        "decode: u16 0xFFFF sentinel is absent, not 655.35");
  CHECK(dev_decode(dev_map_var(m, "s"), r, &x, s, sizeof s, &e) == DEV_ABSENT,
        "decode: s16 -32768 (0x8000) sentinel is absent");
  CHECK(dev_decode(dev_map_var(m, "s"), ffff, &x, s, sizeof s, &e) == 0 &&
            x == -0.1 * 1,
        "decode: s16 0xFFFF is -0.1 where it is no sentinel");
  CHECK(dev_decode(dev_map_var(m, "e"), ffff, &x, s, sizeof s, &e) ==
            DEV_ABSENT,
        "decode: energy8 all 0xFFFF is absent, not an error or a number");
  CHECK(dev_decode(dev_map_var(m, "u"), fine, &x, s, sizeof s, &e) == 0 &&
            x == 12.34,
        "decode: a good value still decodes");
  dev_map_free(m);
}

static struct dev_value snmp(const struct dev_map *m, const char *var,
                             enum tp_snmp_type type, int64_t i, uint64_t u,
                             const char *str) {
  struct tp_snmp_val s = {0};
  struct dev_value out;
  char oid[] = ".1.9.9";
  s.oid = oid;
  s.type = type;
  s.i = i;
  s.u = u;
  s.str = (char *)str;
  s.len = str ? strlen(str) : 0;
  dev_snmp_decode(dev_map_var(m, var), &s, &out);
  return out;
}

static void test_snmp(void) {
  struct ohm_error e;
  struct dev_map *m = load(map_src, &e);
  struct dev_value v;
  if (!m) return;
  v = snmp(m, "st", TP_SNMP_STRING, 0, 0, "2");
  CHECK(v.kind == DV_ERR && strstr(v.str, "STRING") && strstr(v.str, ".1.9.9"),
        "snmp: OCTET STRING \"2\" for an enum is an error naming the OID");
  v = snmp(m, "u", TP_SNMP_STRING, 0, 0, "12.5");
  CHECK(v.kind == DV_ERR, "snmp: text for a scaled integer is an error");
  v = snmp(m, "t", TP_SNMP_STRING, 0, 0, "12.5");
  CHECK(v.kind == DV_NUM && v.num == 12.5,
        "snmp: accept='string' takes decimal text in the var's unit");
  v = snmp(m, "s", TP_SNMP_INTEGER, 2147483647, 0, NULL);
  CHECK(v.kind == DV_ERR && v.err == OHM_ERANGE && strstr(v.str, ".1.9.9"),
        "snmp: INTEGER 2147483647 for an s16 is out of range, naming the OID");
  v = snmp(m, "rt", TP_SNMP_COUNTER64, 0, UINT64_MAX, NULL);
  CHECK(v.kind == DV_ERR && v.err == OHM_ERANGE,
        "snmp: Counter64 2^64-1 for a u16 is out of range");
  v = snmp(m, "u", TP_SNMP_INTEGER, -5, 0, NULL);
  CHECK(v.kind == DV_ERR, "snmp: a negative INTEGER for a u16 is an error");
  v = snmp(m, "u", TP_SNMP_INTEGER, 65535, 0, NULL);
  CHECK(v.kind == DV_NONE, "snmp: the 0xFFFF sentinel is absent");
  v = snmp(m, "mfr", TP_SNMP_INTEGER, 42, 0, NULL);
  CHECK(v.kind == DV_ERR, "snmp: INTEGER 42 for a text is an error");
  v = snmp(m, "u", TP_SNMP_OID, 0, 0, ".1.3.6");
  CHECK(v.kind == DV_ERR, "snmp: an OID for a number is an error");
  v = snmp(m, "st", TP_SNMP_INTEGER, 97, 0, NULL);
  CHECK_STR(v.kind == DV_STR ? v.str : "", "unknown state 97",
            "snmp: an enum value outside the list is 'unknown state 97'");
  v = snmp(m, "u", TP_SNMP_UNSIGNED, 0, 1234, NULL);
  CHECK(v.kind == DV_NUM && v.num == 12.34, "snmp: a Gauge32 number scales");
  v = snmp(m, "u", TP_SNMP_MISSING, 0, 0, NULL);
  CHECK(v.kind == DV_NONE, "snmp: noSuchObject/noSuchInstance is absent");
  dev_map_free(m);
}

/* A reply to q: 03 with count registers of 7, or the write echo. */
static size_t reply(const struct mb_adu *q, uint8_t *b, int count) {
  size_t n = mb_adu_encode(q, b);
  if (q->fc == 6) return n;
  b[4] = 0;
  b[5] = (uint8_t)(3 + 2 * count);
  b[8] = (uint8_t)(2 * count);
  for (int i = 0; i < count; i++)
    b[9 + 2 * i] = 0, b[10 + 2 * i] = 7;
  return 9 + 2 * (size_t)count;
}

static int check(const struct mb_adu *q, const uint8_t *b, size_t n,
                 char *why) {
  uint16_t regs[125];
  errno = 0;
  return mb_adu_check(q, b, n, regs, why, 96);
}

static void test_modbus(void) {
  struct mb_adu q = {.tid = 9, .unit = 1, .fc = 3, .addr = 0, .arg = 3};
  uint8_t b[MB_ADU_MAX];
  char why[96];
  size_t n = reply(&q, b, 3);
  CHECK(check(&q, b, n, why) == 0, "modbus: the right reply is taken");
  b[6] = 8;
  CHECK(check(&q, b, n, why) == -1 && errno == EMBBADSLAVE &&
            strstr(why, "unit 8, asked 1"),
        "modbus: a reply from unit 8 when unit 1 was asked is refused");
  n = reply(&q, b, 3);
  b[3] = 1;
  CHECK(check(&q, b, n, why) == -1 && strstr(why, "protocol id 1"),
        "modbus: protocol id 1 is refused (libmodbus 3.1.6 passes it)");
  n = reply(&q, b, 3);
  b[1] = 8;
  CHECK(check(&q, b, n, why) == MB_ADU_STRAY,
        "modbus: another transaction's reply is a stray, discarded");
  n = reply(&q, b, 3);
  b[4] = 0xFF, b[5] = 0xFF;
  CHECK(mb_adu_rest(b, why, sizeof why) < 0 && strstr(why, "65535"),
        "modbus: MBAP length 65535 is refused before reading on");
  n = reply(&q, b, 3);
  b[5] += 2; /* two bytes more than the byte count says */
  CHECK(check(&q, b, n + 2, why) == -1 && errno == EMBBADDATA,
        "modbus: an MBAP length that disagrees is refused");
  n = reply(&q, b, 2);
  CHECK(check(&q, b, n, why) == -1 && strstr(why, "byte count"),
        "modbus: a byte count short of the request is refused");
  n = reply(&q, b, 3);
  b[7] = 4;
  CHECK(check(&q, b, n, why) == -1 && strstr(why, "function 4"),
        "modbus: another function is refused");
  n = reply(&q, b, 3);
  b[5] = 3, b[7] = 0x83, b[8] = 2;
  CHECK(check(&q, b, 9, why) == -1 && errno == MODBUS_ENOBASE + 2,
        "modbus: exception 02 is reported as such");
  b[8] = 12;
  CHECK(check(&q, b, 9, why) == -1 && errno == EMBBADDATA &&
            strstr(why, "exception code 12"),
        "modbus: exception code 12 is malformed, not errno 12 (bad CRC)");
  b[8] = 0;
  CHECK(check(&q, b, 9, why) == -1 && errno == EMBBADDATA &&
            strstr(why, "exception code 0"),
        "modbus: exception code 0 is malformed");
  b[8] = 11;
  CHECK(check(&q, b, 9, why) == -1 && errno == MODBUS_ENOBASE + 11,
        "modbus: exception 0B (gateway target) is reported as such");
  q.fc = 6, q.addr = 70, q.arg = 250;
  n = reply(&q, b, 0);
  CHECK(check(&q, b, n, why) == 0, "modbus: a write's echo is taken");
  b[11] = 251;
  CHECK(check(&q, b, n, why) == -1, "modbus: a wrong write echo is refused");
}

int main(void) {
  test_map_keys();
  test_sentinels();
  test_snmp();
  test_modbus();
  T_DONE();
}
