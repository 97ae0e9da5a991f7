/* libFuzzer target for the BPS2000v2 console description
 * (devices/bps2000v2/console.c, console_fmt.c): the lenient screen parser
 * the telnet:// client runs on whatever a console prints, screen
 * recognition, the prompt test, and the parsers for what a user types at
 * ohm's server. Invariants (abort on failure): keys are NUL-terminated and
 * lower-case, the value table never overflows, and a command that parses
 * formats back to one that parses to the same thing. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "devices/bps2000v2/console.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_vals(const struct con_vals *v) {
  if (v->n > CON_KV_MAX) abort();
  for (size_t i = 0; i < v->n; i++) {
    const struct con_kv *kv = &v->kv[i];
    if (!memchr(kv->key, 0, sizeof kv->key) ||
        !memchr(kv->str, 0, sizeof kv->str))
      abort();
    for (const char *p = kv->key; *p; p++)
      if (*p >= 'A' && *p <= 'Z') abort();
  }
}

static void check_commands(const char *s) {
  const struct con_show_item *it;
  const struct con_thresh_row *r, *r2;
  double v[4], v2[4];
  char buf[256];
  int unit, unit2, phase;
  if (con_parse_show_cmd(s, &unit, &it) == 0) {
    con_fmt_show_cmd(buf, sizeof buf, unit, it->cmd);
    if (con_parse_show_cmd(buf, &unit2, &it) < 0 || unit2 != unit) abort();
  }
  if (con_parse_thresh_cmd(s, &unit, &r, v) == 0) {
    con_fmt_thresh_cmd(buf, sizeof buf, unit, r, v);
    if (con_parse_thresh_cmd(buf, &unit2, &r2, v2) < 0 || r2 != r ||
        unit2 != unit)
      abort();
  }
  (void)con_parse_clear_cmd(s, &unit, &phase);
  (void)con_parse_unit(s, &unit);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static struct con_vals v;
  char *s = malloc(size + 1);
  char out[4096] = "";
  if (!s) return 0;
  memcpy(s, data, size);
  s[size] = 0;
  con_vals_clear(&v);
  con_parse(s, &v);
  check_vals(&v);
  (void)con_identify(s);
  (void)con_ends_with(s, strlen(s), CON_PROMPT);
  check_commands(s);
  con_fmt_thresholds(out, sizeof out, &v); /* any parsed values print */
  if (!memchr(out, 0, sizeof out)) abort();
  free(s);
  return 0;
}
