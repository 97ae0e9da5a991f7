/* libm loaded on first use (util/lazy_libm.c), and the one rounding the
 * one-shot paths need without it. */
#ifndef OHM_UTIL_LAZY_LIBM_H
#define OHM_UTIL_LAZY_LIBM_H

/* nearbyint(x) in the default rounding mode (to nearest, ties to even),
 * exact for every double, computed inline: decoding and formatting a value
 * must not load libm. From 2^52 up every double is an integer; below it,
 * adding 2^52 leaves no fraction bits, so the addition rounds. */
static inline double ohm_rint(double x) {
  const double two52 = 4503599627370496.0;
  double a = __builtin_fabs(x);
  if (!(a < two52)) return x; /* also NaN and the infinities */
  double t = a + two52;       /* rounded to double here, even with x87 */
  return __builtin_copysign(t - two52, x);
}

#endif
