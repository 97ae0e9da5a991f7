/* The snmp transport (net-snmp): typed GET / walk / SET on one agent, and
 * an asynchronous "multi" API that keeps many agents in flight from one
 * thread for the fleet poller.
 *
 * URIs (DESIGN.md "Transports"):
 *   snmp://[COMMUNITY@]HOST[:PORT][?version=1|2c]     public, v2c, port 161
 *   snmp://USER[:AUTHPASS]@HOST[:PORT]?version=3&level=authPriv&auth=SHA
 *       &priv=AES[&auth_pass=...&priv_pass=...][&context=NAME]
 * level: noAuthNoPriv | authNoPriv | authPriv (default: authPriv if a
 * privacy passphrase is known, authNoPriv if an auth one is, else
 * snmp.conf's defSecurityLevel, else noAuthNoPriv); auth: MD5, SHA,
 * SHA-224, SHA-256, SHA-384, SHA-512; priv: DES, AES (= AES-128), AES-192,
 * AES-256. Passphrases: the URI password or auth_pass= for auth, priv_pass=
 * for privacy, else $OHM_SNMP_AUTHPASS / $OHM_SNMP_PRIVPASS, else snmp.conf
 * (defAuthPassphrase, defPrivPassphrase, defPassphrase). Never printed.
 * Absent parameters fall back to snmp.conf (defVersion, defCommunity,
 * defSecurityName, defAuthType, defPrivType) before ohm's defaults.
 * Timeouts and retries come from t->opts (per request, extra tries).
 * msg_max=N (484..65507) caps the answers ohm accepts (SNMPv3 tells the
 * agent, which answers tooBig beyond it; mostly for tests).
 *
 * Values come back as struct tp_snmp_val; objects the agent lacks are
 * TP_SNMP_MISSING values, not errors: the caller decides. Errors are
 * OHM_E* codes with a one-line detail: OHM_ETIMEDOUT "no answer ... (wrong
 * community?)", OHM_EACCES for v3 authentication failures, OHM_EDEVICE for
 * an agent's error-status (notWritable, genErr, ...), OHM_EINTR on Ctrl-C.
 *
 * OIDs are numeric text, with or without the leading dot ("1.3.6.1.2.1.1");
 * no MIB is ever loaded. */
#ifndef OHM_TRANSPORTS_SNMP_H
#define OHM_TRANSPORTS_SNMP_H

#include <stddef.h>
#include <stdint.h>

#include "transport.h"

extern const struct tp_ops tp_snmp_ops;

enum tp_snmp_type {
  TP_SNMP_MISSING = 0, /* noSuchObject, noSuchInstance, endOfMibView */
  TP_SNMP_INTEGER,     /* INTEGER / Integer32: i */
  TP_SNMP_UNSIGNED,    /* Gauge32 / Unsigned32: u */
  TP_SNMP_COUNTER32,   /* u */
  TP_SNMP_COUNTER64,   /* u */
  TP_SNMP_TIMETICKS,   /* u, hundredths of a second */
  TP_SNMP_STRING,      /* OCTET STRING: str, len (may hold any bytes) */
  TP_SNMP_OID,         /* str = ".1.3.6..." */
  TP_SNMP_IPADDR,      /* str = "a.b.c.d" */
  TP_SNMP_NULL,
  TP_SNMP_OTHER, /* Opaque and the rest: only text */
};

struct tp_snmp_val {
  char *oid; /* numeric, leading dot; owned */
  enum tp_snmp_type type;
  int64_t i;  /* INTEGER */
  uint64_t u; /* the unsigned kinds */
  char *str;  /* bytes + NUL for STRING/OID/IPADDR, else NULL; owned */
  size_t len; /* bytes in str, without the NUL */
  char *text; /* snmpwalk -On style typed value: `STRING: "abc"`,
                 `INTEGER: 5`, `No Such Object ...`; owned */
};

/* Free what each of v[0..n) owns (not the array itself); safe on zeroed. */
void tp_snmp_vals_free(struct tp_snmp_val *v, size_t n);

/* A name for a value's type ("INTEGER", "STRING", ...). */
const char *tp_snmp_type_name(enum tp_snmp_type t);

/* GET n (>= 1) objects in one PDU; the request is split only when the
 * agent answers tooBig (and an SNMPv1 noSuchName drops that one object and
 * asks again). out[0..n) is filled in order (zeroed first; caller frees
 * with tp_snmp_vals_free even on error). Objects absent on the agent are
 * TP_SNMP_MISSING. */
int tp_snmp_get(struct tp *t, const char *const *oids, size_t n,
                struct tp_snmp_val *out, struct ohm_error *e);

/* Walk the subtree under root with GETBULK (GETNEXT on v1), calling fn for
 * each object in order; v is valid only during the call. fn returns 0 to
 * go on, non-zero to stop (the walk then returns 0). A root with no
 * objects under it calls fn never and returns 0. Loops (an agent returning
 * a non-increasing OID) are OHM_EPROTO. */
typedef int (*tp_snmp_walk_fn)(void *ud, const struct tp_snmp_val *v);
int tp_snmp_walk(struct tp *t, const char *root, tp_snmp_walk_fn fn, void *ud,
                 struct ohm_error *e);

/* The next objects after each of oids[0..n) (table columns), read
 * together: one GETBULK of *max_rep rows (non-repeaters 0), or on SNMPv1
 * one GETNEXT of the n objects. out (room for n x *max_rep values, n on
 * v1) gets the answer's objects in order, row by row (out[r*n + k] follows
 * column k); an agent may send fewer (*nout says how many; caller frees
 * them with tp_snmp_vals_free). tooBig (and genErr, which snmpd sends
 * for a bulk over the message size) halves *max_rep and asks again, so
 * *max_rep is what the agent can carry; v1 noSuchName (nothing after an
 * object) is OHM_ENOENT naming it. */
int tp_snmp_bulk(struct tp *t, const char *const *oids, size_t n, int *max_rep,
                 struct tp_snmp_val *out, size_t *nout, struct ohm_error *e);

/* SET one object. type is snmpset's letter: i INTEGER, u Unsigned32,
 * c Counter32, t TimeTicks, a IpAddress, o OID, s STRING, x hex STRING,
 * d decimal STRING, b BITS; value is its text. An agent's refusal
 * (notWritable, wrongType, ...) is OHM_EDEVICE, or OHM_EACCES for
 * noAccess / authorizationError / v1 readOnly. */
int tp_snmp_set(struct tp *t, const char *oid, char type, const char *value,
                struct ohm_error *e);

/* SET n objects (types[k] a letter as above) in one PDU, which the agent
 * takes whole or not at all (RFC 3416); *bad gets the 1-based index of
 * the object it refused (0 if it named none). */
int tp_snmp_set_many(struct tp *t, const char *const *oids, const char *types,
                     const char *const *values, size_t n, size_t *bad,
                     struct ohm_error *e);

/* tp_snmp_ops.ext points at this table (the same functions). */
struct tp_snmp_ext {
  int (*get)(struct tp *, const char *const *, size_t, struct tp_snmp_val *,
             struct ohm_error *);
  int (*walk)(struct tp *, const char *, tp_snmp_walk_fn, void *,
              struct ohm_error *);
  int (*set)(struct tp *, const char *, char, const char *, struct ohm_error *);
};

/* --- Many agents from one thread ----------------------------------------
 *
 * A multi is an event loop over several open snmp transports. Queue GETs
 * with tp_snmp_multi_get (the request is sent at once, nothing blocks),
 * then call tp_snmp_multi_run, which waits on every socket with one
 * select() and returns when every queued request has finished: answered,
 * failed, or timed out after t->opts.timeout x (retries + 1). Each request
 * calls its done callback exactly once, from inside tp_snmp_multi_run (or
 * from tp_snmp_multi_free for requests never run).
 *
 *   struct tp_snmp_multi *m;
 *   tp_snmp_multi_new(&m, &e);
 *   for (i = 0; i < n; i++)          // tps[i] from tp_open("snmp://...")
 *     tp_snmp_multi_get(m, tps[i], oids, noids, on_done, &ctx[i], &e);
 *   tp_snmp_multi_run(m, &e);        // all n agents in flight at once
 *   tp_snmp_multi_free(m);
 *
 * Rules: a transport may have one request queued in a multi at a time, and
 * must not be used by the synchronous calls above, nor freed, until its
 * request is done. A multi and its transports belong to one thread. The
 * number of agents is not limited by FD_SETSIZE. Each agent's request is
 * one GET PDU (split only on tooBig, like tp_snmp_get). */
struct tp_snmp_multi;

/* Called once per request. rc is 0 or an OHM_E* code (e its detail);
 * vals[0..n) are filled when rc == 0 and are valid only during the call
 * (the multi frees them after; the callback may steal str/text pointers by
 * setting them to NULL). */
typedef void (*tp_snmp_done_fn)(void *ud, struct tp *t, int rc,
                                const struct ohm_error *e,
                                struct tp_snmp_val *vals, size_t n);

int tp_snmp_multi_new(struct tp_snmp_multi **out, struct ohm_error *e);

/* Queue a GET of oids[0..n) (copied) on t. Returns an error (and calls no
 * callback) if t is not an snmp transport, is busy, or n is 0; a send
 * failure is reported through done instead. */
int tp_snmp_multi_get(struct tp_snmp_multi *m, struct tp *t,
                      const char *const *oids, size_t n, tp_snmp_done_fn done,
                      void *ud, struct ohm_error *e);

/* Run until every queued request is done. Returns 0, or OHM_EINTR if Ctrl-C
 * (tp_interrupted) stopped it: unfinished requests then complete with
 * OHM_EINTR. Per-request failures go to the callbacks, not here. */
int tp_snmp_multi_run(struct tp_snmp_multi *m, struct ohm_error *e);

/* One turn of the same loop, for a caller that keeps a window of requests
 * in flight and queues more as they finish: waits at most 100 ms, calls
 * the callbacks of the requests that finished. The requests still queued
 * (>= 0), or OHM_EINTR (Ctrl-C) / OHM_EIO, every queued request then
 * finished with that code. */
int tp_snmp_multi_step(struct tp_snmp_multi *m, struct ohm_error *e);

/* Requests still queued complete with OHM_EINTR; then free. NULL is ok. */
void tp_snmp_multi_free(struct tp_snmp_multi *m);

#endif
