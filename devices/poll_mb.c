/* Modbus TCP fleet reads in one epoll loop (poll_int.h). At most
 * POLL_WINDOW devices (fewer if descriptors are short) are in flight, each in a
 * fixed slot: its device (opened with the transport not connected), a
 * non-blocking connection (transports/modbus_nb.h) and the registers of its
 * map's read plan, one block request after another. The retry policy, the
 * checks of every reply and the error messages are the blocking transport's, so
 * a device reads and fails here as it does in `ohm get`. Devices are admitted
 * in order and never more than twice the window past the first unfinished one,
 * so a caller that prints in order holds at most that many devices' rows.
 * Ctrl-C (tp_interrupted) stops admitting: every device not read yet ends
 * at once with OHM_EINTR, as a blocking read does. */
#include "poll_int.h"

#include "../transports/modbus_nb.h"
#include "../util/clock.h"
#include "engine.h"

#include <errno.h>
#include <modbus.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <unistd.h>

enum { SLOT_FREE, SLOT_CONNECT, SLOT_REPLY };

struct slot {
  int state;
  uint32_t gen; /* tells a stale epoll event from this device's */
  size_t i;     /* target */
  size_t pos;   /* its position in the loop's list */
  struct dev *d;
  struct mb_nb c;
  struct sockaddr_storage sa;
  socklen_t salen;
  size_t blk, off;    /* block being read, its registers' offset */
  int tries, redials; /* the blocking transport's counters, per request */
  uint16_t tid;
  double t0, started, deadline;
  uint16_t *regs; /* every block's registers; grows, never shrinks */
  size_t regcap;
};

struct loop {
  struct poll_set *s;
  int ep;
  struct slot *slots;
  size_t w; /* slots */
  size_t nfree, *free_slots;
  struct dev_value *vals; /* one device's values, while it is reported */
  size_t valcap;
  unsigned char *done; /* per idx position */
  size_t low;          /* first idx position not done */
};

static const struct dev_block *blk_of(const struct slot *sl) {
  return &sl->d->map->blocks[sl->blk];
}

/* Report the slot's device and free the slot. */
static void slot_end(struct loop *l, struct slot *sl, struct poll_result *r,
                     size_t pos) {
  mb_nb_close(&sl->c);
  r->started = sl->started;
  r->dev = sl->d;
  r->map = sl->d ? sl->d->map : NULL;
  poll_finish(l->s, sl->i, sl->d, r, sl->t0);
  sl->d = NULL;
  sl->state = SLOT_FREE;
  sl->gen++;
  l->free_slots[l->nfree++] = (size_t)(sl - l->slots);
  l->done[pos] = 1;
  while (l->done[l->low])
    l->low++;
}

static struct dev_value *loop_vals(struct loop *l, size_t n) {
  if (n > l->valcap) {
    free(l->vals);
    l->valcap = 0;
    if (!(l->vals = malloc(n * sizeof *l->vals))) return NULL;
    l->valcap = n;
  }
  return l->vals;
}

/* The device's own way: blocking, on this thread (its transport connects
 * itself on the first request). For what the loop does not do. */
static void slot_blocking(struct loop *l, struct slot *sl, size_t pos) {
  struct poll_result r = {0};
  struct dev_value *v = loop_vals(l, sl->d->map->nvars + 1);
  mb_nb_close(&sl->c);
  if (!v)
    r.rc = ohm_error_set(&r.err, OHM_ENOMEM, "out of memory");
  else if ((r.rc = dev_read_all(sl->d, v, &r.err)) == 0)
    r.vals = v;
  slot_end(l, sl, &r, pos);
}

/* Every block read: decode, then what every read goes through. */
static void slot_complete(struct loop *l, struct slot *sl, size_t pos) {
  struct poll_result r = {0};
  const struct dev_map *m = sl->d->map;
  struct dev_value *v = loop_vals(l, m->nvars + 1);
  size_t off = 0;
  if (!v) {
    r.rc = ohm_error_set(&r.err, OHM_ENOMEM, "out of memory");
  } else {
    memset(v, 0, m->nvars * sizeof *v);
    for (size_t b = 0; b < m->nblocks; b++) {
      dev_regs_decode_block(sl->d, &m->blocks[b], sl->regs + off, v);
      off += (size_t)m->blocks[b].count;
    }
    if ((r.rc = dev_read_answered(sl->d, v, 0, &r.err)) == 0) r.vals = v;
  }
  slot_end(l, sl, &r, pos);
}

static void slot_fail(struct loop *l, struct slot *sl, int err, size_t pos);

/* Send the current block's request. */
static void slot_send(struct loop *l, struct slot *sl, size_t pos) {
  const struct dev_block *b = blk_of(sl);
  struct mb_adu q = {.tid = ++sl->tid ? sl->tid : ++sl->tid,
                     .unit = (uint8_t)sl->d->unit,
                     .fc = (uint8_t)dev_table_fc(b->table),
                     .addr = (uint16_t)b->first,
                     .arg = (uint16_t)b->count};
  sl->tries++;
  sl->state = SLOT_REPLY;
  sl->deadline = ohm_mono() + sl->d->tp->opts.timeout;
  if (mb_nb_send(&sl->c, &q) < 0) slot_fail(l, sl, errno, pos);
}

/* (Re)connect; the deadline covers the connect as libmodbus's does. */
static void slot_connect(struct loop *l, struct slot *sl, size_t pos) {
  uint64_t key = (uint64_t)sl->gen << 32 | (uint64_t)(sl - l->slots);
  struct poll_result r = {0};
  sl->state = SLOT_CONNECT;
  sl->deadline = ohm_mono() + sl->d->tp->opts.timeout;
  if (mb_nb_connect(&sl->c, l->ep, key, (struct sockaddr *)&sl->sa,
                    sl->salen) == 0)
    return;
  r.rc = tp_modbus_connect_fail(sl->d->tp, errno, &r.err);
  slot_end(l, sl, &r, pos);
}

/* A connect that failed with err: the first one, or a redial. */
static void slot_connect_fail(struct loop *l, struct slot *sl, int err,
                              size_t pos) {
  struct poll_result r = {0};
  const struct dev_block *b = blk_of(sl);
  if (sl->redials)
    r.rc = tp_modbus_redial_fail(sl->d->tp, err, dev_table_fc(b->table),
                                 b->first, b->count, &r.err);
  else
    r.rc = tp_modbus_connect_fail(sl->d->tp, err, &r.err);
  slot_end(l, sl, &r, pos);
}

/* A request failed with err: retry as the transport would, hand a refused
 * block to the engine's splitting (blocking), or report the failure. */
static void slot_fail(struct loop *l, struct slot *sl, int err, size_t pos) {
  const struct dev_block *b = blk_of(sl);
  struct poll_result r = {0};
  if (err == MODBUS_ENOBASE + 1 || err == MODBUS_ENOBASE + 2) {
    slot_blocking(l, sl, pos);
    return;
  }
  if (tp_modbus_retry(sl->d->tp, err, &sl->tries, &sl->redials)) {
    mb_nb_close(&sl->c);
    slot_connect(l, sl, pos);
    return;
  }
  r.rc = tp_modbus_fail(sl->d->tp, err, sl->c.why, dev_table_fc(b->table),
                        b->first, b->count, sl->tries, &r.err);
  slot_end(l, sl, &r, pos);
}

/* The registers of the device's plan fit in the slot. */
static int slot_room(struct slot *sl) {
  size_t n = 0;
  for (size_t b = 0; b < sl->d->map->nblocks; b++)
    n += (size_t)sl->d->map->blocks[b].count;
  if (n <= sl->regcap) return 0;
  uint16_t *r = realloc(sl->regs, n * sizeof *r);
  if (!r) return -1;
  sl->regs = r;
  sl->regcap = n;
  return 0;
}

/* Whether the loop reads d itself: the generic register engine over
 * modbus-tcp at a numeric address, nothing traced, no refused block. */
static int loop_can(struct slot *sl) {
  struct dev *d = sl->d;
  const struct tp *t = d->tp;
  return t->ops->kind == TP_REGS && strcmp(t->ops->scheme, "modbus-tcp") == 0 &&
         d->engine == dev_engine_for(TP_REGS) && !d->sim && !t->opts.trace &&
         d->unit >= 0 && d->unit <= 255 && d->map->nblocks > 0 &&
         slot_room(sl) == 0 &&
         mb_nb_addr(t->uri.host, t->uri.port > 0 ? t->uri.port : 502, &sl->sa,
                    &sl->salen) == 0;
}

/* Open idx position pos into a free slot and start it. */
static void slot_start(struct loop *l, size_t pos, size_t i) {
  struct slot *sl = &l->slots[l->free_slots[--l->nfree]];
  struct poll_result r = {0};
  sl->i = i;
  sl->pos = pos;
  sl->t0 = ohm_mono();
  sl->started = ohm_real();
  sl->blk = sl->off = 0;
  sl->tries = sl->redials = 0;
  sl->c.fd = -1;
  sl->c.q.tid = 0;
  if ((r.rc = l->s->o.open_lazy(l->s->o.ctx, i, &sl->d, &r.err)) < 0) {
    sl->d = NULL;
    slot_end(l, sl, &r, pos);
  } else if (!loop_can(sl)) {
    slot_blocking(l, sl, pos);
  } else {
    slot_connect(l, sl, pos);
  }
}

/* Bytes or a verdict arrived for the slot. */
static void slot_event(struct loop *l, struct slot *sl, unsigned ev,
                       size_t pos) {
  int rc;
  if (sl->state == SLOT_CONNECT) {
    if ((rc = mb_nb_connected(&sl->c, ev)) < 0)
      slot_connect_fail(l, sl, errno, pos);
    else if (rc == 0)
      slot_send(l, sl, pos);
    return;
  }
  if ((rc = mb_nb_recv(&sl->c, sl->regs + sl->off)) == 0) return;
  if (rc < 0) {
    slot_fail(l, sl, errno, pos);
    return;
  }
  sl->off += (size_t)blk_of(sl)->count;
  if (++sl->blk == sl->d->map->nblocks) {
    slot_complete(l, sl, pos);
    return;
  }
  sl->tries = sl->redials = 0;
  slot_send(l, sl, pos);
}

/* Time out every slot past its deadline; the next deadline in ms (-1:
 * none). */
static int loop_expire(struct loop *l) {
  double now = ohm_mono(), next = 0;
  for (size_t k = 0; k < l->w; k++) {
    struct slot *sl = &l->slots[k];
    if (sl->state != SLOT_FREE && sl->deadline <= now) {
      /* first what arrived while the loop was busy (a blocking read) */
      uint32_t gen = sl->gen;
      unsigned ev = mb_nb_poll(&sl->c);
      if (ev) slot_event(l, sl, ev, sl->pos);
      if (sl->gen != gen || sl->state == SLOT_FREE || sl->deadline > now)
        ; /* it moved on */
      else if (sl->state == SLOT_CONNECT)
        slot_connect_fail(l, sl, ETIMEDOUT, sl->pos);
      else
        slot_fail(l, sl, ETIMEDOUT, sl->pos);
    }
    if (sl->state != SLOT_FREE && (next == 0 || sl->deadline < next))
      next = sl->deadline;
  }
  return next == 0 ? -1 : (int)((next - now) * 1000) + 1;
}

/* The window: POLL_WINDOW, or what the descriptor limit allows (raised
 * to its hard limit if need be) beside the workers' and SNMP's sockets. */
static size_t loop_window(size_t n) {
  struct rlimit rl;
  size_t w = n < POLL_WINDOW ? n : POLL_WINDOW;
  if (getrlimit(RLIMIT_NOFILE, &rl) < 0) return w < 64 ? w : 64;
  if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < w + 512) {
    rlim_t want = w + 512;
    rl.rlim_cur =
        rl.rlim_max == RLIM_INFINITY || rl.rlim_max > want ? want : rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    getrlimit(RLIMIT_NOFILE, &rl);
  }
  if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < w + 512)
    w = rl.rlim_cur > 512 + 16 ? (size_t)rl.rlim_cur - 512 : 16;
  return w ? w : 1;
}

static int loop_init(struct loop *l, struct poll_set *s, size_t n) {
  memset(l, 0, sizeof *l);
  l->s = s;
  l->w = loop_window(n);
  l->ep = epoll_create1(EPOLL_CLOEXEC);
  l->slots = calloc(l->w, sizeof *l->slots);
  l->free_slots = calloc(l->w, sizeof *l->free_slots);
  l->done = calloc(n + 1, 1);
  if (l->ep < 0 || !l->slots || !l->free_slots || !l->done) return -1;
  for (size_t k = 0; k < l->w; k++) {
    l->slots[k].c.fd = -1;
    l->free_slots[l->nfree++] = l->w - 1 - k;
  }
  return 0;
}

static void loop_free(struct loop *l) {
  for (size_t k = 0; l->slots && k < l->w; k++)
    free(l->slots[k].regs);
  if (l->ep >= 0) close(l->ep);
  free(l->slots), free(l->free_slots), free(l->done), free(l->vals);
}

/* Without a loop (out of memory or descriptors): every target fails. */
static void loop_refuse(struct poll_set *s, const size_t *idx, size_t n) {
  for (size_t k = 0; k < n; k++) {
    struct poll_result r = {0};
    r.rc = ohm_error_set(&r.err, OHM_ENOMEM, "out of memory");
    poll_finish(s, idx[k], NULL, &r, ohm_mono());
  }
}

/* A slot's end at Ctrl-C, worded as the blocking transport words it:
 * the request it waits on ("read registers 0-98 from unit 1
 * interrupted"), or plain "interrupted" before its first request. */
static void slot_interrupted(const struct slot *sl, struct poll_result *r) {
  const struct dev_block *b = blk_of(sl);
  if (sl->state == SLOT_CONNECT && !sl->tries && !sl->redials && !sl->blk)
    r->rc = ohm_error_set(&r->err, OHM_EINTR, "interrupted");
  else
    r->rc = tp_modbus_interrupted(sl->d->tp, dev_table_fc(b->table), b->first,
                                  b->count, &r->err);
}

/* Ctrl-C (tp_interrupted): what is in flight ends, in order, with
 * OHM_EINTR as a blocking read does; the devices not started yet are not
 * opened and each ends with OHM_EINTR "interrupted". */
static void loop_interrupt(struct loop *l, const size_t *idx, size_t next,
                           size_t n) {
  for (size_t pos = l->low; pos < next; pos++)
    for (size_t k = 0; !l->done[pos] && k < l->w; k++) {
      struct slot *sl = &l->slots[k];
      struct poll_result r = {0};
      if (sl->state == SLOT_FREE || sl->pos != pos) continue;
      slot_interrupted(sl, &r);
      slot_end(l, sl, &r, pos);
    }
  for (; next < n; next++) {
    struct poll_result r = {0};
    r.rc = ohm_error_set(&r.err, OHM_EINTR, "interrupted");
    r.started = ohm_real();
    poll_finish(l->s, idx[next], NULL, &r, ohm_mono());
  }
}

/* A signal taken by a worker thread does not wake epoll_wait: the flag is
 * looked at again within POLL_MB_INTR_MS at the latest. */
#define POLL_MB_INTR_MS 100

void poll_mb_run(struct poll_set *s, const size_t *idx, size_t n) {
  struct loop l;
  struct epoll_event ev[256];
  size_t next = 0;
  if (loop_init(&l, s, n) < 0) {
    loop_free(&l);
    loop_refuse(s, idx, n);
    return;
  }
  while (next < n || l.nfree < l.w) {
    if (tp_interrupted) { /* Ctrl-C: admit no more, end what is in flight */
      loop_interrupt(&l, idx, next, n);
      break;
    }
    while (next < n && l.nfree && next < l.low + 2 * l.w && !tp_interrupted) {
      slot_start(&l, next, idx[next]);
      next++;
    }
    int wait = loop_expire(&l);
    if (l.nfree == l.w) continue; /* nothing in flight */
    if (s->o.idle) s->o.idle(s->o.ctx);
    if (wait < 0 || wait > POLL_MB_INTR_MS) wait = POLL_MB_INTR_MS;
    int k = epoll_wait(l.ep, ev, 256, wait);
    for (int j = 0; j < k; j++) {
      size_t slot = (size_t)(ev[j].data.u64 & 0xffffffffu);
      struct slot *sl = &l.slots[slot];
      if (sl->state != SLOT_FREE && sl->gen == ev[j].data.u64 >> 32)
        slot_event(&l, sl, ev[j].events, sl->pos);
    }
  }
  loop_free(&l);
}
