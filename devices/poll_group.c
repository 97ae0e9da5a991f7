/* Grouping items by bus (contract in poll.h): one sort of the keyed items,
 * so 5,000 devices on as many lines cost n log n, not n^2 comparisons. */
#include "poll.h"

#include <stdlib.h>
#include <string.h>

struct keyed {
  const char *key;
  size_t i;
};

/* By key, then by index: equal keys end up adjacent, first item first. */
static int keyed_cmp(const void *a, const void *b) {
  const struct keyed *x = a, *y = b;
  int c = strcmp(x->key, y->key);
  if (c) return c;
  return x->i < y->i ? -1 : x->i > y->i;
}

/* rep[i]: the first item with i's key (i itself when it has none). */
static int find_reps(size_t n, const char *(*key)(void *, size_t), void *ctx,
                     size_t *rep) {
  struct keyed *k = malloc((n ? n : 1) * sizeof *k);
  size_t nk = 0;
  if (!k) return OHM_ENOMEM;
  for (size_t i = 0; i < n; i++) {
    const char *s = key ? key(ctx, i) : NULL;
    rep[i] = i;
    if (s) k[nk++] = (struct keyed){s, i};
  }
  if (nk > 1) qsort(k, nk, sizeof *k, keyed_cmp);
  for (size_t a = 0, b; a < nk; a = b)
    for (b = a + 1; b < nk && strcmp(k[a].key, k[b].key) == 0; b++)
      rep[k[b].i] = k[a].i;
  free(k);
  return 0;
}

int poll_group_by_bus(size_t n, const char *(*key)(void *ctx, size_t i),
                      void *ctx, size_t *order, size_t *gstart,
                      size_t *ngroups) {
  size_t *grp = malloc((n ? n : 1) * sizeof *grp), ng = 0;
  if (!grp || find_reps(n, key, ctx, grp) < 0) {
    free(grp);
    return OHM_ENOMEM;
  }
  /* number the groups as they first appear: a rep comes before the rest */
  for (size_t i = 0; i < n; i++)
    grp[i] = grp[i] == i ? ng++ : grp[grp[i]];
  memset(gstart, 0, (ng + 1) * sizeof *gstart);
  for (size_t i = 0; i < n; i++)
    gstart[grp[i]]++;
  for (size_t g = 1; g < ng; g++)
    gstart[g] += gstart[g - 1]; /* now where group g ends */
  for (size_t i = n; i-- > 0;)
    order[--gstart[grp[i]]] = i; /* backwards: ends move to starts */
  gstart[ng] = n;
  free(grp);
  *ngroups = ng;
  return 0;
}
