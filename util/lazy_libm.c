/* libm, loaded on first use like the libraries of util/lazy.h.
 *
 * Linked normally, libm.so.6 costs every start-up its mapping and
 * relocation: about 10 % of the CPU of a one-shot `ohm get`, which uses no
 * libm function (measured with bench/c/mb_oneshot linked with and without
 * -lm). Lua's VM (`^`, float `%`, the math library) and the simulators do
 * use it, and liblua5.4.a is precompiled, so the lazy header's macros cannot
 * reach it: the functions themselves are defined here instead, each a call
 * through a pointer resolved from libm.so.6 on the first call of any of
 * them. ohm is not linked with -lm; these definitions are hidden, never
 * exported (a sanitizer runtime needing libm would otherwise export them),
 * so a library ohm loads binds to libm's own.
 *
 * The list is what the link needs (floor, ceil and trunc too, which GCC
 * inlines at -O2 but not at -O0): a new libm call fails to link until it is
 * added here. */
#include <dlfcn.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

#define LIBM_D1(X)                                                             \
  X(acos)                                                                      \
  X(asin)                                                                      \
  X(ceil)                                                                      \
  X(cos)                                                                       \
  X(cosh)                                                                      \
  X(exp)                                                                       \
  X(floor)                                                                     \
  X(log)                                                                       \
  X(log10)                                                                     \
  X(log2)                                                                      \
  X(nearbyint)                                                                 \
  X(round)                                                                     \
  X(sin)                                                                       \
  X(sinh)                                                                      \
  X(sqrt)                                                                      \
  X(tan)                                                                       \
  X(tanh)                                                                      \
  X(trunc)
#define LIBM_D2(X)                                                             \
  X(atan2)                                                                     \
  X(fmax)                                                                      \
  X(fmin)                                                                      \
  X(fmod)                                                                      \
  X(pow)
#define LIBM_L1(X) X(lround)

#define ENUM(n) L_##n,
enum { LIBM_D1(ENUM) LIBM_D2(ENUM) LIBM_L1(ENUM) L_N };
#define NAME(n) #n,
static const char *const names[L_N] = {LIBM_D1(NAME) LIBM_D2(NAME)
                                           LIBM_L1(NAME)};
static void *fn[L_N];
static pthread_once_t once = PTHREAD_ONCE_INIT;

/* libm.so.6 is part of libc6, so it is missing only on a broken system:
 * fail as the dynamic linker would have at start-up (exit 127). */
static void load(void) {
  void *h = dlopen("libm.so.6", RTLD_NOW | RTLD_LOCAL);
  for (int i = 0; h && i < L_N; i++)
    if (!(fn[i] = dlsym(h, names[i]))) h = NULL;
  if (h) return;
  const char *why = dlerror();
  fprintf(stderr, "ohm: cannot load libm.so.6 (%s)\n", why ? why : "?");
  _exit(127);
}

static void *sym(int i) {
  pthread_once(&once, load);
  return fn[i];
}

#define HIDDEN __attribute__((visibility("hidden")))
#define DEF_D1(n)                                                              \
  HIDDEN double n(double x) {                                                  \
    return ((double (*)(double))sym(L_##n))(x);                                \
  }
#define DEF_D2(n)                                                              \
  HIDDEN double n(double x, double y) {                                        \
    return ((double (*)(double, double))sym(L_##n))(x, y);                     \
  }
#define DEF_L1(n)                                                              \
  HIDDEN long n(double x) {                                                    \
    return ((long (*)(double))sym(L_##n))(x);                                  \
  }
LIBM_D1(DEF_D1)
LIBM_D2(DEF_D2)
LIBM_L1(DEF_L1)
