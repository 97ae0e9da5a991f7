/* libFuzzer target for the REPL history's secret filter (shell/
 * repl_hist.c): any line. Invariants (abort on failure): a line that
 * redaction would change is kept out of the history (one redaction for
 * every path), and so is any line with a telnet:// password appended or
 * prepended, whatever the rest of the line holds. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "shell/repl_hist.h"
#include "transports/uri.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void must_flag(const char *a, const char *b) {
  size_t n = strlen(a) + strlen(b) + 1;
  char *s = malloc(n);
  if (!s) return;
  strcpy(s, a);
  strcat(s, b);
  if (!sh_line_has_secret(s)) abort();
  free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *s = malloc(size + 1);
  if (!s) return 0;
  memcpy(s, data, size);
  s[size] = '\0'; /* a line ends at its first NUL, as readline's would */
  int flagged = sh_line_has_secret(s);
  char *r = ohm_uri_redact(s);
  if (r && strcmp(r, s) != 0 && !flagged) abort();
  free(r);
  must_flag(s, " telnet://admin:pw@h");
  must_flag("telnet://admin:pw@h ", s);
  free(s);
  return 0;
}
