/* A growing string (see strbuf.h). */
#include "strbuf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Room for n more bytes and the NUL; 0 (and oom set) if there is none. */
static int strbuf_reserve(struct ohm_strbuf *b, size_t n) {
  if (b->oom) return 0;
  if (b->n + n + 1 <= b->cap) return 1;
  size_t cap = (b->cap ? b->cap * 2 : 256) + n;
  char *p = realloc(b->s, cap);
  if (!p) {
    b->oom = 1;
    return 0;
  }
  b->s = p;
  b->cap = cap;
  return 1;
}

void ohm_strbuf_add(struct ohm_strbuf *b, const char *s, size_t n) {
  if (!strbuf_reserve(b, n)) return;
  memcpy(b->s + b->n, s, n);
  b->n += n;
  b->s[b->n] = 0;
}

void ohm_strbuf_vprintf(struct ohm_strbuf *b, const char *fmt, va_list ap) {
  va_list again;
  va_copy(again, ap);
  int n = vsnprintf(NULL, 0, fmt, ap);
  if (n > 0 && strbuf_reserve(b, (size_t)n)) {
    vsnprintf(b->s + b->n, (size_t)n + 1, fmt, again);
    b->n += (size_t)n;
  }
  va_end(again);
}

void ohm_strbuf_printf(struct ohm_strbuf *b, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  ohm_strbuf_vprintf(b, fmt, ap);
  va_end(ap);
}

void ohm_strbuf_free(struct ohm_strbuf *b) {
  free(b->s);
  memset(b, 0, sizeof *b);
}
