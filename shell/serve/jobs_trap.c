/* The trap job: an SNMP trap or inform through net-snmp (loaded on first
 * use, as for reads). v2c with `community`, or v3 with `user` (the
 * inventory's snmp_users entry, copied into the job by the rules: auth,
 * auth_pass, priv, priv_pass, engine_id). A v3 trap is sent with ohm as
 * the authoritative engine (engine_id, else net-snmp's own), so the
 * receiver must know that id; a v3 inform discovers the receiver's. An
 * inform (`inform = true`) waits for the acknowledgement up to the job's
 * timeout, once: retries are the job's policy (rules_run.c). The trap OID
 * is the job's `oid`, else UPS-MIB's upsTrapOnBattery for ONBATT and
 * upsTrapAlarmEntryAdded otherwise; the varbinds: sysUpTime, snmpTrapOID,
 * the device (upsIdentName) and "DEVICE EVENT" (upsIdentAttachedDevices,
 * a free text). Errors never hold a passphrase. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "jobs.h"
#include "transports/snmp_int.h"

int job_snmp_trap(const struct job *j, struct ohm_error *e);

#define UPS_MIB ".1.3.6.1.2.1.33."

struct trap_keys { /* what a v3 session points at while it is opened */
  u_char engine[32];
  size_t nengine;
};

static int trap_add(netsnmp_pdu *pdu, const char *oid_text, char type,
                    const char *val, struct ohm_error *e) {
  oid o[MAX_OID_LEN];
  size_t n = MAX_OID_LEN;
  if (snmp_oid_parse(oid_text, o, &n, e) < 0) return OHM_EINVAL;
  if (snmp_add_var(pdu, o, n, type, val) != 0)
    return ohm_error_set(e, OHM_EINVAL, "trap: bad value for %s", oid_text);
  return 0;
}

static int trap_true(const struct job *j, const char *key) {
  const char *v = job_get(j, key);
  return v && (!strcmp(v, "true") || !strcmp(v, "1") || !strcmp(v, "yes"));
}

/* "0x8000..." or "8000..." into k->engine; 0 or OHM_EINVAL. */
static int trap_engine(const char *hex, struct trap_keys *k,
                       struct ohm_error *e) {
  if (!strncasecmp(hex, "0x", 2)) hex += 2;
  size_t n = strlen(hex);
  if (n < 10 || n > 64 || n % 2 || strspn(hex, "0123456789abcdefABCDEF") != n)
    return ohm_error_set(e, OHM_EINVAL,
                         "trap: bad engine_id (5 to 32 bytes in hex)");
  for (size_t i = 0; i < n / 2; i++) {
    char b[3] = {hex[2 * i], hex[2 * i + 1], 0};
    k->engine[i] = (u_char)strtoul(b, NULL, 16);
  }
  k->nengine = n / 2;
  return 0;
}

/* A passphrase into the session's Ku (localized when it is opened). */
static int trap_key(netsnmp_session *s, const char *pass, int priv,
                    struct ohm_error *e) {
  size_t n = USM_AUTH_KU_LEN;
  const char *what = priv ? "priv_pass" : "auth_pass";
  if (!pass || strlen(pass) < USM_LENGTH_P_MIN)
    return ohm_error_set(e, OHM_EINVAL,
                         "trap: the user's %s is missing or "
                         "shorter than %d characters",
                         what, USM_LENGTH_P_MIN);
  if (generate_Ku(s->securityAuthProto, (u_int)s->securityAuthProtoLen,
                  (const u_char *)pass, strlen(pass),
                  priv ? s->securityPrivKey : s->securityAuthKey,
                  &n) != SNMPERR_SUCCESS)
    return ohm_error_set(e, OHM_EINVAL, "trap: cannot derive the %s key", what);
  *(priv ? &s->securityPrivKeyLen : &s->securityAuthKeyLen) = n;
  return 0;
}

static int trap_protos(const struct job *j, netsnmp_session *s,
                       struct ohm_error *e) {
  const char *a = job_get(j, "auth"), *p = job_get(j, "priv");
  int at = usm_lookup_auth_type(a ? a : "SHA");
  int pt = usm_lookup_priv_type(!p || !strcasecmp(p, "AES128") ? "AES" : p);
  if (at < 0 || pt < 0)
    return ohm_error_set(e, OHM_EINVAL,
                         "trap: bad %s '%s' (auth MD5 or SHA..., "
                         "priv DES or AES...)",
                         at < 0 ? "auth" : "priv", at < 0 ? a : p);
  s->securityAuthProto = sc_get_auth_oid(at, &s->securityAuthProtoLen);
  s->securityPrivProto = sc_get_priv_oid(pt, &s->securityPrivProtoLen);
  if (!s->securityAuthProto || !s->securityPrivProto)
    return ohm_error_set(e, OHM_ENOTSUP,
                         "trap: this net-snmp lacks that "
                         "protocol");
  return 0;
}

/* ohm's engine boots and time for a v3 trap: boots is this process's
 * start in Unix seconds, so it grows across restarts and a receiver that
 * remembers an earlier ohm never sees time go back (RFC 3414's window);
 * time counts seconds from it. */
static void trap_clock(u_int *boots, u_int *secs) {
  static time_t start;
  time_t now = time(NULL);
  if (!start) start = now; /* a race here only picks either second */
  *boots = (u_int)start;
  *secs = (u_int)(now - start);
}

/* v3 settings; a trap names ohm's engine (we are authoritative). */
static int trap_v3(const struct job *j, netsnmp_session *s, int inform,
                   struct trap_keys *k, struct ohm_error *e) {
  const char *user = job_get(j, "user"), *eid = job_get(j, "engine_id");
  const char *ap = job_get(j, "auth_pass"), *pp = job_get(j, "priv_pass");
  int rc = trap_protos(j, s, e);
  if (rc < 0) return rc;
  if (!job_get(j, "user_found"))
    return ohm_error_set(e, OHM_EINVAL,
                         "trap: no user '%.40s' in the inventory's "
                         "snmp_users",
                         user);
  s->version = SNMP_VERSION_3;
  s->securityName = (char *)user;
  s->securityNameLen = strlen(user);
  s->securityLevel = pp   ? SNMP_SEC_LEVEL_AUTHPRIV
                     : ap ? SNMP_SEC_LEVEL_AUTHNOPRIV
                          : SNMP_SEC_LEVEL_NOAUTH;
  if (ap && (rc = trap_key(s, ap, 0, e)) < 0) return rc;
  if (pp && (rc = trap_key(s, pp, 1, e)) < 0) return rc;
  if (inform) return 0; /* the receiver's engine, found by discovery */
  if (eid && (rc = trap_engine(eid, k, e)) < 0) return rc;
  if (!eid) {
    u_char *g = snmpv3_generate_engineID(&k->nengine);
    if (!g || k->nengine > sizeof k->engine) {
      free(g);
      return ohm_error_set(e, OHM_ENOMEM, "trap: no engine id");
    }
    memcpy(k->engine, g, k->nengine);
    free(g);
  }
  s->securityEngineID = s->contextEngineID = k->engine;
  s->securityEngineIDLen = s->contextEngineIDLen = k->nengine;
  trap_clock(&s->engineBoots, &s->engineTime);
  set_enginetime(k->engine, (u_int)k->nengine, s->engineBoots, s->engineTime,
                 1);
  return 0;
}

static netsnmp_pdu *trap_pdu(const struct job *j, int inform,
                             struct ohm_error *e) {
  const char *ev = job_get(j, "event"), *dev = job_get(j, "device");
  const char *toid = job_get(j, "oid");
  char text[300];
  if (!toid) toid = ev && !strcmp(ev, "ONBATT") ? UPS_MIB "2.1" : UPS_MIB "2.3";
  snprintf(text, sizeof text, "%s %s", dev ? dev : "", ev ? ev : "");
  netsnmp_pdu *pdu = snmp_pdu_create(inform ? SNMP_MSG_INFORM : SNMP_MSG_TRAP2);
  int rc = pdu ? 0 : ohm_error_set(e, OHM_ENOMEM, "out of memory");
  if (rc == 0) rc = trap_add(pdu, ".1.3.6.1.2.1.1.3.0", 't', "0", e);
  if (rc == 0) rc = trap_add(pdu, ".1.3.6.1.6.3.1.1.4.1.0", 'o', toid, e);
  if (rc == 0 && dev) rc = trap_add(pdu, UPS_MIB "1.1.5.0", 's', dev, e);
  if (rc == 0) rc = trap_add(pdu, UPS_MIB "1.1.6.0", 's', text, e);
  if (rc < 0 && pdu) snmp_free_pdu(pdu);
  return rc < 0 ? NULL : pdu;
}

/* Send pdu (consumed); an inform waits for its acknowledgement. */
static int trap_send(void *sess, netsnmp_pdu *pdu, int inform, const char *to,
                     double timeout, struct ohm_error *e) {
  netsnmp_pdu *resp = NULL;
  if (!inform) {
    snmp_lock();
    int sent = snmp_sess_async_send(sess, pdu, NULL, NULL);
    snmp_unlock();
    if (sent) return 0;
    snmp_free_pdu(pdu);
    return ohm_error_set(e, OHM_EIO, "trap: cannot send to %s", to);
  }
  int st = snmp_lock_synch(sess, pdu, &resp); /* unlocked while waiting */
  long err = resp ? resp->errstat : 0;
  if (resp) snmp_free_pdu(resp);
  if (st == STAT_SUCCESS && err == 0) return 0;
  if (st == STAT_TIMEOUT)
    return ohm_error_set(e, OHM_ETIMEDOUT,
                         "inform to %s: no acknowledgement in %g s", to,
                         timeout);
  if (st == STAT_SUCCESS)
    return ohm_error_set(e, OHM_EIO, "inform to %s: error status %ld", to, err);
  int liberr = 0, syserr = 0;
  char *msg = NULL;
  snmp_lock();
  snmp_sess_error(sess, &liberr, &syserr, &msg);
  snmp_unlock();
  int rc =
      ohm_error_set(e, OHM_EIO, "inform to %s: %s", to, msg ? msg : "failed");
  free(msg);
  return rc;
}

int job_snmp_trap(const struct job *j, struct ohm_error *e) {
  const char *to = job_get(j, "to"), *comm = job_get(j, "community");
  int inform = trap_true(j, "inform"), rc = 0;
  double tmo = j->timeout > 0 ? j->timeout : 5;
  char peer[300];
  netsnmp_session s;
  struct trap_keys k = {.nengine = 0};
  if (!to) return ohm_error_set(e, OHM_EINVAL, "trap: no `to`");
  if (snmp_lib_ready(e) < 0) return e->code;
  snprintf(peer, sizeof peer, "udp:%s%s", to, strchr(to, ':') ? "" : ":162");
  snmp_lock(); /* the user and engine-time lists: see snmp_lock.h */
  snmp_sess_init(&s);
  s.peername = peer;
  s.timeout = (long)(tmo * 1e6);
  s.retries = 0;
  s.version = SNMP_VERSION_2c;
  s.community = (u_char *)(comm ? comm : "public");
  s.community_len = strlen((const char *)s.community);
  if (job_get(j, "user")) rc = trap_v3(j, &s, inform, &k, e);
  void *sess = rc < 0 ? NULL : snmp_sess_open(&s);
  snmp_unlock();
  memset(s.securityAuthKey, 0, sizeof s.securityAuthKey);
  memset(s.securityPrivKey, 0, sizeof s.securityPrivKey);
  if (rc < 0) return rc;
  if (!sess) return ohm_error_set(e, OHM_EIO, "trap: cannot open %s", to);
  snmp_lock(); /* OID values go through the library's parser */
  netsnmp_pdu *pdu = trap_pdu(j, inform, e);
  snmp_unlock();
  rc = pdu ? trap_send(sess, pdu, inform, to, tmo, e) : e->code;
  snmp_lock();
  snmp_sess_close(sess);
  snmp_unlock();
  return rc;
}
