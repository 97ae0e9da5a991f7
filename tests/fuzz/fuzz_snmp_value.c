/* libFuzzer target for SNMP value decoding (devices/snmp_engine.c): the
 * input is one agent object, byte 0 its type (enum tp_snmp_type), bytes
 * 1..8 its integer (big-endian), the rest its OCTET STRING, decoded for a
 * var of every type and rule a map can give. Beyond "no crash, no leak",
 * it checks the promise of DESIGN.md "What a read may show": a number is
 * shown only from a type the var accepts, within its type's range, never
 * a sentinel. Builds with tests/fuzz/run.sh. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../devices/snmp_engine.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char src[] =
    "return { vars = {\n"
    " {name='u', oid='.1.1', scale=0.1, invalid={0xFFFF}},\n"
    " {name='s', oid='.1.2', type='s16', scale=0.01, invalid={0x7FFF}},\n"
    " {name='uh', oid='.1.3', type='u32'},\n"
    " {name='sl', oid='.1.4', type='s32'},\n"
    " {name='f', oid='.1.5', type='float32', scale=0.5},\n"
    " {name='e', oid='.1.6', type='energy8', oid_scale=0.001,\n"
    "  invalid={'0xFFFFFFFFFFFFFFFF'}},\n"
    " {name='str', oid='.1.7', type='string'},\n"
    " {name='en', oid='.1.8', enum={[0]='good',[16]='bad'}, invalid={-1}},\n"
    " {name='txt', oid='.1.9', scale=0.1, accept={'integer','string'}},\n"
    " {name='cnt', oid='.1.10', accept={'counter64'}},\n"
    "}}";

static struct dev_map *the_map(void) {
  static struct dev_map *m;
  struct ohm_error e;
  if (!m && dev_map_load(src, strlen(src), "fuzz", &m, &e) < 0) abort();
  return m;
}

/* The promise, for a value shown as a number. */
static void check(const struct dev_var *v, const struct tp_snmp_val *s,
                  const struct dev_value *out) {
  double lo, hi, raw;
  if (out->kind == DV_NONE || out->kind == DV_ERR) return;
  if (v->type == DT_STRING) {
    if (s->type != TP_SNMP_STRING) abort(); /* text only from text */
    return;
  }
  if (s->type == TP_SNMP_STRING) {
    if (!(v->accept & DEV_ACCEPT_STRING)) abort();
    return;
  }
  if (s->type != TP_SNMP_INTEGER && s->type != TP_SNMP_UNSIGNED &&
      s->type != TP_SNMP_COUNTER32 && s->type != TP_SNMP_COUNTER64 &&
      s->type != TP_SNMP_TIMETICKS)
    abort(); /* OID, IpAddress, NULL, Opaque never make a value */
  if (out->kind != DV_NUM) return;
  raw = s->type == TP_SNMP_INTEGER ? (double)s->i : (double)s->u;
  if (dev_var_range(v, &lo, &hi) && (raw < lo || raw > hi)) abort();
  if (v->ninvalid &&
      dev_var_invalid(v, s->type == TP_SNMP_INTEGER ? (uint64_t)s->i : s->u))
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const struct dev_map *m = the_map();
  struct tp_snmp_val s;
  struct dev_value out;
  char oid[] = ".1.3.6.1.4.1.99.1.0";
  uint64_t x = 0;
  if (size < 9) return 0;
  memset(&s, 0, sizeof s);
  s.type = (enum tp_snmp_type)(data[0] % (TP_SNMP_OTHER + 1));
  for (int i = 1; i <= 8; i++)
    x = x << 8 | data[i];
  s.u = x;
  s.i = (int64_t)x;
  if (s.type == TP_SNMP_INTEGER) s.i = (int32_t)x; /* INTEGER is 32 bits */
  s.oid = oid;
  s.len = size - 9;
  if (!(s.str = malloc(s.len + 1))) return 0;
  memcpy(s.str, data + 9, s.len);
  s.str[s.len] = 0;
  for (size_t i = 0; i < m->nvars; i++) {
    dev_snmp_decode(&m->vars[i], &s, &out);
    check(&m->vars[i], &s, &out);
  }
  free(s.str);
  return 0;
}
