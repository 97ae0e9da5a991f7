#include "err.h"

#include <stdarg.h>
#include <stdio.h>

static const char *const messages[] = {
    "success",        "invalid argument",   "out of memory",
    "timed out",      "connection refused", "input/output error",
    "protocol error", "device error",       "not supported",
    "out of range",   "permission denied",  "not found",
    "malformed URI",  "interrupted",        "configuration error",
};

const char *ohm_strerror(int code) {
  size_t i = (size_t)(code < 0 ? -code : code);
  if (i >= sizeof messages / sizeof messages[0]) return "unknown error";
  return messages[i];
}

int ohm_error_set(struct ohm_error *e, int code, const char *fmt, ...) {
  if (e) {
    va_list ap;
    va_start(ap, fmt);
    e->code = code;
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
  }
  return code;
}

void ohm_error_clear(struct ohm_error *e) {
  if (e) {
    e->code = OHM_OK;
    e->msg[0] = '\0';
  }
}

const char *ohm_error_text(const struct ohm_error *e) {
  return e->msg[0] ? e->msg : ohm_strerror(e->code);
}
