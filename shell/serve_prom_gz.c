/* gzip for the Prometheus exporter, through zlib loaded on first use
 * (dlopen, as util/lazy.h does for libcurl), so no other command pays for
 * it. */
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "serve_prom_int.h"
#include "../util/lazy.h"

#define ZLIB_SONAME "libz.so.1"

static struct {
  int (*init)(z_streamp, int, int, int, int, int, const char *, int);
  int (*deflate)(z_streamp, int);
  int (*end)(z_streamp);
  uLong (*bound)(z_streamp, uLong);
} zl;

static int zl_load(struct ohm_error *e) {
  void *h = NULL;
  if (lazy_open(ZLIB_SONAME, &h, e) < 0 ||
      !(*(void **)&zl.init = lazy_sym(h, ZLIB_SONAME, "deflateInit2_", e)) ||
      !(*(void **)&zl.deflate = lazy_sym(h, ZLIB_SONAME, "deflate", e)) ||
      !(*(void **)&zl.end = lazy_sym(h, ZLIB_SONAME, "deflateEnd", e)) ||
      !(*(void **)&zl.bound = lazy_sym(h, ZLIB_SONAME, "deflateBound", e)))
    return OHM_ENOTSUP;
  return 0;
}

int pr_gzip(const struct pr_text *t, size_t room, char **out, size_t *outlen) {
  struct ohm_error e;
  z_stream z;
  *out = NULL;
  if (lazy_once(zl_load, &e) < 0) return -1;
  memset(&z, 0, sizeof z);
  /* level 1: the text is repetitive enough that more costs CPU for
   * little (8 MB: 396 KB in 41 ms; level 6: 341 KB in 120 ms); 15 + 16:
   * a gzip wrapper */
  if (zl.init(&z, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY, ZLIB_VERSION,
              (int)sizeof z) != Z_OK)
    return -1;
  size_t cap = zl.bound(&z, (uLong)t->total) + 64;
  char *buf = malloc(room + cap);
  int rc = buf ? Z_OK : Z_MEM_ERROR;
  if (buf) {
    z.next_out = (Bytef *)buf + room;
    z.avail_out = (uInt)cap;
  }
  for (int i = 0; rc == Z_OK && i <= t->n; i++) {
    z.next_in = i < t->n ? (Bytef *)t->iov[i].iov_base : NULL;
    z.avail_in = i < t->n ? (uInt)t->iov[i].iov_len : 0;
    rc = zl.deflate(&z, i < t->n ? Z_NO_FLUSH : Z_FINISH);
  }
  zl.end(&z);
  if (rc != Z_STREAM_END) {
    free(buf);
    return -1;
  }
  *out = buf;
  *outlen = z.total_out;
  return 0;
}
