/* libFuzzer target for `ohm record`'s option parsers (shell/cmd_record.c):
 * --every and --max-size over any text. Invariants (abort on failure): a
 * value is -1 or in range (finite, positive, at most the documented
 * maximum), and only plain decimal text is taken (no sign, exponent, hex,
 * inf or nan, no leading space). */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "shell/serve.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int plain(const char *s) {
  return *s && strchr("0123456789.", *s) && !strpbrk(s, "xXeEnN+- \t");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *s = malloc(size + 1);
  if (!s) return 0;
  memcpy(s, data, size);
  s[size] = '\0';
  double d = record_parse_duration(s);
  if (d != -1 && (!isfinite(d) || d <= 0 || d > RECORD_EVERY_MAX || !plain(s)))
    abort();
  long long n = record_parse_size(s);
  if (n != -1 && (n < 1 || n > (long long)RECORD_SIZE_MAX || !plain(s)))
    abort();
  free(s);
  return 0;
}
