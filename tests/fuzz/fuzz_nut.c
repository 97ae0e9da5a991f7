/* libFuzzer target for `ohm serve --nut` (shell/serve_nut.c and
 * shell/serve/listen.c): the line splitter on raw bytes and the whole
 * dispatcher (every command, quoting, logins, SET VAR, INSTCMD) over a
 * cache of the simulator. Invariants (abort on failure): a line taken is
 * shorter than the limit and holds no control byte but TAB; what a line
 * uses is within the input and ends at its LF; every reply is whole lines
 * without a NUL. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "serve_fuzz.h"
#include "shell/serve/listen.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_lines(char *buf, size_t size) {
  size_t off = 0, used;
  char *line;
  for (;;) {
    int r = ls_line_next(buf + off, size - off, 1024, &line, &used);
    if (r == LS_LINE_MORE || r == LS_LINE_LONG) break;
    if (used == 0 || used > size - off || used > 1024) abort();
    if (r == LS_LINE_OK) {
      size_t n = strlen(line);
      if (n >= used) abort();
      for (size_t i = 0; i < n; i++)
        if (((unsigned char)line[i] < 0x20 && line[i] != '\t') ||
            line[i] == 0x7f)
          abort();
    }
    off += used;
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  struct sv_cache *c = fuzz_cache();
  char *buf = malloc(size + 1), *reply = NULL;
  if (!buf) return 0;
  memcpy(buf, data, size);
  check_lines(buf, size);
  memcpy(buf, data, size);
  size_t n = serve_nut_feed(c, buf, size, &reply);
  if (n && (reply[n - 1] != '\n' || memchr(reply, 0, n))) abort();
  free(reply);
  free(buf);
  return 0;
}
