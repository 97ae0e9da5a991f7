/* Minimal unit-test helpers: print "ok - NAME" / "not ok - NAME". */
#ifndef OHM_TESTS_T_H
#define OHM_TESTS_T_H
#include <stdio.h>
#include <string.h>
static int t_failed;
#define CHECK(cond, name)                                                      \
  do {                                                                         \
    if (cond)                                                                  \
      printf("ok - %s\n", name);                                               \
    else {                                                                     \
      printf("not ok - %s (%s:%d: %s)\n", name, __FILE__, __LINE__, #cond);    \
      t_failed++;                                                              \
    }                                                                          \
  } while (0)
#define CHECK_STR(a, b, name)                                                  \
  do {                                                                         \
    const char *a_ = (a), *b_ = (b);                                           \
    CHECK(a_ &&b_ &&strcmp(a_, b_) == 0, name);                                \
    if (!(a_ && b_ && strcmp(a_, b_) == 0))                                    \
      printf("    got \"%s\", want \"%s\"\n", a_ ? a_ : "(null)",              \
             b_ ? b_ : "(null)");                                              \
  } while (0)
#define T_DONE() return t_failed ? 1 : 0
#endif
