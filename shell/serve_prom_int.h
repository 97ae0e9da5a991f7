/* Inside `ohm serve --prometheus`: the rendering of the exposition
 * (serve_prom_render.c) that the HTTP side (serve_prom.c) shares between
 * scrapes. */
#ifndef OHM_SHELL_SERVE_PROM_INT_H
#define OHM_SHELL_SERVE_PROM_INT_H

#include <stddef.h>

#include "serve.h"

/* The NUT status flags exported one series each as
 * ohm_ups_status{flag="OB"} 0/1, always all of them. */
extern const char *const pr_flags[];

/* The exposition of every device of cache c (text format 0.0.4), in one
 * malloc'd buffer (caller frees) with `room` bytes left free in front of
 * the text, for the HTTP head; *len is the text's length. NULL if out of
 * memory. One renderer at a time: the caller serialises (the per-map
 * plans and the metric families are kept between renders). */
char *pr_render(struct sv_cache *c, size_t room, size_t *len);

/* in[0..n) gzip'd into *out (malloc'd, caller frees) after room free
 * bytes; *outlen the compressed length. -1 (and *out NULL) without zlib
 * or out of memory. */
int pr_gzip(const char *in, size_t n, size_t room, char **out, size_t *outlen);

/* Forget the kept plans and families (serve stops). */
void pr_render_free(void);

#endif
