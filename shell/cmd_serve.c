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

static const char serve_usage[] =
    "serve [OPTS] [--nut ADDR] [--prometheus ADDR] [--telnet ADDR] "
    "[--mqtt URI] [--snmp ADDR | --agentx SOCKET] [--interval SECONDS] [--jobs "
    "N] [--shard "
    "K/N] [--syslog] "
    "[--user NAME --password-file FILE] [--idle-timeout SECONDS] "
    "[--max-sessions N] [DEVICE...]";

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

/* HOST:PORT, [V6]:PORT, or PORT alone (127.0.0.1). */
static int split_addr(const char *addr, char *host, size_t hn, char *port,
                      size_t pn) {
  const char *colon = strrchr(addr, ':');
  if (!colon) {
    snprintf(host, hn, "127.0.0.1");
    snprintf(port, pn, "%s", addr);
  } else if (addr[0] == '[') {
    const char *end = strchr(addr, ']');
    if (!end || end[1] != ':') return -1;
    snprintf(host, hn, "%.*s", (int)(end - addr - 1), addr + 1);
    snprintf(port, pn, "%s", end + 2);
  } else {
    snprintf(host, hn, "%.*s", (int)(colon - addr), addr);
    snprintf(port, pn, "%s", colon + 1);
  }
  /* in range here: getaddrinfo takes "99999" and wraps it to 34463 */
  return *port && strspn(port, "0123456789") == strlen(port) &&
                 strlen(port) <= 5 && atol(port) <= 65535
             ? 0
             : -1;
}

int serve_listen(const char *addr, struct ohm_error *e) {
  char host[256], port[16];
  struct addrinfo hints = {.ai_family = AF_UNSPEC,
                           .ai_socktype = SOCK_STREAM,
                           .ai_flags = AI_PASSIVE | AI_NUMERICSERV},
                  *res;
  if (split_addr(addr, host, sizeof host, port, sizeof port) < 0)
    return ohm_error_set(e, OHM_EINVAL, "bad address '%s' (HOST:PORT)", addr);
  int rc = getaddrinfo(*host ? host : NULL, port, &hints, &res);
  if (rc) return ohm_error_set(e, OHM_EINVAL, "%s: %s", addr, gai_strerror(rc));
  int fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
  if (fd >= 0) {
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, res->ai_addr, res->ai_addrlen) < 0 || listen(fd, 64) < 0) {
      rc = errno;
      close(fd);
      fd = -1;
      errno = rc;
    }
  }
  freeaddrinfo(res);
  if (fd < 0)
    return ohm_error_set(e, OHM_EIO, "cannot listen on %s (%s)", addr,
                         strerror(errno));
  return fd;
}

struct serve_cli {
  struct sh_opts o;
  struct sv_config cfg;
  const char *nut, *prom, *telnet, *snmp, *agentx, *mqtt;
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
  OPT_SNMP,
  OPT_AGENTX,
  OPT_MQTT
};

static int serve_opt(void *ctx, int opt, const char *arg) {
  struct serve_cli *s = ctx;
  char *end;
  double v;
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
  case OPT_INTERVAL:
    v = strtod(arg, &end);
    if (*end || !(v >= 0.05 && v <= 86400)) break;
    s->cfg.interval = v;
    return 0;
  case OPT_JOBS:
    v = strtod(arg, &end);
    if (*end || !(v >= 1 && v <= 1024)) break;
    s->cfg.jobs = (int)v;
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
  if (!s.nut && !s.prom && !s.telnet && !s.snmp && !s.agentx && !s.mqtt) {
    sh_errorf(NULL, "serve: no listener: give --nut ADDR, --prometheus ADDR "
                    "or --telnet ADDR (see ohm serve --help)");
    return EXIT_USAGE;
  }
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
  /* signals go to signal_loop only: block them before any thread starts */
  sigemptyset(&set);
  sigaddset(&set, SIGHUP);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, NULL);
  signal(SIGPIPE, SIG_IGN);
  if (sv_cache_new(&s.cfg, inv, argv + ind, (size_t)(argc - ind), &c, &e) < 0) {
    sh_error(NULL, &e);
    sv_cache_free(c);
    return sh_exit_code(e.code) == EXIT_USAGE ? EXIT_USAGE : EXIT_FAIL;
  }
  int rc = start_listeners(&s, c);
  if (rc < 0) {
    stop_listeners(&s);
    sv_cache_free(c);
    return sh_exit_code(rc) == EXIT_USAGE ? EXIT_USAGE : EXIT_FAIL;
  }
  signal_loop(&s, c, &set);
  return EXIT_OK;
}
