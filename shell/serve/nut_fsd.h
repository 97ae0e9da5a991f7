/* NUT primary/secondary state for `ohm serve --nut` (RFC 9271): who is
 * logged in to which UPS (NUMLOGINS, LIST CLIENT) and the forced-shutdown
 * flag, latched until ohm restarts (ups.status gains "FSD"). Set by a
 * primary upsmon's FSD or by a rule's shutdown{} job. Thread-safe. */
#ifndef OHM_SERVE_NUT_FSD_H
#define OHM_SERVE_NUT_FSD_H

#include <stddef.h>

/* A LOGIN to ups from addr; returns an id for nutf_logout (< 0: full). */
int nutf_login(const char *ups, const char *addr);
void nutf_logout(int id); /* id < 0 is fine */
int nutf_numlogins(const char *ups);
/* Call emit for each address logged in to ups. */
void nutf_clients(const char *ups, void (*emit)(void *ctx, const char *addr),
                  void *ctx);

/* A connected socket's peer address as text ("unknown" if none). */
void nutf_peer_addr(int fd, char *out, size_t n);

void nutf_set_fsd(const char *ups);
int nutf_is_fsd(const char *ups);

#endif
