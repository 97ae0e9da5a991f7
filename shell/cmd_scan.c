/* ohm scan: find what answers and print it as an inventory snippet (or
 * --json).
 *   ohm scan modbus-rtu:///dev/ttyUSB0?baud=9600 | modbus-tcp://GATEWAY
 *       units 1..247 (or --units 1-50|1,7,42): a unit is present when it
 *       answers anything, an exception included; a short per-unit timeout.
 *   ohm scan snmp://[COMMUNITY@]HOST|NET/PREFIX[:PORT] [--port N]
 *       each address: sysObjectID, sysDescr and the driver whose map's
 *       signature answers (devices/detect.c).
 * One probe at a time, each bounded by --timeout (default 0.3 s) without
 * retries: the whole scan is bounded by addresses x timeout. A progress
 * line on stderr when it is a terminal. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../transports/snmp.h"
#include "output.h"
#include "shell.h"

#define SCAN_USAGE                                                             \
  "scan [OPTS] [--units LIST] [--port N] URI|snmp://[COMMUNITY@]NET/PREFIX"
#define SCAN_HOSTS_MAX 4096

struct scan {
  struct sh_opts o;
  unsigned char units[256]; /* Modbus units to probe */
  long port;                /* SNMP port, 0: the URI's */
  int tty;
  size_t found;
  struct sh_out out;
};

/* "1-50", "1,7,42", "1-5,9": units set in s->units. */
static int parse_units(const char *arg, unsigned char *u) {
  char *copy = strdup(arg), *save = NULL, *tok;
  int ok = copy != NULL;
  memset(u, 0, 256);
  for (tok = copy ? strtok_r(copy, ",", &save) : NULL; tok && ok;
       tok = strtok_r(NULL, ",", &save)) {
    char *end;
    long a = strtol(tok, &end, 10), b = a;
    if (*end == '-') b = strtol(end + 1, &end, 10);
    ok = end != tok && !*end && a >= 0 && a <= b && b <= 247;
    for (long k = a; ok && k <= b; k++)
      u[k] = 1;
  }
  free(copy);
  return ok ? 0 : -1;
}

/* Our options out of argv (--units LIST, --port N). */
static int take_own(int *argc, char **argv, struct scan *s) {
  int n = 1;
  for (int i = 1; i < *argc; i++) {
    int units = strcmp(argv[i], "--units") == 0,
        port = strcmp(argv[i], "--port") == 0;
    char *end;
    if (!units && !port) {
      argv[n++] = argv[i];
      continue;
    }
    if (i + 1 >= *argc)
      return sh_errorf("scan", "%s needs a value", argv[i]), -1;
    if (units && parse_units(argv[++i], s->units) < 0)
      return sh_errorf("scan", "bad --units '%s' (1-247, 1,7,42)", argv[i]), -1;
    if (port && ((s->port = strtol(argv[++i], &end, 10)) < 1 ||
                 s->port > 65535 || *end))
      return sh_errorf("scan", "bad --port '%s'", argv[i]), -1;
  }
  *argc = n;
  return 0;
}

static void progress(const struct scan *s, const char *what, size_t i,
                     size_t n) {
  if (!s->tty) return;
  fprintf(stderr, "\rohm: scan: %s %zu/%zu, %zu found ", what, i, n, s->found);
  if (i == n) fprintf(stderr, "\r%60s\r", "");
}

/* One entry of the snippet, or one JSON object. */
static void emit(struct scan *s, const char *name, const char *uri,
                 const char *driver, const char *objid, const char *descr) {
  /* the default community needs no writing (and hides nothing): the
   * snippet stays an inventory ohm reads; any other is shown as *** */
  char plain[600];
  if (!strncmp(uri, "snmp://public@", 14)) {
    snprintf(plain, sizeof plain, "snmp://%s", uri + 14);
    uri = plain;
  }
  char *safe = ohm_uri_redact(uri);
  if (s->o.mode == SH_JSON) {
    const char *k[] = {"name", "uri", "driver", "sysobjectid", "sysdescr"};
    const char *v[] = {name, safe ? safe : "", driver, objid, descr};
    sh_out_str(&s->out, s->found ? ",\n  {" : "[\n  {");
    for (int j = 0, n = 0; j < 5; j++) {
      if (!v[j]) continue;
      sh_out_printf(&s->out, "%s\"%s\": ", n++ ? ", " : "", k[j]);
      sh_out_json_str(&s->out, v[j]);
    }
    sh_out_str(&s->out, "}");
  } else {
    if (!s->found) printf("devices = {\n");
    printf("  [\"%s\"] = { uri = \"%s\"", name, safe ? safe : "");
    if (driver) printf(", driver = \"%s\"", driver);
    printf(" },");
    if (objid && objid[0]) printf(" -- %s", objid);
    if (descr && descr[0])
      printf("%s%.80s", objid && objid[0] ? ": " : " -- ", descr);
    printf("\n");
  }
  s->found++;
  free(safe);
}

static int scan_modbus(struct scan *s, const char *uri) {
  struct ohm_error e;
  struct tp *t;
  char name[32], u[600];
  const char *q = strchr(uri, '?');
  int rc;
  size_t n = 0, i = 0;
  for (int k = 1; k < 248; k++)
    n += s->units[k];
  if ((rc = tp_open(uri, &s->o.tp, &t, &e)) < 0) {
    sh_error(uri, &e);
    return sh_exit_code(rc);
  }
  if (t->ops->kind != TP_REGS) {
    tp_free(t);
    return sh_errorf(uri, "not a Modbus or SNMP URI"), EXIT_USAGE;
  }
  for (int k = 1; k < 248 && !tp_interrupted; k++) {
    uint16_t r[1];
    if (!s->units[k]) continue;
    progress(s, "unit", ++i, n);
    rc = tp_modbus(t, k, 3, 0, 1, r, &e);
    if (rc < 0 && rc != OHM_EDEVICE) continue; /* silent, or garbled */
    snprintf(name, sizeof name, "unit%d", k);
    snprintf(u, sizeof u, "%s%sunit=%d", uri, q ? "&" : "?", k);
    emit(s, name, u, s->o.driver, NULL, NULL);
  }
  tp_free(t);
  return EXIT_OK;
}

/* snmp://[COMMUNITY@]HOST[/PREFIX][:PORT][?QUERY] split up. */
struct snmp_target {
  char user[128], host[64], query[256];
  int prefix;
  long port;
};

static int parse_snmp(const char *uri, struct snmp_target *st) {
  const char *p = uri + strlen("snmp://"), *at = strchr(p, '@'), *q;
  char *end;
  size_t n;
  memset(st, 0, sizeof *st);
  st->prefix = 32;
  st->port = 161;
  if (at && (size_t)(at - p) < sizeof st->user) {
    memcpy(st->user, p, (size_t)(at - p));
    p = at + 1;
  }
  if ((q = strchr(p, '?'))) snprintf(st->query, sizeof st->query, "%s", q);
  n = strcspn(p, "/:?");
  if (n == 0 || n >= sizeof st->host) return -1;
  memcpy(st->host, p, n);
  p += n;
  if (*p == '/') {
    st->prefix = (int)strtol(p + 1, &end, 10);
    if (end == p + 1 || st->prefix < 20 || st->prefix > 32) return -1;
    p = end;
  }
  if (*p == ':') {
    st->port = strtol(p + 1, &end, 10);
    if (end == p + 1 || st->port < 1 || st->port > 65535) return -1;
    p = end;
  }
  return *p == 0 || *p == '?' ? 0 : -1;
}

static void probe_agent(struct scan *s, const struct snmp_target *st,
                        const char *host) {
  char uri[600], objid[256], descr[256];
  const struct dev_map *m = NULL;
  struct ohm_error e;
  struct tp *t;
  snprintf(uri, sizeof uri, "snmp://%s%s%s:%ld%s", st->user,
           st->user[0] ? "@" : "", host, s->port ? s->port : st->port,
           st->query);
  if (tp_open(uri, &s->o.tp, &t, &e) < 0) return;
  if (dev_snmp_ident(t, objid, sizeof objid, descr, sizeof descr, &e) == 0) {
    if (s->o.driver) {
      if (dev_driver_find(s->o.driver, &m, &e) < 0) m = NULL;
    } else if (dev_driver_detect(t, &m, &e) < 0)
      m = NULL;
    emit(s, host, uri, m ? m->name : NULL, objid, descr);
  }
  tp_free(t);
}

static int scan_snmp(struct scan *s, const char *uri) {
  struct snmp_target st;
  struct in_addr a;
  char host[INET_ADDRSTRLEN];
  if (parse_snmp(uri, &st) < 0)
    return sh_errorf(uri, "bad scan target (snmp://[COMMUNITY@]HOST or "
                          "NET/PREFIX, prefix 20..32)"),
           EXIT_USAGE;
  if (st.prefix == 32 || inet_pton(AF_INET, st.host, &a) != 1) {
    if (st.prefix != 32)
      return sh_errorf(uri, "a range needs an IPv4 network"), EXIT_USAGE;
    probe_agent(s, &st, st.host);
    return EXIT_OK;
  }
  uint32_t net = ntohl(a.s_addr) & ~((1u << (32 - st.prefix)) - 1) &
                 (st.prefix ? 0xffffffffu : 0);
  uint32_t n = 1u << (32 - st.prefix), first = n > 2 ? 1 : 0,
           last = n > 2 ? n - 2 : n - 1;
  for (uint32_t i = first; i <= last && !tp_interrupted; i++) {
    struct in_addr h = {htonl(net + i)};
    inet_ntop(AF_INET, &h, host, sizeof host);
    progress(s, "address", i - first + 1, last - first + 1);
    probe_agent(s, &st, host);
  }
  return EXIT_OK;
}

/* A battery bank on a byte stream (serial://, tcp://): scan_bank.c. */
static int is_bank(int argc, char **argv) {
  for (int k = 1; k < argc; k++)
    if (!strncmp(argv[k], "serial:", 7) || !strncmp(argv[k], "tcp:", 4))
      return 1;
  return 0;
}

int cmd_scan(int argc, char **argv) {
  struct scan s;
  int i, rc;
  if (is_bank(argc, argv)) return sh_scan_bank(argc, argv);
  memset(&s, 0, sizeof s);
  sh_opts_init(&s.o);
  memset(s.units + 1, 1, 247);
  if (take_own(&argc, argv, &s) < 0) return EXIT_USAGE;
  if ((i = sh_parse_common(argc, argv, &s.o, SCAN_USAGE)) < 0)
    return EXIT_USAGE;
  if (argc - i != 1) return sh_usage(SCAN_USAGE);
  if (s.o.tp.timeout <= 0) s.o.tp.timeout = 0.3;
  if (s.o.tp.retries < 0) s.o.tp.retries = 0;
  s.tty = isatty(STDERR_FILENO);
  sh_out_init(&s.out, s.o.mode, stdout);
  if (strncmp(argv[i], "snmp://", 7) == 0)
    rc = scan_snmp(&s, argv[i]);
  else
    rc = scan_modbus(&s, argv[i]);
  if (s.o.mode == SH_JSON)
    sh_out_str(&s.out, s.found ? "\n]\n" : "[]\n");
  else if (s.found)
    printf("}\n");
  fflush(stdout);
  if (rc == EXIT_OK && !s.found) {
    sh_errorf(argv[i], "nothing answered");
    rc = EXIT_FAIL;
  }
  return rc;
}
