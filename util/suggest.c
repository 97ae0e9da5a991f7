/* The nearest known name to a mistyped one: optimal string alignment
 * distance (Levenshtein plus swapped neighbours), case-insensitive. */
#include "suggest.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

#define SUG_MAX 64

static int lower(char c) {
  return tolower((unsigned char)c);
}

static int min3(int a, int b, int c) {
  int m = a < b ? a : b;
  return m < c ? m : c;
}

int ohm_suggest_distance(const char *a, const char *b) {
  size_t n = strlen(a), m = strlen(b);
  int d[SUG_MAX + 1][SUG_MAX + 1];
  if (n > SUG_MAX || m > SUG_MAX) return SUG_MAX + 1;
  for (size_t i = 0; i <= n; i++)
    d[i][0] = (int)i;
  for (size_t j = 0; j <= m; j++)
    d[0][j] = (int)j;
  for (size_t i = 1; i <= n; i++)
    for (size_t j = 1; j <= m; j++) {
      int cost = lower(a[i - 1]) != lower(b[j - 1]);
      d[i][j] = min3(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && lower(a[i - 1]) == lower(b[j - 2]) &&
          lower(a[i - 2]) == lower(b[j - 1]) && d[i - 2][j - 2] + 1 < d[i][j])
        d[i][j] = d[i - 2][j - 2] + 1;
    }
  return d[n][m];
}

/* The largest distance still worth suggesting for a word of len chars. */
static int allowed(size_t len) {
  if (len <= 4) return 1;
  if (len <= 8) return 2;
  return (int)(len / 3);
}

/* One is a prefix of the other (case-insensitive), at most 3 apart. */
static int near_prefix(const char *w, const char *c) {
  size_t wn = strlen(w), cn = strlen(c);
  size_t k = wn < cn ? wn : cn;
  if (k < 3 || (wn > cn ? wn - cn : cn - wn) > 3) return 0;
  return strncasecmp(w, c, k) == 0;
}

void ohm_suggest_init(struct ohm_suggest *s, const char *word) {
  s->word = word ? word : "";
  s->best = NULL;
  s->dist = SUG_MAX + 1;
}

void ohm_suggest_add(struct ohm_suggest *s, const char *cand) {
  if (!cand || !*cand || s->dist < 0) return;
  if (strcmp(cand, s->word) == 0) { /* the word is known: no typo */
    s->best = NULL;
    s->dist = -1;
    return;
  }
  int d = ohm_suggest_distance(s->word, cand);
  if (d > allowed(strlen(s->word)) && !near_prefix(s->word, cand)) return;
  if (d < s->dist) {
    s->best = cand;
    s->dist = d;
  }
}

const char *ohm_suggest_best(const char *word, const char *const *v, size_t n) {
  struct ohm_suggest s;
  ohm_suggest_init(&s, word);
  for (size_t i = 0; n ? i < n : v[i] != NULL; i++)
    ohm_suggest_add(&s, v[i]);
  return s.best;
}
