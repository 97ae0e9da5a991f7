/* `ohm poll`: read many devices in parallel (devices/poll.c) and print
 * every device's variables. Also the fleet helpers the other fleet commands
 * share (device selection, sharding, option parsing; see serve.h).
 *
 * Output, one row per device variable, in the order the devices were
 * named (inventory order by default):
 *   table  DEVICE  NAME  VALUE  in fixed columns (see table_widths)
 *   --csv  device,name,value with a header line
 *   --json {"DEVICE": {"NAME": value, ...}, "BAD": {"error": "..."}}
 * All three stream as devices finish (held back only to keep order), so
 * memory stays flat for thousands of devices. */
#include <fnmatch.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../devices/poll.h"
#include "output.h"
#include "serve.h"
#include "suggest.h"

int fleet_parse_shard(const char *s, int *k, int *n) {
  char tail;
  if (sscanf(s, "%d/%d%c", k, n, &tail) != 2 || *n < 1 || *k < 1 || *k > *n)
    return -1;
  return 0;
}

/* Names (and their RS485 lines) from args or the whole inventory. */
static int fleet_names(struct fleet *f, char **args, size_t nargs, int k,
                       int nsh) {
  size_t max = nargs ? nargs : (f->inv ? f->inv->ndevs : 0);
  f->names = calloc(max + 1, sizeof *f->names);
  f->opens = calloc(max + 1, sizeof *f->opens);
  f->buses = calloc(max + 1, sizeof *f->buses);
  f->t = calloc(max + 1, sizeof *f->t);
  if (!f->names || !f->opens || !f->buses || !f->t) return OHM_ENOMEM;
  for (size_t i = 0; i < max; i++) {
    const char *name = nargs ? args[i] : f->inv->devs[i].name;
    const struct inv_device *d = f->inv ? inv_find(f->inv, name) : NULL;
    const char *uri = d ? d->uri : name;
    char bus[256];
    if (nsh && !poll_in_shard(name, k, nsh)) continue;
    /* shown redacted everywhere: output, JSON keys, files, logs, NUT */
    if (!(f->opens[f->n] = strdup(name)) ||
        !(f->names[f->n] = inv_redact(name)))
      return OHM_ENOMEM;
    if (poll_bus_of(uri, bus, sizeof bus) && !(f->buses[f->n] = strdup(bus)))
      return OHM_ENOMEM;
    f->t[f->n].name = f->names[f->n];
    f->t[f->n].bus = f->buses[f->n];
    f->t[f->n].snmp = poll_is_snmp(uri);
    f->t[f->n].mbtcp = poll_is_mbtcp(uri);
    f->n++;
  }
  return 0;
}

int fleet_init(struct fleet *f, const struct sh_opts *o, char **args,
               size_t nargs, int shard_k, int shard_n, struct ohm_error *e) {
  struct inventory *inv = sh_inventory(o, e);
  memset(f, 0, sizeof *f);
  if (!inv) return e->code ? e->code : OHM_ECONFIG;
  return fleet_init_inv(f, o, inv, args, nargs, shard_k, shard_n, e);
}

int fleet_init_inv(struct fleet *f, const struct sh_opts *o,
                   struct inventory *inv, char **args, size_t nargs,
                   int shard_k, int shard_n, struct ohm_error *e) {
  const struct dev_map *m;
  memset(f, 0, sizeof *f);
  f->o = o;
  f->inv = inv;
  /* load the maps now: workers then only look them up */
  for (const char *const *d = dev_driver_builtin(); d && *d; d++)
    dev_driver_find(*d, &m, NULL);
  if (o->driver && dev_driver_find(o->driver, &m, e) < 0) return e->code;
  if (fleet_names(f, args, nargs, shard_k, shard_n) < 0)
    return ohm_error_set(e, OHM_ENOMEM, "out of memory");
  /* before the workers start; only a terminal can answer */
  for (size_t i = 0; isatty(STDIN_FILENO) && i < f->n; i++)
    sh_ask_secrets(f->inv, f->opens[i]);
  if (!nargs && !f->inv->ndevs)
    return ohm_error_set(e, OHM_ECONFIG,
                         "no devices: name some, or list "
                         "them in the inventory (%s)",
                         f->inv->path ? f->inv->path : "--config FILE");
  return 0;
}

int fleet_init_vars(struct fleet *f, const struct sh_opts *o, char **args,
                    size_t nargs, int shard_k, int shard_n,
                    struct ohm_error *e) {
  struct inventory *inv = sh_inventory(o, e);
  char **devs = calloc(nargs + 1, sizeof *devs);
  char **pats = calloc(nargs + 1, sizeof *pats);
  unsigned char *hit = calloc(nargs + 1, 1);
  size_t nd = 0, np = 0;
  int rc;
  memset(f, 0, sizeof *f);
  if (!devs || !pats || !hit || !inv) {
    free(devs);
    free(pats);
    free(hit);
    if (!inv) return e->code ? e->code : OHM_ECONFIG;
    return ohm_error_set(e, OHM_ENOMEM, "out of memory");
  }
  for (size_t i = 0; i < nargs; i++)
    if (inv_find(inv, args[i]) || strchr(args[i], ':'))
      devs[nd++] = args[i];
    else
      pats[np++] = args[i];
  rc = fleet_init_inv(f, o, inv, devs, nd, shard_k, shard_n, e);
  free(devs);
  f->pats = pats;
  f->npats = np;
  f->hit = hit;
  return rc;
}

int fleet_wanted(const struct fleet *f, const char *name) {
  if (!f->npats) return 1;
  for (size_t i = 0; i < f->npats; i++)
    if (fnmatch(f->pats[i], name, 0) == 0) return 1;
  return 0;
}

void fleet_note_map(struct fleet *f, const struct dev_map *m) {
  for (size_t p = 0; m && p < f->npats; p++)
    for (size_t k = 0; k < m->nvars && !f->hit[p]; k++)
      f->hit[p] = fnmatch(f->pats[p], m->vars[k].name, 0) == 0;
}

const char *fleet_unmatched(const struct fleet *f) {
  for (size_t p = 0; p < f->npats; p++)
    if (!f->hit[p]) return f->pats[p];
  return NULL;
}

void fleet_free(struct fleet *f) {
  for (size_t i = 0; f->names && f->names[i]; i++)
    free(f->names[i]);
  for (size_t i = 0; f->opens && f->opens[i]; i++)
    free(f->opens[i]);
  free(f->opens);
  for (size_t i = 0; f->buses && i < f->n; i++)
    free(f->buses[i]);
  free(f->names);
  free(f->buses);
  free(f->t);
  free(f->pats);
  free(f->hit);
  memset(f, 0, sizeof *f);
}

int fleet_open(void *ctx, size_t i, struct dev **out, struct ohm_error *e) {
  struct fleet *f = ctx;
  return inv_open(f->inv, f->opens[i], f->o->driver, &f->o->tp, out, e);
}

int fleet_getopt(int argc, char **argv, struct sh_opts *o,
                 const struct option *own, const char *own_short,
                 int (*handle)(void *ctx, int opt, const char *arg), void *ctx,
                 const char *usage) {
  struct option all[64];
  char shorts[64];
  size_t n = 0;
  int c;
  for (; own && own[n].name && n < 32; n++)
    all[n] = own[n];
  for (size_t k = 0; sh_common_long[k].name && n < 63; k++)
    all[n++] = sh_common_long[k];
  memset(&all[n], 0, sizeof all[n]);
  snprintf(shorts, sizeof shorts, ":%s%s", SH_COMMON_SHORT,
           own_short ? own_short : "");
  optind = 0;
  opterr = 0;
  while ((c = getopt_long(argc, argv, shorts, all, NULL)) != -1) {
    int r;
    if (c == 'h') {
      if (!sh_help_print(argv[0])) printf("usage: ohm %s\n", usage);
      exit(EXIT_OK);
    }
    const char *near = c == '?' ? sh_suggest_option(all, argv[optind - 1]) : 0;
    if (near) {
      sh_errorf(NULL, "%s: unknown option '%s' (did you mean %s?)", argv[0],
                argv[optind - 1], near);
      return -1;
    }
    if (c == '?' || c == ':') {
      sh_errorf(NULL, "%s: %s '%s'; usage: ohm %s", argv[0],
                c == ':' ? "option needs a value" : "unknown option",
                argv[optind - 1], usage);
      return -1;
    }
    if ((r = sh_common_opt(o, c, optarg)) < 0) return -1;
    if (r == 0 && (!handle || handle(ctx, c, optarg) < 0)) return -1;
  }
  return optind;
}

/* ---- ohm poll ---- */

static const char poll_usage[] =
    "poll [OPTS] [--json|--csv] [--jobs N] [--shard K/N] [DEVICE...] [VAR...]";

struct poll_cli {
  struct sh_opts o;
  int jobs, shard_k, shard_n;
  struct fleet f;
  struct sh_out out;
  char **text; /* per device finished out of order: its rows, until printed */
  int *state;  /* 0 pending, 1 ok, -1 failed */
  size_t next; /* next device to print, in order */
  size_t ok, bad;
  size_t intr;           /* of bad: not read for Ctrl-C */
  size_t rows;           /* printed so far (CSV: the header goes first) */
  int wdev, wname;       /* table: column widths, fixed before the first row */
  int idles;             /* the event loop's flushes so far */
  pthread_t main_thread; /* the one that runs the event loop */
};

enum { OPT_JOBS = 300, OPT_SHARD };

static int poll_opt(void *ctx, int opt, const char *arg) {
  struct poll_cli *p = ctx;
  char *end;
  if (opt == OPT_JOBS || opt == 'j') {
    long v = strtol(arg, &end, 10);
    if (*end || v < 1 || v > 1024) {
      sh_errorf(NULL, "bad --jobs '%s' (1 to 1024)", arg);
      return -1;
    }
    p->jobs = (int)v;
    return 0;
  }
  if (opt == OPT_SHARD && fleet_parse_shard(arg, &p->shard_k, &p->shard_n) == 0)
    return 0;
  sh_errorf(NULL, "bad --shard '%s' (K/N with 1 <= K <= N)", arg);
  return -1;
}

/* Append s to *buf (grown as needed). */
static int buf_add(char **buf, size_t *len, size_t *cap, const char *s,
                   size_t n) {
  if (*len + n + 1 > *cap) {
    size_t c = (*cap ? *cap * 2 : 1024) + n;
    char *b = realloc(*buf, c);
    if (!b) return -1;
    *buf = b;
    *cap = c;
  }
  memcpy(*buf + *len, s, n);
  *len += n;
  (*buf)[*len] = 0;
  return 0;
}

/* One device's rows as "name\tvalue\tnum\n" lines (values never hold a
 * tab or newline after sanitising). */
static char *rows_of(const struct fleet *f, const struct poll_result *r) {
  char *buf = NULL, cellbuf[256], line[512];
  size_t len = 0, cap = 0;
  buf_add(&buf, &len, &cap, "", 0);
  for (size_t k = 0; buf && k < r->map->nvars; k++) {
    const struct dev_var *v = &r->map->vars[k];
    if (r->vals[k].kind == DV_NONE || r->vals[k].kind == DV_ERR ||
        !fleet_wanted(f, v->name))
      continue;
    struct sh_cell c = sh_value_cell(v, &r->vals[k], cellbuf, sizeof cellbuf);
    for (char *q = cellbuf; *q; q++)
      if (*q == '\t' || *q == '\n' || *q == '\r') *q = ' ';
    int n = snprintf(line, sizeof line, "%s\t%s\t%d\n", v->name, c.text, c.num);
    if (n > 0 &&
        buf_add(&buf, &len, &cap, line,
                (size_t)n < sizeof line ? (size_t)n : sizeof line - 1) < 0) {
      free(buf);
      return NULL;
    }
  }
  return buf;
}

/* Append s (n bytes) to the line being built at *w, padded with spaces
 * to pad; 0, or -1 when the line is full. */
static int line_put(char **w, const char *end, const char *s, size_t n,
                    size_t pad) {
  if (n > (size_t)(end - *w) || pad > (size_t)(end - *w)) return -1;
  memcpy(*w, s, n);
  *w += n;
  for (; n < pad; n++)
    *(*w)++ = ' ';
  return 0;
}

/* A CSV or table row built whole and written at once (a fleet prints
 * ~100 rows a device); 0, or -1 when it needs the general path (a CSV
 * field to quote, a very long value). */
static int emit_row_fast(struct poll_cli *p, const char *dev, const char *name,
                         const char *val) {
  char line[768], *w = line, *end = line + sizeof line - 1;
  int csv = p->o.mode == SH_CSV;
  size_t ld = strlen(dev), ln = strlen(name), lv = strlen(val);
  if (csv && (dev[strcspn(dev, ",\"\r\n")] || name[strcspn(name, ",\"\r\n")] ||
              val[strcspn(val, ",\"\r\n")]))
    return -1;
  if (line_put(&w, end, dev, ld, csv ? 0 : (size_t)p->wdev) < 0 ||
      line_put(&w, end, csv ? "," : "  ", csv ? 1 : 2, 0) < 0 ||
      line_put(&w, end, name, ln, csv ? 0 : (size_t)p->wname) < 0 ||
      line_put(&w, end, csv ? "," : "  ", csv ? 1 : 2, 0) < 0 ||
      line_put(&w, end, val, lv, 0) < 0)
    return -1;
  *w++ = '\n';
  fwrite(line, 1, (size_t)(w - line), stdout);
  return 0;
}

/* One row in the output mode (the table's columns are fixed: rows are
 * printed as they come, never held for the widths). */
static void emit_row(struct poll_cli *p, const char *dev, const char *name,
                     const char *val, int num) {
  struct sh_out *o = &p->out;
  if (p->o.mode != SH_JSON && p->rows && emit_row_fast(p, dev, name, val) == 0)
    ; /* written */
  else if (p->o.mode == SH_JSON) {
    sh_out_str(o, o->n ? ", " : "");
    sh_out_json_str(o, name);
    sh_out_str(o, ": ");
    if (num)
      sh_out_str(o, val);
    else
      sh_out_json_str(o, val);
    o->n++;
  } else if (p->o.mode == SH_CSV) {
    if (!p->rows) sh_out_str(o, "device,name,value\n");
    sh_out_csv_field(o, dev);
    sh_out_str(o, ",");
    sh_out_kv(o, name, (struct sh_cell){val, num});
  } else {
    if (!p->rows)
      sh_out_printf(o, "%-*s  %-*s  VALUE\n", p->wdev, "DEVICE", p->wname,
                    "NAME");
    sh_out_printf(o, "%-*s  %-*s  %s\n", p->wdev, dev, p->wname, name, val);
  }
  p->rows++;
}

static void emit_begin(struct poll_cli *p, const char *dev) {
  if (p->o.mode != SH_JSON) return;
  sh_out_str(&p->out, p->ok + p->bad > 1 ? ",\n" : "{\n");
  sh_out_json_str(&p->out, dev);
  sh_out_str(&p->out, ": {");
  p->out.n = 0;
}

static void emit_end(struct poll_cli *p) {
  if (p->o.mode == SH_JSON) sh_out_str(&p->out, "}");
}

/* The table's widths: every device name, and the names of the first
 * device's map (a later map's longer name widens only its own rows). */
static void table_widths(struct poll_cli *p, const struct dev_map *m) {
  if (p->wdev || p->o.mode != SH_TABLE) return;
  p->wdev = p->wname = 4;
  for (size_t i = 0; i < p->f.n; i++)
    if ((int)strlen(p->f.names[i]) > p->wdev)
      p->wdev = (int)strlen(p->f.names[i]);
  for (size_t k = 0; m && k < m->nvars; k++)
    if (fleet_wanted(&p->f, m->vars[k].name) &&
        (int)strlen(m->vars[k].name) > p->wname)
      p->wname = (int)strlen(m->vars[k].name);
  if (p->wdev < 6) p->wdev = 6;
}

/* Device i's rows straight from its result. */
static void emit_result(struct poll_cli *p, size_t i,
                        const struct poll_result *r) {
  char cell[256];
  table_widths(p, r->map);
  emit_begin(p, p->f.names[i]);
  for (size_t k = 0; k < r->map->nvars; k++) {
    const struct dev_var *v = &r->map->vars[k];
    if (r->vals[k].kind == DV_NONE || r->vals[k].kind == DV_ERR ||
        !fleet_wanted(&p->f, v->name))
      continue;
    struct sh_cell c = sh_value_cell(v, &r->vals[k], cell, sizeof cell);
    for (char *q = cell; *q; q++)
      if (*q == '\t' || *q == '\n' || *q == '\r') *q = ' ';
    emit_row(p, p->f.names[i], v->name, c.text, c.num);
  }
  emit_end(p);
}

/* Device i's rows held as text (rows_of); the text is consumed. */
static void emit_text(struct poll_cli *p, size_t i, char *text) {
  emit_begin(p, p->f.names[i]);
  for (char *line = text, *nl; line && (nl = strchr(line, '\n'));
       line = nl + 1) {
    char *val = strchr(line, '\t'), *num;
    *nl = 0;
    *val++ = 0;
    num = strchr(val, '\t');
    *num++ = 0;
    emit_row(p, p->f.names[i], line, val, *num == '1');
  }
  emit_end(p);
}

static void emit_error(struct poll_cli *p, size_t i, const char *msg) {
  if (p->o.mode != SH_JSON) return;
  sh_out_str(&p->out, p->ok + p->bad > 1 ? ",\n" : "{\n");
  sh_out_json_str(&p->out, p->f.names[i]);
  sh_out_str(&p->out, ": {\"error\": ");
  sh_out_json_str(&p->out, msg);
  sh_out_str(&p->out, "}");
}

/* Print the devices held back that are now in order. */
static void emit_held(struct poll_cli *p) {
  while (p->next < p->f.n && p->state[p->next]) {
    size_t k = p->next++;
    if (p->state[k] > 0) {
      p->ok++;
      emit_text(p, k, p->text[k]);
    } else {
      p->bad++;
      emit_error(p, k, p->text[k] ? p->text[k] : "failed");
    }
    free(p->text[k]);
    p->text[k] = NULL;
  }
}

/* Called serialised by the poller: print in order, straight from the
 * result when it is next, else keep its rows until it is. */
static void poll_done(void *ctx, size_t i, const struct poll_result *r) {
  struct poll_cli *p = ctx;
  fleet_note_map(&p->f, r->map);
  if (r->rc == 0 && i == p->next) {
    p->state[i] = 1;
    p->next++;
    p->ok++;
    emit_result(p, i, r);
  } else if (r->rc == 0 && (p->text[i] = rows_of(&p->f, r))) {
    table_widths(p, r->map);
    p->state[i] = 1;
  } else {
    struct ohm_error e = r->err;
    if (r->rc == 0) ohm_error_set(&e, OHM_ENOMEM, "out of memory");
    sh_error(p->f.names[i], &e);
    p->intr += e.code == OHM_EINTR;
    p->state[i] = -1;
    p->text[i] = strdup(ohm_error_text(&e));
  }
  emit_held(p);
  /* the event loop flushes once a batch (poll_idle); workers at once */
  if (!p->idles || !pthread_equal(pthread_self(), p->main_thread))
    fflush(stdout);
}

/* The event loop is about to wait: what it printed goes out now. */
static void poll_idle(void *ctx) {
  struct poll_cli *p = ctx;
  p->idles++;
  fflush(stdout);
}

static int poll_open(void *ctx, size_t i, struct dev **out,
                     struct ohm_error *e) {
  return fleet_open(&((struct poll_cli *)ctx)->f, i, out, e);
}

/* The same with the transport not connected: the poller's event loop
 * connects Modbus TCP devices itself. */
static int poll_open_lazy(void *ctx, size_t i, struct dev **out,
                          struct ohm_error *e) {
  struct fleet *f = &((struct poll_cli *)ctx)->f;
  struct tp_opts o = f->o->tp;
  o.defer = 1;
  return inv_open(f->inv, f->opens[i], f->o->driver, &o, out, e);
}

static void poll_on_signal(int sig) {
  (void)sig;
  tp_interrupt(); /* the devices not read yet end "interrupted" */
}

/* SIGINT and SIGTERM stop the run: what was read is printed, the rest
 * reported interrupted; a second one kills outright (SA_RESETHAND). The
 * handlers before are kept in old[2] and put back by poll_signals_end. */
static void poll_signals(struct sigaction old[2]) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = poll_on_signal;
  /* SA_RESTART: a write blocked on a full stdout pipe (ohm poll | less)
   * goes on instead of failing with EINTR, which stdio would take as an
   * error and drop the rows buffered; poll and epoll_wait still return. */
  sa.sa_flags = SA_RESETHAND | SA_RESTART;
  sigemptyset(&sa.sa_mask);
  tp_interrupted = 0;
  sigaction(SIGINT, &sa, &old[0]);
  sigaction(SIGTERM, &sa, &old[1]);
}

static void poll_signals_end(const struct sigaction old[2]) {
  sigaction(SIGINT, &old[0], NULL);
  sigaction(SIGTERM, &old[1], NULL);
}

static int poll_exec(struct poll_cli *p) {
  struct ohm_error e;
  struct poll_opts po = {.jobs = p->jobs,
                         .open = poll_open,
                         .done = poll_done,
                         .ctx = p,
                         /* -v traces each request: the blocking path */
                         .open_lazy = p->o.tp.trace ? NULL : poll_open_lazy,
                         .idle = poll_idle};
  ohm_error_clear(&e);
  p->text = calloc(p->f.n + 1, sizeof *p->text);
  p->state = calloc(p->f.n + 1, sizeof *p->state);
  if (!p->text || !p->state) {
    sh_errorf(NULL, "out of memory");
    return EXIT_FAIL;
  }
  sh_out_init(&p->out, p->o.mode, stdout);
  static char obuf[1 << 16]; /* glibc ignores the size without a buffer */
  setvbuf(stdout, obuf, _IOFBF, sizeof obuf);
  p->main_thread = pthread_self();
  struct sigaction old[2];
  poll_signals(old);
  int rc = poll_run(p->f.t, p->f.n, &po, &e);
  poll_signals_end(old);
  if (tp_interrupted)
    sh_errorf(NULL, "interrupted: %zu devices read, %zu failed, %zu not read",
              p->ok, p->bad - p->intr, p->intr);
  if (rc < 0) {
    sh_error(NULL, &e);
    return EXIT_FAIL;
  }
  if (p->o.mode == SH_JSON)
    sh_out_str(&p->out, p->ok + p->bad ? "\n}\n" : "{}\n");
  const char *bad = p->ok ? fleet_unmatched(&p->f) : NULL;
  if (bad) {
    sh_no_match("poll", bad);
    return EXIT_FAIL;
  }
  if (!p->bad) return EXIT_OK;
  return p->ok ? EXIT_PARTIAL : EXIT_FAIL;
}

int cmd_poll(int argc, char **argv) {
  static const struct option own[] = {
      {"jobs", required_argument, NULL, OPT_JOBS},
      {"shard", required_argument, NULL, OPT_SHARD},
      {NULL, 0, NULL, 0}};
  struct poll_cli p;
  struct ohm_error e;
  memset(&p, 0, sizeof p);
  sh_opts_init(&p.o);
  ohm_error_clear(&e);
  int ind = fleet_getopt(argc, argv, &p.o, own, "j:", poll_opt, &p, poll_usage);
  if (ind < 0) return EXIT_USAGE;
  int rc = fleet_init_vars(&p.f, &p.o, argv + ind, (size_t)(argc - ind),
                           p.shard_k, p.shard_n, &e);
  if (rc < 0) {
    sh_error(NULL, &e);
    fleet_free(&p.f);
    return sh_exit_code(rc) == EXIT_USAGE ? EXIT_USAGE : EXIT_FAIL;
  }
  rc = EXIT_OK;
  if (p.f.n) rc = poll_exec(&p);
  for (size_t i = 0; p.text && i < p.f.n; i++)
    free(p.text[i]);
  free(p.text);
  free(p.state);
  fleet_free(&p.f);
  return rc;
}
