/* The BMS simulator (see sim_bms.h): the map's dialect spoken back. */
#include "sim_bms.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

#include "../util/clock.h"
#include "frame.h"
#include "frame_map.h"

#define SB_CELLS 16
#define SB_TEMPS 6

struct sb_pack {
  int adr;
  double cell[SB_CELLS]; /* V */
  double remaining;      /* Ah */
  int mos_charge, mos_discharge, beeper;
};

struct sim_bms {
  const struct dev_map *m;
  const struct dev_frame *f;
  struct sb_pack pack[16];
  int npacks, runaway;
  int lfd, cfd, tty; /* listener, its one client, or the tty */
  int port;
  int stop[2]; /* self-pipe */
  double t0, last;
  long requests;
  pthread_t th;
  pthread_mutex_t mu;
};

static double full_ah(void) {
  return 100.0;
}

/* Values drift with time: a current that swings, cells that follow SOC. */
static double current_at(double t) {
  return 20 * sin(t / 60.0 + 1.0);
}

static void advance(struct sim_bms *s) {
  double now = ohm_mono(), dt = now - s->last, cur = current_at(now - s->t0);
  s->last = now;
  for (int p = 0; p < s->npacks; p++) {
    struct sb_pack *k = &s->pack[p];
    if ((cur > 0 && k->mos_charge) || (cur < 0 && k->mos_discharge))
      k->remaining += cur * dt / 3600;
    k->remaining = fmin(fmax(k->remaining, 0), full_ah());
    double base = 3.20 + 0.2 * k->remaining / full_ah();
    for (int c = 0; c < SB_CELLS; c++) {
      double spread = 0.001 * ((p * 7 + c * 3) % 9);
      k->cell[c] = floor((base + spread) * 1000 + 0.5) / 1000;
    }
    if (p == 0 && s->runaway)
      k->cell[s->runaway - 1] = /* over the 3.65 V limit, and climbing */
          floor(fmin(3.66 + 0.002 * (now - s->t0), 3.80) * 1000) / 1000;
  }
}

static int put(uint8_t *b, int at, uint32_t v, int n) {
  for (int i = n - 1; i >= 0; i--)
    b[at++] = (uint8_t)(v >> (8 * i));
  return at;
}

static double temp_c(const struct sb_pack *k, int i) {
  return 25 + k->adr % 4 + i * 0.5;
}

static int analog(const struct sim_bms *s, const struct sb_pack *k,
                  uint8_t *b) {
  const struct dev_frame *f = s->f;
  double cur = current_at(s->last - s->t0), v = 0;
  int at = 0, p = f->nextras ? f->extras[0].p : 2, wide = 0;
  for (int i = 0; f->nextras && i < f->extras[0].nf; i++)
    wide |= strcmp(f->extras[0].f[i].field, "capacity") == 0;
  b[at++] = 0;
  b[at++] = (uint8_t)k->adr;
  b[at++] = SB_CELLS;
  for (int c = 0; c < SB_CELLS; c++) {
    at = put(b, at, (uint32_t)lround(k->cell[c] / f->cell_scale), 2);
    v += k->cell[c];
  }
  b[at++] = SB_TEMPS;
  for (int i = 0; i < SB_TEMPS; i++)
    at =
        put(b, at,
            (uint32_t)lround(temp_c(k, i) / f->temp_scale + f->temp_offset), 2);
  at = put(b, at, (uint16_t)(int16_t)lround(cur / f->current_scale), 2);
  at = put(b, at, (uint32_t)lround(v / f->voltage_scale), 2);
  uint32_t rem = (uint32_t)lround(k->remaining / f->capacity_scale),
           full = (uint32_t)lround(full_ah() / f->capacity_scale);
  at = put(b, at, wide ? 0xFFFF : rem, 2);
  b[at++] = (uint8_t)p;
  at = put(b, at, wide ? 0xFFFF : full, 2);
  at = put(b, at, 42u + (unsigned)k->adr, 2);
  for (int i = 0; f->nextras && i < f->extras[0].nf; i++) {
    const struct dev_frame_field *x = &f->extras[0].f[i];
    uint32_t val = strcmp(x->field, "capacity.remaining") == 0 ? rem
                   : strcmp(x->field, "capacity") == 0
                       ? full
                       : (uint32_t)lround(105.0 / f->capacity_scale);
    at = put(b, at, val, x->bytes);
  }
  return at;
}

/* The status bit a map var names ("battery.pack.P.NAME"), or -1. */
static int var_bit(const struct sim_bms *s, const char *name, int *st) {
  char full[96];
  snprintf(full, sizeof full, "battery.pack.%d.%s", s->f->first, name);
  const struct dev_var *v = dev_map_var(s->m, full);
  if (!v || !v->frame || strncmp(v->frame, "status:", 7) != 0) return -1;
  *st = dev_frame_status(s->f, v->frame + 7);
  return *st >= 0 ? v->bit : -1;
}

static void set_bit(const struct sim_bms *s, uint8_t *st, const char *name,
                    int on) {
  int i, bit = var_bit(s, name, &i);
  if (bit >= 0 && on) st[i] |= (uint8_t)(1u << bit);
}

static int alarms(const struct sim_bms *s, const struct sb_pack *k,
                  uint8_t *b) {
  const struct dev_frame *f = s->f;
  uint8_t st[FRAME_STATUS_MAX] = {0};
  double mean = 0;
  int at = 0, high = 0;
  for (int c = 0; c < SB_CELLS; c++)
    mean += k->cell[c] / SB_CELLS;
  b[at++] = 0;
  b[at++] = (uint8_t)k->adr;
  b[at++] = SB_CELLS;
  for (int c = 0; c < SB_CELLS; c++) {
    b[at++] = k->cell[c] > 3.65 ? 2 : 0;
    high |= k->cell[c] > 3.65;
    if (k->cell[c] > mean + 0.005 && f->balance[c / 8] >= 0)
      st[f->balance[c / 8]] |= (uint8_t)(1u << (c % 8));
  }
  b[at++] = SB_TEMPS;
  for (int i = 0; i < SB_TEMPS; i++)
    b[at++] = 0;
  for (int i = 0; i < f->alarm_states; i++)
    b[at++] = 0;
  set_bit(s, st, "mos.charge", k->mos_charge);
  set_bit(s, st, "mos.discharge", k->mos_discharge);
  set_bit(s, st, "beeper.status", k->beeper);
  for (size_t i = 0; high && i < f->nwords; i++)
    if (strcmp(f->words[i].word, "cell-overvoltage") == 0)
      st[f->words[i].status] |= (uint8_t)(1u << f->words[i].bit);
  memcpy(b + at, st, (size_t)f->nstatus);
  return at + f->nstatus;
}

/* A map command by CID2 and data: MOS and buzzer. RTN. */
static int command(struct sim_bms *s, struct sb_pack *k, const struct frm *q) {
  int known = 0;
  for (size_t i = 0; i < s->m->ncmds; i++) {
    const struct dev_cmd *c = &s->m->cmds[i];
    unsigned d = 0;
    known |= c->cid2 == q->cid2;
    if (c->cid2 != q->cid2 || !c->data || sscanf(c->data, "%2x", &d) != 1 ||
        q->ninfo < 2 || q->info[1] != d)
      continue;
    int on = strstr(c->name, ".on") || strstr(c->name, "enable");
    if (strstr(c->name, "mos.charge")) {
      if (!on && !k->mos_discharge) return 0x09;
      k->mos_charge = on;
    } else if (strstr(c->name, "mos.discharge")) {
      if (!on && !k->mos_charge) return 0x09;
      k->mos_discharge = on;
    } else if (strstr(c->name, "beeper")) {
      k->beeper = on;
    }
    return 0;
  }
  return known ? 0x06 : 0x04; /* invalid data, or CID2 invalid */
}

static struct sb_pack *find_pack(struct sim_bms *s, int adr) {
  for (int p = 0; p < s->npacks; p++)
    if (s->pack[p].adr == adr) return &s->pack[p];
  return NULL;
}

/* The reply to one frame text; 0 for silence. */
static size_t answer(struct sim_bms *s, const char *req, size_t n, char *out,
                     size_t outsz) {
  struct frm *q = calloc(1, sizeof *q), *r = calloc(1, sizeof *r);
  struct ohm_error e;
  struct sb_pack *k = NULL;
  size_t len = 0;
  if (!q || !r) goto done;
  r->ver = (uint8_t)s->f->ver;
  r->cid1 = (uint8_t)s->f->cid1;
  if (frm_decode(req, n, q, &e) < 0) {
    r->cid2 = strstr(e.msg, "LCHKSUM")  ? 0x03
              : strstr(e.msg, "CHKSUM") ? 0x02
                                        : 0x05;
  } else if (!(k = find_pack(s, q->adr))) {
    goto done; /* nobody at this address */
  } else {
    r->adr = q->adr;
    advance(s);
    if (q->ver != s->f->ver)
      r->cid2 = 0x01;
    else if (q->cid2 == s->f->analog)
      r->ninfo = (size_t)analog(s, k, r->info);
    else if (s->f->alarms && q->cid2 == s->f->alarms)
      r->ninfo = (size_t)alarms(s, k, r->info);
    else if (q->cid2 == s->f->serial || q->cid2 == s->f->firmware) {
      int at = s->f->text_info ? (r->info[0] = (uint8_t)k->adr, 1) : 0;
      r->ninfo =
          (size_t)at + (size_t)snprintf((char *)r->info + at, 32,
                                        q->cid2 == s->f->serial ? "OHMSIM%04d"
                                                                : "ohm-sim-1.0",
                                        k->adr);
    } else
      r->cid2 = (uint8_t)command(s, k, q);
  }
  len = frm_encode(r, out, outsz);
  s->requests++;
done:
  free(q);
  free(r);
  return len;
}

/* Write all of a reply (the peer reads it whole). */
static void send_all(int fd, const char *p, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w > 0) {
      p += w;
      n -= (size_t)w;
    } else if (w < 0 && errno != EAGAIN && errno != EINTR) {
      return;
    } else {
      struct pollfd pf = {fd, POLLOUT, 0};
      poll(&pf, 1, 100);
    }
  }
}

/* Bytes from fd through the reader; each frame answered. 0 at EOF. */
static int serve_fd(struct sim_bms *s, int fd, struct frm_reader *r) {
  char buf[512], out[FRM_WIRE_MAX + 1];
  ssize_t n = read(fd, buf, sizeof buf);
  if (n == 0 && fd != s->tty) return 0;
  if (n < 0) return errno == EAGAIN || errno == EINTR ? 1 : 0;
  for (size_t used = 0, done; used < (size_t)n;) {
    used += frm_reader_feed(r, buf + used, (size_t)n - used, &done);
    if (!done) continue;
    pthread_mutex_lock(&s->mu);
    size_t len = answer(s, r->buf, done, out, sizeof out);
    pthread_mutex_unlock(&s->mu);
    frm_reader_next(r);
    if (len) send_all(fd, out, len);
  }
  return 1;
}

static void *sb_thread(void *arg) {
  struct sim_bms *s = arg;
  struct frm_reader *r = malloc(sizeof *r);
  if (!r) return NULL;
  frm_reader_init(r);
  for (;;) {
    struct pollfd p[3] = {{s->stop[0], POLLIN, 0},
                          {s->tty >= 0 ? s->tty : s->lfd, POLLIN, 0},
                          {s->cfd, POLLIN, 0}};
    if (poll(p, s->cfd >= 0 ? 3 : 2, 1000) < 0 && errno != EINTR) break;
    if (p[0].revents) break;
    if (s->tty >= 0 && p[1].revents) serve_fd(s, s->tty, r);
    if (s->tty < 0 && p[1].revents & POLLIN) {
      int c = accept(s->lfd, NULL, NULL);
      if (c >= 0 && s->cfd >= 0) close(s->cfd); /* the newest client wins */
      if (c >= 0) s->cfd = c, frm_reader_init(r);
    }
    if (s->cfd >= 0 && p[2].revents && !serve_fd(s, s->cfd, r)) {
      close(s->cfd);
      s->cfd = -1;
    }
  }
  free(r);
  return NULL;
}

static int sb_tty(struct sim_bms *s, const char *path, struct ohm_error *e) {
  struct termios t;
  s->tty = open(path, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
  if (s->tty < 0)
    return ohm_error_set(e, OHM_EIO, "open %s failed (%s)", path,
                         strerror(errno));
  if (tcgetattr(s->tty, &t) == 0) {
    cfmakeraw(&t);
    t.c_cc[VMIN] = 0;
    t.c_cc[VTIME] = 0;
    tcsetattr(s->tty, TCSANOW, &t);
  }
  return 0;
}

static int sb_listen(struct sim_bms *s, const char *addr, struct ohm_error *e) {
  const char *colon = strrchr(addr, ':');
  char host[128];
  struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE},
                  *res;
  struct sockaddr_storage ss;
  socklen_t sl = sizeof ss;
  int one = 1, len = colon ? (int)(colon - addr) : 0;
  if (!colon || len <= 0 || len >= (int)sizeof host)
    return ohm_error_set(e, OHM_EINVAL, "bad address '%.80s' (HOST:PORT)",
                         addr);
  if (addr[0] == '[' && addr[len - 1] == ']') addr++, len -= 2;
  snprintf(host, sizeof host, "%.*s", len, addr);
  if (getaddrinfo(host, colon + 1, &hints, &res) != 0)
    return ohm_error_set(e, OHM_EINVAL, "bad address '%.80s'", addr);
  s->lfd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  setsockopt(s->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (s->lfd < 0 || bind(s->lfd, res->ai_addr, res->ai_addrlen) < 0 ||
      listen(s->lfd, 4) < 0) {
    freeaddrinfo(res);
    return ohm_error_set(e, OHM_EIO, "cannot listen on %s:%s (%s)", host,
                         colon + 1, strerror(errno));
  }
  freeaddrinfo(res);
  getsockname(s->lfd, (struct sockaddr *)&ss, &sl);
  s->port =
      ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                     : ((struct sockaddr_in *)&ss)->sin_port);
  return 0;
}

static void sb_free(struct sim_bms *s) {
  if (s->lfd >= 0) close(s->lfd);
  if (s->cfd >= 0) close(s->cfd);
  if (s->tty >= 0) close(s->tty);
  if (s->stop[0] >= 0) close(s->stop[0]);
  if (s->stop[1] >= 0) close(s->stop[1]);
  pthread_mutex_destroy(&s->mu);
  free(s);
}

int sim_bms_start(const struct dev_map *m, const struct sim_bms_opts *o,
                  struct sim_bms **out, struct ohm_error *e) {
  struct sim_bms *s;
  int rc;
  *out = NULL;
  if (!m->frame)
    return ohm_error_set(e, OHM_EINVAL, "driver %s has no frame dialect",
                         m->name);
  if (o->packs < 1 || o->packs > 16 || o->runaway < 0 || o->runaway > 16 ||
      m->frame->first + o->packs - 1 > m->frame->last)
    return ohm_error_set(e, OHM_EINVAL, "--packs 1..%d, --runaway 0..16",
                         m->frame->last - m->frame->first + 1);
  if (!(s = calloc(1, sizeof *s)))
    return ohm_error_set(e, OHM_ENOMEM, "out of memory");
  s->m = m;
  s->f = m->frame;
  s->lfd = s->cfd = s->tty = s->stop[0] = s->stop[1] = -1;
  s->npacks = o->packs;
  s->runaway = o->runaway;
  s->t0 = s->last = ohm_mono();
  pthread_mutex_init(&s->mu, NULL);
  for (int p = 0; p < s->npacks; p++)
    s->pack[p] = (struct sb_pack){.adr = s->f->first + p,
                                  .remaining = 60 + 5 * p,
                                  .mos_charge = 1,
                                  .mos_discharge = 1,
                                  .beeper = 1};
  advance(s);
  rc = pipe2(s->stop, O_CLOEXEC) < 0
           ? ohm_error_set(e, OHM_EIO, "pipe: %s", strerror(errno))
       : o->tty ? sb_tty(s, o->tty, e)
                : sb_listen(s, o->tcp ? o->tcp : "127.0.0.1:0", e);
  if (rc == 0 && pthread_create(&s->th, NULL, sb_thread, s) != 0)
    rc = ohm_error_set(e, OHM_EIO, "cannot start the simulator thread");
  if (rc < 0) {
    sb_free(s);
    return rc;
  }
  *out = s;
  return 0;
}

int sim_bms_port(const struct sim_bms *s) {
  return s ? s->port : 0;
}

long sim_bms_requests(const struct sim_bms *s) {
  return s ? s->requests : 0;
}

void sim_bms_stop(struct sim_bms *s) {
  if (!s) return;
  if (write(s->stop[1], "x", 1) < 0) { /* the thread polls it */
  }
  pthread_join(s->th, NULL);
  sb_free(s);
}
