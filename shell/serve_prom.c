/* `ohm serve --prometheus ADDR`: GET /metrics in the Prometheus text
 * exposition format (version 0.0.4) from the polling cache.
 *
 * Naming (prometheus.io/docs/practices/naming): ohm_ + the NUT name with
 * the phase taken out into a `phase` label and chain/sensor numbers into a
 * label named after the part before them, then the base unit:
 *   input.L1.current   -> ohm_input_current_amperes{device,phase="L1"}
 *   input.L1-N.voltage -> ohm_input_voltage_volts{device,phase="L1-N"}
 *   ambient.1.humidity -> ohm_ambient_humidity_ratio{device,ambient="1"}
 *   battery.pack.1.temperature.3 (a sensor; .temperature is the highest)
 *                      -> ohm_battery_pack_temperature_sensor_celsius{
 *                         device,pack="1",temperature="3"}
 *   input.energy (kWh) -> ohm_input_energy_joules_total (counter)
 * Enumerated states are one series per state (1 for the current one);
 * device.* strings go to ohm_device_info. Per device: ohm_up,
 * ohm_scrape_duration_seconds, ohm_last_update_timestamp_seconds. A
 * device that is not OK exports only those: never a stale value. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "serve.h"
#include "serve/listen.h"

struct sample {
  char name[160];
  char labels[512]; /* `device="x",phase="L1"` */
  char help[200];
  const char *type; /* "gauge" / "counter" */
  double value;
  int measured; /* a device's reading: 15 significant digits are plenty */
  size_t order; /* stable sort */
};

struct samples {
  struct sample *s;
  size_t n, cap;
};

/* Connections come through the one listener (serve/listen.c): at most
 * PROM_MAX_CLIENTS, PROM_MAX_PER_ADDR from one address, the others get a
 * 503. Each has PROM_DEADLINE_MS to send its request head and as long to
 * take the answer, so a client that trickles bytes (or never reads)
 * cannot hold the exporter or stop. */
#define PROM_MAX_CLIENTS 32
#define PROM_MAX_PER_ADDR 8
#define PROM_DEADLINE_MS 5000

static struct {
  struct sv_cache *c;
  struct ls_server *ls;
} prom;

/* Unit -> base-unit suffix and the factor to get there. */
static const char *unit_suffix(const char *unit, double *f, int *counter) {
  static const struct {
    const char *unit, *suffix;
    double f;
    int counter;
  } u[] = {{"V", "_volts", 1, 0},
           {"A", "_amperes", 1, 0},
           {"W", "_watts", 1, 0},
           {"VA", "_voltamperes", 1, 0},
           {"var", "_voltamperes_reactive", 1, 0},
           {"Hz", "_hertz", 1, 0},
           {"degC", "_celsius", 1, 0},
           {"%", "_ratio", 0.01, 0},
           {"s", "_seconds", 1, 0},
           {"kWh", "_joules_total", 3.6e6, 1},
           {"kVAh", "_voltampere_seconds_total", 3.6e6, 1},
           {"Wh", "_joules_total", 3600, 1}};
  *f = 1;
  *counter = 0;
  for (size_t i = 0; unit && i < sizeof u / sizeof u[0]; i++)
    if (strcmp(unit, u[i].unit) == 0) {
      *f = u[i].f;
      *counter = u[i].counter;
      return u[i].suffix;
    }
  return "";
}

static int is_phase(const char *p, size_t n) {
  return n >= 2 && p[0] == 'L' && p[1] >= '1' && p[1] <= '3' &&
         strspn(p, "L123N-") >= n;
}

/* Label-safe copy: \ " and newline escaped. */
static void esc(char *out, size_t n, const char *s) {
  size_t k = 0;
  for (; *s && k + 3 < n; s++) {
    if (*s == '\\' || *s == '"') out[k++] = '\\';
    out[k++] = *s == '\n' ? ' ' : *s;
  }
  out[k] = 0;
}

/* The metric name and labels for a NUT name (see the file comment). */
static void metric_of(const char *var, const char *dev, char *name, size_t nn,
                      char *labels, size_t ln, char *help, size_t hn) {
  char d[200], prev[64] = "";
  size_t k = (size_t)snprintf(name, nn, "ohm");
  size_t l, h = 0;
  esc(d, sizeof d, dev);
  l = (size_t)snprintf(labels, ln, "device=\"%s\"", d);
  help[0] = 0;
  for (const char *p = var; *p && k < nn;) {
    size_t n = strcspn(p, ".");
    int num = strspn(p, "0123456789") >= n;
    if (num && !p[n]) /* a sensor of a thing that has its own aggregate: */
      k += (size_t)snprintf(name + k, nn - k, "_sensor"); /* another metric */
    if (is_phase(p, n) || num) {
      if (l < ln)
        l += (size_t)snprintf(labels + l, ln - l, ",%s=\"%.*s\"",
                              is_phase(p, n) ? "phase" : prev, (int)n, p);
      if (h < hn)
        h += (size_t)snprintf(help + h, hn - h, "%s<%s>", h ? "." : "",
                              is_phase(p, n) ? "phase" : prev);
    } else {
      k += (size_t)snprintf(name + k, nn - k, "_%.*s", (int)n, p);
      snprintf(prev, sizeof prev, "%.*s", (int)(n < 63 ? n : 63), p);
      if (h < hn)
        h += (size_t)snprintf(help + h, hn - h, "%s%.*s", h ? "." : "", (int)n,
                              p);
    }
    p += n + (p[n] == '.');
  }
  for (char *q = name; *q; q++)
    if (!((*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') ||
          (*q >= '0' && *q <= '9') || *q == '_'))
      *q = '_';
}

static struct sample *add(struct samples *ss) {
  if (ss->n == ss->cap) {
    size_t c = ss->cap ? ss->cap * 2 : 256;
    struct sample *s = realloc(ss->s, c * sizeof *s);
    if (!s) return NULL;
    ss->s = s;
    ss->cap = c;
  }
  struct sample *s = &ss->s[ss->n];
  memset(s, 0, sizeof *s);
  s->order = ss->n++;
  s->type = "gauge";
  return s;
}

static void add_simple(struct samples *ss, const char *name, const char *dev,
                       const char *help, double v) {
  struct sample *s = add(ss);
  char d[200];
  if (!s) return;
  esc(d, sizeof d, dev);
  snprintf(s->name, sizeof s->name, "%s", name);
  snprintf(s->labels, sizeof s->labels, "device=\"%s\"", d);
  snprintf(s->help, sizeof s->help, "%s", help);
  s->value = v;
}

/* One var's series: a number, or one series per enumerated state. */
static void add_var(struct samples *ss, const struct sv_snap *sn, size_t k) {
  const struct dev_var *v = &sn->map->vars[k];
  const struct dev_value *val = &sn->vals[k];
  char name[120], labels[300], help[120];
  double f;
  int counter;
  if (val->kind != DV_NUM && !(val->kind == DV_STR && v->nenums)) return;
  metric_of(v->name, sn->name, name, sizeof name, labels, sizeof labels, help,
            sizeof help);
  const char *suf = val->kind == DV_NUM ? unit_suffix(v->unit, &f, &counter)
                                        : (f = 1, counter = 0, "");
  /* A value outside the enum (a hook's "OB LB") gets a series of its own
   * after the listed ones, so the current state is never all zeros. */
  size_t nst = val->kind == DV_STR ? v->nenums : 1;
  int known = 0;
  for (size_t j = 0; j < nst && val->kind == DV_STR; j++)
    known |= strcmp(val->str, v->enums[j].text) == 0;
  for (size_t j = 0; j < nst + (val->kind == DV_STR && !known); j++) {
    const char *text = val->kind != DV_STR ? NULL
                       : j < nst           ? v->enums[j].text
                                           : val->str;
    if (text && !*text) continue; /* "no flag": never a current value */
    struct sample *s = add(ss);
    if (!s) return;
    snprintf(s->name, sizeof s->name, "%s%s", name, suf);
    snprintf(s->help, sizeof s->help, "%s%s%s%s", help,
             v->unit && *v->unit ? " (NUT, " : "",
             v->unit && *v->unit ? v->unit : "",
             v->unit && *v->unit ? ")" : "");
    s->type = counter ? "counter" : "gauge";
    if (val->kind == DV_NUM) {
      snprintf(s->labels, sizeof s->labels, "%s", labels);
      s->value = val->num * f;
      s->measured = 1;
    } else {
      char st[128];
      esc(st, sizeof st, text);
      snprintf(s->labels, sizeof s->labels, "%s,state=\"%s\"", labels, st);
      s->value = strcmp(val->str, text) == 0;
    }
  }
}

/* ohm_device_info{device, mfr=, model=, type=, ...} 1 from device.*. */
static void add_info(struct samples *ss, const struct sv_snap *sn) {
  struct sample *s = add(ss);
  char d[200], t[200];
  if (!s) return;
  esc(d, sizeof d, sn->name);
  snprintf(s->name, sizeof s->name, "ohm_device_info");
  snprintf(s->help, sizeof s->help, "device.* identity of the device");
  size_t l = (size_t)snprintf(s->labels, sizeof s->labels, "device=\"%s\"", d);
  for (size_t k = 0; k < sn->map->nvars && l < sizeof s->labels; k++) {
    const struct dev_var *v = &sn->map->vars[k];
    if (sn->vals[k].kind != DV_STR || strncmp(v->name, "device.", 7) ||
        strchr(v->name + 7, '.'))
      continue;
    esc(t, sizeof t, sn->vals[k].str);
    l += (size_t)snprintf(s->labels + l, sizeof s->labels - l, ",%s=\"%s\"",
                          v->name + 7, t);
  }
  s->value = 1;
}

static void add_device(struct samples *ss, const struct sv_snap *sn) {
  int up = sn->state == SV_OK;
  add_simple(ss, "ohm_up", sn->name,
             "1 if the last poll of the device "
             "succeeded",
             up);
  add_simple(ss, "ohm_scrape_duration_seconds", sn->name,
             "seconds the last poll of the device took", sn->duration);
  if (sn->updated > 0)
    add_simple(ss, "ohm_last_update_timestamp_seconds", sn->name,
               "unix time of the device's last good values", sn->updated);
  if (!up || !sn->vals || !sn->map) return;
  add_info(ss, sn);
  for (size_t k = 0; k < sn->map->nvars; k++)
    add_var(ss, sn, k);
}

/* A number as text: a device's reading to 15 significant digits (230.1,
 * not the double 2301 * 0.1 = 230.10000000000002: the registers carry far
 * fewer); anything else (timestamps, durations) in the shortest text that
 * reads back exactly. buf >= 32. */
static const char *shortest(char *buf, double x, int measured) {
  for (int prec = 15; prec <= 17; prec++) {
    snprintf(buf, 32, "%.*g", prec, x);
    if (measured || strtod(buf, NULL) == x) break;
  }
  return buf;
}

static int cmp_sample(const void *a, const void *b) {
  const struct sample *x = a, *y = b;
  int c = strcmp(x->name, y->name);
  if (c) return c;
  return x->order < y->order ? -1 : x->order > y->order;
}

/* The whole exposition, malloc'd (caller frees); *len its length. */
static char *render(size_t *len) {
  struct samples ss = {0};
  FILE *m;
  char *buf = NULL;
  for (size_t i = 0, n = sv_cache_count(prom.c); i < n; i++) {
    struct sv_snap sn;
    if (sv_cache_snap(prom.c, i, &sn) < 0) continue;
    add_device(&ss, &sn);
    sv_snap_free(&sn);
  }
  if (ss.n) qsort(ss.s, ss.n, sizeof *ss.s, cmp_sample);
  if (!(m = open_memstream(&buf, len))) {
    free(ss.s);
    return NULL;
  }
  for (size_t i = 0; i < ss.n; i++) {
    const struct sample *s = &ss.s[i];
    if (i == 0 || strcmp(s->name, ss.s[i - 1].name))
      fprintf(m, "# HELP %s %s\n# TYPE %s %s\n", s->name, s->help, s->name,
              s->type);
    char num[32];
    fprintf(m, "%s{%s} %s\n", s->name, s->labels,
            shortest(num, s->value, s->measured));
  }
  fclose(m);
  free(ss.s);
  return buf;
}

/* ---- HTTP ---- */

/* The whole answer, head and body, in one buffer (caller frees). */
static size_t respond(char **out, const char *status, const char *type,
                      const char *body, size_t n, int head) {
  char hdr[256];
  int k = snprintf(hdr, sizeof hdr,
                   "HTTP/1.1 %s\r\nContent-Type: %s\r\n"
                   "Content-Length: %zu\r\nConnection: close\r\n\r\n",
                   status, type, n);
  size_t len = (size_t)k + (head ? 0 : n);
  if (!(*out = malloc(len ? len : 1))) return 0;
  memcpy(*out, hdr, (size_t)k);
  if (!head) memcpy(*out + k, body, n);
  return len;
}

/* Where the head ends: after an empty line, CRLF or bare LF (HTTP/1.1
 * lets a server take LF alone); 0 if not yet. */
static size_t head_end(const char *req, size_t n) {
  for (size_t i = 0; i + 1 < n; i++)
    if (req[i] == '\n') {
      if (req[i + 1] == '\n') return i + 2;
      if (req[i + 1] == '\r' && i + 2 < n && req[i + 2] == '\n') return i + 3;
    }
  return 0;
}

/* The request head into req (NUL-terminated); -1 if the client closes,
 * is too slow or the server stops. A head too long for req is answered
 * as it stands (a 400 unless its request line is whole). */
static int read_head(struct ls_conn *c, char *req, size_t cap,
                     long long deadline) {
  size_t n = 0;
  while (n < cap - 1 && !head_end(req, n)) {
    ssize_t r = ls_recv(c, req + n, cap - 1 - n, deadline);
    if (r <= 0) return -1;
    n += (size_t)r;
  }
  req[n] = 0;
  return (int)n;
}

size_t serve_prom_answer(struct sv_cache *c, char *req, size_t n,
                         char **reply) {
  char method[8], path[256];
  prom.c = c;
  req[n] = 0;
  if (sscanf(req, "%7s %255s", method, path) != 2)
    return respond(reply, "400 Bad Request", "text/plain", "bad request\n", 12,
                   0);
  int head = strcmp(method, "HEAD") == 0;
  if (strcmp(method, "GET") && !head)
    return respond(reply, "405 Method Not Allowed", "text/plain", "GET only\n",
                   9, 0);
  path[strcspn(path, "?")] = 0;
  if (strcmp(path, "/metrics") == 0) {
    size_t len = 0, k;
    char *body = render(&len);
    k = respond(reply, body ? "200 OK" : "500 Internal Server Error",
                "text/plain; version=0.0.4; charset=utf-8", body ? body : "",
                body ? len : 0, head);
    free(body);
    return k;
  }
  if (strcmp(path, "/") == 0) {
    static const char idx[] = "ohm exporter: see /metrics\n";
    return respond(reply, "200 OK", "text/plain", idx, sizeof idx - 1, head);
  }
  return respond(reply, "404 Not Found", "text/plain", "not found\n", 10, head);
}

/* One request per connection: read the head, answer whole, close. */
static void serve_http(struct ls_conn *c, void *ctx) {
  char req[8192], *reply = NULL;
  (void)ctx;
  int n = read_head(c, req, sizeof req, ls_now_ms() + PROM_DEADLINE_MS);
  if (n < 0) return;
  size_t len = serve_prom_answer(prom.c, req, (size_t)n, &reply);
  if (reply) ls_send(c, reply, len, ls_now_ms() + PROM_DEADLINE_MS);
  free(reply);
}

int serve_prom_start(struct sv_cache *c, const char *addr,
                     struct ohm_error *e) {
  struct ls_conf conf = {
      .name = "Prometheus",
      .max_total = PROM_MAX_CLIENTS,
      .max_per_addr = PROM_MAX_PER_ADDR,
      .busy = "HTTP/1.1 503 Service Unavailable\r\n"
              "Content-Type: text/plain\r\nContent-Length: 5\r\n"
              "Retry-After: 1\r\nConnection: close\r\n\r\nbusy\n",
      .serve = serve_http};
  prom.c = c;
  return ls_start(addr, &conf, &prom.ls, e);
}

void serve_prom_stop(void) {
  ls_stop(prom.ls); /* each client ends by its deadline at the latest */
  prom.ls = NULL;
}
