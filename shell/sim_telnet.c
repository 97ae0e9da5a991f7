/* `ohm sim DRIVER --telnet ADDR`: the BPS2000v2 console in front of the
 * simulator. cmd_sim.c starts the simulator on loopback Modbus TCP and
 * hands its URI here; a one-device serve cache polls it, and the console
 * (serve_telnet.c) serves that cache, so the simulator is reached exactly
 * as `ohm serve --telnet` reaches a real unit. Accounts as for serve: the
 * inventory's `console` section, --user + --password-file, or
 * OHM_CONSOLE_USER + OHM_PASSWORD; SIGHUP reads them again. */
#include <stdlib.h>
#include <string.h>

#include "serve.h"

static struct sv_cache *sim_cache;
static struct sh_opts sim_opts;
static char *sim_uri;

int sim_telnet_start(const char *addr, const char *device_uri,
                     const char *driver, const struct sh_opts *o,
                     struct ohm_error *e) {
  struct sv_config cfg = {0};
  struct inventory *inv;
  int rc;
  sim_opts = *o;
  sim_opts.driver = driver;
  cfg.opts = &sim_opts;
  cfg.interval = 1.0;
  cfg.jobs = 1;
  if (!(sim_uri = strdup(device_uri)))
    return ohm_error_set(e, OHM_ENOMEM, "out of memory");
  inv = sh_inventory(&sim_opts, e);
  if ((rc = sv_cache_new(&cfg, inv, &sim_uri, 1, &sim_cache, e)) < 0 ||
      (rc = serve_telnet_start(sim_cache, addr, &sim_opts, e)) < 0) {
    sv_cache_free(sim_cache);
    sim_cache = NULL;
    free(sim_uri);
    sim_uri = NULL;
    return rc;
  }
  return 0;
}

void sim_telnet_reload(void) {
  struct inventory *inv = NULL;
  struct ohm_error e;
  ohm_error_clear(&e);
  if (inv_load(sim_opts.config, &inv, &e) < 0) {
    serve_log("reload failed, keeping the old accounts: %s",
              ohm_error_text(&e));
    return;
  }
  serve_telnet_reload(inv);
  inv_free(inv);
}

void sim_telnet_stop(void) {
  serve_telnet_stop();
  sv_cache_free(sim_cache);
  sim_cache = NULL;
  free(sim_uri);
  sim_uri = NULL;
}
