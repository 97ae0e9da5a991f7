/* The simulator: a libmodbus server for a driver map. One thread owns the
 * listening socket, the clients (poll(), many at once) and the RTU line;
 * it also owns the register images, recomputed from a small electrical
 * model just before each request, so no lock is needed. Functions 03 and
 * 06 only; the rest get exception 01. Values are driven by var names and
 * units, so any map with the same vocabulary is served.
 *
 * Units 1..N answer on both sides. Over TCP other unit ids get exception
 * 0B (gateway target failed to respond); over RTU they get silence, as on
 * a bus. libmodbus 3.1 filters RTU requests by one slave address in its
 * receive path (and then drops the next request as that slave's reply),
 * so RTU frames are read here and only the replies go through libmodbus. */
#include "sim.h"

#include <errno.h>
#include <math.h>
#include <modbus.h>
#include "../util/lazy_modbus.h"
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../transports/uri.h"
#include "../util/clock.h"

#define SIM_CLIENTS_MAX 64
#define SIM_TICK_MS 250

enum role {
  R_NONE,
  R_VOLT,
  R_CURR,
  R_P,
  R_S,
  R_Q,
  R_FREQ,
  R_PF,
  R_EACT,
  R_EAPP,
  R_TEMP,
  R_HUM,
  R_STATUS,
  R_STATE,
  R_THRESH,
};

struct vrole {
  enum role r;
  int idx;          /* phase 1..3 or sensor 0..2 from the name; 0 none */
  int meas, lo, hi; /* R_STATUS: var indexes it follows, -1 if none */
};

struct sim {
  const struct dev_map *m;
  int units, base, nregs;   /* served registers [base, base + nregs) */
  struct vrole *roles;      /* per var */
  int *owner;               /* per register: var index, -1 in a gap */
  modbus_mapping_t **maps;  /* per unit */
  double *energy;           /* per unit * var: Wh (or VAh) so far */
  _Atomic unsigned *resets; /* per unit: phases to clear (bit 0 = all) */
  double t0, last;
  unsigned seed;
  modbus_t *tcp, *rtu;
  int lfd, port, stop[2];
  int clients[SIM_CLIENTS_MAX];
  pthread_t thread;
  int running;
  int refs;         /* sim_start's own, plus one per sim_local */
  struct sim *next; /* in the list of running simulators */
};

int (*sim_snmp_hook)(const struct dev_map *m, char *uri, size_t n,
                     struct ohm_error *e);

/* Running simulators with a TCP port, for sim_local. */
static pthread_mutex_t sims_lock = PTHREAD_MUTEX_INITIALIZER;
static struct sim *sims;

/* First digit in a var name: "input.L2.current" 2, "ambient.1.humidity" 1. */
static int name_index(const char *n) {
  for (; *n; n++)
    if (*n >= '0' && *n <= '9') return *n - '0';
  return 0;
}

static int ends_with(const char *s, const char *suffix) {
  size_t a = strlen(s), b = strlen(suffix);
  return a >= b && strcmp(s + a - b, suffix) == 0;
}

static int var_index(const struct dev_map *m, const char *name) {
  const struct dev_var *v = dev_map_var(m, name);
  return v ? (int)(v - m->vars) : -1;
}

/* X.status follows X against X.low.critical / X.high.critical. */
static void status_links(const struct dev_map *m, const char *name,
                         struct vrole *r) {
  char base[160], buf[200];
  size_t n = strlen(name) - strlen(".status");
  snprintf(base, sizeof base, "%.*s", (int)n, name);
  r->meas = var_index(m, base);
  snprintf(buf, sizeof buf, "%s.low.critical", base);
  r->lo = var_index(m, buf);
  snprintf(buf, sizeof buf, "%s.high.critical", base);
  r->hi = var_index(m, buf);
}

static enum role unit_role(const struct dev_var *v) {
  static const struct {
    const char *unit;
    enum role r;
  } t[] = {{"V", R_VOLT},    {"A", R_CURR},  {"W", R_P},      {"VA", R_S},
           {"var", R_Q},     {"Hz", R_FREQ}, {"kWh", R_EACT}, {"kVAh", R_EAPP},
           {"degC", R_TEMP}, {"%", R_HUM}};
  for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
    if (strcmp(v->unit, t[i].unit) == 0) return t[i].r;
  return strstr(v->name, "powerfactor") ? R_PF : R_NONE;
}

static void classify(struct sim *s) {
  for (size_t i = 0; i < s->m->nvars; i++) {
    const struct dev_var *v = &s->m->vars[i];
    struct vrole *r = &s->roles[i];
    r->idx = name_index(v->name);
    r->meas = r->lo = r->hi = -1;
    if (v->reg < 0 || v->text)
      r->r = R_NONE;
    else if (v->access == DA_RW)
      r->r = R_THRESH;
    else if (v->type == DT_ENUM) {
      if (ends_with(v->name, ".status")) status_links(s->m, v->name, r);
      /* a .status with nothing to follow (a door) is a plain state */
      r->r = r->meas >= 0 && (r->lo >= 0 || r->hi >= 0) ? R_STATUS : R_STATE;
    } else
      r->r = unit_role(v);
  }
}

/* Store x (in the var's units) into its registers, clipped to the type. */
static void put(const struct dev_var *v, double x, uint16_t *r) {
  double raw = nearbyint(x / v->scale);
  switch (v->type) {
  case DT_ENERGY8: {
    double wh = nearbyint(x * 1000 / v->scale);
    uint32_t u = wh < 0 ? 0 : wh > 4294967295.0 ? 0xffffffffu : (uint32_t)wh;
    for (int i = 0; i < 4; i++)
      r[i] = (uint16_t)(u >> (8 * (3 - i)) & 0xff);
    return;
  }
  case DT_FLOAT32: {
    float f = (float)(x / v->scale);
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    r[v->word_swap ? 1 : 0] = (uint16_t)(u >> 16);
    r[v->word_swap ? 0 : 1] = (uint16_t)u;
    return;
  }
  case DT_U32:
  case DT_S32: {
    double lo = v->type == DT_U32 ? 0 : -2147483648.0;
    double hi = v->type == DT_U32 ? 4294967295.0 : 2147483647.0;
    uint32_t u = (uint32_t)(int64_t)fmin(fmax(raw, lo), hi);
    r[v->word_swap ? 1 : 0] = (uint16_t)(u >> 16);
    r[v->word_swap ? 0 : 1] = (uint16_t)u;
    return;
  }
  case DT_S16:
    r[0] = (uint16_t)(int16_t)fmin(fmax(raw, -32768), 32767);
    return;
  default:
    r[0] = (uint16_t)fmin(fmax(raw, 0), 65535);
  }
}

static double get(const struct sim *s, int unit, int vi) {
  const struct dev_var *v = &s->m->vars[vi];
  double x = 0;
  char str[64];
  if (vi < 0 || v->reg < 0) return 0;
  dev_decode(v, s->maps[unit]->tab_registers + (v->reg - s->base), &x, str,
             sizeof str, NULL);
  return x;
}

static double noise(struct sim *s) {
  return (double)rand_r(&s->seed) / RAND_MAX - 0.5;
}

/* The electrical state of one unit at time t: per phase p = 0..2. */
struct model {
  double v[3], i[3], pf[3], f, temp[3], hum[3];
};

static void model_at(struct sim *s, int unit, double t, struct model *md) {
  static const double base[3] = {5.2, 3.4, 1.8};
  double k = 1 + 0.15 * unit, w = 2 * M_PI;
  for (int p = 0; p < 3; p++) {
    md->v[p] = 230 + 1.5 * sin(w * t / 97 + p + unit) + 0.3 * noise(s);
    md->i[p] = base[p] * k * (1 + 0.35 * sin(w * t / 240 + 2 * p + unit)) +
               0.02 * noise(s);
    md->pf[p] = 0.92 + 0.04 * sin(w * t / 400 + p);
    md->temp[p] = 23 + 2 * p + 1.5 * sin(w * t / 600 + p + unit);
    md->hum[p] = 45 + 5 * sin(w * t / 900 + p);
  }
  md->f = 50 + 0.03 * sin(w * t / 60);
}

/* A quantity of phase idx (1..3), or the sum over phases for idx 0. */
static double phase_sum(const struct model *md, int idx, int what) {
  double sum = 0;
  for (int p = 0; p < 3; p++) {
    double sva = md->v[p] * md->i[p], x;
    if (idx && p != idx - 1) continue;
    switch (what) {
    case R_CURR:
      x = md->i[p];
      break;
    case R_P:
    case R_EACT:
      x = sva * md->pf[p];
      break;
    case R_Q:
      x = sva * sqrt(1 - md->pf[p] * md->pf[p]);
      break;
    default:
      x = sva;
    }
    sum += x;
  }
  return sum;
}

static double measured(const struct model *md, const struct vrole *r) {
  int p = r->idx >= 1 && r->idx <= 3 ? r->idx - 1 : 0;
  int k = r->idx <= 2 ? r->idx : 2;
  switch (r->r) {
  case R_VOLT:
    return md->v[p];
  case R_CURR:
  case R_P:
  case R_S:
  case R_Q:
    return phase_sum(md, r->idx <= 3 ? r->idx : 0, r->r);
  case R_FREQ:
    return md->f;
  case R_PF:
    return md->pf[p];
  case R_TEMP:
    return md->temp[k];
  case R_HUM:
    return md->hum[k];
  default:
    return 0;
  }
}

/* The code of the first of the states present in the enum, else def. */
static int state_code(const struct dev_var *v, const char *const *names,
                      int def) {
  for (; *names; names++)
    for (size_t i = 0; i < v->nenums; i++)
      if (strcmp(v->enums[i].text, *names) == 0) return v->enums[i].raw;
  return def;
}

static void update_status(struct sim *s, int u, size_t i, uint16_t *r) {
  static const char *const good[] = {"good", "normal", "ok", NULL};
  static const char *const low[] = {"critical-low", "low", NULL};
  static const char *const high[] = {"critical-high", "high", NULL};
  const struct vrole *ro = &s->roles[i];
  const struct dev_var *v = &s->m->vars[i];
  double x = get(s, u, ro->meas);
  int code = state_code(v, good, 0);
  if (ro->meas >= 0 && ro->lo >= 0 && x < get(s, u, ro->lo))
    code = state_code(v, low, 1);
  else if (ro->meas >= 0 && ro->hi >= 0 && x > get(s, u, ro->hi))
    code = state_code(v, high, 16);
  r[0] = (uint16_t)code;
}

/* Recompute unit u's read-only registers for time t (dt since the last
 * update integrates the energy counters). */
static void update_unit(struct sim *s, int u, double t, double dt) {
  static const char *const calm[] = {"closed", "no", "off", "normal", NULL};
  struct model md;
  model_at(s, u, t, &md);
  for (size_t i = 0; i < s->m->nvars; i++) {
    const struct vrole *ro = &s->roles[i];
    const struct dev_var *v = &s->m->vars[i];
    uint16_t *r = s->maps[u]->tab_registers + (v->reg - s->base);
    double *e = &s->energy[(size_t)u * s->m->nvars + i];
    if (ro->r == R_EACT || ro->r == R_EAPP) {
      *e += phase_sum(&md, ro->idx <= 3 ? ro->idx : 0, ro->r) * dt / 3600;
      put(v, *e / 1000, r);
    } else if (ro->r == R_STATE) {
      r[0] = (uint16_t)state_code(v, calm, v->nenums ? v->enums[0].raw : 0);
    } else if (ro->r != R_NONE && ro->r != R_THRESH && ro->r != R_STATUS) {
      put(v, measured(&md, ro), r);
    }
  }
  for (size_t i = 0; i < s->m->nvars; i++) /* after what they follow */
    if (s->roles[i].r == R_STATUS)
      update_status(s, u, i,
                    s->maps[u]->tab_registers + (s->m->vars[i].reg - s->base));
}

/* The total counter (phase 0) with the same role as var i, or -1. */
static int total_of(const struct sim *s, size_t i) {
  for (size_t j = 0; j < s->m->nvars; j++)
    if (s->roles[j].r == s->roles[i].r && s->roles[j].idx == 0) return (int)j;
  return -1;
}

#define SIM_FACTORY (1u << 8) /* in resets[]: thresholds back to defaults */

/* Apply the energy resets asked for by sim_reset_energy (server thread):
 * a phase's counters go to zero and leave the totals, which stay the sum
 * of the phases as on a unit; bit 0 clears everything. Nonzero if any. */
static void factory_defaults(struct sim *s, int u);

static unsigned apply_resets(struct sim *s, int u) {
  unsigned mask = atomic_exchange(&s->resets[u], 0);
  double *en = &s->energy[(size_t)u * s->m->nvars];
  if (mask & SIM_FACTORY) factory_defaults(s, u);
  for (size_t i = 0; mask && i < s->m->nvars; i++) {
    const struct vrole *ro = &s->roles[i];
    int t;
    if (ro->r != R_EACT && ro->r != R_EAPP) continue;
    if (mask & 1) {
      en[i] = 0;
    } else if (ro->idx >= 1 && ro->idx <= 3 && (mask & (1u << ro->idx))) {
      if ((t = total_of(s, i)) >= 0) en[t] = en[t] > en[i] ? en[t] - en[i] : 0;
      en[i] = 0;
    }
  }
  return mask;
}

/* Resets after integrating up to now: the energy used since the last
 * request, before the reset, must not show in the cleared counter. */
static void update_all(struct sim *s) {
  double t = ohm_mono(), dt = t - s->last;
  s->last = t;
  for (int u = 0; u < s->units; u++) {
    update_unit(s, u, t - s->t0, dt);
    if (apply_resets(s, u))
      update_unit(s, u, t - s->t0, 0); /* the cleared counters' registers */
  }
}

int sim_reset_energy(struct sim *s, int unit, int phase, struct ohm_error *e) {
  if (unit < 1 || unit > s->units)
    return ohm_error_set(e, OHM_EINVAL, "no unit %d in the simulator", unit);
  if (phase < 0 || phase > 3)
    return ohm_error_set(e, OHM_EINVAL, "no phase %d", phase);
  atomic_fetch_or(&s->resets[unit - 1], phase ? 1u << phase : 1u);
  return 0;
}

int sim_factory_reset(struct sim *s, int unit, struct ohm_error *e) {
  if (unit < 1 || unit > s->units)
    return ohm_error_set(e, OHM_EINVAL, "no unit %d in the simulator", unit);
  atomic_fetch_or(&s->resets[unit - 1], SIM_FACTORY);
  return 0;
}

/* Starting values: thresholds a little outside normal readings, so every
 * .status starts good; energy counters at plausible totals. */
static double threshold_default(const struct dev_var *v) {
  static const struct {
    const char *unit;
    double lo, hi;
  } t[] = {{"V", 207, 253}, {"A", 0, 16}, {"degC", 5, 35}, {"%", 20, 80}};
  int high = strstr(v->name, ".high") != NULL;
  double x = high ? (v->has_max ? v->max : 0) : (v->has_min ? v->min : 0);
  for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
    if (strcmp(v->unit, t[i].unit) == 0) x = high ? t[i].hi : t[i].lo;
  if (v->has_min && x < v->min) x = v->min;
  if (v->has_max && x > v->max) x = v->max;
  return x;
}

/* Unit u's thresholds as the simulator starts them (a factory reset). */
static void factory_defaults(struct sim *s, int u) {
  for (size_t i = 0; i < s->m->nvars; i++)
    if (s->roles[i].r == R_THRESH)
      put(&s->m->vars[i], threshold_default(&s->m->vars[i]),
          s->maps[u]->tab_registers + (s->m->vars[i].reg - s->base));
}

static void init_values(struct sim *s) {
  static const double wh[4] = {3170900, 1800120, 950480, 420300};
  for (int u = 0; u < s->units; u++) {
    factory_defaults(s, u);
    for (size_t i = 0; i < s->m->nvars; i++) {
      const struct vrole *ro = &s->roles[i];
      double *e = &s->energy[(size_t)u * s->m->nvars + i];
      int k = ro->idx <= 3 ? ro->idx : 0;
      if (ro->r == R_EACT || ro->r == R_EAPP)
        *e = wh[k] * (1 + 0.5 * u) * (ro->r == R_EAPP ? 1.08 : 1);
    }
  }
  s->t0 = s->last = ohm_mono();
  update_all(s);
}

/* 0 if a write of val to reg is allowed, else the exception code: 02 for a
 * register no writable var covers, 03 for a value outside its limits. */
static int check_write(const struct sim *s, int reg, uint16_t val) {
  int vi =
      reg >= s->base && reg < s->base + s->nregs ? s->owner[reg - s->base] : -1;
  const struct dev_var *v = vi >= 0 ? &s->m->vars[vi] : NULL;
  double x;
  char str[64];
  if (!v || v->access != DA_RW) return MODBUS_EXCEPTION_ILLEGAL_DATA_ADDRESS;
  if (dev_var_nregs(v) != 1) return 0;
  if (dev_decode(v, &val, &x, str, sizeof str, NULL) < 0 ||
      (v->has_min && x < v->min - 1e-9) || (v->has_max && x > v->max + 1e-9))
    return MODBUS_EXCEPTION_ILLEGAL_DATA_VALUE;
  return 0;
}

/* Answer one request on ctx (its socket already set). */
static void serve_one(struct sim *s, modbus_t *ctx, const uint8_t *q, int len,
                      int tcp) {
  int hl = modbus_get_header_length(ctx);
  int unit = q[hl - 1], fn = q[hl], ex;
  if (unit < 1 || unit > s->units) {
    if (tcp) /* no such device behind this "gateway" */
      modbus_reply_exception(ctx, q, MODBUS_EXCEPTION_GATEWAY_TARGET);
    return;
  }
  update_all(s);
  if (fn == MODBUS_FC_READ_HOLDING_REGISTERS) {
    modbus_reply(ctx, q, len, s->maps[unit - 1]);
  } else if (fn == MODBUS_FC_WRITE_SINGLE_REGISTER) {
    int reg = q[hl + 1] << 8 | q[hl + 2];
    uint16_t val = (uint16_t)(q[hl + 3] << 8 | q[hl + 4]);
    if ((ex = check_write(s, reg, val)) != 0)
      modbus_reply_exception(ctx, q, (unsigned)ex);
    else if (modbus_reply(ctx, q, len, s->maps[unit - 1]) >= 0)
      update_all(s); /* the .status registers follow at once */
  } else {
    modbus_reply_exception(ctx, q, MODBUS_EXCEPTION_ILLEGAL_FUNCTION);
  }
}

static void client_add(struct sim *s, int fd) {
  for (int i = 0; i < SIM_CLIENTS_MAX; i++)
    if (s->clients[i] < 0) {
      s->clients[i] = fd;
      return;
    }
  close(fd); /* full: refuse rather than starve the others */
}

/* One readable client: a request, or EOF/garbage which drops it. */
static void client_read(struct sim *s, int i) {
  uint8_t q[MODBUS_TCP_MAX_ADU_LENGTH];
  int rc;
  modbus_set_socket(s->tcp, s->clients[i]);
  rc = modbus_receive(s->tcp, q);
  if (rc > 0)
    serve_one(s, s->tcp, q, rc, 1);
  else if (rc < 0) {
    close(s->clients[i]);
    s->clients[i] = -1;
  }
  modbus_set_socket(s->tcp, -1);
}

/* Modbus CRC-16 (reflected polynomial 0xA001, initial 0xFFFF). */
static uint16_t rtu_crc(const uint8_t *p, int n) {
  uint16_t crc = 0xffff;
  for (int i = 0; i < n; i++) {
    crc ^= p[i];
    for (int b = 0; b < 8; b++)
      crc = crc & 1 ? (uint16_t)(crc >> 1 ^ 0xa001) : (uint16_t)(crc >> 1);
  }
  return crc;
}

/* n more bytes of a frame into p, each within the byte timeout. */
static int rtu_read_n(int fd, uint8_t *p, int n) {
  for (int got = 0; got < n;) {
    struct pollfd pf = {.fd = fd, .events = POLLIN};
    ssize_t r;
    if (poll(&pf, 1, 500) <= 0) return -1;
    r = read(fd, p + got, (size_t)(n - got));
    if (r < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (r <= 0) return -1;
    got += (int)r;
  }
  return 0;
}

/* The rest of a frame whose length its function does not tell: bytes
 * until the line pauses (50 ms, far above 3.5 characters at 9600 baud),
 * kept if the CRC says they are one frame. */
static int rtu_rest(int fd, uint8_t *q, int have) {
  while (have < MODBUS_RTU_MAX_ADU_LENGTH) {
    struct pollfd pf = {.fd = fd, .events = POLLIN};
    ssize_t r;
    if (poll(&pf, 1, 50) <= 0) break;
    r = read(fd, q + have, (size_t)(MODBUS_RTU_MAX_ADU_LENGTH - have));
    if (r < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (r <= 0) return -1;
    have += (int)r;
  }
  return have >= 4 && rtu_crc(q, have - 2) == (q[have - 2] | q[have - 1] << 8)
             ? have
             : -1;
}

/* One request frame from the line into q: its length with the CRC, or -1
 * for a frame that is garbled or truncated (dropped, as a unit on a bus
 * would). */
static int rtu_frame(int fd, uint8_t *q) {
  int have = 2, n;
  if (rtu_read_n(fd, q, 2) < 0) return -1;
  if (q[1] >= 1 && q[1] <= 6)
    n = 8;
  else if (q[1] == 7 || q[1] == 11 || q[1] == 12 || q[1] == 17)
    n = 4;
  else if (q[1] == 15 || q[1] == 16) {
    if (rtu_read_n(fd, q + 2, 5) < 0) return -1;
    have = 7;
    n = 9 + q[6];
  } else /* a function of unknown length: the frame ends at a pause */
    return rtu_rest(fd, q, have);
  if (n > MODBUS_RTU_MAX_ADU_LENGTH || rtu_read_n(fd, q + have, n - have) < 0)
    return -1;
  return rtu_crc(q, n - 2) == (q[n - 2] | q[n - 1] << 8) ? n : -1;
}

static void rtu_read(struct sim *s) {
  uint8_t q[MODBUS_RTU_MAX_ADU_LENGTH];
  int n = rtu_frame(modbus_get_socket(s->rtu), q);
  if (n > 0)
    serve_one(s, s->rtu, q, n, 0);
  else
    modbus_flush(s->rtu); /* resynchronise on the next frame */
}

static void *serve_loop(void *arg) {
  struct sim *s = arg;
  struct pollfd p[SIM_CLIENTS_MAX + 3];
  for (;;) {
    int n = 0, first;
    p[n++] = (struct pollfd){.fd = s->stop[0], .events = POLLIN};
    p[n++] = (struct pollfd){.fd = s->lfd, .events = POLLIN};
    p[n++] = (struct pollfd){.fd = s->rtu ? modbus_get_socket(s->rtu) : -1,
                             .events = POLLIN};
    first = n;
    for (int i = 0; i < SIM_CLIENTS_MAX; i++)
      p[n++] = (struct pollfd){.fd = s->clients[i], .events = POLLIN};
    if (poll(p, (nfds_t)n, SIM_TICK_MS) < 0 && errno != EINTR) break;
    if (p[0].revents) break;
    if (p[1].revents & POLLIN) {
      int fd = accept4(s->lfd, NULL, NULL, SOCK_CLOEXEC);
      if (fd >= 0) client_add(s, fd);
    }
    if (p[2].revents & POLLIN) rtu_read(s);
    for (int i = 0; i < SIM_CLIENTS_MAX; i++)
      if (p[first + i].fd >= 0 && p[first + i].revents) client_read(s, i);
  }
  return NULL;
}

/* The register range the map covers, and which var owns each register. */
static int layout(struct sim *s, struct ohm_error *e) {
  const struct dev_map *m = s->m;
  int lo = 65536, hi = -1;
  for (size_t i = 0; i < m->nvars; i++) {
    int n = dev_var_nregs(&m->vars[i]);
    if (m->vars[i].reg < 0 || n == 0) continue;
    lo = m->vars[i].reg < lo ? m->vars[i].reg : lo;
    hi = m->vars[i].reg + n > hi ? m->vars[i].reg + n : hi;
  }
  if (hi < 0)
    return ohm_error_set(e, OHM_ENOTSUP, "map %s has no registers to serve",
                         m->name);
  s->base = lo;
  s->nregs = hi - lo;
  if (!(s->owner = malloc((size_t)s->nregs * sizeof *s->owner)))
    return ohm_error_set(e, OHM_ENOMEM, "out of memory");
  for (int r = 0; r < s->nregs; r++)
    s->owner[r] = -1;
  for (size_t i = 0; i < m->nvars; i++)
    for (int k = 0; m->vars[i].reg >= 0 && k < dev_var_nregs(&m->vars[i]); k++)
      s->owner[m->vars[i].reg - lo + k] = (int)i;
  return 0;
}

static int alloc_units(struct sim *s, struct ohm_error *e) {
  s->roles = calloc(s->m->nvars ? s->m->nvars : 1, sizeof *s->roles);
  s->maps = calloc((size_t)s->units, sizeof *s->maps);
  s->energy = calloc((size_t)s->units * (s->m->nvars ? s->m->nvars : 1),
                     sizeof *s->energy);
  s->resets = calloc((size_t)s->units, sizeof *s->resets);
  if (!s->roles || !s->maps || !s->energy || !s->resets)
    return ohm_error_set(e, OHM_ENOMEM, "out of memory");
  for (int u = 0; u < s->units; u++)
    if (!(s->maps[u] = modbus_mapping_new_start_address(
              0, 0, 0, 0, (unsigned)s->base, (unsigned)s->nregs, 0, 0)))
      return ohm_error_set(e, OHM_ENOMEM, "out of memory");
  return 0;
}

/* "HOST:PORT" or "[V6]:PORT" into host and port text. */
static int split_addr(const char *addr, char *host, size_t hn, char *port,
                      size_t pn, struct ohm_error *e) {
  const char *colon = strrchr(addr, ':');
  size_t len = colon ? (size_t)(colon - addr) : 0;
  if (!colon || !colon[1] ||
      strspn(colon + 1, "0123456789") != strlen(colon + 1) ||
      strlen(colon + 1) > 5 ||
      atol(colon + 1) > 65535) /* getaddrinfo would wrap it */
    return ohm_error_set(e, OHM_EINVAL, "bad address '%.80s' (HOST:PORT)",
                         addr);
  if (len >= 2 && addr[0] == '[' && addr[len - 1] == ']') addr++, len -= 2;
  if (len == 0 || len >= hn)
    return ohm_error_set(e, OHM_EINVAL, "bad address '%.80s' (HOST:PORT)",
                         addr);
  snprintf(host, hn, "%.*s", (int)len, addr);
  snprintf(port, pn, "%s", colon + 1);
  return 0;
}

static int open_tcp(struct sim *s, const char *addr, struct ohm_error *e) {
  char host[128], port[8];
  struct sockaddr_storage ss;
  socklen_t sl = sizeof ss;
  int rc = split_addr(addr, host, sizeof host, port, sizeof port, e);
  if (rc < 0) return rc;
  if (!(s->tcp = modbus_new_tcp_pi(host, port)))
    return ohm_error_set(e, OHM_ENOMEM, "%s", modbus_strerror(errno));
  modbus_set_indication_timeout(s->tcp, 1, 0); /* a stalled client ... */
  modbus_set_byte_timeout(s->tcp, 0, 500000);  /* ... cannot hang us */
  if ((s->lfd = modbus_tcp_pi_listen(s->tcp, 16)) < 0)
    return ohm_error_set(e, OHM_EIO, "cannot listen on %s (%s)", addr,
                         modbus_strerror(errno));
  if (getsockname(s->lfd, (struct sockaddr *)&ss, &sl) < 0)
    return ohm_error_set(e, OHM_EIO, "getsockname: %s", strerror(errno));
  s->port =
      ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                     : ((struct sockaddr_in *)&ss)->sin_port);
  return 0;
}

/* "PATH[?baud=9600&parity=N&data=8&stop=1]" as the modbus-rtu URI has. */
static int open_rtu(struct sim *s, const char *tty, struct ohm_error *e) {
  struct ohm_uri u;
  char *text = NULL;
  long baud, data, stop;
  const char *par;
  int rc;
  if (asprintf(&text, "modbus-rtu://%s%s", tty[0] == '/' ? "" : "/", tty) < 0)
    return ohm_error_set(e, OHM_ENOMEM, "out of memory");
  rc = ohm_uri_parse(text, &u, e);
  free(text);
  if (rc < 0) return rc;
  par = ohm_uri_param(&u, "parity");
  if ((rc = ohm_uri_param_long(&u, "baud", 9600, 50, 4000000, &baud, e)) ||
      (rc = ohm_uri_param_long(&u, "data", 8, 5, 8, &data, e)) ||
      (rc = ohm_uri_param_long(&u, "stop", 1, 1, 2, &stop, e))) {
  } else if (par && (strlen(par) != 1 || !strchr("NEO", par[0]))) {
    rc = ohm_error_set(e, OHM_EINVAL, "parity must be N, E or O");
  } else if (!(s->rtu = modbus_new_rtu(u.path, (int)baud, par ? par[0] : 'N',
                                       (int)data, (int)stop))) {
    rc = ohm_error_set(e, OHM_EINVAL, "%s: %s", u.path, modbus_strerror(errno));
  } else if (modbus_set_slave(s->rtu, 1) < 0 || modbus_connect(s->rtu) < 0) {
    rc = ohm_error_set(e, OHM_EIO, "%s: %s", u.path, modbus_strerror(errno));
  } else {
    modbus_set_indication_timeout(s->rtu, 1, 0);
    modbus_set_byte_timeout(s->rtu, 0, 500000);
  }
  ohm_uri_free(&u);
  return rc;
}

int sim_start(const struct dev_map *m, const char *tcp_addr,
              const char *rtu_tty, int units, struct sim **out,
              struct ohm_error *e) {
  struct sim *s;
  int rc;
  *out = NULL;
  if (units < 1 || units > 247)
    return ohm_error_set(e, OHM_EINVAL, "units must be 1..247");
  if (!tcp_addr && !rtu_tty)
    return ohm_error_set(e, OHM_EINVAL, "nothing to listen on");
  if (!(s = calloc(1, sizeof *s)))
    return ohm_error_set(e, OHM_ENOMEM, "out of memory");
  s->m = m;
  s->units = units;
  s->lfd = s->stop[0] = s->stop[1] = -1;
  s->seed = 12345;
  for (int i = 0; i < SIM_CLIENTS_MAX; i++)
    s->clients[i] = -1;
  if ((rc = lazy_modbus_load(e)) < 0 || (rc = layout(s, e)) < 0 ||
      (rc = alloc_units(s, e)) < 0 ||
      (tcp_addr && (rc = open_tcp(s, tcp_addr, e)) < 0) ||
      (rtu_tty && (rc = open_rtu(s, rtu_tty, e)) < 0)) {
    sim_stop(s);
    return rc;
  }
  classify(s);
  init_values(s);
  if (pipe(s->stop) < 0 ||
      pthread_create(&s->thread, NULL, serve_loop, s) != 0) {
    sim_stop(s);
    return ohm_error_set(e, OHM_EIO, "cannot start the simulator thread");
  }
  s->running = 1;
  s->refs = 1;
  pthread_mutex_lock(&sims_lock);
  s->next = sims;
  sims = s;
  pthread_mutex_unlock(&sims_lock);
  *out = s;
  return 0;
}

static int is_loopback(const char *host) {
  return host && (strcmp(host, "127.0.0.1") == 0 || strcmp(host, "::1") == 0 ||
                  strcmp(host, "localhost") == 0);
}

struct sim *sim_local(const char *host, int port) {
  struct sim *s;
  if (!is_loopback(host) || port <= 0) return NULL;
  pthread_mutex_lock(&sims_lock);
  for (s = sims; s && s->port != port; s = s->next)
    ;
  if (s) s->refs++;
  pthread_mutex_unlock(&sims_lock);
  return s;
}

/* 1 if this was the last reference (s is then out of the list). */
static int unref(struct sim *s) {
  int last;
  if (!s->running) /* sim_start failed: never listed, nobody else has it */
    return 1;
  pthread_mutex_lock(&sims_lock);
  last = --s->refs == 0;
  for (struct sim **p = &sims; last && *p; p = &(*p)->next)
    if (*p == s) {
      *p = s->next;
      break;
    }
  pthread_mutex_unlock(&sims_lock);
  return last;
}

int sim_port(const struct sim *s) {
  return s ? s->port : 0;
}

void sim_stop(struct sim *s) {
  if (!s || !unref(s)) return;
  if (s->running) {
    ssize_t w = write(s->stop[1], "x", 1);
    (void)w;
    pthread_join(s->thread, NULL);
  }
  for (int i = 0; i < SIM_CLIENTS_MAX; i++)
    if (s->clients[i] >= 0) close(s->clients[i]);
  if (s->lfd >= 0) close(s->lfd);
  for (int i = 0; i < 2; i++)
    if (s->stop[i] >= 0) close(s->stop[i]);
  if (s->tcp) modbus_free(s->tcp); /* its socket was never left set */
  if (s->rtu) {
    modbus_close(s->rtu);
    modbus_free(s->rtu);
  }
  for (int u = 0; s->maps && u < s->units; u++)
    modbus_mapping_free(s->maps[u]);
  free(s->maps);
  free(s->energy);
  free((void *)s->resets);
  free(s->roles);
  free(s->owner);
  free(s);
}
