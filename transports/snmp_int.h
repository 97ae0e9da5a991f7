/* Internal to transports/snmp*.c: the session state and the helpers the
 * request code (snmp_req.c) shares with the session code (snmp.c). */
#ifndef OHM_TRANSPORTS_SNMP_INT_H
#define OHM_TRANSPORTS_SNMP_INT_H

#include <net-snmp/net-snmp-config.h>
#include <net-snmp/net-snmp-includes.h>
#include <net-snmp/library/large_fd_set.h>

#include "../util/lazy_netsnmp.h"
#include "snmp.h"
#include "snmp_lock.h"

/* t->priv of an snmp transport. */
struct sp {
  void *sess;           /* snmp_sess_open handle; NULL until (re)opened */
  netsnmp_session tmpl; /* what to open; strings below are its own */
  char peer[300];
  char *community, *secname, *context;
  int inflight; /* our requests net-snmp still holds */
  int busy;     /* a multi request is queued */
  struct tp *t;
};

/* Load and initialise net-snmp once (no MIBs, no log output). */
int snmp_lib_ready(struct ohm_error *e);
/* Numeric OID text into o[MAX_OID_LEN]; OHM_EINVAL names the bad text. */
int snmp_oid_parse(const char *s, oid *o, size_t *len, struct ohm_error *e);
/* -v: pdu as text to t's tracer (snmp_trace.c); t0 as for tp_trace. */
void snmp_trace_pdu(const struct tp *t, char dir, const netsnmp_pdu *pdu,
                    double t0);
/* ".1.3.6..." (malloc'd), NULL when out of memory. */
char *snmp_oid_text(const oid *o, size_t n);
/* Fill v (zeroed) from a varbind; OHM_ENOMEM if a copy failed. */
int snmp_val_from_vb(struct tp_snmp_val *v, const netsnmp_variable_list *vb,
                     struct ohm_error *e);
/* Open t's session unless open (after an interrupted request). */
int snmp_sess_reopen(struct tp *t, struct ohm_error *e);
/* Wait until no session of sps[0..n) has requests in flight; OHM_EINTR on
 * Ctrl-C (the caller then calls snmp_drop_inflight). */
int snmp_run_loop(struct sp **sps, size_t n, struct ohm_error *e);
/* Close the sessions still waiting, so abandoned requests never call
 * back; they reopen on next use. */
void snmp_drop_inflight(struct sp **sps, size_t n);

#endif
