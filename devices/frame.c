/* YD/T 1363.3 frame codec and tolerant reader (see frame.h). */
#include "frame.h"

#include <stdio.h>
#include <string.h>

unsigned frm_length(unsigned lenid) {
  unsigned sum = (lenid & 0xF) + ((lenid >> 4) & 0xF) + ((lenid >> 8) & 0xF);
  unsigned lchk = (~(sum % 16) + 1) & 0xF;
  return (lchk << 12) | (lenid & 0xFFF);
}

unsigned frm_chksum(const char *s, size_t n) {
  unsigned sum = 0;
  for (size_t i = 0; i < n; i++)
    sum += (unsigned char)s[i];
  return (~(sum % 65536) + 1) & 0xFFFF;
}

static const char hexd[] = "0123456789ABCDEF";

static char *put_hex(char *p, unsigned v, int digits) {
  for (int i = digits - 1; i >= 0; i--)
    *p++ = hexd[(v >> (4 * i)) & 0xF];
  return p;
}

size_t frm_encode(const struct frm *f, char *out, size_t outsz) {
  size_t need = 18 + 2 * f->ninfo + 1;
  char *p = out;
  if (f->ninfo > FRM_INFO_MAX || outsz < need) return 0;
  *p++ = '~';
  p = put_hex(p, f->ver, 2);
  p = put_hex(p, f->adr, 2);
  p = put_hex(p, f->cid1, 2);
  p = put_hex(p, f->cid2, 2);
  p = put_hex(p, frm_length((unsigned)(2 * f->ninfo)), 4);
  for (size_t i = 0; i < f->ninfo; i++)
    p = put_hex(p, f->info[i], 2);
  p = put_hex(p, frm_chksum(out + 1, (size_t)(p - out - 1)), 4);
  *p++ = '\r';
  *p = 0;
  return (size_t)(p - out);
}

static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

/* digits hex characters at s as a number, or -1. */
static long get_hex(const char *s, int digits) {
  long v = 0;
  for (int i = 0; i < digits; i++) {
    int d = hexval(s[i]);
    if (d < 0) return -1;
    v = v * 16 + d;
  }
  return v;
}

int frm_decode(const char *s, size_t n, struct frm *f, struct ohm_error *e) {
  long len, sum, b[4];
  size_t lenid;
  if (n < 18 || s[0] != '~' || s[n - 1] != '\r')
    return ohm_error_set(e, OHM_EPROTO, "truncated frame (%zu bytes)", n);
  for (int i = 0; i < 4; i++)
    if ((b[i] = get_hex(s + 1 + 2 * i, 2)) < 0)
      return ohm_error_set(e, OHM_EPROTO, "bad hex in frame header");
  if ((len = get_hex(s + 9, 4)) < 0)
    return ohm_error_set(e, OHM_EPROTO, "bad hex in LENGTH");
  lenid = (size_t)len & 0xFFF;
  if (frm_length((unsigned)lenid) != (unsigned)len)
    return ohm_error_set(e, OHM_EPROTO, "LCHKSUM error (LENGTH %04lX)", len);
  if (lenid % 2 || 18 + lenid != n)
    return ohm_error_set(e, OHM_EPROTO,
                         "length error (LENID %zu, %zu INFO characters)", lenid,
                         n - 18 > n ? 0 : n - 18);
  if ((sum = get_hex(s + n - 5, 4)) < 0)
    return ohm_error_set(e, OHM_EPROTO, "bad hex in CHKSUM");
  if (frm_chksum(s + 1, n - 6) != (unsigned)sum)
    return ohm_error_set(e, OHM_EPROTO, "CHKSUM error (got %04lX, want %04X)",
                         sum, frm_chksum(s + 1, n - 6));
  f->ver = (uint8_t)b[0];
  f->adr = (uint8_t)b[1];
  f->cid1 = (uint8_t)b[2];
  f->cid2 = (uint8_t)b[3];
  f->ninfo = lenid / 2;
  for (size_t i = 0; i < f->ninfo; i++) {
    long v = get_hex(s + 13 + 2 * i, 2);
    if (v < 0) return ohm_error_set(e, OHM_EPROTO, "bad hex in INFO");
    f->info[i] = (uint8_t)v;
  }
  return 0;
}

const char *frm_rtn_text(unsigned rtn) {
  static const struct {
    unsigned code;
    const char *text;
  } t[] = {{0x00, "normal"},       {0x01, "VER error"},
           {0x02, "CHKSUM error"}, {0x03, "LCHKSUM error"},
           {0x04, "CID2 invalid"}, {0x05, "command format error"},
           {0x06, "invalid data"}, {0x09, "operation error"},
           {0x90, "ADR error"},    {0x91, "internal communication error"},
           {0xE1, "CID1 error"},   {0xE2, "command execution failure"},
           {0xE3, "device fault"}, {0xE4, "invalid permissions"}};
  for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
    if (t[i].code == rtn) return t[i].text;
  return NULL;
}

void frm_reader_init(struct frm_reader *r) {
  r->n = 0;
  r->junk = 0;
}

size_t frm_reader_feed(struct frm_reader *r, const char *p, size_t n,
                       size_t *done) {
  size_t i;
  *done = 0;
  for (i = 0; i < n; i++) {
    char c = p[i];
    if (r->n == 0 && c != '~') {
      r->junk++; /* line noise, NULs after '\r', echoes */
      continue;
    }
    if (c == '~' && r->n > 0) { /* a new SOI: what came before was junk */
      r->junk += r->n;
      r->n = 0;
    }
    if (r->n == sizeof r->buf) {
      r->junk += r->n;
      r->n = 0;
      continue;
    }
    r->buf[r->n++] = c;
    if (c == '\r') {
      *done = r->n;
      return i + 1;
    }
  }
  return i;
}

void frm_reader_next(struct frm_reader *r) {
  r->n = 0;
}

uint32_t frm_be(const uint8_t *p, int nbytes) {
  uint32_t v = 0;
  for (int i = 0; i < nbytes; i++)
    v = (v << 8) | p[i];
  return v;
}
