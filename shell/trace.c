/* -v tracing: the transports' trace events on stderr, one line each:
 *   ohm: trace: DEVICE > 01 03 00 00 00 63
 *   ohm: trace: DEVICE < 01 03 c6 09 01 ... (198 bytes, 3.1 ms)
 * -v shows the first 32 bytes and 160 characters of text; -vv all. Lines
 * from several threads never interleave (stderr is locked per line). */
#include <stdio.h>
#include <string.h>

#include "shell.h"

/* Text with control characters as \n, \r or ?, so a console's screen
 * stays on one line and cannot drive the terminal. */
static void put_text(const char *s, size_t max) {
  size_t n = 0;
  for (; *s && n < max; s++, n++) {
    unsigned char c = (unsigned char)*s;
    if (c == '\n')
      fputs("\\n", stderr);
    else if (c == '\r')
      fputs("\\r", stderr);
    else
      fputc(c < 0x20 || c == 0x7f ? '?' : c, stderr);
  }
  if (*s) fputs("...", stderr);
}

void sh_trace(void *ctx, const struct tp_trace_ev *ev) {
  const unsigned char *b = ev->bytes;
  size_t max = sh_verbose > 1 ? (size_t)-1 : 32;
  (void)ctx;
  flockfile(stderr);
  fprintf(stderr, "ohm: trace: %s %c", ev->dev ? ev->dev : "-", ev->dir);
  for (size_t i = 0; b && i < ev->n && i < max; i++)
    fprintf(stderr, " %02x", b[i]);
  if (b && ev->n > max) fputs(" ...", stderr);
  if (ev->text) {
    fputc(' ', stderr);
    put_text(ev->text, sh_verbose > 1 ? (size_t)-1 : 160);
  }
  if (ev->dir != '>') {
    fputs(" (", stderr);
    if (b) fprintf(stderr, "%zu bytes, ", ev->n);
    fprintf(stderr, "%.1f ms)", ev->secs * 1000);
  }
  fputc('\n', stderr);
  funlockfile(stderr);
}
