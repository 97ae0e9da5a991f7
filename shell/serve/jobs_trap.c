/* The trap job: an SNMPv2c trap through net-snmp (loaded on first use, as
 * for reads). The trap OID is the job's `oid`, else UPS-MIB's
 * upsTrapOnBattery for ONBATT and upsTrapAlarmEntryAdded otherwise; the
 * varbinds: sysUpTime, snmpTrapOID, the device (upsIdentName) and
 * "DEVICE EVENT" (upsIdentAttachedDevices, a free text). */
#include <stdio.h>
#include <string.h>

#include "jobs.h"
#include "transports/snmp_int.h"

int job_snmp_trap(const struct job *j, struct ohm_error *e);

#define UPS_MIB ".1.3.6.1.2.1.33."

static int trap_add(netsnmp_pdu *pdu, const char *oid_text, char type,
                    const char *val, struct ohm_error *e) {
  oid o[MAX_OID_LEN];
  size_t n = MAX_OID_LEN;
  if (snmp_oid_parse(oid_text, o, &n, e) < 0) return OHM_EINVAL;
  if (snmp_add_var(pdu, o, n, type, val) != 0)
    return ohm_error_set(e, OHM_EINVAL, "trap: bad value for %s", oid_text);
  return 0;
}

int job_snmp_trap(const struct job *j, struct ohm_error *e) {
  const char *to = job_get(j, "to"), *comm = job_get(j, "community");
  const char *ev = job_get(j, "event"), *dev = job_get(j, "device");
  const char *toid = job_get(j, "oid");
  char peer[300], text[300];
  netsnmp_session s;
  if (!to) return ohm_error_set(e, OHM_EINVAL, "trap: no `to`");
  if (snmp_lib_ready(e) < 0) return e->code;
  if (!toid) toid = ev && !strcmp(ev, "ONBATT") ? UPS_MIB "2.1" : UPS_MIB "2.3";
  snprintf(peer, sizeof peer, "udp:%s%s", to, strchr(to, ':') ? "" : ":162");
  snprintf(text, sizeof text, "%s %s", dev ? dev : "", ev ? ev : "");
  snmp_sess_init(&s);
  s.peername = peer;
  s.version = SNMP_VERSION_2c;
  s.community = (u_char *)(comm ? comm : "public");
  s.community_len = strlen((const char *)s.community);
  void *sess = snmp_sess_open(&s);
  if (!sess) return ohm_error_set(e, OHM_EIO, "trap: cannot open %s", to);
  netsnmp_pdu *pdu = snmp_pdu_create(SNMP_MSG_TRAP2);
  int rc = pdu ? 0 : ohm_error_set(e, OHM_ENOMEM, "out of memory");
  if (rc == 0) rc = trap_add(pdu, ".1.3.6.1.2.1.1.3.0", 't', "0", e);
  if (rc == 0) rc = trap_add(pdu, ".1.3.6.1.6.3.1.1.4.1.0", 'o', toid, e);
  if (rc == 0 && dev) rc = trap_add(pdu, UPS_MIB "1.1.5.0", 's', dev, e);
  if (rc == 0) rc = trap_add(pdu, UPS_MIB "1.1.6.0", 's', text, e);
  if (rc == 0 && !snmp_sess_async_send(sess, pdu, NULL, NULL))
    rc = ohm_error_set(e, OHM_EIO, "trap: cannot send to %s", to);
  else if (rc == 0)
    pdu = NULL; /* the library owns it now */
  if (pdu) snmp_free_pdu(pdu);
  snmp_sess_close(sess);
  return rc;
}
