/* Time as seconds in a double: monotonic for timeouts and rates, real
 * (wall clock) for timestamps shown to people. */
#ifndef OHM_UTIL_CLOCK_H
#define OHM_UTIL_CLOCK_H

double ohm_mono(void);
double ohm_real(void);

#endif
