/* Registers <-> values for every map type, write validation, and the read
 * planner that coalesces a map into the fewest requests. Pure functions:
 * no I/O, so the simulator, the engine, the fuzzer and the tests share them.
 */
#include "map.h"
#include "../util/lazy_libm.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int dev_var_nregs(const struct dev_var *v) {
  return v->text ? 0 : v->nwords;
}

int dev_energy8(const uint16_t r[4], double *kwh, int *bad) {
  uint64_t wh = 0;
  for (int i = 0; i < 4; i++) {
    if (r[i] > 255) {
      if (bad) *bad = i;
      return OHM_ERANGE;
    }
    wh = wh * 256 + r[i];
  }
  *kwh = (double)wh / 1000.0;
  return 0;
}

static uint16_t swab16(uint16_t x) {
  return (uint16_t)(x << 8 | x >> 8);
}

/* n registers (1, 2 or 4) as one number in the var's byte order: CDAB and
 * DCBA put the low word first, BADC and DCBA swap each word's bytes. */
static uint64_t words_n(const struct dev_var *v, const uint16_t *regs, int n) {
  uint64_t x = 0;
  int rev = v->order == DO_CDAB || v->order == DO_DCBA;
  int sw = v->order == DO_BADC || v->order == DO_DCBA;
  for (int i = 0; i < n; i++) {
    uint16_t w = regs[rev ? n - 1 - i : i];
    x = x << 16 | (sw ? swab16(w) : w);
  }
  return x;
}

static void put_n(const struct dev_var *v, uint64_t x, uint16_t *regs, int n) {
  int rev = v->order == DO_CDAB || v->order == DO_DCBA;
  int sw = v->order == DO_BADC || v->order == DO_DCBA;
  for (int i = n - 1; i >= 0; i--, x >>= 16) {
    uint16_t w = (uint16_t)(x & 0xffff);
    regs[rev ? n - 1 - i : i] = sw ? swab16(w) : w;
  }
}

static void put32(const struct dev_var *v, uint32_t x, uint16_t *regs) {
  put_n(v, x, regs, 2);
}

/* Registers of two characters each, high byte first; stops at NUL; drops
 * trailing blanks; control bytes shown as '?' so a reply cannot inject
 * terminal escapes. */
static void regs_text(const uint16_t *regs, int n, char *str, size_t sz) {
  size_t k = 0;
  for (int i = 0; i < n && k + 1 < sz; i++) {
    unsigned char c[2] = {(unsigned char)(regs[i] >> 8),
                          (unsigned char)(regs[i] & 0xff)};
    for (int j = 0; j < 2 && k + 1 < sz; j++) {
      if (c[j] == 0) goto done;
      str[k++] = c[j] < 32 || c[j] == 127 ? '?' : (char)c[j];
    }
  }
done:
  while (k > 0 && str[k - 1] == ' ')
    k--;
  if (sz) str[k] = 0;
}

/* snprintf(str, sz, "%s", s) without the printf machinery (a read
 * decodes dozens of states). */
static void copy_text(char *str, size_t sz, const char *s) {
  size_t n = strlen(s);
  if (sz == 0) return;
  if (n >= sz) n = sz - 1;
  memcpy(str, s, n);
  str[n] = 0;
}

static int decode_enum(const struct dev_var *v, long long raw, double *num,
                       char *str, size_t sz) {
  *num = (double)raw;
  for (size_t i = 0; i < v->nenums; i++)
    if (v->enums[i].raw == raw || (uint16_t)v->enums[i].raw == raw) {
      copy_text(str, sz, v->enums[i].text);
      return 1;
    }
  /* not silently a wrong state: say what came */
  snprintf(str, sz, "unknown state %lld", raw);
  return 1;
}

/* Named flags: the names of the bits set, space-separated; a set bit with
 * no name shows as bitN; none set is "". */
static int decode_bits(const struct dev_var *v, uint64_t raw, double *num,
                       char *str, size_t sz) {
  size_t k = 0;
  *num = (double)raw;
  if (sz) str[0] = 0;
  for (int b = 0; b < 16 * v->nwords && b < 64; b++) {
    const char *name = NULL;
    char tmp[8];
    if (!(raw >> b & 1)) continue;
    for (size_t i = 0; i < v->nenums; i++)
      if (v->enums[i].raw == b) name = v->enums[i].text;
    if (!name) snprintf(tmp, sizeof tmp, "bit%d", b), name = tmp;
    if (k < sz)
      k += (size_t)snprintf(str + k, sz - k, "%s%s", k ? " " : "", name);
  }
  return 1;
}

/* An integer raw value with an enum table: its state. */
static int maybe_enum(const struct dev_var *v, long long raw, double *num,
                      char *str, size_t sz) {
  if (!v->nenums) return 0;
  return decode_enum(v, raw, num, str, sz);
}

/* Fixed text: a number if the type is numeric ("3" phases), else text. */
static int decode_text(const struct dev_var *v, double *num, char *str,
                       size_t sz) {
  char *end;
  copy_text(str, sz, v->text);
  if (v->type != DT_STRING && v->type != DT_ENUM) {
    *num = strtod(v->text, &end);
    if (end != v->text && !*end) return 0;
  }
  *num = 0;
  return 1;
}

int dev_var_invalid(const struct dev_var *v, uint64_t raw) {
  int bits = 16 * (v->nwords > 0 && v->nwords < 4 ? v->nwords : 4);
  uint64_t mask = bits >= 64 ? ~(uint64_t)0 : ((uint64_t)1 << bits) - 1;
  for (size_t i = 0; i < v->ninvalid; i++)
    if ((v->invalid[i] & mask) == (raw & mask)) return 1;
  return 0;
}

int dev_var_range(const struct dev_var *v, double *lo, double *hi) {
  switch (v->type) {
  case DT_S16:
    *lo = -32768, *hi = 32767;
    return 1;
  case DT_U16:
  case DT_ENUM:
    *lo = 0, *hi = 65535;
    return 1;
  case DT_U32:
  case DT_ENERGY8:
    *lo = 0, *hi = 4294967295.0;
    return 1;
  case DT_S32:
    *lo = -2147483648.0, *hi = 2147483647.0;
    return 1;
  default:
    return 0;
  }
}

/* The registers' raw bits in the var's byte order. */
static uint64_t regs_raw(const struct dev_var *v, const uint16_t *regs) {
  if (v->type == DT_ENERGY8) {
    uint64_t raw = 0;
    for (int i = 0; i < 4; i++)
      raw = raw << 16 | regs[i];
    return raw;
  }
  return words_n(v, regs, v->nwords < 4 ? v->nwords : 4);
}

static int no_number(const struct dev_var *v, struct ohm_error *e) {
  return ohm_error_set(e, OHM_ERANGE, "%s: register %d holds no number",
                       v->name, v->reg);
}

int dev_decode(const struct dev_var *v, const uint16_t *regs, double *num,
               char *str, size_t strsz, struct ohm_error *e) {
  double x;
  int bad = 0;
  if (strsz) str[0] = 0;
  *num = 0;
  if (v->text) return decode_text(v, num, str, strsz);
  if (v->ninvalid && v->type != DT_STRING &&
      dev_var_invalid(v, regs_raw(v, regs)))
    return DEV_ABSENT;
  uint64_t raw = regs_raw(v, regs);
  switch (v->type) {
  case DT_U16:
    if (maybe_enum(v, regs[0], num, str, strsz)) return 1;
    x = regs[0];
    break;
  case DT_S16:
    if (maybe_enum(v, (int16_t)regs[0], num, str, strsz)) return 1;
    x = (int16_t)regs[0];
    break;
  case DT_U32:
  case DT_U64:
    if (maybe_enum(v, (long long)raw, num, str, strsz)) return 1;
    x = (double)raw;
    break;
  case DT_S32:
  case DT_S64:
    if (v->type == DT_S32) raw = (uint64_t)(int64_t)(int32_t)raw;
    if (maybe_enum(v, (long long)raw, num, str, strsz)) return 1;
    x = (double)(int64_t)raw;
    break;
  case DT_BOOL:
    if (maybe_enum(v, regs[0] != 0, num, str, strsz)) return 1;
    x = regs[0] != 0;
    break;
  case DT_BITS:
    return decode_bits(v, raw, num, str, strsz);
  case DT_FLOAT32: {
    uint32_t u = (uint32_t)raw;
    float f;
    memcpy(&f, &u, sizeof f);
    if (!isfinite(f)) return no_number(v, e);
    x = f;
    break;
  }
  case DT_FLOAT64: {
    double f;
    memcpy(&f, &raw, sizeof f);
    if (!isfinite(f)) return no_number(v, e);
    x = f;
    break;
  }
  case DT_ENERGY8:
    if (dev_energy8(regs, &x, &bad) < 0)
      return ohm_error_set(e, OHM_ERANGE,
                           "%s: register %d is %u, out of spec (a byte, "
                           "0..255)",
                           v->name, v->reg + bad, regs[bad]);
    break;
  case DT_STRING:
    regs_text(regs, v->nwords, str, strsz);
    return 1;
  case DT_ENUM:
    return decode_enum(v, v->table >= DTAB_COIL ? regs[0] != 0 : regs[0], num,
                       str, strsz);
  default:
    return ohm_error_set(e, OHM_EINVAL, "%s: unknown type", v->name);
  }
  *num = x * v->scale;
  return 0;
}

/* Parse a number the whole of text; enums also take their state names. */
static int parse_value(const struct dev_var *v, const char *text, double *x,
                       struct ohm_error *e) {
  char *end;
  if (v->nenums && !v->is_bits)
    for (size_t i = 0; i < v->nenums; i++)
      if (strcmp(v->enums[i].text, text) == 0) {
        *x = v->enums[i].raw * v->scale;
        return 0;
      }
  *x = strtod(text, &end);
  while (end != text && (*end == ' ' || *end == '\t'))
    end++;
  if (end == text || *end || !isfinite(*x))
    return ohm_error_set(e, OHM_EINVAL, "%s: '%.40s' is not a %s", v->name,
                         text, v->type == DT_ENUM ? "state" : "number");
  return 0;
}

static int check_limits(const struct dev_var *v, const char *text, double x,
                        struct ohm_error *e) {
  char lo[32] = "", hi[32] = "";
  if ((!v->has_min || x >= v->min - 1e-9) &&
      (!v->has_max || x <= v->max + 1e-9))
    return 0;
  if (v->has_min) snprintf(lo, sizeof lo, "%.10g", v->min);
  if (v->has_max) snprintf(hi, sizeof hi, "%.10g", v->max);
  return ohm_error_set(e, OHM_ERANGE, "%s: %.40s out of range (%s..%s%s%s)",
                       v->name, text, lo, hi, v->unit[0] ? " " : "", v->unit);
}

/* Scaled value -> register integer, refusing values finer than the
 * register's resolution rather than silently rounding them. */
static int to_raw(const struct dev_var *v, const char *text, double x,
                  double lo, double hi, long long *raw, struct ohm_error *e) {
  double r = x / v->scale, n = ohm_rint(r);
  if (fabs(r - n) > 1e-6 * (fabs(r) > 1 ? fabs(r) : 1))
    return ohm_error_set(e, OHM_ERANGE,
                         "%s: %.40s is finer than the "
                         "register's resolution (%.10g)",
                         v->name, text, fabs(v->scale));
  if (n < lo || n > hi)
    return ohm_error_set(e, OHM_ERANGE,
                         "%s: %.40s does not fit the register "
                         "(raw %.0f, %.0f..%.0f)",
                         v->name, text, n, lo, hi);
  *raw = (long long)n;
  return 0;
}

/* Text for an SNMP OCTET STRING var: printable, at most 63 bytes. */
static int snmp_text_ok(const struct dev_var *v, const char *text,
                        struct ohm_error *e) {
  size_t n = strlen(text);
  if (n > 63)
    return ohm_error_set(e, OHM_ERANGE, "%s: %zu characters (at most 63)",
                         v->name, n);
  for (const char *c = text; *c; c++)
    if ((unsigned char)*c < 0x20 || *c == 0x7f)
      return ohm_error_set(e, OHM_EINVAL, "%s: control characters in the text",
                           v->name);
  return 0;
}

int dev_encode(const struct dev_var *v, const char *text, uint16_t *regs,
               struct ohm_error *e) {
  double x;
  long long raw = 0;
  int rc;
  if (v->access != DA_RW || v->text)
    return ohm_error_set(e, OHM_EACCES, "%s is read-only", v->name);
  if (v->type == DT_STRING && v->oid && v->reg < 0) /* an OCTET STRING */
    return snmp_text_ok(v, text, e);
  if (v->type == DT_ENERGY8 || v->type == DT_STRING || v->type == DT_BITS)
    return ohm_error_set(e, OHM_ENOTSUP, "%s: this type cannot be written",
                         v->name);
  if ((rc = parse_value(v, text, &x, e)) < 0 ||
      (rc = check_limits(v, text, x, e)) < 0)
    return rc;
  switch (v->type) {
  case DT_FLOAT32: {
    float f = (float)(x / v->scale);
    uint32_t u;
    if (!isfinite(f))
      return ohm_error_set(e, OHM_ERANGE, "%s: %.40s does not fit float32",
                           v->name, text);
    memcpy(&u, &f, sizeof u);
    put32(v, u, regs);
    return 0;
  }
  case DT_U32:
    rc = to_raw(v, text, x, 0, 4294967295.0, &raw, e);
    put32(v, (uint32_t)raw, regs);
    return rc;
  case DT_S32:
    rc = to_raw(v, text, x, -2147483648.0, 2147483647.0, &raw, e);
    put32(v, (uint32_t)(int32_t)raw, regs);
    return rc;
  case DT_FLOAT64: {
    double f = x / v->scale;
    uint64_t u;
    memcpy(&u, &f, sizeof u);
    put_n(v, u, regs, 4);
    return 0;
  }
  case DT_U64:
    rc = to_raw(v, text, x, 0, 9007199254740992.0, &raw, e);
    put_n(v, (uint64_t)raw, regs, 4);
    return rc;
  case DT_S64:
    rc = to_raw(v, text, x, -9007199254740992.0, 9007199254740992.0, &raw, e);
    put_n(v, (uint64_t)raw, regs, 4);
    return rc;
  case DT_BOOL:
    rc = to_raw(v, text, x, 0, 1, &raw, e);
    break;
  case DT_S16:
    rc = to_raw(v, text, x, -32768, 32767, &raw, e);
    break;
  default: /* u16, enum */
    rc = to_raw(v, text, x, 0, 65535, &raw, e);
    break;
  }
  regs[0] = (uint16_t)raw;
  return rc;
}

struct span {
  int table;
  int first, end; /* [first, end) */
};

int dev_table_fc(enum dev_table t) {
  static const int fc[] = {3, 4, 1, 2};
  return fc[t];
}

static int span_cmp(const void *a, const void *b) {
  const struct span *x = a, *y = b;
  if (x->table != y->table)
    return (x->table > y->table) - (x->table < y->table);
  return x->first != y->first ? (x->first > y->first) - (x->first < y->first)
                              : (x->end > y->end) - (x->end < y->end);
}

/* Greedy from the lowest register: extend the current block while the next
 * var's end stays within max_read and the gap to it is small. Sorted by
 * start, this gives the fewest blocks under those two rules. */
size_t dev_map_blocks(const struct dev_map *m, struct dev_block *blocks,
                      size_t max) {
  struct span *s = malloc((m->nvars ? m->nvars : 1) * sizeof *s);
  size_t n = 0, nb = 0;
  int rlim = m->max_read > 0 && m->max_read <= 125 ? m->max_read : 125;
  if (!s) return 0;
  for (size_t i = 0; i < m->nvars; i++)
    if (m->vars[i].reg >= 0 && dev_var_nregs(&m->vars[i]) > 0)
      s[n++] = (struct span){(int)m->vars[i].table, m->vars[i].reg,
                             m->vars[i].reg + dev_var_nregs(&m->vars[i])};
  qsort(s, n, sizeof *s, span_cmp);
  for (size_t i = 0; i < n;) {
    int first = s[i].first, end = s[i].end, t = s[i].table;
    int lim = t >= DTAB_COIL ? 2000 : rlim;
    for (i++; i < n && s[i].table == t; i++) {
      int e2 = s[i].end > end ? s[i].end : end;
      if (s[i].first - end > m->max_gap || e2 - first > lim) break;
      end = e2;
    }
    if (nb < max)
      blocks[nb] = (struct dev_block){first, end - first, (enum dev_table)t};
    nb++;
  }
  free(s);
  return nb;
}
