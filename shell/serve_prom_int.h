/* Inside `ohm serve --prometheus`: the rendering of the exposition
 * (serve_prom_render.c) that the HTTP side (serve_prom.c) shares between
 * scrapes. */
#ifndef OHM_SHELL_SERVE_PROM_INT_H
#define OHM_SHELL_SERVE_PROM_INT_H

#include <stddef.h>
#include <sys/uio.h>

#include "serve.h"

/* The NUT status flags exported one series each as
 * ohm_ups_status{flag="OB"} 0/1, always all of them. */
extern const char *const pr_flags[];

/* A rendering: the text in pieces, one per metric family with lines
 * (its HELP and TYPE first), in name order; total bytes in all. */
struct pr_text {
  struct iovec *iov; /* each iov_base malloc'd */
  int n;
  size_t total;
};

/* The exposition of every device of cache c (text format 0.0.4) into
 * *out (caller frees with pr_text_free); -1 if out of memory. One
 * renderer at a time: the caller serialises (the per-map plans and the
 * metric families are kept between renders). */
int pr_render(struct sv_cache *c, struct pr_text *out);
void pr_text_free(struct pr_text *t);

/* t gzip'd into *out (malloc'd, caller frees) after room free bytes;
 * *outlen the compressed length. -1 (and *out NULL) without zlib or out
 * of memory. */
int pr_gzip(const struct pr_text *t, size_t room, char **out, size_t *outlen);

/* Forget the kept plans and families (serve stops). */
void pr_render_free(void);

#endif
