/* Error codes shared by every layer: functions return 0 or a negative OHM_E*
 * code; a struct ohm_error carries the code plus a one-line detail that the
 * shell prints as "ohm: DEVICE: detail". Library code never prints. */
#ifndef OHM_UTIL_ERR_H
#define OHM_UTIL_ERR_H

#include <stddef.h>

enum {
  OHM_OK = 0,
  OHM_EINVAL = -1,       /* bad argument */
  OHM_ENOMEM = -2,       /* out of memory */
  OHM_ETIMEDOUT = -3,    /* no answer within the timeout */
  OHM_ECONNREFUSED = -4, /* peer refused the connection */
  OHM_EIO = -5,          /* transport failure, connection dropped */
  OHM_EPROTO = -6,       /* malformed or unexpected reply */
  OHM_EDEVICE = -7,      /* device answered with an exception or error */
  OHM_ENOTSUP = -8,      /* not supported by this device or transport */
  OHM_ERANGE = -9,       /* value out of range or out of spec */
  OHM_EACCES = -10,      /* read-only, or authentication refused */
  OHM_ENOENT = -11,      /* unknown variable, device, driver or object */
  OHM_EURI = -12,        /* malformed URI */
  OHM_EINTR = -13,       /* interrupted by the user */
  OHM_ECONFIG = -14,     /* bad configuration or driver map */
};

struct ohm_error {
  int code;
  char msg[512]; /* one line, no trailing newline, never a secret */
};

const char *ohm_strerror(int code);

/* Fill e (may be NULL) and return code, so callers write
 * "return ohm_error_set(e, OHM_EINVAL, "bad unit %d", u);". */
int ohm_error_set(struct ohm_error *e, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Clear e to OHM_OK with an empty message. */
void ohm_error_clear(struct ohm_error *e);

/* The text to show: e->msg if set, else ohm_strerror(e->code). */
const char *ohm_error_text(const struct ohm_error *e);

#endif
