/* util/lazy_libm: ohm_rint equals libm's nearbyint on every kind of
 * double, and the functions defined there reach libm (loaded on first
 * use) with libm's results. */
#include <dlfcn.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "t.h"
#include "util/lazy_libm.h"

/* Same value and same sign (0.0 and -0.0 differ), or both NaN. */
static int same(double a, double b) {
  if (isnan(a) || isnan(b)) return isnan(a) && isnan(b);
  return memcmp(&a, &b, sizeof a) == 0;
}

static int rint_agrees(double x) {
  if (same(ohm_rint(x), nearbyint(x))) return 1;
  printf("    x=%a ohm_rint=%a nearbyint=%a\n", x, ohm_rint(x), nearbyint(x));
  return 0;
}

static void test_rint_edges(void) {
  static const double xs[] = {0.0,
                              -0.0,
                              0.3,
                              -0.3,
                              0.5,
                              -0.5,
                              1.5,
                              -1.5,
                              2.5,
                              -2.5,
                              2.4999,
                              2.5001,
                              1e-300,
                              -1e-300,
                              0x1.fffffffffffffp51,
                              -0x1.fffffffffffffp51,
                              0x1p52,
                              0x1p52 + 1,
                              0x1p53 + 2,
                              1e300,
                              -1e300,
                              4503599627370495.5,
                              -4503599627370495.5,
                              0.49999999999999994,
                              -0.49999999999999994,
                              123.456 * 1000,
                              23.45 / 0.1,
                              8.3 / 0.01,
                              INFINITY,
                              -INFINITY,
                              NAN};
  int ok = 1;
  for (size_t i = 0; i < sizeof xs / sizeof *xs; i++)
    ok &= rint_agrees(xs[i]);
  CHECK(ok, "ohm_rint: ties to even, signed zeros, 2^52, huge, inf, NaN");
}

/* The next double from x away from zero (x finite, not zero). */
static double next_out(double x) {
  uint64_t u;
  memcpy(&u, &x, sizeof u);
  u++;
  memcpy(&x, &u, sizeof x);
  return x;
}

/* The next double from x toward zero (x finite, not zero). */
static double next_in(double x) {
  uint64_t u;
  memcpy(&u, &x, sizeof u);
  u--;
  memcpy(&x, &u, sizeof x);
  return x;
}

/* Random bit patterns and random values near the integers and halves. */
static void test_rint_random(void) {
  uint64_t s = 0x9e3779b97f4a7c15u;
  int ok = 1;
  for (int i = 0; i < 200000 && ok; i++) {
    s ^= s << 13, s ^= s >> 7, s ^= s << 17;
    double x;
    memcpy(&x, &s, sizeof x);
    ok &= rint_agrees(x);
    double k = (double)(int64_t)(s % 2000001) - 1000000.0;
    ok &= rint_agrees(k / 2) & rint_agrees(k / 1000);
    if (k != 0)
      ok &= rint_agrees(next_out(k / 2)) & rint_agrees(next_in(k / 2));
  }
  CHECK(ok, "ohm_rint = nearbyint on 1,000,000 values");
}

/* The forwarders return what libm.so.6 itself returns. */
static void test_forward(void) {
  void *h = dlopen("libm.so.6", RTLD_NOW | RTLD_LOCAL);
  double (*lsin)(double) = h ? (double (*)(double))dlsym(h, "sin") : NULL;
  double (*lpow)(double, double) =
      h ? (double (*)(double, double))dlsym(h, "pow") : NULL;
  long (*llround)(double) = h ? (long (*)(double))dlsym(h, "lround") : NULL;
  volatile double a = 1.0, b = 0.5, c = -2.5, d = 7.5, e = 2.0;
  CHECK(lsin && lpow && llround, "libm.so.6 opens");
  if (!lsin || !lpow || !llround) return;
  CHECK(same(sin(a), lsin(a)), "sin reaches libm");
  CHECK(same(pow(e, b), lpow(e, b)), "pow reaches libm");
  CHECK(lround(c) == llround(c) && lround(c) == -3, "lround reaches libm");
  CHECK(same(fmod(d, e), 1.5) && same(fmin(a, c), -2.5) &&
            same(fmax(a, c), 1.0) && same(atan2(0.0, -1.0), M_PI),
        "fmod, fmin, fmax, atan2");
  CHECK(same(sqrt(e), M_SQRT2) && same(log2(e), 1.0) &&
            same(log10(100.0), 2.0) && same(round(c), -3.0),
        "sqrt, log2, log10, round");
}

int main(void) {
  test_rint_edges();
  test_rint_random();
  test_forward();
  T_DONE();
}
