#include "clock.h"

#include <time.h>

static double seconds(clockid_t id) {
  struct timespec ts;
  clock_gettime(id, &ts);
  return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

double ohm_mono(void) {
  return seconds(CLOCK_MONOTONIC);
}

double ohm_real(void) {
  return seconds(CLOCK_REALTIME);
}
