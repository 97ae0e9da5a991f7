/* URI parser for ohm's device addresses (DESIGN.md "Transports"):
 *   scheme://[user[:password]@]host[:port][/path][?k=v&...]
 *   scheme:///path?k=v            (modbus-rtu, serial: path is the tty)
 *   scheme:opaque                 (sim:DRIVER: opaque goes to path)
 * IPv6 literals in brackets ([::1]), percent-encoding in every part. */
#ifndef OHM_TRANSPORTS_URI_H
#define OHM_TRANSPORTS_URI_H

#include "../util/err.h"

struct ohm_kv {
  char *key;
  char *val; /* "" for "?flag" */
};

struct ohm_uri {
  char *scheme;   /* lower-cased, never NULL after a successful parse */
  char *user;     /* decoded, NULL if absent */
  char *password; /* decoded, NULL if absent; never print it */
  char *host;     /* decoded, brackets removed; NULL if no authority */
  int port;       /* -1 if absent */
  char *path;     /* decoded, "" if absent */
  struct ohm_kv *query;
  size_t nquery;
};

/* Parse s into u (zeroed first). On failure u holds nothing to free and e
 * says what is wrong ("port 99999 out of range", "unterminated [", ...). */
int ohm_uri_parse(const char *s, struct ohm_uri *u, struct ohm_error *e);

/* Free what ohm_uri_parse allocated; safe on a zeroed or freed uri. */
void ohm_uri_free(struct ohm_uri *u);

/* Deep copy src into dst; OHM_ENOMEM on failure (dst then zeroed). */
int ohm_uri_copy(struct ohm_uri *dst, const struct ohm_uri *src);

/* Query parameter value, or NULL if absent. Borrowed from u. */
const char *ohm_uri_param(const struct ohm_uri *u, const char *key);

/* Integer parameter: def if absent; error if not an integer in [min, max]. */
int ohm_uri_param_long(const struct ohm_uri *u, const char *key, long def,
                       long min, long max, long *out, struct ohm_error *e);

/* A copy of the URI text safe to show: the password of the user info and
 * the values of query keys naming a secret (containing "pass" or "secret":
 * password=, authpass=, privpass=) replaced by "***". Caller frees; NULL
 * only when out of memory. Never fails on malformed input. */
char *ohm_uri_redact(const char *s);
/* Does the key k[0..n) name a secret (one redaction for URI queries and
 * job fields: *pass*, *secret*, *community*, *token*)? */
int ohm_secret_key(const char *k, size_t n);

#endif
