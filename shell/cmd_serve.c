/* `ohm serve`: poll the inventory on an interval into the cache
 * (serve_cache.c) and serve it to NUT clients (--nut), Prometheus
 * (--prometheus) and the BPS2000v2 console (--telnet). Foreground; logs to
 * stderr (or syslog with --syslog). SIGHUP reloads the inventory, SIGTERM
 * and SIGINT stop cleanly: listeners first, then the poller. */
#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "serve.h"
#include "serve/serve_rules.h"
#include "serve/listen.h"

static const char serve_usage[] =
    "serve [OPTS] [--nut ADDR] [--prometheus ADDR] [--telnet ADDR] "
    "[--mqtt URI] [--snmp ADDR | --agentx SOCKET] [--interval SECONDS] [--jobs "
    "N] [--shard "
    "K/N] [--syslog] "
    "[--user NAME --password-file FILE] [--idle-timeout SECONDS] "
    "[--max-sessions N] [--rules FILE [--check]] [--events-log FILE] "
    "[--traps ADDR] [DEVICE...]";

static int use_syslog, quiet;

void serve_log_syslog(int on) {
  use_syslog = on;
  if (on) openlog("ohm", LOG_PID, LOG_DAEMON);
}

void serve_log_quiet(int on) {
  quiet = on;
}

static void vlog(int level, const char *fmt, va_list ap) {
  if (use_syslog) {
    vsyslog(level, fmt, ap);
  } else { /* local time, as syslog would stamp it; one write a line */
    char when[32], line[1024];
    time_t now = time(NULL);
    struct tm tm;
    strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", localtime_r(&now, &tm));
    vsnprintf(line, sizeof line, fmt, ap);
    fprintf(stderr, "ohm: serve: %s %s\n", when, line);
  }
}

void serve_log(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vlog(LOG_WARNING, fmt, ap);
  va_end(ap);
}

void serve_info(const char *fmt, ...) {
  va_list ap;
  if (quiet) return;
  va_start(ap, fmt);
  vlog(LOG_INFO, fmt, ap);
  va_end(ap);
}

struct serve_cli {
  struct sh_opts o;
  struct sv_config cfg;
  const char *nut, *prom, *telnet, *snmp, *agentx, *mqtt;
  const char *rules, *evlog, *traps; /* --rules, --events-log, --traps */
  int check; /* --check: print what the rules would do */
  struct serve_telnet_opts tel;
  int telnet_opts;
};

enum {
  OPT_NUT = 400,
  OPT_PROM,
  OPT_TELNET,
  OPT_INTERVAL,
  OPT_JOBS,
  OPT_SHARD,
  OPT_SYSLOG,
  OPT_RULES,
  OPT_CHECK,
  OPT_EVLOG,
  OPT_TRAPS,
  OPT_SNMP,
  OPT_AGENTX,
  OPT_MQTT
};

static int serve_opt(void *ctx, int opt, const char *arg) {
  struct serve_cli *s = ctx;
  double v;
  long n;
  switch (opt) {
  case OPT_NUT:
    s->nut = arg;
    return 0;
  case OPT_PROM:
    s->prom = arg;
    return 0;
  case OPT_TELNET:
    s->telnet = arg;
    return 0;
  case OPT_SYSLOG:
    serve_log_syslog(1);
    return 0;
  case OPT_SNMP:
    s->snmp = arg;
    return 0;
  case OPT_AGENTX:
    s->agentx = arg;
    return 0;
  case OPT_MQTT:
    s->mqtt = arg;
    return 0;
  case OPT_RULES:
    s->rules = arg;
    return 0;
  case OPT_CHECK:
    s->check = 1;
    return 0;
  case OPT_EVLOG:
    s->evlog = arg;
    return 0;
  case OPT_TRAPS:
    s->traps = arg;
    return 0;
  case OPT_INTERVAL: /* decimal only: no hex, exponent, inf */
    if (ls_decimal(arg, &v) < 0 || !(v >= 0.05 && v <= 86400)) break;
    s->cfg.interval = v;
    return 0;
  case OPT_JOBS:
    if (ls_decimal_int(arg, 1, 1024, &n) < 0) break;
    s->cfg.jobs = (int)n;
    return 0;
  case OPT_SHARD:
    if (fleet_parse_shard(arg, &s->cfg.shard_k, &s->cfg.shard_n) < 0) break;
    return 0;
  default: {
    int r = serve_telnet_opt ? serve_telnet_opt(&s->tel, opt, arg) : 0;
    if (r == 1) {
      s->telnet_opts = 1;
      return 0;
    }
    if (r < 0) break; /* a console option with a bad value */
    if (opt >= 0x7401 && opt <= 0x7404 && !serve_telnet_opt)
      sh_errorf(NULL, "serve: the Telnet console is not in this build");
    return -1;
  }
  }
  sh_errorf(NULL, "serve: bad value '%s'", arg);
  return -1;
}

/* Start the listeners asked for; on failure print and return the error
 * code (< 0): OHM_EINVAL for a bad address, a usage error. */
static int start_listeners(struct serve_cli *s, struct sv_cache *c) {
  struct ohm_error e;
  ohm_error_clear(&e);
  if (s->telnet && (!serve_telnet_start)) {
    sh_errorf(NULL, "serve: --telnet: the console is not in this build");
    return -1;
  }
  if (s->telnet && serve_telnet_set_opts) serve_telnet_set_opts(&s->tel);
  if ((s->nut && serve_nut_start(c, s->nut, &s->o, &e) < 0) ||
      (s->prom && serve_prom_start(c, s->prom, &e) < 0) ||
      (s->telnet && serve_telnet_start(c, s->telnet, &s->o, &e) < 0) ||
      ((s->snmp || s->agentx) &&
       serve_snmp_start(c, s->snmp, s->agentx, sh_inventory(&s->o, &e), &e) <
           0) ||
      (s->mqtt &&
       serve_mqtt_start(c, s->mqtt, sh_inventory(&s->o, &e), &e) < 0)) {
    sh_errorf(NULL, "serve: %s", ohm_error_text(&e));
    return e.code < 0 ? e.code : -1;
  }
  if (s->snmp || s->agentx)
    serve_info("SNMP %s %s", s->snmp ? "agent on" : "subagent of",
               s->snmp ? s->snmp : s->agentx);
  serve_info("serving %zu device(s)%s%s%s%s%s%s", sv_cache_count(c),
             s->nut ? "; NUT on " : "", s->nut ? s->nut : "",
             s->prom ? "; Prometheus on " : "", s->prom ? s->prom : "",
             s->telnet ? "; Telnet on " : "", s->telnet ? s->telnet : "");
  return 0;
}

static void stop_listeners(struct serve_cli *s) {
  if (s->snmp || s->agentx) serve_snmp_stop();
  if (s->mqtt) serve_mqtt_stop();
  if (s->telnet && serve_telnet_stop) serve_telnet_stop();
  serve_prom_stop();
  serve_nut_stop();
}

/* SIGHUP: read the inventory again and swap the device list. The old
 * inventory stays until the swap is done (the poller opens through it). */
static void reload(struct serve_cli *s, struct sv_cache *c,
                   struct inventory **mine) {
  struct inventory *inv;
  struct ohm_error e;
  if (inv_load(s->o.config, &inv, &e) < 0) {
    serve_log("reload failed, keeping the old inventory: %s",
              ohm_error_text(&e));
    return;
  }
  serve_nut_reload(inv);
  serve_rules_reload(inv);
  if (s->telnet && serve_telnet_reload) serve_telnet_reload(inv);
  if (sv_cache_reload(c, inv, &e) < 0) {
    serve_log("reload: %s", ohm_error_text(&e));
  } else {
    serve_info("reloaded: %zu device(s)", sv_cache_count(c));
    if (s->mqtt) serve_mqtt_reload(inv);
    if (s->snmp || s->agentx) serve_snmp_reload(c);
  }
  inv_free(*mine);
  *mine = inv;
}

/* Wait for signals on this thread (all others have them blocked). */
static void signal_loop(struct serve_cli *s, struct sv_cache *c,
                        const sigset_t *set) {
  struct inventory *mine = NULL;
  for (;;) {
    int sig;
    if (sigwait(set, &sig) != 0) continue;
    if (sig == SIGHUP) {
      reload(s, c, &mine);
      continue;
    }
    serve_log("%s: stopping", sig == SIGTERM ? "SIGTERM" : "SIGINT");
    break;
  }
  tp_interrupt(); /* first: wake a poll or a client's write blocked on a
                   * dead device, which the listeners' stop waits for */
  stop_listeners(s);
  serve_rules_close(); /* its jobs may still use the cache */
  sv_cache_free(c);
  inv_free(mine);
}

int cmd_serve(int argc, char **argv) {
  static const struct option own[] = {
      {"nut", required_argument, NULL, OPT_NUT},
      {"prometheus", required_argument, NULL, OPT_PROM},
      {"telnet", required_argument, NULL, OPT_TELNET},
      {"interval", required_argument, NULL, OPT_INTERVAL},
      {"jobs", required_argument, NULL, OPT_JOBS},
      {"shard", required_argument, NULL, OPT_SHARD},
      {"syslog", no_argument, NULL, OPT_SYSLOG},
      {"rules", required_argument, NULL, OPT_RULES},
      {"check", no_argument, NULL, OPT_CHECK},
      {"events-log", required_argument, NULL, OPT_EVLOG},
      {"traps", required_argument, NULL, OPT_TRAPS},
      {"snmp", required_argument, NULL, OPT_SNMP},
      {"agentx", required_argument, NULL, OPT_AGENTX},
      {"mqtt", required_argument, NULL, OPT_MQTT},
      SERVE_TELNET_LONG_OPTS,
      {NULL, 0, NULL, 0}};
  struct serve_cli s;
  struct ohm_error e;
  struct sv_cache *c = NULL;
  sigset_t set;
  memset(&s, 0, sizeof s);
  sh_opts_init(&s.o);
  s.cfg.interval = 10;
  int ind = fleet_getopt(argc, argv, &s.o, own, "", serve_opt, &s, serve_usage);
  if (ind < 0) return EXIT_USAGE;
  if (s.snmp && s.agentx) {
    sh_errorf(NULL, "serve: --snmp ADDR or --agentx SOCKET, not both");
    return EXIT_USAGE;
  }
  s.cfg.opts = &s.o;
  serve_log_quiet(s.o.quiet);
  struct inventory *inv = sh_inventory(&s.o, &e);
  if (!inv) {
    sh_error(NULL, &e);
    return EXIT_FAIL;
  }
  int nrules = serve_rules_open(s.rules, s.evlog, inv, s.check, stdout, &e);
  if (nrules < 0 || s.check) {
    if (nrules < 0) sh_errorf(NULL, "serve: rules: %s", ohm_error_text(&e));
    return nrules < 0 ? EXIT_FAIL : EXIT_OK;
  }
  if (!s.nut && !s.prom && !s.telnet && !s.snmp && !s.agentx && !s.mqtt &&
      !nrules) {
    sh_errorf(NULL, "serve: no listener: give --nut ADDR, --prometheus ADDR, "
                    "--telnet ADDR, --snmp ADDR, --agentx SOCKET or --mqtt "
                    "URI, or --rules FILE (see ohm serve --help)");
    return EXIT_USAGE;
  }
  if (nrules) s.cfg.on_read = serve_rules_on_read;
  /* signals go to signal_loop only: block them before any thread starts */
  sigemptyset(&set);
  sigaddset(&set, SIGHUP);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, NULL);
  signal(SIGPIPE, SIG_IGN);
  if (sv_cache_new(&s.cfg, inv, argv + ind, (size_t)(argc - ind), &c, &e) < 0) {
    sh_error(NULL, &e);
    serve_rules_close();
    sv_cache_free(c);
    return sh_exit_code(e.code) == EXIT_USAGE ? EXIT_USAGE : EXIT_FAIL;
  }
  int rc = start_listeners(&s, c);
  if (rc == 0 && (serve_rules_attach(c, &e) < 0 ||
                  (s.traps && serve_rules_traps(s.traps, inv, &e) < 0))) {
    sh_error(NULL, &e);
    rc = e.code;
  }
  if (rc < 0) {
    stop_listeners(&s);
    serve_rules_close();
    sv_cache_free(c);
    return sh_exit_code(rc) == EXIT_USAGE ? EXIT_USAGE : EXIT_FAIL;
  }
  signal_loop(&s, c, &set);
  return EXIT_OK;
}
