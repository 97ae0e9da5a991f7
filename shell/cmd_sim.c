/* `ohm sim DRIVER [--modbus-tcp ADDR] [--modbus-rtu TTY] [--telnet ADDR]
 * [--units N]`: serve a driver's map as a simulated device until SIGINT or
 * SIGTERM. Loopback (127.0.0.1:1502) unless told otherwise. The console
 * takes serve's options (--user, --password-file, --idle-timeout,
 * --max-sessions); its accounts are checked before anything listens. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../devices/sim.h"
#include "serve.h"
#include "../devices/sim_bms.h"
#include "serve/snmp_agent.h"
#include "serve/snmp_sim.h"
#include "serve/snmp_sim_bm.h"
#include "shell.h"

static const char usage[] =
    "sim DRIVER [--modbus-tcp ADDR] [--modbus-rtu TTY] [--telnet ADDR] "
    "[--units N] [--serial TTY] [--tcp ADDR] [--packs N] [--runaway CELL] "
    "[--snmp ADDR [--strings N --blocks N]] [-q] [--user NAME --password-file "
    "FILE]\n"
    "  with --telnet also: --idle-timeout SECONDS, --max-sessions N";

struct sim_args {
  const char *driver, *tcp, *rtu, *telnet, *snmp;
  int units;
  int quiet; /* -q: no "listening" lines */
  struct serve_telnet_opts tel;
  int tel_set;             /* a console option was given */
  struct sim_bms_opts bms; /* --serial, --tcp, --packs, --runaway */
  int strings, blocks;     /* a battery monitor's (cps-bm100) */
};

enum {
  O_TCP = 256,
  O_RTU,
  O_TELNET,
  O_UNITS,
  O_SERIAL,
  O_RAW,
  O_PACKS,
  O_RUNAWAY,
  O_SNMP,
  O_STRINGS,
  O_BLOCKS
};

/* --packs N and --runaway CELL; -1 after a usage error. */
static int bms_num(const char *opt, const char *arg, int lo, int hi, int *out) {
  char *end;
  long n = strtol(arg, &end, 10);
  if (*end || end == arg || n < lo || n > hi) {
    sh_errorf(NULL, "bad --%s '%s' (%d to %d)", opt, arg, lo, hi);
    return -1;
  }
  *out = (int)n;
  return 0;
}

/* Returns -1 to exit with *rc (usage error printed, or --help). */
static int parse(int argc, char **argv, struct sim_args *a, int *rc) {
  static const struct option lo[] = {
      {"modbus-tcp", required_argument, NULL, O_TCP},
      {"modbus-rtu", required_argument, NULL, O_RTU},
      {"telnet", required_argument, NULL, O_TELNET},
      {"units", required_argument, NULL, O_UNITS},
      {"serial", required_argument, NULL, O_SERIAL},
      {"tcp", required_argument, NULL, O_RAW},
      {"packs", required_argument, NULL, O_PACKS},
      {"runaway", required_argument, NULL, O_RUNAWAY},
      {"snmp", required_argument, NULL, O_SNMP},
      {"strings", required_argument, NULL, O_STRINGS},
      {"blocks", required_argument, NULL, O_BLOCKS},
      {"quiet", no_argument, NULL, 'q'},
      {"verbose", no_argument, NULL, 'v'},
      {"help", no_argument, NULL, 'h'},
      SERVE_TELNET_LONG_OPTS,
      {NULL, 0, NULL, 0}};
  char *end;
  int c;
  long n;
  optind = 1;
  while ((c = getopt_long(argc, argv, "hqv", lo, NULL)) != -1) {
    switch (c) {
    case O_TCP:
      a->tcp = optarg;
      break;
    case O_RTU:
      a->rtu = optarg;
      break;
    case O_TELNET:
      a->telnet = optarg;
      break;
    case O_SNMP:
      a->snmp = optarg;
      break;
    case O_UNITS:
      n = strtol(optarg, &end, 10);
      if (*end || end == optarg || n < 1 || n > 247) {
        sh_errorf(NULL, "bad --units '%s' (1 to 247)", optarg);
        return *rc = EXIT_USAGE, -1;
      }
      a->units = (int)n;
      break;
    case O_SERIAL:
      a->bms.tty = optarg;
      break;
    case O_RAW:
      a->bms.tcp = optarg;
      break;
    case O_PACKS:
    case O_RUNAWAY:
      if (bms_num(c == O_PACKS ? "packs" : "runaway", optarg,
                  c == O_PACKS ? 1 : 0, 16,
                  c == O_PACKS ? &a->bms.packs : &a->bms.runaway) < 0)
        return *rc = EXIT_USAGE, -1;
      break;
    case O_STRINGS:
    case O_BLOCKS:
      if (bms_num(c == O_STRINGS ? "strings" : "blocks", optarg, 1,
                  c == O_STRINGS ? 4 : 40,
                  c == O_STRINGS ? &a->strings : &a->blocks) < 0)
        return *rc = EXIT_USAGE, -1;
      break;
    case 'q':
      a->quiet = 1;
      break;
    case 'v':
      sh_verbose++;
      break;
    case 'h':
      if (!sh_help_print(argv[0])) printf("usage: ohm %s\n", usage);
      return *rc = EXIT_OK, -1;
    default:
      if (c >= 0x7401 && c <= 0x7404 && serve_telnet_opt) {
        if (serve_telnet_opt(&a->tel, c, optarg) < 0) {
          sh_errorf(NULL, "sim: bad value '%s'", optarg);
          return *rc = EXIT_USAGE, -1;
        }
        a->tel_set = 1;
        break;
      }
      return *rc = sh_usage(usage), -1;
    }
  }
  if (optind != argc - 1) return *rc = sh_usage(usage), -1;
  if (a->tel_set && !a->telnet) {
    sh_errorf(NULL, "sim: --user, --password-file, --idle-timeout and "
                    "--max-sessions go with --telnet ADDR");
    return *rc = EXIT_USAGE, -1;
  }
  a->driver = argv[optind];
  if (!a->tcp && !a->rtu && !a->telnet && !a->snmp && !a->bms.tty &&
      !a->bms.tcp)
    a->tcp = "127.0.0.1:1502";
  return 0;
}

/* "modbus-tcp://HOST:PORT" with the port the simulator really got. */
static void tcp_uri(const char *addr, int port, char *buf, size_t n) {
  const char *colon = strrchr(addr, ':');
  int hl = colon ? (int)(colon - addr) : (int)strlen(addr);
  snprintf(buf, n, "modbus-tcp://%.*s:%d", hl, addr, port);
}

/* Until SIGINT or SIGTERM; SIGHUP re-reads the console's accounts. */
static int wait_signal(int telnet) {
  sigset_t set;
  int sig = 0;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  while (sigwait(&set, &sig) != 0 || sig == SIGHUP)
    if (sig == SIGHUP && telnet && sim_telnet_reload) sim_telnet_reload();
  return sig;
}

/* Start the console (if asked) on the simulator's own Modbus TCP side. */
static int start_telnet(const struct sim_args *a, const char *uri) {
  struct sh_opts o;
  struct ohm_error e;
  sh_opts_init(&o);
  ohm_error_clear(&e);
  if (sim_telnet_start(a->telnet, uri, a->driver, &o, &e) < 0) {
    sh_error(a->telnet, &e);
    return -1;
  }
  if (!a->quiet)
    fprintf(stderr, "ohm: sim %s console listening on telnet://%s\n", a->driver,
            a->telnet);
  return 0;
}

/* The console's options and accounts, before anything listens: a sim
 * that cannot serve its console must not announce its Modbus side. */
static int check_console(const struct sim_args *a) {
  struct sh_opts o;
  struct ohm_error e;
  sh_opts_init(&o);
  ohm_error_clear(&e);
  if (serve_telnet_set_opts) serve_telnet_set_opts(&a->tel);
  if (serve_telnet_accounts_check && serve_telnet_accounts_check(&o, &e) < 0) {
    sh_errorf("sim", "--telnet: %s", ohm_error_text(&e));
    return e.code == OHM_EINVAL ? EXIT_USAGE : EXIT_FAIL;
  }
  return 0;
}

static void say_listening(const struct sim_args *a, const char *uri) {
  if (a->quiet) return;
  if (uri[0])
    fprintf(stderr, "ohm: sim %s listening on %s (units 1-%d)\n", a->driver,
            uri, a->units);
  if (a->rtu)
    fprintf(stderr, "ohm: sim %s listening on modbus-rtu://%s (units 1-%d)\n",
            a->driver, a->rtu, a->units);
}

/* A driver with a frame dialect: the BMS simulator on --serial or --tcp. */
static int run_bms(struct sim_args *a, const struct dev_map *m) {
  struct sim_bms *s;
  struct ohm_error e;
  int rc;
  if (a->tcp || a->rtu || a->telnet) {
    sh_errorf(NULL,
              "sim %s: a BMS bank is served with --serial TTY or "
              "--tcp ADDR",
              a->driver);
    return EXIT_USAGE;
  }
  if (!a->bms.tty && !a->bms.tcp) a->bms.tcp = "127.0.0.1:8899";
  if ((rc = sim_bms_start(m, &a->bms, &s, &e)) < 0) {
    sh_error(a->driver, &e);
    return sh_exit_code(rc);
  }
  if (!a->quiet && a->bms.tty)
    fprintf(stderr, "ohm: sim %s: %d packs listening on serial://%s\n",
            a->driver, a->bms.packs, a->bms.tty);
  else if (!a->quiet)
    fprintf(stderr, "ohm: sim %s: %d packs listening on tcp://%.*s:%d\n",
            a->driver, a->bms.packs,
            (int)(strrchr(a->bms.tcp, ':') - a->bms.tcp), a->bms.tcp,
            sim_bms_port(s));
  wait_signal(0);
  sim_bms_stop(s);
  return EXIT_OK;
}

/* --snmp alone: the map's OIDs through the agent, until a signal. */
static int sim_snmp(const struct sim_args *a, const struct dev_map *m) {
  struct snmp_sim *s;
  struct ohm_error e;
  int port = 0;
  if (snmp_sim_start(m, a->snmp, "public", &port, &s, &e) < 0) {
    sh_error(a->driver, &e);
    return e.code == OHM_EINVAL ? EXIT_USAGE : EXIT_FAIL;
  }
  if (!a->quiet)
    fprintf(stderr, "ohm: sim %s listening on snmp://%.*s:%d\n", a->driver,
            strrchr(a->snmp, ':') ? (int)(strrchr(a->snmp, ':') - a->snmp) : 9,
            strrchr(a->snmp, ':') ? a->snmp : "127.0.0.1", port);
  wait_signal(0);
  sa_stop();
  snmp_sim_stop(s);
  return EXIT_OK;
}

int cmd_sim(int argc, char **argv) {
  struct sim_args a = {.units = 1, .bms = {.packs = 3}};
  const struct dev_map *m;
  struct ohm_error e;
  struct sim *s;
  sigset_t set;
  char uri[160] = "";
  int rc;
  if (parse(argc, argv, &a, &rc) < 0) return rc;
  if (a.telnet && !sim_telnet_start) {
    sh_errorf(NULL, "sim: telnet console not in this build");
    return EXIT_USAGE;
  }
  if (dev_driver_find(a.driver, &m, &e) < 0) {
    sh_error(a.driver, &e);
    return EXIT_USAGE;
  }
  if (a.telnet && (rc = check_console(&a)) != 0) return rc;
  if (a.snmp && (a.tcp || a.rtu || a.telnet)) {
    sh_errorf(NULL, "sim: --snmp goes alone (one device per simulator)");
    return EXIT_USAGE;
  }
  /* only the main thread takes the signals, through sigwait */
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &set, NULL);
  if (m->frame) return run_bms(&a, m);
  if (a.bms.tty || a.bms.tcp) {
    sh_errorf(NULL,
              "sim %s: --serial and --tcp serve BMS drivers (pace, "
              "pylontech)",
              a.driver);
    return EXIT_USAGE;
  }
  if ((a.strings || a.blocks) && !(a.snmp && snmp_sim_bm_wants(m))) {
    sh_errorf(NULL,
              "sim %s: --strings and --blocks go with --snmp for a "
              "battery monitor (cps-bm100)",
              a.driver);
    return EXIT_USAGE;
  }
  snmp_sim_bm_shape(a.strings ? a.strings : 2, a.blocks ? a.blocks : 8);
  if (a.snmp) return sim_snmp(&a, m);
  /* the console talks to the device over loopback Modbus TCP */
  const char *tcp = a.tcp ? a.tcp : (a.telnet ? "127.0.0.1:0" : NULL);
  if ((rc = sim_start(m, tcp, a.rtu, a.units, &s, &e)) < 0) {
    sh_error(a.driver, &e);
    return sh_exit_code(rc);
  }
  if (tcp) tcp_uri(tcp, sim_port(s), uri, sizeof uri);
  if (a.tcp)
    say_listening(&a, uri);
  else if (a.rtu)
    say_listening(&a, "");
  rc = a.telnet ? start_telnet(&a, uri) : 0;
  if (rc == 0) wait_signal(a.telnet != NULL);
  if (a.telnet && sim_telnet_stop) sim_telnet_stop();
  sim_stop(s);
  return rc == 0 ? EXIT_OK : EXIT_FAIL;
}
