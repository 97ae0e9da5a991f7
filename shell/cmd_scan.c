/* ohm scan: find what answers and print it as an inventory snippet (or
 * --json).
 *   ohm scan modbus-rtu:///dev/ttyUSB0?baud=9600 | modbus-tcp://GATEWAY
 *       units 1..247 (or --units 1-50|1,7,42): a unit is present when it
 *       answers anything, an exception included; a short per-unit timeout.
 *   ohm scan snmp://[COMMUNITY@]HOST|NET/PREFIX[:PORT] [--port N]
 *       each address: sysObjectID, sysDescr and the driver whose map's
 *       signature answers (devices/detect.c); a host silent over v2c is
 *       asked again over v1 (its snippet then says version=1).
 * --jobs N probes at once (SNMP 32, Modbus TCP 8, each with its own
 * connection; a serial bus one), each bounded by --timeout (default
 * 0.3 s) without retries: the whole scan is bounded by addresses / jobs x
 * timeout. Results print in address order whatever answered first. A
 * progress line on stderr when it is a terminal. */
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../transports/snmp.h"
#include "output.h"
#include "shell.h"

#define SCAN_USAGE                                                             \
  "scan [OPTS] [--units LIST] [--port N] [--jobs N] "                          \
  "URI|snmp://[COMMUNITY@]NET/PREFIX"
#define SCAN_HOSTS_MAX 4096
#define SCAN_JOBS_MAX 64

struct scan {
  struct sh_opts o;
  unsigned char units[256]; /* Modbus units to probe */
  long port;                /* SNMP port, 0: the URI's */
  long jobs;                /* --jobs, 0: the kind's default */
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
        port = strcmp(argv[i], "--port") == 0,
        jobs = strcmp(argv[i], "--jobs") == 0;
    char *end;
    if (!units && !port && !jobs) {
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
    if (jobs && ((s->jobs = strtol(argv[++i], &end, 10)) < 1 ||
                 s->jobs > SCAN_JOBS_MAX || *end))
      return sh_errorf("scan", "bad --jobs '%s' (1 to %d)", argv[i],
                       SCAN_JOBS_MAX),
             -1;
  }
  *argc = n;
  return 0;
}

/* Probes run by up to --jobs threads, each taking the next index; the
 * caller prints the results in index order afterwards. */
struct pool {
  struct scan *s;
  const char *what; /* "unit", "address" */
  size_t n, next, done, hits;
  pthread_mutex_t mu;
  void *ctx;                    /* the kind's */
  void (*work)(struct pool *p); /* one thread's loop */
};

static void progress(const struct pool *p) {
  if (!p->s->tty) return;
  fprintf(stderr, "\rohm: scan: %s %zu/%zu, %zu found ", p->what, p->done, p->n,
          p->hits);
  if (p->done == p->n) fprintf(stderr, "\r%60s\r", "");
}

/* The next index to probe into *i; 0 when none is left (or interrupted). */
static int pool_take(struct pool *p, size_t *i) {
  int ok;
  pthread_mutex_lock(&p->mu);
  ok = p->next < p->n && !tp_interrupted;
  if (ok) *i = p->next++;
  pthread_mutex_unlock(&p->mu);
  return ok;
}

static void pool_done(struct pool *p, int hit) {
  pthread_mutex_lock(&p->mu);
  p->done++;
  p->hits += hit != 0;
  progress(p);
  pthread_mutex_unlock(&p->mu);
}

static void *pool_thread(void *arg) {
  struct pool *p = arg;
  p->work(p);
  return NULL;
}

/* Run p->work on min(jobs, n) threads (this one among them) and wait. */
static void pool_run(struct pool *p, long jobs) {
  pthread_t th[SCAN_JOBS_MAX];
  size_t k = 0, want = (size_t)jobs < p->n ? (size_t)jobs : p->n;
  pthread_mutex_init(&p->mu, NULL);
  while (k + 1 < want && pthread_create(&th[k], NULL, pool_thread, p) == 0)
    k++;
  p->work(p);
  while (k > 0)
    pthread_join(th[--k], NULL);
  pthread_mutex_destroy(&p->mu);
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

/* A Modbus scan: the units to probe (slots), which answered, and those a
 * dropped or refused connection left unprobed (probed again, one
 * connection, after the first pass: a gateway may take fewer connections
 * than --jobs and close the others). */
struct mb_scan {
  const char *uri;
  int units[247];
  unsigned char present[247], probed[247];
  size_t list[247], nlist; /* the slots of this pass */
  size_t redo[247], nredo; /* slots whose connection failed */
  struct ohm_error e;      /* the first connection failure */
  int failed;
};

static void mb_failed(struct pool *p, const struct ohm_error *e) {
  struct mb_scan *m = p->ctx;
  pthread_mutex_lock(&p->mu);
  if (!m->failed++) m->e = *e;
  pthread_mutex_unlock(&p->mu);
}

/* One thread: its own connection, then units until none is left or the
 * connection fails (the unit it was asking goes back for the next pass). */
static void mb_work(struct pool *p) {
  struct mb_scan *m = p->ctx;
  struct ohm_error e;
  struct tp *t;
  size_t i;
  if (tp_open(m->uri, &p->s->o.tp, &t, &e) < 0) {
    mb_failed(p, &e);
    return;
  }
  while (pool_take(p, &i)) {
    uint16_t r[1];
    size_t k = m->list[i];
    int rc = tp_modbus(t, m->units[k], 3, 0, 1, r, &e);
    if (rc == OHM_EIO || rc == OHM_ECONNREFUSED) {
      mb_failed(p, &e);
      pthread_mutex_lock(&p->mu);
      m->redo[m->nredo++] = k;
      pthread_mutex_unlock(&p->mu);
      break;
    }
    /* an exception is an answer; silence or garbage is not */
    m->present[k] = rc >= 0 || rc == OHM_EDEVICE;
    m->probed[k] = 1;
    pool_done(p, m->present[k]);
  }
  tp_free(t);
}

/* One pass over m->list with jobs threads. */
static void mb_pass(struct scan *s, struct mb_scan *m, long jobs) {
  struct pool p = {
      .s = s, .what = "unit", .n = m->nlist, .ctx = m, .work = mb_work};
  pool_run(&p, jobs);
}

/* The found units as the snippet; units left unprobed are an error. */
static int mb_report(struct scan *s, struct mb_scan *m, size_t n,
                     const char *uri) {
  const char *q = strchr(uri, '?');
  char name[32], u[600];
  size_t left = 0;
  for (size_t i = 0; i < n; i++) {
    left += !m->probed[i];
    if (!m->present[i]) continue;
    snprintf(name, sizeof name, "unit%d", m->units[i]);
    snprintf(u, sizeof u, "%s%sunit=%d", uri, q ? "&" : "?", m->units[i]);
    emit(s, name, u, s->o.driver, NULL, NULL);
  }
  if (!left || tp_interrupted) return EXIT_OK;
  if (left == n) {
    sh_error(uri, &m->e);
    return sh_exit_code(m->e.code);
  }
  sh_errorf(uri, "%zu of %zu units not probed (%s)", left, n,
            ohm_error_text(&m->e));
  return EXIT_PARTIAL;
}

static int scan_modbus(struct scan *s, const char *uri) {
  struct mb_scan *m = calloc(1, sizeof *m);
  struct ohm_error e;
  struct tp *t;
  size_t n = 0;
  int rc, serial;
  if (!m) return sh_errorf(uri, "out of memory"), EXIT_FAIL;
  if ((rc = tp_open(uri, &s->o.tp, &t, &e)) < 0) {
    free(m);
    sh_error(uri, &e);
    return sh_exit_code(rc);
  }
  serial = strcmp(t->ops->scheme, "modbus-tcp") != 0;
  if (t->ops->kind != TP_REGS) {
    tp_free(t);
    free(m);
    return sh_errorf(uri, "not a Modbus or SNMP URI"), EXIT_USAGE;
  }
  tp_free(t); /* each thread opens its own */
  m->uri = uri;
  for (int k = 1; k < 248; k++)
    if (s->units[k]) m->list[n] = n, m->units[n++] = k;
  m->nlist = n;
  /* one bus carries one request at a time */
  mb_pass(s, m, serial ? 1 : s->jobs ? s->jobs : 8);
  if (m->nredo && !tp_interrupted) {
    memcpy(m->list, m->redo, m->nredo * sizeof m->redo[0]);
    m->nlist = m->nredo;
    m->nredo = 0;
    mb_pass(s, m, 1);
  }
  rc = mb_report(s, m, n, uri);
  free(m);
  return rc;
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

/* What one address answered (ok) for the snippet. */
struct agent_hit {
  char host[64], uri[600], objid[256], descr[256];
  const char *driver; /* the fitting map's name, or NULL */
  int ok;
};

struct snmp_scan {
  const struct snmp_target *st;
  struct agent_hit *hits;
};

/* One probe of h->host over the URI's version, or ver when not NULL;
 * the ident's result (OHM_ETIMEDOUT: no answer). */
static int probe_once(struct scan *s, const struct snmp_target *st,
                      struct agent_hit *h, const char *ver) {
  const struct dev_map *m = NULL;
  struct ohm_error e;
  struct tp *t;
  int rc;
  snprintf(h->uri, sizeof h->uri, "snmp://%s%s%s:%ld%s%s%s", st->user,
           st->user[0] ? "@" : "", h->host, s->port ? s->port : st->port,
           st->query,
           !ver           ? ""
           : st->query[0] ? "&version="
                          : "?version=",
           ver ? ver : "");
  if ((rc = tp_open(h->uri, &s->o.tp, &t, &e)) < 0) return rc;
  rc = dev_snmp_ident(t, h->objid, sizeof h->objid, h->descr, sizeof h->descr,
                      &e);
  if (rc == 0) {
    if (s->o.driver) {
      if (dev_driver_find(s->o.driver, &m, &e) < 0) m = NULL;
    } else if (dev_driver_detect(t, &m, &e) < 0)
      m = NULL;
    h->driver = m ? m->name : NULL;
    h->ok = 1;
  }
  tp_free(t);
  return rc;
}

/* v2c (or the URI's version); a host that gives v2c no answer is asked
 * again over v1 with the same community (a BM100 speaks v1 and v3 only),
 * and its snippet then says version=1. */
static void probe_agent(struct scan *s, const struct snmp_target *st,
                        struct agent_hit *h) {
  if (probe_once(s, st, h, NULL) == OHM_ETIMEDOUT &&
      !strstr(st->query, "version=") && !tp_interrupted)
    probe_once(s, st, h, "1");
}

static void snmp_work(struct pool *p) {
  struct snmp_scan *c = p->ctx;
  size_t i;
  while (pool_take(p, &i)) {
    probe_agent(p->s, c->st, &c->hits[i]);
    pool_done(p, c->hits[i].ok);
  }
}

/* Every host of the range (hosts[0..n) filled in), probed by the pool,
 * then the answers in address order. */
static int snmp_range(struct scan *s, const struct snmp_target *st,
                      struct agent_hit *hits, size_t n) {
  struct snmp_scan c = {st, hits};
  struct pool p = {
      .s = s, .what = "address", .n = n, .ctx = &c, .work = snmp_work};
  pool_run(&p, s->jobs ? s->jobs : 32);
  for (size_t i = 0; i < n; i++)
    if (hits[i].ok)
      emit(s, hits[i].host, hits[i].uri, hits[i].driver, hits[i].objid,
           hits[i].descr);
  return EXIT_OK;
}

static int scan_snmp(struct scan *s, const char *uri) {
  struct snmp_target st;
  struct agent_hit *hits;
  struct in_addr a;
  int rc;
  if (parse_snmp(uri, &st) < 0)
    return sh_errorf(uri, "bad scan target (snmp://[COMMUNITY@]HOST or "
                          "NET/PREFIX, prefix 20..32)"),
           EXIT_USAGE;
  if (st.prefix == 32 || inet_pton(AF_INET, st.host, &a) != 1) {
    if (st.prefix != 32)
      return sh_errorf(uri, "a range needs an IPv4 network"), EXIT_USAGE;
    if (!(hits = calloc(1, sizeof *hits)))
      return sh_errorf(uri, "out of memory"), EXIT_FAIL;
    snprintf(hits->host, sizeof hits->host, "%s", st.host);
    rc = snmp_range(s, &st, hits, 1);
    free(hits);
    return rc;
  }
  uint32_t net = ntohl(a.s_addr) & ~((1u << (32 - st.prefix)) - 1) &
                 (st.prefix ? 0xffffffffu : 0);
  uint32_t n = 1u << (32 - st.prefix), first = n > 2 ? 1 : 0,
           last = n > 2 ? n - 2 : n - 1;
  if (!(hits = calloc(last - first + 1, sizeof *hits)))
    return sh_errorf(uri, "out of memory"), EXIT_FAIL;
  for (uint32_t i = first; i <= last; i++) {
    struct in_addr h = {htonl(net + i)};
    inet_ntop(AF_INET, &h, hits[i - first].host, sizeof hits[0].host);
  }
  rc = snmp_range(s, &st, hits, last - first + 1);
  free(hits);
  return rc;
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
