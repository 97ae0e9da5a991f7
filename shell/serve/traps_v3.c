/* SNMPv3 traps and informs, and v2c informs, in (traps.c hands them
 * here): net-snmp's usm checks them, through a session over a transport
 * whose "socket" is the datagram traps.c already received (f_recv gives
 * it, f_send answers on traps.c's socket). Users are created as
 * snmptrapd's createUser does: for informs under ohm's own engine id, for
 * traps under the sender's (engine_id). An inform is acknowledged. Used
 * by the trap thread only. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <sys/socket.h>

#include "traps_v3.h"
#include "transports/snmp_int.h"

static struct {
  void *sess;
  const unsigned char *buf; /* the datagram being handled */
  size_t n;
  const struct sockaddr *from;
  socklen_t fl;
  trv3_vb_fn vb;
  void *ctx;
  int delivered;
  const char *refused; /* why v3_cb dropped it, or NULL */
} v3;

/* The security level each user was set up with: net-snmp lets a known
 * user's name through at a lower level (noAuthNoPriv), which would let
 * anyone who knows the name send traps as that user. */
#define V3_USERS 64
static struct {
  char name[33];
  int level; /* SNMP_SEC_LEVEL_* */
} v3_users[V3_USERS];
static int v3_nusers;

static int v3_user_level(const char *name) {
  for (int i = 0; i < v3_nusers; i++)
    if (strcmp(v3_users[i].name, name) == 0) return v3_users[i].level;
  return SNMP_SEC_LEVEL_AUTHPRIV; /* unknown: nothing is low enough */
}

static int v3_recv(netsnmp_transport *t, void *buf, int size, void **opaque,
                   int *olen) {
  (void)t;
  if (!v3.buf || (size_t)size < v3.n || !(*opaque = malloc(v3.fl))) return -1;
  memcpy(buf, v3.buf, v3.n);
  memcpy(*opaque, v3.from, v3.fl);
  *olen = (int)v3.fl;
  v3.buf = NULL;
  return (int)v3.n;
}

static int v3_send(netsnmp_transport *t, const void *buf, int size,
                   void **opaque, int *olen) {
  if (!opaque || !*opaque || !olen) return -1;
  return (int)sendto(t->sock, buf, (size_t)size, 0, *opaque, (socklen_t)*olen);
}

static int v3_close(netsnmp_transport *t) {
  t->sock = -1; /* traps.c's socket: traps.c closes it */
  return 0;
}

/* A varbind's value as text; 1 for the numeric types. */
static int v3_value(const netsnmp_variable_list *v, char *out, size_t cap) {
  switch (v->type) {
  case ASN_INTEGER:
  case ASN_COUNTER:
  case ASN_GAUGE:
  case ASN_TIMETICKS:
    snprintf(out, cap, "%ld", *v->val.integer);
    return 1;
  case ASN_COUNTER64:
    snprintf(out, cap, "%llu",
             ((unsigned long long)v->val.counter64->high << 32) |
                 v->val.counter64->low);
    return 1;
  case ASN_OBJECT_ID: {
    char *o = snmp_oid_text(v->val.objid, v->val_len / sizeof(oid));
    snprintf(out, cap, "%s", o ? o + (*o == '.') : "");
    free(o);
    return 0;
  }
  case ASN_IPADDRESS:
    if (v->val_len == 4)
      snprintf(out, cap, "%u.%u.%u.%u", v->val.string[0], v->val.string[1],
               v->val.string[2], v->val.string[3]);
    return 0;
  case ASN_OCTET_STR: {
    size_t k = v->val_len < cap - 1 ? v->val_len : cap - 1;
    for (size_t i = 0; i < k; i++)
      out[i] = v->val.string[i] >= 0x20 && v->val.string[i] < 0x7f
                   ? (char)v->val.string[i]
                   : '?';
    out[k] = 0;
    return 0;
  }
  default:
    out[0] = 0;
    return 0;
  }
}

static int v3_cb(int op, netsnmp_session *s, int reqid, netsnmp_pdu *pdu,
                 void *magic) {
  char text[256], user[64];
  (void)s, (void)reqid, (void)magic;
  if (op != NETSNMP_CALLBACK_OP_RECEIVED_MESSAGE ||
      (pdu->command != SNMP_MSG_TRAP2 && pdu->command != SNMP_MSG_INFORM))
    return 1;
  if (pdu->version == SNMP_VERSION_3) {
    snprintf(user, sizeof user, "%.*s", (int)pdu->securityNameLen,
             pdu->securityName ? pdu->securityName : "");
    if (pdu->securityLevel < v3_user_level(user)) {
      v3.refused = "below the security level of its user (no "
                   "authentication or no privacy where the user has keys)";
      return 1;
    }
  }
  v3.delivered = 1;
  v3.vb(v3.ctx, "version", pdu->version == SNMP_VERSION_3 ? "3" : "2c", 0);
  if (pdu->version == SNMP_VERSION_3) v3.vb(v3.ctx, "user", user, 0);
  for (netsnmp_variable_list *v = pdu->variables; v; v = v->next_variable) {
    char *o = snmp_oid_text(v->name, v->name_length);
    int num = v3_value(v, text, sizeof text);
    if (o) v3.vb(v3.ctx, o + (*o == '.'), text, num);
    free(o);
  }
  if (pdu->command == SNMP_MSG_INFORM) { /* acknowledged, as snmptrapd */
    netsnmp_pdu *reply = snmp_clone_pdu(pdu);
    if (reply) {
      reply->command = SNMP_MSG_RESPONSE;
      reply->errstat = reply->errindex = 0;
      if (!snmp_sess_send(v3.sess, reply)) snmp_free_pdu(reply);
    }
  }
  return 1;
}

int trv3_start(int fd, struct ohm_error *e) {
  netsnmp_session s;
  if (snmp_lib_ready(e) < 0) return e->code;
  netsnmp_transport *t = calloc(1, sizeof *t);
  if (!t) return ohm_error_set(e, OHM_ENOMEM, "out of memory");
  t->sock = fd;
  t->msgMaxSize = 65507;
  t->f_recv = v3_recv;
  t->f_send = v3_send;
  t->f_close = v3_close;
  snmp_sess_init(&s);
  s.callback = v3_cb;
  s.isAuthoritative = SNMP_SESS_UNKNOWNAUTH; /* traps and informs */
  s.flags |= SNMP_FLAGS_DONT_PROBE;
  snmp_lock();
  v3.sess = snmp_sess_add(&s, t, NULL, NULL);
  snmp_unlock();
  if (!v3.sess) return ohm_error_set(e, OHM_EIO, "traps: no SNMPv3 session");
  return 0;
}

int trv3_user(const char *name, const char *auth, const char *auth_pass,
              const char *priv, const char *priv_pass, const char *engine,
              struct ohm_error *e) {
  char line[600];
  if (strlen(name) >= sizeof v3_users[0].name || v3_nusers >= V3_USERS)
    return ohm_error_set(e, OHM_EINVAL,
                         "snmp_users.%.40s: names up to 32 characters, "
                         "%d users at most",
                         name, V3_USERS);
  if (strpbrk(name, " \t\"") || (auth_pass && strpbrk(auth_pass, " \t\"")) ||
      (priv_pass && strpbrk(priv_pass, " \t\"")) ||
      (engine && strpbrk(engine, " \t\"")))
    return ohm_error_set(e, OHM_EINVAL,
                         "snmp_users.%.40s: no spaces or quotes in a name, "
                         "passphrase or engine_id",
                         name);
  for (int mine = 1; mine >= (engine ? 0 : 1); mine--) {
    snprintf(line, sizeof line, "%s%s%s%s%s%s%s%s", mine ? "" : "-e ",
             mine ? "" : engine, mine ? "" : " ", name, auth_pass ? " " : "",
             auth_pass ? (auth ? auth : "SHA") : "", auth_pass ? " " : "",
             auth_pass ? auth_pass : "");
    size_t k = strlen(line);
    if (auth_pass && priv_pass)
      snprintf(line + k, sizeof line - k, " %s %s", priv ? priv : "AES",
               priv_pass);
    snmp_lock();
    usm_parse_create_usmUser(NULL, line);
    snmp_unlock();
  }
  memset(line, 0, sizeof line);
  snprintf(v3_users[v3_nusers].name, sizeof v3_users[0].name, "%s", name);
  v3_users[v3_nusers++].level = !auth_pass  ? SNMP_SEC_LEVEL_NOAUTH
                                : priv_pass ? SNMP_SEC_LEVEL_AUTHPRIV
                                            : SNMP_SEC_LEVEL_AUTHNOPRIV;
  return 0;
}

/* Why usm dropped the message, from the counter that moved ("" for
 * engine discovery and time synchronisation, which are answered). */
static void v3_why(const u_int *before, char *why, size_t cap) {
  static const char *const reasons[] = {
      "unsupported security level",
      "",
      "unknown user name",
      "",
      "wrong digest: a wrong key or passphrase",
      "cannot decrypt: a wrong privacy key"};
  for (int k = STAT_USM_STATS_START; k <= STAT_USM_STATS_END; k++)
    if (snmp_get_statistic(k) != before[k - STAT_USM_STATS_START]) {
      snprintf(why, cap, "%s", reasons[k - STAT_USM_STATS_START]);
      return;
    }
  snprintf(why, cap, "unreadable: a wrong privacy key?");
}

int trv3_read(const unsigned char *buf, size_t n, const struct sockaddr *from,
              socklen_t fl, trv3_vb_fn vb, void *ctx, char *why, size_t cap) {
  fd_set fds;
  u_int before[STAT_USM_STATS_END - STAT_USM_STATS_START + 1];
  netsnmp_transport *t = v3.sess ? snmp_sess_transport(v3.sess) : NULL;
  why[0] = 0;
  if (!t || t->sock < 0 || t->sock >= FD_SETSIZE) {
    snprintf(why, cap, "SNMPv3 is not set up");
    return 0;
  }
  snmp_lock(); /* also: no other thread moves the counters meanwhile */
  for (int k = STAT_USM_STATS_START; k <= STAT_USM_STATS_END; k++)
    before[k - STAT_USM_STATS_START] = snmp_get_statistic(k);
  v3.buf = buf, v3.n = n, v3.from = from, v3.fl = fl;
  v3.vb = vb, v3.ctx = ctx, v3.delivered = 0, v3.refused = NULL;
  FD_ZERO(&fds);
  FD_SET(t->sock, &fds);
  snmp_sess_read(v3.sess, &fds);
  v3.buf = NULL;
  if (!v3.delivered && v3.refused)
    snprintf(why, cap, "%s", v3.refused);
  else if (!v3.delivered)
    v3_why(before, why, cap);
  snmp_unlock();
  return v3.delivered;
}

void trv3_stop(void) {
  snmp_lock();
  if (v3.sess) snmp_sess_close(v3.sess);
  v3.sess = NULL;
  v3_nusers = 0;
  snmp_unlock();
}
