/* A growing, always NUL-terminated string for text built piece by piece
 * (rendered files, JSON lines). Start from {0}; out of memory sets oom
 * and makes every later call a no-op, so the caller checks once at the
 * end. The caller frees s (or calls ohm_strbuf_free). */
#ifndef OHM_UTIL_STRBUF_H
#define OHM_UTIL_STRBUF_H

#include <stdarg.h>
#include <stddef.h>

struct ohm_strbuf {
  char *s;
  size_t n, cap;
  int oom;
};

void ohm_strbuf_add(struct ohm_strbuf *b, const char *s, size_t n);
/* The whole formatted text, however long. */
void ohm_strbuf_printf(struct ohm_strbuf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void ohm_strbuf_vprintf(struct ohm_strbuf *b, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
void ohm_strbuf_free(struct ohm_strbuf *b);

#endif
