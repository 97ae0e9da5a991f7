/* libFuzzer target for the URI parser (transports/uri.c): parse, query,
 * copy, free and redact arbitrary text. Invariants checked (abort on
 * failure, which libFuzzer reports as a crash): a successful parse has a
 * lower-case scheme and a port in -1 or 1..65535; a failed one leaves
 * nothing allocated and says why; redaction never shows the password. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "transports/uri.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_ok(const char *s, struct ohm_uri *u) {
  struct ohm_uri c;
  long v;
  if (!u->scheme || !u->path) abort();
  for (const char *p = u->scheme; *p; p++)
    if (*p >= 'A' && *p <= 'Z') abort();
  if (u->port != -1 && (u->port < 1 || u->port > 65535)) abort();
  (void)ohm_uri_param(u, "unit");
  (void)ohm_uri_param_long(u, "unit", 1, 0, 255, &v, NULL);
  if (ohm_uri_copy(&c, u) == 0) ohm_uri_free(&c);
  /* Without '%' escapes, a password that occurs once in the text is its
   * own raw text and must not survive redaction (one made of '*' could be
   * rebuilt from "***" and is not checked). */
  const char *pw = u->password, *at = pw ? strstr(s, pw) : NULL;
  char *r = ohm_uri_redact(s);
  if (r && at && !strchr(s, '%') && strlen(pw) >= 3 && !strchr(pw, '*') &&
      !strstr(at + 1, pw) && strstr(r, pw))
    abort();
  free(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *s = malloc(size + 1);
  struct ohm_uri u;
  struct ohm_error e;
  if (!s) return 0;
  memcpy(s, data, size);
  s[size] = '\0';
  ohm_error_clear(&e);
  if (ohm_uri_parse(s, &u, &e) == 0)
    check_ok(s, &u);
  else if (u.scheme || u.host || u.query || !e.msg[0] || strchr(e.msg, '\n'))
    abort();
  ohm_uri_free(&u);
  free(ohm_uri_redact(s));
  free(s);
  return 0;
}
