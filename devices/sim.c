/* The simulator (placeholder until the server lands). */
#include "sim.h"

#include <stddef.h>

int sim_start(const struct dev_map *m, const char *tcp_addr,
              const char *rtu_tty, int units, struct sim **out,
              struct ohm_error *e) {
  *out = NULL;
  return ohm_error_set(e, OHM_ENOTSUP, "simulator not in this build");
}

int sim_port(const struct sim *s) {
  return 0;
}

void sim_stop(struct sim *s) {
}
