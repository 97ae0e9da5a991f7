/* "Did you mean ...?": the nearest of a set of known names to a word the
 * user typed, for every place a name is rejected (commands, options,
 * variables, drivers, inventory names and fields). Shared by all layers,
 * like err.h. Usage:
 *   struct ohm_suggest s;
 *   ohm_suggest_init(&s, typed);
 *   for (each known name) ohm_suggest_add(&s, name);
 *   if (s.best) ... "(did you mean %s?)", s.best ...
 * s.best is borrowed from the caller's candidates: keep them alive while
 * it is used. */
#ifndef OHM_UTIL_SUGGEST_H
#define OHM_UTIL_SUGGEST_H

#include <stddef.h>

struct ohm_suggest {
  const char *word; /* borrowed: what the user typed */
  const char *best; /* borrowed: the nearest candidate so far, or NULL */
  int dist;         /* its distance; -1 once the word itself was seen */
};

void ohm_suggest_init(struct ohm_suggest *s, const char *word);

/* Consider cand: kept when its case-insensitive edit distance (insert,
 * delete, substitute, swap two neighbours) to the word is small for the
 * word's length (at most 1 for up to 4 characters, 2 up to 8, then a
 * third of the length), or when one is a prefix of the other with at
 * most 3 characters more; the nearest wins, the first on a tie. When a
 * candidate equals the word (same case) the word is known and nothing is
 * suggested. */
void ohm_suggest_add(struct ohm_suggest *s, const char *cand);

/* The nearest of the n names in v (NULL-terminated if n is 0), or NULL. */
const char *ohm_suggest_best(const char *word, const char *const *v, size_t n);

/* The edit distance above, case-insensitive; capped at 64 + 1. */
int ohm_suggest_distance(const char *a, const char *b);

#endif
