/* libFuzzer target for `ohm serve --prometheus` (shell/serve_prom.c): the
 * request head (method, path, query, CR LF or bare LF) and the answer,
 * /metrics rendered from a cache of the simulator. Invariants (abort on
 * failure): every answer is an HTTP/1.1 status line and a head whose
 * Content-Length is the body's length (none after HEAD). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "serve_fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  struct sv_cache *c = fuzz_cache();
  char *req = malloc(size + 1), *reply = NULL;
  size_t clen;
  if (!req) return 0;
  memcpy(req, data, size);
  size_t n = serve_prom_answer(c, req, size, &reply);
  if (!reply || n < 12 || memcmp(reply, "HTTP/1.1 ", 9)) abort();
  char *end = memmem(reply, n, "\r\n\r\n", 4);
  char *cl = memmem(reply, n, "Content-Length: ", 16);
  if (!end || !cl || cl > end || sscanf(cl + 16, "%zu", &clen) != 1) abort();
  size_t body = n - (size_t)(end + 4 - reply);
  char method[8] = "";
  int head = sscanf(req, "%7s", method) == 1 && !strcmp(method, "HEAD") &&
             memcmp(reply + 9, "400", 3) != 0; /* no request line: a body */
  if (body != (head ? 0 : clen)) abort();
  free(reply);
  free(req);
  return 0;
}
