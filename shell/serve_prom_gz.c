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

int pr_gzip(const char *in, size_t n, size_t room, char **out, size_t *outlen) {
  struct ohm_error e;
  z_stream z;
  *out = NULL;
  if (lazy_once(zl_load, &e) < 0) return -1;
  memset(&z, 0, sizeof z);
  /* level 1: the text is repetitive enough that more costs CPU for
   * little; 15 + 16: a gzip wrapper */
  if (zl.init(&z, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY, ZLIB_VERSION,
              (int)sizeof z) != Z_OK)
    return -1;
  size_t cap = zl.bound(&z, (uLong)n) + 32;
  char *buf = malloc(room + cap);
  int rc = -1;
  if (buf) {
    z.next_in = (Bytef *)(uintptr_t)in;
    z.avail_in = (uInt)n;
    z.next_out = (Bytef *)buf + room;
    z.avail_out = (uInt)cap;
    rc = zl.deflate(&z, Z_FINISH) == Z_STREAM_END ? 0 : -1;
  }
  zl.end(&z);
  if (rc < 0) {
    free(buf);
    return -1;
  }
  *out = buf;
  *outlen = z.total_out;
  return 0;
}
