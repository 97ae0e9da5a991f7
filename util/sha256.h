/* SHA-256 (FIPS 180-4), small and self-contained: libcurl does not export
 * one and linking libcrypto would cost every command its start-up. */
#ifndef OHM_UTIL_SHA256_H
#define OHM_UTIL_SHA256_H

#include <stddef.h>
#include <stdint.h>

struct sha256 {
  uint32_t h[8];
  uint64_t len; /* bytes hashed so far */
  unsigned char buf[64];
  size_t nbuf;
};

void sha256_init(struct sha256 *s);
void sha256_update(struct sha256 *s, const void *data, size_t n);
void sha256_final(struct sha256 *s, unsigned char out[32]);

/* One-shot digest as 64 lower-case hex digits plus NUL. */
void sha256_hex(const void *data, size_t n, char hex[65]);

#endif
