/* SNMP requests: GET jobs (split on tooBig), walks, SETs and the multi
 * event loop for many agents; all sent asynchronously and completed by
 * snmp_run_loop (snmp.c). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../util/clock.h"
#include "snmp_int.h"

/* ---- requests ---------------------------------------------------------- */

static int is_snmp(const struct tp *t, struct ohm_error *e) {
  if (!t || t->ops != &tp_snmp_ops || !t->priv)
    return ohm_error_set(e, OHM_ENOTSUP, "not an snmp transport");
  return 0;
}

static int timeout_error(const struct tp *t, struct ohm_error *e) {
  const struct sp *p = t->priv;
  return ohm_error_set(e, OHM_ETIMEDOUT, "no answer after %d %s of %g s%s",
                       t->opts.retries + 1, t->opts.retries ? "tries" : "try",
                       t->opts.timeout,
                       p->tmpl.version != SNMP_VERSION_3 ? " (wrong community?)"
                       : p->tmpl.securityLevel == SNMP_SEC_LEVEL_AUTHPRIV
                           ? " (wrong privacy passphrase?)"
                           : "");
}

/* An SNMPv3 report PDU in answer to a request: why the agent refused. */
static int report_error(netsnmp_pdu *pdu, struct ohm_error *e) {
  int r = snmpv3_get_report_type(pdu);
  switch (r) {
  case SNMPERR_AUTHENTICATION_FAILURE:
    return ohm_error_set(e, OHM_EACCES,
                         "SNMPv3 authentication failed "
                         "(wrong passphrase or auth protocol?)");
  case SNMPERR_UNKNOWN_USER_NAME:
    return ohm_error_set(e, OHM_EACCES, "SNMPv3 user unknown to the agent");
  case SNMPERR_UNSUPPORTED_SEC_LEVEL:
    return ohm_error_set(e, OHM_EACCES,
                         "SNMPv3 security level not "
                         "supported for this user");
  case SNMPERR_DECRYPTION_ERR:
    return ohm_error_set(e, OHM_EACCES,
                         "SNMPv3 decryption failed (wrong "
                         "privacy passphrase or protocol?)");
  default:
    return ohm_error_set(e, OHM_EPROTO, "agent sent a report (%s)",
                         snmp_api_errstring(r));
  }
}

/* The library's failure for op (not a received message). */
static int op_error(const struct tp *t, int op, struct ohm_error *e) {
  if (op == NETSNMP_CALLBACK_OP_TIMED_OUT) return timeout_error(t, e);
  if (op == NETSNMP_CALLBACK_OP_SEC_ERROR)
    return ohm_error_set(e, OHM_EACCES,
                         "SNMPv3 answer failed security "
                         "checks (wrong passphrase or protocol?)");
  return ohm_error_set(e, OHM_EIO, "SNMP request failed (%s)",
                       op == NETSNMP_CALLBACK_OP_SEND_FAILED ? "send failed"
                                                             : "dropped");
}

/* An agent's error-status as an OHM_E* code and message. */
static int errstat_error(netsnmp_pdu *pdu, const char *what,
                         struct ohm_error *e) {
  long s = pdu->errstat;
  int code = OHM_EDEVICE;
  if (s == SNMP_ERR_NOACCESS || s == SNMP_ERR_NOTWRITABLE ||
      s == SNMP_ERR_READONLY || s == SNMP_ERR_AUTHORIZATIONERROR)
    code = OHM_EACCES;
  else if (s == SNMP_ERR_NOSUCHNAME || s == SNMP_ERR_NOCREATION)
    code = OHM_ENOENT;
  return ohm_error_set(e, code, "agent refused %s: %s (object %ld)", what,
                       snmp_errstring((int)s), pdu->errindex);
}

/* One request at a time (walk, set): the answer, cloned. */
struct one {
  struct sp *sp;
  int op;
  netsnmp_pdu *resp;
  double t0; /* when it went out (-v) */
};

static int one_cb(int op, netsnmp_session *s, int reqid, netsnmp_pdu *pdu,
                  void *magic) {
  struct one *o = magic;
  (void)s, (void)reqid;
  if (op == NETSNMP_CALLBACK_OP_RESEND)
    return 1; /* a retry went out: still waiting */
  if (o->sp->inflight > 0) o->sp->inflight--;
  o->op = op;
  if (op == NETSNMP_CALLBACK_OP_RECEIVED_MESSAGE) {
    snmp_trace_pdu(o->sp->t, '<', pdu, o->t0);
    o->resp = snmp_clone_pdu(pdu);
  } else
    tp_trace(o->sp->t, '!', NULL, 0, "no answer", o->t0);
  return 1;
}

/* Send pdu (consumed) and wait for its answer (caller frees *resp with
 * snmp_free_pdu). Report PDUs and transport failures are errors here;
 * an answer's error-status is left to the caller. */
static int request(struct tp *t, netsnmp_pdu *pdu, netsnmp_pdu **resp,
                   struct ohm_error *e) {
  struct sp *p = t->priv;
  struct one o = {p, 0, NULL, ohm_mono()};
  int rc;
  *resp = NULL;
  if ((rc = snmp_sess_reopen(t, e)) < 0) {
    snmp_free_pdu(pdu);
    return rc;
  }
  snmp_trace_pdu(t, '>', pdu, 0);
  snmp_lock();
  int sent = snmp_sess_async_send(p->sess, pdu, one_cb, &o);
  int err = snmp_errno;
  snmp_unlock();
  if (!sent) {
    snmp_free_pdu(pdu);
    return ohm_error_set(e, OHM_EIO, "cannot send SNMP request (%s)",
                         snmp_api_errstring(err));
  }
  p->inflight++;
  if ((rc = snmp_run_loop(&p, 1, e)) < 0) {
    snmp_drop_inflight(&p, 1);
    return rc;
  }
  if (o.op != NETSNMP_CALLBACK_OP_RECEIVED_MESSAGE) return op_error(t, o.op, e);
  if (!o.resp) return ohm_error_set(e, OHM_ENOMEM, "out of memory");
  if (o.resp->command == SNMP_MSG_REPORT) {
    rc = report_error(o.resp, e);
    snmp_free_pdu(o.resp);
    return rc;
  }
  *resp = o.resp;
  return 0;
}

/* ---- GET jobs (sync and multi) ----------------------------------------- */

struct poid {
  oid *o;
  size_t len;
};

struct part;

/* A GET of n objects on one transport, in one PDU unless tooBig split it
 * into parts. */
struct job {
  struct tp *t;
  struct sp *sp;
  size_t n;
  struct poid *po;
  struct tp_snmp_val *vals;
  int owns_vals;
  int parts; /* parts in flight */
  int rc;
  struct ohm_error err;
  int finished, reported, abandoned;
  tp_snmp_done_fn done;
  void *ud;
  struct part *plist; /* every part ever made, freed with the job */
  struct job *next;
};

struct part {
  struct job *j;
  size_t *idx; /* indexes into j->po / j->vals */
  size_t count;
  double t0; /* when it went out (-v) */
  struct part *next;
};

static void job_fail(struct job *j, int rc, const struct ohm_error *e) {
  if (j->rc == 0) {
    j->rc = rc;
    if (e)
      j->err = *e;
    else
      ohm_error_set(&j->err, rc, "%s", ohm_strerror(rc));
  }
}

static int part_send(struct job *j, const size_t *idx, size_t count);
static int part_cb(int op, netsnmp_session *s, int reqid, netsnmp_pdu *pdu,
                   void *magic);

/* Send the two halves of a part the agent found too big. */
static int part_split(struct job *j, const size_t *idx, size_t count) {
  size_t h = count / 2;
  if (part_send(j, idx, h) < 0) return -1;
  return part_send(j, idx + h, count - h);
}

/* Queue idx[0..count) as one GET PDU; failures go to the job. */
static int part_send(struct job *j, const size_t *idx, size_t count) {
  struct ohm_error e;
  struct part *pt = calloc(1, sizeof *pt);
  netsnmp_pdu *pdu = snmp_pdu_create(SNMP_MSG_GET);
  if (!pt || !pdu || !(pt->idx = malloc(count * sizeof *idx))) {
    if (pt) free(pt->idx);
    free(pt);
    if (pdu) snmp_free_pdu(pdu);
    job_fail(j, OHM_ENOMEM, NULL);
    return -1;
  }
  memcpy(pt->idx, idx, count * sizeof *idx);
  pt->count = count;
  pt->j = j;
  pt->next = j->plist;
  j->plist = pt;
  for (size_t k = 0; k < count; k++)
    snmp_add_null_var(pdu, j->po[idx[k]].o, j->po[idx[k]].len);
  pt->t0 = ohm_mono();
  snmp_trace_pdu(j->t, '>', pdu, 0);
  snmp_lock();
  int sent = snmp_sess_async_send(j->sp->sess, pdu, part_cb, pt);
  int err = snmp_errno;
  snmp_unlock();
  if (!sent) {
    snmp_free_pdu(pdu);
    if (err == SNMPERR_TOO_LONG && count > 1)
      return part_split(j, pt->idx, count);
    job_fail(j,
             ohm_error_set(&e, OHM_EIO, "cannot send SNMP request (%s)",
                           snmp_api_errstring(err)),
             &e);
    return -1;
  }
  j->parts++;
  j->sp->inflight++;
  return 0;
}

/* Mark vals[i] as absent on the agent (why: "noSuchName" ...). */
static int val_missing(struct job *j, size_t i, const char *why) {
  struct tp_snmp_val *v = &j->vals[i];
  tp_snmp_vals_free(v, 1);
  v->oid = snmp_oid_text(j->po[i].o, j->po[i].len);
  v->text = strdup(why);
  return v->oid && v->text ? 0 : OHM_ENOMEM;
}

/* SNMPv1 has no per-object exceptions: noSuchName fails the whole PDU and
 * names one object. Drop it and ask again for the rest. */
static void part_v1_missing(struct part *pt, netsnmp_pdu *pdu) {
  struct job *j = pt->j;
  size_t bad = (size_t)pdu->errindex - 1, k = 0;
  size_t *rest = malloc(pt->count * sizeof *rest);
  if (!rest || val_missing(j, pt->idx[bad],
                           "No Such Object available on "
                           "this agent at this OID") < 0) {
    free(rest);
    job_fail(j, OHM_ENOMEM, NULL);
    return;
  }
  for (size_t i = 0; i < pt->count; i++)
    if (i != bad) rest[k++] = pt->idx[i];
  if (k) part_send(j, rest, k);
  free(rest);
}

/* Store an answer's varbinds, which must match the request one to one. */
static void part_store(struct part *pt, netsnmp_pdu *pdu) {
  struct job *j = pt->j;
  struct ohm_error e;
  size_t k = 0;
  for (netsnmp_variable_list *vb = pdu->variables; vb;
       vb = vb->next_variable, k++) {
    const struct poid *want;
    if (k >= pt->count) break;
    want = &j->po[pt->idx[k]];
    if (snmp_oid_compare(vb->name, vb->name_length, want->o, want->len)) {
      job_fail(j,
               ohm_error_set(&e, OHM_EPROTO,
                             "agent answered another "
                             "object than asked"),
               &e);
      return;
    }
    tp_snmp_vals_free(&j->vals[pt->idx[k]], 1);
    if (snmp_val_from_vb(&j->vals[pt->idx[k]], vb, &e) < 0) {
      job_fail(j, e.code, &e);
      return;
    }
  }
  if (k != pt->count)
    job_fail(j,
             ohm_error_set(&e, OHM_EPROTO,
                           "agent answered %zu of %zu "
                           "objects",
                           k, pt->count),
             &e);
}

static void part_answer(struct part *pt, netsnmp_pdu *pdu) {
  struct job *j = pt->j;
  struct ohm_error e;
  if (pdu->command == SNMP_MSG_REPORT) {
    job_fail(j, report_error(pdu, &e), &e);
  } else if (pdu->errstat == SNMP_ERR_TOOBIG) {
    if (pt->count > 1)
      part_split(j, pt->idx, pt->count);
    else
      job_fail(j,
               ohm_error_set(&e, OHM_EDEVICE,
                             "agent says tooBig for "
                             "a single object"),
               &e);
  } else if (pdu->errstat == SNMP_ERR_NOSUCHNAME && pdu->errindex >= 1 &&
             (size_t)pdu->errindex <= pt->count) {
    part_v1_missing(pt, pdu);
  } else if (pdu->errstat != SNMP_ERR_NOERROR) {
    job_fail(j, errstat_error(pdu, "the GET", &e), &e);
  } else {
    part_store(pt, pdu);
  }
}

static int part_cb(int op, netsnmp_session *s, int reqid, netsnmp_pdu *pdu,
                   void *magic) {
  struct part *pt = magic;
  struct job *j = pt->j;
  struct ohm_error e;
  (void)s, (void)reqid;
  if (op == NETSNMP_CALLBACK_OP_RESEND)
    return 1; /* a retry went out: still waiting */
  if (j->sp->inflight > 0) j->sp->inflight--;
  if (j->abandoned) return 1;
  j->parts--;
  if (op == NETSNMP_CALLBACK_OP_RECEIVED_MESSAGE) {
    snmp_trace_pdu(j->t, '<', pdu, pt->t0);
    part_answer(pt, pdu);
  } else {
    tp_trace(j->t, '!', NULL, 0, "no answer", pt->t0);
    job_fail(j, op_error(j->t, op, &e), &e);
  }
  if (j->parts == 0) j->finished = 1;
  return 1;
}

static void job_free(struct job *j) {
  if (!j) return;
  for (struct part *p = j->plist, *nx; p; p = nx) {
    nx = p->next;
    free(p->idx);
    free(p);
  }
  for (size_t i = 0; j->po && i < j->n; i++)
    free(j->po[i].o);
  free(j->po);
  if (j->owns_vals) {
    tp_snmp_vals_free(j->vals, j->n);
    free(j->vals);
  }
  free(j);
}

/* A job for oids on t; vals NULL: the job allocates its own. */
static int job_new(struct tp *t, const char *const *oids, size_t n,
                   struct tp_snmp_val *vals, struct job **out,
                   struct ohm_error *e) {
  struct job *j = calloc(1, sizeof *j);
  oid tmp[MAX_OID_LEN];
  int rc = 0;
  *out = NULL;
  if (!j || !(j->po = calloc(n, sizeof *j->po)) ||
      !(j->vals = vals ? vals : calloc(n, sizeof *vals))) {
    job_free(j);
    return ohm_error_set(e, OHM_ENOMEM, "out of memory");
  }
  j->owns_vals = !vals;
  j->t = t;
  j->sp = t->priv;
  j->n = n;
  for (size_t i = 0; i < n && rc == 0; i++) {
    rc = snmp_oid_parse(oids[i] ? oids[i] : "", tmp, &j->po[i].len, e);
    if (rc == 0 && !(j->po[i].o = malloc(j->po[i].len * sizeof(oid))))
      rc = ohm_error_set(e, OHM_ENOMEM, "out of memory");
    if (rc == 0) memcpy(j->po[i].o, tmp, j->po[i].len * sizeof(oid));
  }
  if (rc < 0) {
    j->owns_vals = 1;
    j->vals = vals ? NULL : j->vals;
    job_free(j);
    return rc;
  }
  *out = j;
  return 0;
}

/* Send a new job's first PDU: all its objects. */
static int job_start(struct job *j, struct ohm_error *e) {
  size_t *idx;
  int rc = snmp_sess_reopen(j->t, e);
  if (rc < 0) return rc;
  if (!(idx = malloc(j->n * sizeof *idx)))
    return ohm_error_set(e, OHM_ENOMEM, "out of memory");
  for (size_t i = 0; i < j->n; i++)
    idx[i] = i;
  part_send(j, idx, j->n);
  free(idx);
  if (j->parts == 0) j->finished = 1;
  return 0;
}

int tp_snmp_get(struct tp *t, const char *const *oids, size_t n,
                struct tp_snmp_val *out, struct ohm_error *e) {
  struct job *j;
  int rc;
  if (out) memset(out, 0, n * sizeof *out);
  if ((rc = is_snmp(t, e)) < 0) return rc;
  if (n == 0 || !out) return ohm_error_set(e, OHM_EINVAL, "no OID to get");
  if ((rc = job_new(t, oids, n, out, &j, e)) < 0) return rc;
  if ((rc = job_start(j, e)) == 0 && (rc = snmp_run_loop(&j->sp, 1, e)) < 0) {
    j->abandoned = 1;
    snmp_drop_inflight(&j->sp, 1);
  }
  if (rc == 0 && j->rc < 0) {
    rc = j->rc;
    if (e) *e = j->err;
  }
  job_free(j);
  return rc;
}

/* ---- walk and set ------------------------------------------------------ */

struct walk {
  oid root[MAX_OID_LEN], cur[MAX_OID_LEN];
  size_t rlen, clen;
  tp_snmp_walk_fn fn;
  void *ud;
  int seen, stop;
};

/* Hand one answer's varbinds to the caller; sets w->stop at the end of
 * the subtree. */
static int walk_vbs(struct walk *w, netsnmp_pdu *resp, struct ohm_error *e) {
  netsnmp_variable_list *vb = resp->variables;
  if (!vb) w->stop = 1;
  for (; vb && !w->stop; vb = vb->next_variable) {
    struct tp_snmp_val v = {0};
    int rc;
    if (vb->type == SNMP_ENDOFMIBVIEW || vb->name_length < w->rlen ||
        snmp_oid_compare(vb->name, w->rlen, w->root, w->rlen)) {
      w->stop = 1;
      break;
    }
    if (snmp_oid_compare(vb->name, vb->name_length, w->cur, w->clen) <= 0)
      return ohm_error_set(e, OHM_EPROTO,
                           "agent returned OIDs out of "
                           "order (loop)");
    if ((rc = snmp_val_from_vb(&v, vb, e)) == 0)
      w->stop = w->fn(w->ud, &v) != 0;
    tp_snmp_vals_free(&v, 1);
    if (rc < 0) return rc;
    w->seen++;
    memcpy(w->cur, vb->name, vb->name_length * sizeof(oid));
    w->clen = vb->name_length;
  }
  return 0;
}

/* One GETBULK (GETNEXT on v1) step from w->cur. */
static int walk_step(struct tp *t, struct walk *w, struct ohm_error *e) {
  struct sp *p = t->priv;
  int v1 = p->tmpl.version == SNMP_VERSION_1;
  netsnmp_pdu *resp,
      *pdu = snmp_pdu_create(v1 ? SNMP_MSG_GETNEXT : SNMP_MSG_GETBULK);
  int rc;
  if (!pdu) return ohm_error_set(e, OHM_ENOMEM, "out of memory");
  if (!v1) {
    pdu->non_repeaters = 0;
    pdu->max_repetitions = 25;
  }
  snmp_add_null_var(pdu, w->cur, w->clen);
  if ((rc = request(t, pdu, &resp, e)) < 0) return rc;
  if (v1 && resp->errstat == SNMP_ERR_NOSUCHNAME)
    w->stop = 1; /* v1's end of the MIB */
  else if (resp->errstat != SNMP_ERR_NOERROR)
    rc = errstat_error(resp, "the walk", e);
  else
    rc = walk_vbs(w, resp, e);
  snmp_free_pdu(resp);
  return rc;
}

int tp_snmp_walk(struct tp *t, const char *root, tp_snmp_walk_fn fn, void *ud,
                 struct ohm_error *e) {
  struct walk w;
  int rc;
  memset(&w, 0, sizeof w);
  w.fn = fn;
  w.ud = ud;
  if ((rc = is_snmp(t, e)) < 0 ||
      (rc = snmp_oid_parse(root ? root : "", w.root, &w.rlen, e)) < 0)
    return rc;
  memcpy(w.cur, w.root, sizeof w.root);
  w.clen = w.rlen;
  while (!w.stop && rc == 0)
    rc = walk_step(t, &w, e);
  if (rc == 0 && w.seen == 0) {
    /* like snmpwalk: a leaf named exactly is shown by itself */
    struct tp_snmp_val v;
    const char *one[1] = {root};
    rc = tp_snmp_get(t, one, 1, &v, e);
    if (rc == 0 && v.type != TP_SNMP_MISSING) fn(ud, &v);
    tp_snmp_vals_free(&v, 1);
  }
  return rc;
}

/* ---- column-parallel GETBULK / GETNEXT (tables) ----------------------- */

/* One GETBULK of oids[0..n) with max_rep rows (GETNEXT of them on v1);
 * the answer's varbinds into out in order, *nout their count. */
static int bulk_once(struct tp *t, const char *const *oids, size_t n,
                     int max_rep, struct tp_snmp_val *out, size_t *nout,
                     long *errstat, long *errindex, struct ohm_error *e) {
  struct sp *p = t->priv;
  int v1 = p->tmpl.version == SNMP_VERSION_1, rc = 0;
  netsnmp_pdu *resp,
      *pdu = snmp_pdu_create(v1 ? SNMP_MSG_GETNEXT : SNMP_MSG_GETBULK);
  netsnmp_variable_list *vb;
  size_t cap = v1 ? n : n * (size_t)max_rep;
  if (!pdu) return ohm_error_set(e, OHM_ENOMEM, "out of memory");
  if (!v1) pdu->non_repeaters = 0, pdu->max_repetitions = max_rep;
  for (size_t k = 0; k < n; k++) {
    oid o[MAX_OID_LEN];
    size_t len;
    if ((rc = snmp_oid_parse(oids[k], o, &len, e)) < 0) {
      snmp_free_pdu(pdu);
      return rc;
    }
    snmp_add_null_var(pdu, o, len);
  }
  if ((rc = request(t, pdu, &resp, e)) < 0) return rc;
  *errstat = resp->errstat, *errindex = resp->errindex, *nout = 0;
  for (vb = resp->variables; rc == 0 && vb && !*errstat && *nout < cap;
       vb = vb->next_variable)
    rc = snmp_val_from_vb(&out[(*nout)++], vb, e);
  snmp_free_pdu(resp);
  return rc;
}

int tp_snmp_bulk(struct tp *t, const char *const *oids, size_t n, int *max_rep,
                 struct tp_snmp_val *out, size_t *nout, struct ohm_error *e) {
  long st = 0, idx = 0;
  int rc;
  *nout = 0;
  if ((rc = is_snmp(t, e)) < 0) return rc;
  if (n == 0 || *max_rep < 1)
    return ohm_error_set(e, OHM_EINVAL, "nothing to ask for");
  for (;;) {
    rc = bulk_once(t, oids, n, *max_rep, out, nout, &st, &idx, e);
    if (rc < 0 || st == SNMP_ERR_NOERROR) return rc;
    tp_snmp_vals_free(out, *nout);
    *nout = 0;
    /* the agent cannot send that many: ask for fewer (snmpd answers a
     * bulk over the message size with genErr, not tooBig) */
    if ((st != SNMP_ERR_TOOBIG && st != SNMP_ERR_GENERR) || *max_rep == 1)
      break;
    *max_rep /= 2;
  }
  if (st == SNMP_ERR_NOSUCHNAME && idx >= 1 && (size_t)idx <= n)
    return ohm_error_set(e, OHM_ENOENT,
                         "agent has nothing after %s (v1 "
                         "noSuchName)",
                         oids[idx - 1]);
  return ohm_error_set(e, st == SNMP_ERR_TOOBIG ? OHM_EPROTO : OHM_EDEVICE,
                       "agent refused the table read: %s (object %ld)",
                       snmp_errstring((int)st), idx);
}

static int set_exception(u_char type) {
  return type == SNMP_NOSUCHOBJECT || type == SNMP_NOSUCHINSTANCE ||
         type == SNMP_ENDOFMIBVIEW;
}

/* The SET PDU of n objects; OHM_EINVAL names a bad OID, type or value. */
static int set_pdu(const char *const *oids, const char *types,
                   const char *const *values, size_t n, netsnmp_pdu **out,
                   struct ohm_error *e) {
  netsnmp_pdu *pdu = snmp_pdu_create(SNMP_MSG_SET);
  int rc = 0;
  *out = NULL;
  if (!pdu) return ohm_error_set(e, OHM_ENOMEM, "out of memory");
  for (size_t k = 0; k < n && rc == 0; k++) {
    oid o[MAX_OID_LEN];
    size_t len;
    const char *v = values[k] ? values[k] : "";
    if ((rc = snmp_oid_parse(oids[k] ? oids[k] : "", o, &len, e)) < 0) break;
    if (!types[k] || !strchr("iuctaosxdb", types[k]))
      rc = ohm_error_set(e, OHM_EINVAL,
                         "bad SNMP type '%c' (one of i u c t a o s x d b)",
                         types[k] ? types[k] : '?');
    else if ((rc = snmp_add_var(pdu, o, len, types[k], v)) != 0)
      rc = ohm_error_set(e, OHM_EINVAL, "bad value '%s' for type %c (%s)", v,
                         types[k], snmp_api_errstring(rc));
  }
  if (rc < 0) {
    snmp_free_pdu(pdu);
    return rc;
  }
  *out = pdu;
  return 0;
}

int tp_snmp_set_many(struct tp *t, const char *const *oids, const char *types,
                     const char *const *values, size_t n, size_t *bad,
                     struct ohm_error *e) {
  netsnmp_pdu *pdu, *resp;
  netsnmp_variable_list *vb;
  size_t k = 1;
  int rc;
  *bad = 0;
  if ((rc = is_snmp(t, e)) < 0 ||
      (rc = set_pdu(oids, types, values, n, &pdu, e)) < 0 ||
      (rc = request(t, pdu, &resp, e)) < 0)
    return rc;
  if (resp->errstat != SNMP_ERR_NOERROR) {
    rc = errstat_error(resp, "the SET", e);
    if (resp->errindex >= 1 && (size_t)resp->errindex <= n)
      *bad = (size_t)resp->errindex;
  }
  /* no error status, but a value did not take (some agents answer
   * noSuchObject/noSuchInstance in the varbind instead) */
  for (vb = resp->variables; rc == 0 && vb; vb = vb->next_variable, k++)
    if (set_exception(vb->type))
      *bad = k,
      rc = ohm_error_set(e, OHM_EDEVICE, "the SET of %s was not taken (%s)",
                         oids[k - 1],
                         vb->type == SNMP_NOSUCHOBJECT     ? "noSuchObject"
                         : vb->type == SNMP_NOSUCHINSTANCE ? "noSuchInstance"
                                                           : "endOfMibView");
  if (rc == 0 && k - 1 != n)
    rc = ohm_error_set(e, OHM_EDEVICE,
                       "the SET was not taken (%zu of %zu "
                       "objects in the reply)",
                       k - 1, n);
  snmp_free_pdu(resp);
  return rc;
}

int tp_snmp_set(struct tp *t, const char *oidtext, char type, const char *value,
                struct ohm_error *e) {
  const char *oids[1] = {oidtext}, *values[1] = {value};
  char types[2] = {type, 0};
  size_t bad;
  return tp_snmp_set_many(t, oids, types, values, 1, &bad, e);
}

/* ---- many agents ------------------------------------------------------- */

struct tp_snmp_multi {
  struct job *jobs; /* queued, not yet reported */
};

int tp_snmp_multi_new(struct tp_snmp_multi **out, struct ohm_error *e) {
  int rc = snmp_lib_ready(e);
  *out = NULL;
  if (rc < 0) return rc;
  if (!(*out = calloc(1, sizeof **out)))
    return ohm_error_set(e, OHM_ENOMEM, "out of memory");
  return 0;
}

int tp_snmp_multi_get(struct tp_snmp_multi *m, struct tp *t,
                      const char *const *oids, size_t n, tp_snmp_done_fn done,
                      void *ud, struct ohm_error *e) {
  struct job *j;
  int rc;
  if ((rc = is_snmp(t, e)) < 0) return rc;
  if (n == 0) return ohm_error_set(e, OHM_EINVAL, "no OID to get");
  if (((struct sp *)t->priv)->busy)
    return ohm_error_set(e, OHM_EINVAL,
                         "transport already has a request "
                         "queued");
  if ((rc = job_new(t, oids, n, NULL, &j, e)) < 0) return rc;
  j->done = done;
  j->ud = ud;
  j->sp->busy = 1;
  j->next = m->jobs;
  m->jobs = j;
  if (job_start(j, &j->err) < 0) {
    j->rc = j->err.code;
    j->finished = 1;
  }
  return 0;
}

/* Call the callbacks of finished jobs and unlink them. */
static void multi_report(struct tp_snmp_multi *m) {
  for (struct job **pp = &m->jobs; *pp;) {
    struct job *j = *pp;
    if (!j->finished) {
      pp = &j->next;
      continue;
    }
    *pp = j->next;
    j->sp->busy = 0;
    if (j->done)
      j->done(j->ud, j->t, j->rc, &j->err, j->rc == 0 ? j->vals : NULL,
              j->rc == 0 ? j->n : 0);
    job_free(j);
  }
}

/* Finish every unfinished job with rc (after Ctrl-C or at free). */
static void multi_abandon(struct tp_snmp_multi *m, int rc) {
  for (struct job *j = m->jobs; j; j = j->next)
    if (!j->finished) {
      j->abandoned = 1;
      snmp_drop_inflight(&j->sp, 1);
      j->finished = 1;
      j->rc = rc;
      ohm_error_set(&j->err, rc, "interrupted");
    }
  multi_report(m);
}

int tp_snmp_multi_run(struct tp_snmp_multi *m, struct ohm_error *e) {
  size_t n = 0, k = 0;
  struct sp **sps;
  int rc;
  for (struct job *j = m->jobs; j; j = j->next)
    n++;
  if (!(sps = calloc(n ? n : 1, sizeof *sps)))
    return ohm_error_set(e, OHM_ENOMEM, "out of memory");
  for (struct job *j = m->jobs; j; j = j->next)
    sps[k++] = j->sp;
  rc = snmp_run_loop(sps, n, e);
  free(sps);
  for (struct job *j = m->jobs; j; j = j->next)
    if (!j->finished && j->sp->inflight == 0 && rc == 0)
      j->finished = 1; /* cannot happen; never report a job twice */
  if (rc < 0) multi_abandon(m, rc);
  multi_report(m);
  return rc;
}

/* Wait once (at most 100 ms, so Ctrl-C is seen) on the sessions of the
 * unfinished jobs, let net-snmp read and time out, report what finished. */
static int multi_wait(struct tp_snmp_multi *m, struct ohm_error *e) {
  netsnmp_large_fd_set fds;
  struct timeval tv = {0, 100000};
  int maxfd = 0, block = 1, cnt, rc = 0;
  netsnmp_large_fd_set_init(&fds, FD_SETSIZE);
  NETSNMP_LARGE_FD_ZERO(&fds);
  for (struct job *j = m->jobs; j; j = j->next)
    if (j->sp->inflight > 0 && j->sp->sess)
      snmp_sess_select_info2(j->sp->sess, &maxfd, &fds, &tv, &block);
  if (block || tv.tv_sec > 0 || tv.tv_usec > 100000)
    tv = (struct timeval){0, 100000};
  cnt = netsnmp_large_fd_set_select(maxfd, &fds, NULL, NULL, &tv);
  if (cnt < 0 && errno != EINTR)
    rc = ohm_error_set(e, OHM_EIO, "select: %s", strerror(errno));
  for (struct job *j = m->jobs; rc == 0 && j; j = j->next)
    if (j->sp->inflight > 0 && j->sp->sess) {
      if (cnt > 0) snmp_sess_read2(j->sp->sess, &fds);
      if (j->sp->inflight > 0) snmp_sess_timeout(j->sp->sess);
    }
  netsnmp_large_fd_set_cleanup(&fds);
  return rc;
}

int tp_snmp_multi_step(struct tp_snmp_multi *m, struct ohm_error *e) {
  int rc = 0, left = 0;
  multi_report(m); /* jobs that failed to start */
  if (tp_interrupted)
    rc = ohm_error_set(e, OHM_EINTR, "interrupted");
  else if (m->jobs)
    rc = multi_wait(m, e);
  for (struct job *j = m->jobs; rc == 0 && j; j = j->next)
    if (!j->finished && j->sp->inflight == 0)
      j->finished = 1; /* cannot happen; never report a job twice */
  if (rc < 0) multi_abandon(m, rc);
  multi_report(m);
  for (struct job *j = m->jobs; j; j = j->next)
    left++;
  return rc < 0 ? rc : left;
}

void tp_snmp_multi_free(struct tp_snmp_multi *m) {
  if (!m) return;
  multi_abandon(m, OHM_EINTR);
  free(m);
}
