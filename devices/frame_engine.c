/* The frame engine: a driver map with a `frame` dialect (YD/T 1363.3:
 * Pylontech, PACE, ...) read over a byte stream (serial://, tcp://).
 * Knows no dialect: VER, addresses, CID2s, scales, offsets and layouts
 * come from the map (devices/frame_map.h). One analog (and one alarm)
 * request per pack; a pack that does not answer is absent from a bank
 * read and an error when asked for alone (?unit=P). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../util/clock.h"
#include "engine.h"
#include "frame.h"
#include "frame_eng.h"
#include "frame_map.h"

/* Engine state: which addresses the bank holds, texts read once. */
struct fstate {
  int known[256]; /* 1 answered before, -1 never answered, 0 not tried */
  char serial[256][FP_TEXT];
  char firmware[256][FP_TEXT];
};

static int fe_open(struct dev *d, struct ohm_error *e) {
  if (!d->map->frame)
    return ohm_error_set(e, OHM_ENOTSUP,
                         "driver %s has no frame dialect: it cannot read "
                         "over %s",
                         d->map->name, d->tp->ops->scheme);
  if (!(d->priv = calloc(1, sizeof(struct fstate))))
    return ohm_error_set(e, OHM_ENOMEM, "out of memory");
  return 0;
}

static void fe_close(struct dev *d) {
  free(d->priv);
  d->priv = NULL;
}

/* One reply frame for the request within the transport's timeout; a frame
 * from another address is skipped. OHM_ETIMEDOUT when none came; a
 * corrupt frame is OHM_EPROTO. Caller holds the line. */
static int fe_await(struct tp *t, const struct tp_stream_ops *ops, int adr,
                    int pack, struct frm *rep, struct ohm_error *e) {
  struct frm_reader r;
  char buf[512];
  double t0 = ohm_mono(), end = t0 + t->opts.timeout, keep = t->opts.timeout;
  int rc = OHM_ETIMEDOUT;
  frm_reader_init(&r);
  while (rc == OHM_ETIMEDOUT && ohm_mono() < end) {
    t->opts.timeout = end - ohm_mono();
    long n = ops->read(t, buf, sizeof buf, e);
    t->opts.timeout = keep;
    if (n < 0) return (int)n;
    for (size_t used = 0, done; (long)used < n && rc == OHM_ETIMEDOUT;) {
      used += frm_reader_feed(&r, buf + used, (size_t)n - used, &done);
      if (!done) continue;
      tp_trace(t, '<', r.buf, done, NULL, t0);
      if ((rc = frm_decode(r.buf, done, rep, e)) == 0 &&
          (rep->adr != adr || (pack >= 0 && rep->ninfo >= 2 && rep->cid2 == 0 &&
                               rep->info[1] != pack)))
        rc = OHM_ETIMEDOUT; /* another address's reply: not ours */
      frm_reader_next(&r);
    }
  }
  if (rc == OHM_ETIMEDOUT)
    ohm_error_set(e, rc, "no answer within %g s", t->opts.timeout);
  return rc;
}

/* A reply taken after a timeout may be the late answer to the first
 * attempt; the retry's answer is then still coming: wait for it one
 * timeout and discard it, so it is never taken for the next request's. */
static void fe_drain(struct tp *t, const struct tp_stream_ops *ops,
                     double end) {
  char buf[256];
  struct ohm_error e;
  double keep = t->opts.timeout;
  while (ohm_mono() < end) {
    t->opts.timeout = end - ohm_mono();
    long n = ops->read(t, buf, sizeof buf, &e);
    t->opts.timeout = keep;
    if (n < 0) break;
  }
}

int fe_xfer(struct dev *d, int pack, int cid2, const uint8_t *info,
            size_t ninfo, struct frm *rep, struct ohm_error *e) {
  const struct dev_frame *f = d->map->frame;
  const struct tp_stream_ops *ops = d->tp->ops->ext;
  struct frm q = {.ver = (uint8_t)f->ver,
                  .adr = (uint8_t)(f->adr < 0 ? pack : f->adr),
                  .cid1 = (uint8_t)f->cid1,
                  .cid2 = (uint8_t)cid2,
                  .ninfo = ninfo};
  char wire[FRM_WIRE_MAX + 1];
  /* analog and alarm replies name their pack (where the dialect's do):
   * one for another is skipped */
  int want =
          f->info_adr && (cid2 == f->analog || cid2 == f->alarms) ? pack : -1,
      rc = 0;
  memcpy(q.info, info, ninfo);
  size_t n = frm_encode(&q, wire, sizeof wire);
  for (int a = 0; a <= d->tp->opts.retries; a++) {
    if ((rc = ops->lock(d->tp, e)) < 0) return rc;
    ops->flush(d->tp);
    tp_trace(d->tp, '>', wire, n, NULL, 0);
    if ((rc = ops->write(d->tp, wire, n, e)) == 0)
      rc = fe_await(d->tp, ops, q.adr, want, rep, e);
    /* the retry's own reply comes as late after it as the first did */
    if (rc == 0 && a > 0)
      fe_drain(d->tp, ops, ohm_mono() + a * d->tp->opts.timeout + 0.2);
    ops->unlock(d->tp);
    if (rc != OHM_ETIMEDOUT && rc != OHM_EPROTO) break;
  }
  if (rc < 0) return rc;
  if (rep->ver != f->ver)
    return ohm_error_set(e, OHM_EPROTO, "reply with VER %02X, want %02X",
                         rep->ver, f->ver);
  if (rep->cid2 != 0) {
    const char *why = frm_rtn_text(rep->cid2);
    return ohm_error_set(e, OHM_EDEVICE, "BMS answered RTN %02X (%s)",
                         rep->cid2, why ? why : "unknown code");
  }
  return 0;
}

/* The pack addresses to read: ?unit=P, packs=LIST, else the dialect's
 * range (skipping addresses that never answered once the bank is known). */
static int fe_targets(struct dev *d, int *list, int *single,
                      struct ohm_error *e) {
  const struct dev_frame *f = d->map->frame;
  const char *packs = ohm_uri_param(&d->tp->uri, "packs");
  int n = 0;
  *single = ohm_uri_param(&d->tp->uri, "unit") != NULL;
  if (*single) {
    list[0] = d->unit;
    return 1;
  }
  if (packs) return fp_parse_list(packs, list, e);
  for (int a = f->first; a <= f->last; a++)
    list[n++] = a;
  return n;
}

/* Texts (serial, firmware) are read once per pack and kept. */
static void fe_texts(struct dev *d, struct fpack *p) {
  const struct dev_frame *f = d->map->frame;
  struct fstate *s = d->priv;
  if (f->serial && !s->serial[p->adr][0])
    fp_read_text(d, p->adr, f->serial, s->serial[p->adr]);
  if (f->firmware && !s->firmware[p->adr][0])
    fp_read_text(d, p->adr, f->firmware, s->firmware[p->adr]);
  snprintf(p->serial, sizeof p->serial, "%s", s->serial[p->adr]);
  snprintf(p->firmware, sizeof p->firmware, "%s", s->firmware[p->adr]);
}

/* Read one pack; p->present 0 and p->err set if it failed. */
static void fe_read_pack(struct dev *d, int adr, int discover,
                         struct fpack *p) {
  const struct dev_frame *f = d->map->frame;
  struct ohm_error e = {0};
  struct frm *rep = malloc(sizeof *rep);
  uint8_t a = (uint8_t)adr;
  int keep = d->tp->opts.retries, rc;
  memset(p, 0, sizeof *p);
  p->adr = adr;
  if (!rep) return;
  if (discover) d->tp->opts.retries = 0; /* an empty address costs once */
  rc = fe_xfer(d, adr, f->analog, &a, 1, rep, &e);
  d->tp->opts.retries = keep;
  if (rc == 0) rc = fp_parse_analog(f, rep, p, &e);
  if (rc == 0 && f->alarms &&
      (rc = fe_xfer(d, adr, f->alarms, &a, 1, rep, &e)) == 0)
    rc = fp_parse_alarms(f, rep, p, &e);
  if (rc == 0) fe_texts(d, p);
  p->present = rc == 0;
  p->rc = rc;
  if (rc < 0)
    snprintf(p->err, sizeof p->err, "pack %d: %s", adr, ohm_error_text(&e));
  free(rep);
}

/* A read where no pack answered is the device's error (nothing would look
 * like a good, empty bank): the one asked for, or what the first said;
 * the next read of the range looks at every address again. */
static int fe_none(struct dev *d, const struct fpack *packs, int n,
                   int explicit, struct ohm_error *e) {
  const struct dev_frame *f = d->map->frame;
  struct fstate *s = d->priv;
  for (int i = 0; i < n; i++)
    if (packs[i].present) return 0;
  for (int i = 0; i < n; i++)
    if (packs[i].rc && (explicit || packs[i].rc != OHM_ETIMEDOUT))
      return ohm_error_set(e, packs[i].rc, "%s", packs[i].err);
  memset(s->known, 0, sizeof s->known);
  return ohm_error_set(e, OHM_ETIMEDOUT,
                       "no pack answered at addresses %d-%d (%s): wrong "
                       "driver, line settings or wiring?",
                       f->first, f->last, d->map->name);
}

static int fe_read_all(struct dev *d, struct dev_value *vals,
                       struct ohm_error *e) {
  struct fstate *s = d->priv;
  int list[256], single, n = fe_targets(d, list, &single, e);
  struct fpack *packs;
  if (n < 0) return n;
  if (!(packs = calloc((size_t)n, sizeof *packs)))
    return ohm_error_set(e, OHM_ENOMEM, "out of memory");
  int explicit = single || ohm_uri_param(&d->tp->uri, "packs");
  for (int i = 0; i < n; i++) {
    int *k = &s->known[list[i]];
    packs[i].adr = -1;
    if (!explicit && *k < 0) continue;
    fe_read_pack(d, list[i], !explicit && !*k, &packs[i]);
    if (packs[i].present)
      *k = 1;
    else if (!explicit && !*k && packs[i].rc == OHM_ETIMEDOUT)
      *k = -1, packs[i].rc = 0; /* no pack at this address: absent */
  }
  int rc = fe_none(d, packs, n, explicit, e);
  if (rc == 0) fp_fill(d->map, packs, n, explicit, vals);
  free(packs);
  return rc;
}

/* A frame command on the pack of ?unit=P: INFO = the address, then the
 * map's data bytes (hex). */
static int fe_cmd(struct dev *d, const struct dev_cmd *c, struct ohm_error *e) {
  uint8_t info[64];
  size_t n = 1;
  struct frm *rep;
  int rc;
  if (!c->cid2)
    return ohm_error_set(e, OHM_ENOTSUP, "%s: not a frame command", c->name);
  if (!ohm_uri_param(&d->tp->uri, "unit"))
    return ohm_error_set(e, OHM_EINVAL,
                         "%s: which pack? give ?unit=P in the URI", c->name);
  info[0] = (uint8_t)d->unit;
  for (const char *h = c->data; h && h[0] && h[1] && n < sizeof info; h += 2) {
    unsigned b;
    if (sscanf(h, "%2x", &b) != 1)
      return ohm_error_set(e, OHM_ECONFIG, "%s: bad data hex", c->name);
    info[n++] = (uint8_t)b;
  }
  if (!(rep = malloc(sizeof *rep)))
    return ohm_error_set(e, OHM_ENOMEM, "out of memory");
  rc = fe_xfer(d, d->unit, c->cid2, info, n, rep, e);
  if (rc < 0) {
    char msg[sizeof e->msg];
    snprintf(msg, sizeof msg, "%s", e->msg);
    ohm_error_set(e, rc, "%s: pack %d: %s", c->name, d->unit, msg);
  }
  free(rep);
  return rc;
}

static int fe_has_cmd(const struct dev *d, const struct dev_cmd *c) {
  return c->cid2 && ohm_uri_param(&d->tp->uri, "unit") != NULL;
}

const struct dev_engine dev_engine_frame = {
    .kind = TP_STREAM,
    .open = fe_open,
    .read_all = fe_read_all,
    .cmd = fe_cmd,
    .has_cmd = fe_has_cmd,
    .close = fe_close,
};
