/* poll_group_by_bus, the grouping ohm poll and ohm config diff/apply share:
 * equal keys (by content) form one group, keyless items are groups of one,
 * groups in first-appearance order, items in order inside a group; n = 0,
 * n = 1, no key function; a fleet-sized run against a plain n^2 grouping. */
#include <stdlib.h>
#include <string.h>

#include "../../devices/poll.h"
#include "t.h"

static const char *key_of(void *ctx, size_t i) {
  return ((const char *const *)ctx)[i];
}

static int same(const size_t *a, const size_t *b, size_t n) {
  return memcmp(a, b, n * sizeof *a) == 0;
}

static void interleaved(void) {
  /* separate arrays: equal text at different addresses is one bus */
  static char a1[] = "/dev/ttyA", a2[] = "/dev/ttyA", a3[] = "/dev/ttyA";
  const char *keys[] = {a1,   NULL,        "/dev/ttyB", a2, "",
                        NULL, "/dev/ttyB", a3,          ""};
  const size_t want_order[] = {0, 3, 7, 1, 2, 6, 4, 8, 5};
  const size_t want_start[] = {0, 3, 4, 6, 8, 9};
  size_t order[9], gstart[10], ng = 99;
  int rc = poll_group_by_bus(9, key_of, keys, order, gstart, &ng);
  CHECK(rc == 0 && ng == 5, "group_by_bus: three buses + two keyless = 5");
  CHECK(rc == 0 && same(order, want_order, 9),
        "group_by_bus: groups by first appearance, items in order");
  CHECK(rc == 0 && same(gstart, want_start, 6),
        "group_by_bus: gstart bounds each group, gstart[ngroups] = n");
}

static void edges(void) {
  const char *one[] = {"/dev/ttyA"}, *none[] = {NULL};
  size_t order[4] = {7, 7, 7, 7}, gstart[5] = {7, 7, 7, 7, 7}, ng = 99;
  CHECK(poll_group_by_bus(0, key_of, NULL, order, gstart, &ng) == 0 &&
            ng == 0 && gstart[0] == 0 && order[0] == 7,
        "group_by_bus: n = 0, no groups, key never called");
  CHECK(poll_group_by_bus(1, key_of, one, order, gstart, &ng) == 0 && ng == 1 &&
            order[0] == 0 && gstart[0] == 0 && gstart[1] == 1,
        "group_by_bus: n = 1 with a key");
  CHECK(poll_group_by_bus(1, key_of, none, order, gstart, &ng) == 0 &&
            ng == 1 && order[0] == 0 && gstart[1] == 1,
        "group_by_bus: n = 1 without a key");
  CHECK(poll_group_by_bus(4, NULL, NULL, order, gstart, &ng) == 0 && ng == 4 &&
            order[0] == 0 && order[3] == 3 && gstart[2] == 2 && gstart[4] == 4,
        "group_by_bus: no key function, every item a group of its own");
}

/* The obvious n^2 grouping, to check the sorted one against. */
static size_t reference(size_t n, const char *const *keys, size_t *order,
                        size_t *gstart) {
  size_t ng = 0, k = 0;
  for (size_t i = 0; i < n; i++) {
    size_t j = 0;
    while (keys[i] && j < i && !(keys[j] && strcmp(keys[i], keys[j]) == 0))
      j++;
    if (keys[i] && j < i) continue; /* i joined j's group, listed there */
    gstart[ng++] = k;
    for (size_t m = i; m < n; m++)
      if (m == i || (keys[i] && keys[m] && strcmp(keys[i], keys[m]) == 0))
        order[k++] = m;
  }
  gstart[ng] = n;
  return ng;
}

static void fleet(void) {
  enum { N = 5000, LINES = 700 };
  static char names[LINES][24];
  static const char *keys[N];
  static size_t order[N], gstart[N + 1], ro[N], rs[N + 1];
  unsigned x = 12345;
  size_t ng = 0;
  for (int l = 0; l < LINES; l++)
    snprintf(names[l], sizeof names[l], "/dev/ttyS%d", l);
  for (size_t i = 0; i < N; i++) { /* pseudo-random lines, 1 in 8 keyless */
    x = x * 1103515245u + 12345u;
    keys[i] = (x >> 16) % 8 == 0 ? NULL : names[(x >> 8) % LINES];
  }
  size_t rng = reference(N, keys, ro, rs);
  int rc = poll_group_by_bus(N, key_of, keys, order, gstart, &ng);
  CHECK(rc == 0 && ng == rng, "group_by_bus: 5,000 items, as many groups");
  CHECK(rc == 0 && same(order, ro, N) && same(gstart, rs, rng + 1),
        "group_by_bus: 5,000 items grouped as the n^2 reference does");
}

int main(void) {
  interleaved();
  edges();
  fleet();
  T_DONE();
}
