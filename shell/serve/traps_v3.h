/* SNMPv3 traps and informs in, through net-snmp's usm (traps_v3.c), for
 * the trap receiver (traps.c) on its own thread. */
#ifndef OHM_SERVE_TRAPS_V3_H
#define OHM_SERVE_TRAPS_V3_H

#include <stddef.h>
#include <sys/socket.h>

#include "util/err.h"

/* Called per field of a delivered trap: "version", "user", then each
 * varbind as its OID ("1.3.6...") and value text (num: a number). */
typedef void (*trv3_vb_fn)(void *ctx, const char *name, const char *text,
                           int num);

/* A session answering on fd (borrowed: traps.c closes it). */
int trv3_start(int fd, struct ohm_error *e);
/* A usm user as snmptrapd's createUser: under ohm's engine id (informs)
 * and, with engine (hex), under the sender's (traps). Secrets are not
 * kept here beyond net-snmp's keys. */
int trv3_user(const char *name, const char *auth, const char *auth_pass,
              const char *priv, const char *priv_pass, const char *engine,
              struct ohm_error *e);
/* One v3 datagram from `from`: 1 if a trap or inform was delivered to vb
 * (an inform acknowledged), else 0 with why set when it was rejected
 * (unknown user, wrong key ...: never a secret) or "" when it was only
 * engine discovery. */
int trv3_read(const unsigned char *buf, size_t n, const struct sockaddr *from,
              socklen_t fl, trv3_vb_fn vb, void *ctx, char *why, size_t cap);
void trv3_stop(void);

#endif
