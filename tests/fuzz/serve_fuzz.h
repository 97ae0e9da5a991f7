/* Shared by the serve fuzz targets: one serve cache over the built-in
 * simulator, made on first use and kept for the process (the poller runs
 * beside the fuzzer), and failed logins that never wait. */
#ifndef OHM_TESTS_FUZZ_SERVE_FUZZ_H
#define OHM_TESTS_FUZZ_SERVE_FUZZ_H

#include <stdlib.h>

#include "shell/serve.h"
#include "shell/serve/login.h"

static struct sv_cache *fuzz_cache(void) {
  static struct sv_cache *c;
  static struct sh_opts o;
  static char uri[] = "sim:bps2000v2";
  static char *names[] = {uri};
  struct sv_config cfg = {0};
  struct ohm_error e;
  if (c) return c;
  setenv("OHM_CONFIG", "/nonexistent", 1);
  sh_opts_init(&o);
  cfg.opts = &o;
  cfg.interval = 0.2;
  cfg.jobs = 1;
  lg_no_delays(1);
  if (sv_cache_new(&cfg, sh_inventory(&o, &e), names, 1, &c, &e) < 0) abort();
  sv_cache_wait_first(c, 5);
  return c;
}

#endif
