/* The snmp transport over net-snmp's single-session API. Every request,
 * synchronous or not, is sent with snmp_sess_async_send and completed by
 * one event loop (snmp_run_loop) over the sessions that have requests in
 * flight: the synchronous calls run it on one session, a multi on many.
 * That loop also polls tp_interrupted, so Ctrl-C stops a wait. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "snmp_int.h"

/* ---- library set-up ---------------------------------------------------- */

static pthread_once_t lib_once = PTHREAD_ONCE_INIT;

/* init_snmp reads snmp.conf (honoured) but must load no MIB and print
 * nothing: MIBS="" for the call only, and a log handler that drops all. */
/* Set env var k to v, keeping the old value in *save (NULL if unset). */
static void env_push(const char *k, const char *v, char **save) {
  const char *old = getenv(k);
  *save = old ? strdup(old) : NULL;
  setenv(k, v, 1);
}

static void env_pop(const char *k, char *save) {
  if (save)
    setenv(k, save, 1);
  else
    unsetenv(k);
  free(save);
}

/* init_snmp reads snmp.conf (honoured) but must load no MIB, scan no MIB
 * directory and print nothing: MIBS="" and MIBDIRS="" for the call only,
 * and a log handler that drops all. */
static void lib_init(void) {
  char *mibs, *dirs;
  env_push("MIBS", "", &mibs);
  env_push("MIBDIRS", "", &dirs);
  netsnmp_register_loghandler(NETSNMP_LOGHANDLER_NONE, LOG_DEBUG);
  netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID,
                         NETSNMP_DS_LIB_DISABLE_PERSISTENT_LOAD, 1);
  netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID,
                         NETSNMP_DS_LIB_DISABLE_PERSISTENT_SAVE, 1);
  netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID,
                         NETSNMP_DS_LIB_ALARM_DONT_USE_SIG, 1);
  init_snmp("ohm");
  netsnmp_ds_set_int(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_OID_OUTPUT_FORMAT,
                     NETSNMP_OID_OUTPUT_NUMERIC);
  env_pop("MIBDIRS", dirs);
  env_pop("MIBS", mibs);
}

int snmp_lib_ready(struct ohm_error *e) {
  int rc = lazy_netsnmp_load(e);
  if (rc < 0) return rc;
  snmp_lock(); /* the set-up, then every call, under the one lock */
  pthread_once(&lib_once, lib_init);
  snmp_unlock();
  return 0;
}

/* ---- OIDs and values --------------------------------------------------- */

/* Numeric OID text (leading dot optional) into o; 0 or OHM_EINVAL. */
int snmp_oid_parse(const char *s, oid *o, size_t *len, struct ohm_error *e) {
  const char *p = s;
  size_t n = 0;
  if (*p == '.') p++;
  while (*p >= '0' && *p <= '9' && n < MAX_OID_LEN) {
    unsigned long v = 0; /* by hand: strtoul was hot in fleet polls */
    while (*p >= '0' && *p <= '9' && v <= 0xffffffffUL)
      v = v * 10 + (unsigned long)(*p++ - '0');
    if (v > 0xffffffffUL) break;
    o[n++] = v;
    if (*p == '.' && p[1] >= '0' && p[1] <= '9')
      p++;
    else
      break;
  }
  if (*p || n < 1)
    return ohm_error_set(e, OHM_EINVAL, "bad OID '%s' (numeric OIDs only)", s);
  *len = n;
  return 0;
}

char *snmp_oid_text(const oid *o, size_t n) {
  /* by hand: snprintf per sub-identifier was a quarter of a fleet poll */
  char *s = malloc(n * 11 + 2), *p = s;
  if (!s) return NULL;
  for (size_t i = 0; i < n; i++) {
    char tmp[12];
    int k = 0;
    unsigned long v = (unsigned long)o[i];
    do
      tmp[k++] = (char)('0' + v % 10);
    while ((v /= 10) != 0);
    *p++ = '.';
    while (k > 0)
      *p++ = tmp[--k];
  }
  *p = 0;
  return s;
}

void tp_snmp_vals_free(struct tp_snmp_val *v, size_t n) {
  for (size_t i = 0; v && i < n; i++) {
    free(v[i].oid);
    free(v[i].str);
    free(v[i].text);
    memset(&v[i], 0, sizeof v[i]);
  }
}

const char *tp_snmp_type_name(enum tp_snmp_type t) {
  static const char *const names[] = {
      "missing", "INTEGER", "Gauge32",   "Counter32", "Counter64", "Timeticks",
      "STRING",  "OID",     "IpAddress", "NULL",      "other"};
  return (unsigned)t < sizeof names / sizeof names[0] ? names[t] : "?";
}

static char *mem_str(const void *p, size_t n) {
  char *s = malloc(n + 1);
  if (s) {
    if (n) memcpy(s, p, n);
    s[n] = 0;
  }
  return s;
}

/* The typed part of a varbind (not its text). */
static void val_typed(struct tp_snmp_val *v, const netsnmp_variable_list *vb) {
  switch (vb->type) {
  case ASN_INTEGER:
    v->type = TP_SNMP_INTEGER;
    v->i = *vb->val.integer;
    break;
  case ASN_GAUGE:
  case ASN_COUNTER:
  case ASN_TIMETICKS:
    v->type = vb->type == ASN_GAUGE     ? TP_SNMP_UNSIGNED
              : vb->type == ASN_COUNTER ? TP_SNMP_COUNTER32
                                        : TP_SNMP_TIMETICKS;
    v->u = (uint32_t)*vb->val.integer;
    v->i = (int64_t)v->u;
    break;
  case ASN_COUNTER64:
    v->type = TP_SNMP_COUNTER64;
    v->u = ((uint64_t)vb->val.counter64->high << 32) |
           (uint32_t)vb->val.counter64->low;
    break;
  case ASN_OCTET_STR:
    v->type = TP_SNMP_STRING;
    v->str = mem_str(vb->val.string, vb->val_len);
    v->len = vb->val_len;
    break;
  case ASN_OBJECT_ID:
    v->type = TP_SNMP_OID;
    v->str = snmp_oid_text(vb->val.objid, vb->val_len / sizeof(oid));
    v->len = v->str ? strlen(v->str) : 0;
    break;
  case ASN_IPADDRESS:
    v->type = TP_SNMP_IPADDR;
    if (vb->val_len == 4 && (v->str = malloc(16))) {
      snprintf(v->str, 16, "%u.%u.%u.%u", vb->val.string[0], vb->val.string[1],
               vb->val.string[2], vb->val.string[3]);
      v->len = strlen(v->str);
    }
    break;
  case ASN_NULL:
    v->type = TP_SNMP_NULL;
    break;
  case SNMP_NOSUCHOBJECT:
  case SNMP_NOSUCHINSTANCE:
  case SNMP_ENDOFMIBVIEW:
    v->type = TP_SNMP_MISSING;
    break;
  default:
    v->type = TP_SNMP_OTHER;
  }
}

/* Fill v (zeroed) from a varbind; OHM_ENOMEM if a copy failed. */
int snmp_val_from_vb(struct tp_snmp_val *v, const netsnmp_variable_list *vb,
                     struct ohm_error *e) {
  u_char *buf = NULL;
  size_t cap = 0, len = 0;
  v->oid = snmp_oid_text(vb->name, vb->name_length);
  val_typed(v, vb);
  if (sprint_realloc_value(&buf, &cap, &len, 1, vb->name, vb->name_length,
                           vb) &&
      buf)
    v->text = (char *)buf;
  else
    free(buf);
  if (!v->oid || !v->text ||
      (!v->str && (v->type == TP_SNMP_STRING || v->type == TP_SNMP_OID)))
    return ohm_error_set(e, OHM_ENOMEM, "out of memory");
  return 0;
}

/* ---- open / close ------------------------------------------------------ */

static int parse_version(const struct tp *t, long *ver, struct ohm_error *e) {
  const char *v = ohm_uri_param(&t->uri, "version");
  int def =
      netsnmp_ds_get_int(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_SNMPVERSION);
  if (!v || !*v)
    *ver = def == NETSNMP_DS_SNMP_VERSION_1   ? SNMP_VERSION_1
           : def == NETSNMP_DS_SNMP_VERSION_3 ? SNMP_VERSION_3
                                              : SNMP_VERSION_2c;
  else if (!strcmp(v, "1"))
    *ver = SNMP_VERSION_1;
  else if (!strcasecmp(v, "2c") || !strcmp(v, "2"))
    *ver = SNMP_VERSION_2c;
  else if (!strcmp(v, "3"))
    *ver = SNMP_VERSION_3;
  else
    return ohm_error_set(e, OHM_EURI, "bad SNMP version '%s' (1, 2c or 3)", v);
  return 0;
}

/* A secret from the URI parameter, else the environment; borrowed. */
static const char *secret(const struct tp *t, const char *param,
                          const char *env, const char *first) {
  const char *s = first;
  if (!s || !*s) s = ohm_uri_param(&t->uri, param);
  if (!s || !*s) s = getenv(env);
  return s && *s ? s : NULL;
}

static int v3_level(const char *lv, const char *apass, const char *ppass,
                    const struct tp *t, int *out, struct ohm_error *e) {
  int def = netsnmp_ds_get_int(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_SECLEVEL);
  if (!lv || !*lv)
    *out = ppass || ohm_uri_param(&t->uri, "priv")   ? SNMP_SEC_LEVEL_AUTHPRIV
           : apass || ohm_uri_param(&t->uri, "auth") ? SNMP_SEC_LEVEL_AUTHNOPRIV
           : def                                     ? def
                                                     : SNMP_SEC_LEVEL_NOAUTH;
  else if (!strcasecmp(lv, "noAuthNoPriv"))
    *out = SNMP_SEC_LEVEL_NOAUTH;
  else if (!strcasecmp(lv, "authNoPriv"))
    *out = SNMP_SEC_LEVEL_AUTHNOPRIV;
  else if (!strcasecmp(lv, "authPriv"))
    *out = SNMP_SEC_LEVEL_AUTHPRIV;
  else
    return ohm_error_set(e, OHM_EURI,
                         "bad SNMPv3 level '%s' (noAuthNoPriv, authNoPriv or "
                         "authPriv)",
                         lv);
  return 0;
}

/* Turn a passphrase into the session's localizable key (Ku). */
static int v3_key(netsnmp_session *s, const char *pass, int priv,
                  struct ohm_error *e) {
  const char *what = priv ? "privacy" : "authentication";
  size_t n = USM_AUTH_KU_LEN;
  int rc;
  if (!pass)
    return ohm_error_set(
        e, OHM_EINVAL,
        "SNMPv3 %s passphrase missing (URI, %s or "
        "$OHM_SNMP_%sPASS)",
        what, priv ? "priv_pass=" : "auth_pass=", priv ? "PRIV" : "AUTH");
  if (strlen(pass) < USM_LENGTH_P_MIN)
    return ohm_error_set(e, OHM_EINVAL,
                         "SNMPv3 %s passphrase too short (at least %d "
                         "characters)",
                         what, USM_LENGTH_P_MIN);
  rc = generate_Ku(s->securityAuthProto, (u_int)s->securityAuthProtoLen,
                   (const u_char *)pass, strlen(pass),
                   priv ? s->securityPrivKey : s->securityAuthKey, &n);
  if (rc != SNMPERR_SUCCESS)
    return ohm_error_set(e, OHM_EINVAL, "cannot derive the %s key (%s)", what,
                         snmp_api_errstring(rc));
  if (priv)
    s->securityPrivKeyLen = n;
  else
    s->securityAuthKeyLen = n;
  return 0;
}

/* Protocols: the URI's auth=/priv= names, else snmp.conf's defaults. */
static int v3_protos(const struct tp *t, netsnmp_session *s,
                     struct ohm_error *e) {
  const char *a = ohm_uri_param(&t->uri, "auth");
  const char *p = ohm_uri_param(&t->uri, "priv");
  int at = a ? usm_lookup_auth_type(a) : -1;
  int pt = p ? usm_lookup_priv_type(!strcasecmp(p, "AES128") ? "AES" : p) : -1;
  if (a && at < 0)
    return ohm_error_set(e, OHM_EURI,
                         "bad SNMPv3 auth '%s' (MD5, SHA, "
                         "SHA-224, SHA-256, SHA-384 or SHA-512)",
                         a);
  if (p && pt < 0)
    return ohm_error_set(e, OHM_EURI,
                         "bad SNMPv3 priv '%s' (DES, AES, "
                         "AES-192 or AES-256)",
                         p);
  s->securityAuthProto =
      at >= 0 ? sc_get_auth_oid(at, &s->securityAuthProtoLen)
              : (oid *)get_default_authtype(&s->securityAuthProtoLen);
  s->securityPrivProto =
      pt >= 0 ? sc_get_priv_oid(pt, &s->securityPrivProtoLen)
              : (oid *)get_default_privtype(&s->securityPrivProtoLen);
  if (!s->securityAuthProto || !s->securityPrivProto)
    return ohm_error_set(e, OHM_ENOTSUP, "this net-snmp lacks that protocol");
  return 0;
}

static int setup_v3(struct tp *t, struct sp *p, struct ohm_error *e) {
  netsnmp_session *s = &p->tmpl;
  const char *ds_pass =
      netsnmp_ds_get_string(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_PASSPHRASE);
  const char *ap = secret(t, "auth_pass", "OHM_SNMP_AUTHPASS", t->uri.password);
  const char *pp = secret(t, "priv_pass", "OHM_SNMP_PRIVPASS", NULL);
  const char *user = t->uri.user;
  int rc, lv = 0;
  if (!user || !*user)
    user = netsnmp_ds_get_string(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_SECNAME);
  if (!user || !*user)
    return ohm_error_set(e, OHM_EURI,
                         "SNMPv3 needs a user "
                         "(snmp://USER@HOST?version=3)");
  if ((rc = v3_level(ohm_uri_param(&t->uri, "level"), ap, pp, t, &lv, e)) < 0 ||
      (rc = v3_protos(t, s, e)) < 0)
    return rc;
  if (!ap)
    ap = netsnmp_ds_get_string(NETSNMP_DS_LIBRARY_ID,
                               NETSNMP_DS_LIB_AUTHPASSPHRASE);
  if (!pp)
    pp = netsnmp_ds_get_string(NETSNMP_DS_LIBRARY_ID,
                               NETSNMP_DS_LIB_PRIVPASSPHRASE);
  ap = ap ? ap : ds_pass;
  pp = pp ? pp : ds_pass ? ds_pass : ap;
  if (!(p->secname = strdup(user)))
    return ohm_error_set(e, OHM_ENOMEM, "out of memory");
  s->version = SNMP_VERSION_3;
  s->securityName = p->secname;
  s->securityNameLen = strlen(p->secname);
  s->securityLevel = lv;
  if (lv != SNMP_SEC_LEVEL_NOAUTH && (rc = v3_key(s, ap, 0, e)) < 0) return rc;
  if (lv == SNMP_SEC_LEVEL_AUTHPRIV && (rc = v3_key(s, pp, 1, e)) < 0)
    return rc;
  if (ohm_uri_param(&t->uri, "context")) {
    if (!(p->context = strdup(ohm_uri_param(&t->uri, "context"))))
      return ohm_error_set(e, OHM_ENOMEM, "out of memory");
    s->contextName = p->context;
    s->contextNameLen = strlen(p->context);
  }
  return 0;
}

static int setup_community(struct tp *t, struct sp *p, struct ohm_error *e) {
  const char *c = t->uri.user;
  if (!c || !*c)
    c = netsnmp_ds_get_string(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_COMMUNITY);
  if (!(p->community = strdup(c && *c ? c : "public")))
    return ohm_error_set(e, OHM_ENOMEM, "out of memory");
  p->tmpl.community = (u_char *)p->community;
  p->tmpl.community_len = strlen(p->community);
  return 0;
}

/* The session's error as ohm's; a timeout during v3 discovery included. */
static int sess_open_error(netsnmp_session *s, const struct tp *t,
                           struct ohm_error *e) {
  int liberr = 0, snmperr = 0;
  char *msg = NULL;
  snmp_error(s, &liberr, &snmperr, &msg);
  if (snmperr == SNMPERR_TIMEOUT) {
    free(msg);
    return ohm_error_set(e, OHM_ETIMEDOUT,
                         "no answer to SNMPv3 discovery after %d tries of "
                         "%g s",
                         t->opts.retries + 1, t->opts.timeout);
  }
  ohm_error_set(e, snmperr == SNMPERR_BAD_ADDRESS ? OHM_EURI : OHM_EIO,
                "cannot open SNMP session (%s)",
                msg ? msg : snmp_api_errstring(snmperr));
  free(msg);
  return e ? e->code : OHM_EIO;
}

int snmp_sess_reopen(struct tp *t, struct ohm_error *e) {
  struct sp *p = t->priv;
  int rc = 0;
  if (p->sess) return 0;
  snmp_lock(); /* a v3 open waits for engine discovery under it */
  p->sess = snmp_sess_open(&p->tmpl);
  if (!p->sess) rc = sess_open_error(&p->tmpl, t, e);
  snmp_unlock();
  return rc;
}

static int snmp_tp_open(struct tp *t, struct ohm_error *e) {
  struct sp *p;
  long ver = 0, mm = 0;
  int rc;
  const char *h = t->uri.host;
  if ((rc = snmp_lib_ready(e)) < 0) return rc;
  if (!h || !*h) return ohm_error_set(e, OHM_EURI, "snmp URI needs a host");
  if ((rc = parse_version(t, &ver, e)) < 0) return rc;
  if (t->unit < 0 || t->unit > 255)
    return ohm_error_set(e, OHM_EURI, "bad unit %d", t->unit);
  if (!(p = t->priv = calloc(1, sizeof *p)))
    return ohm_error_set(e, OHM_ENOMEM, "out of memory");
  p->t = t;
  snmp_lock();
  snmp_sess_init(&p->tmpl);
  snprintf(p->peer, sizeof p->peer,
           strchr(h, ':') ? "udp6:[%s]:%d" : "udp:%s:%d", h,
           t->uri.port > 0 ? t->uri.port : 161);
  p->tmpl.peername = p->peer;
  p->tmpl.timeout = (long)(t->opts.timeout * 1e6);
  p->tmpl.retries = t->opts.retries;
  p->tmpl.version = ver;
  /* msg_max=: the largest answer ohm accepts (SNMPv3 tells the agent,
   * which then says tooBig rather than send more) */
  if ((rc = ohm_uri_param_long(&t->uri, "msg_max", 0, 484, 65507, &mm, e)) < 0)
    return rc;
  if (mm) p->tmpl.rcvMsgMaxSize = (size_t)mm;
  rc = ver == SNMP_VERSION_3 ? setup_v3(t, p, e) : setup_community(t, p, e);
  snmp_unlock();
  if (rc == 0) rc = snmp_sess_reopen(t, e);
  return rc;
}

static void snmp_tp_close(struct tp *t) {
  struct sp *p = t->priv;
  if (!p) return;
  snmp_lock();
  if (p->sess) snmp_sess_close(p->sess);
  snmp_unlock();
  free(p->community);
  free(p->secname);
  free(p->context);
  memset(&p->tmpl, 0, sizeof p->tmpl); /* keys */
  free(p);
  t->priv = NULL;
}

/* ---- the event loop ---------------------------------------------------- */

/* Wait until none of sps[0..n) has a request in flight. Ctrl-C closes the
 * sessions still waiting (net-snmp then drops their requests; they reopen
 * on next use) and returns OHM_EINTR. */
int snmp_run_loop(struct sp **sps, size_t n, struct ohm_error *e) {
  netsnmp_large_fd_set fds;
  int rc = 0;
  netsnmp_large_fd_set_init(&fds, FD_SETSIZE);
  for (;;) {
    struct timeval tv = {0, 100000};
    int maxfd = 0, block = 1, active = 0, cnt;
    NETSNMP_LARGE_FD_ZERO(&fds);
    snmp_lock();
    for (size_t i = 0; i < n; i++)
      if (sps[i]->inflight > 0 && sps[i]->sess) {
        active++;
        snmp_sess_select_info2(sps[i]->sess, &maxfd, &fds, &tv, &block);
      }
    snmp_unlock();
    if (!active) break;
    if (tp_interrupted) {
      rc = ohm_error_set(e, OHM_EINTR, "interrupted");
      break;
    }
    if (block || tv.tv_sec > 0 || tv.tv_usec > 100000)
      tv = (struct timeval){0, 100000}; /* poll Ctrl-C at 10 Hz */
    cnt = netsnmp_large_fd_set_select(maxfd, &fds, NULL, NULL, &tv);
    if (cnt < 0 && errno != EINTR) {
      rc = ohm_error_set(e, OHM_EIO, "select: %s", strerror(errno));
      break;
    }
    snmp_lock(); /* the answers' callbacks run under it */
    for (size_t i = 0; i < n; i++)
      if (sps[i]->inflight > 0 && sps[i]->sess) {
        if (cnt > 0) snmp_sess_read2(sps[i]->sess, &fds);
        if (sps[i]->inflight > 0) snmp_sess_timeout(sps[i]->sess);
      }
    snmp_unlock();
  }
  netsnmp_large_fd_set_cleanup(&fds);
  return rc;
}

/* Close sessions whose requests were abandoned (after OHM_EINTR). The
 * callbacks net-snmp may still run see their request's `abandoned` flag. */
void snmp_drop_inflight(struct sp **sps, size_t n) {
  snmp_lock();
  for (size_t i = 0; i < n; i++)
    if (sps[i]->inflight > 0 && sps[i]->sess) {
      snmp_sess_close(sps[i]->sess);
      sps[i]->sess = NULL;
      sps[i]->inflight = 0;
    }
  snmp_unlock();
}

static const struct tp_snmp_ext snmp_ext = {
    tp_snmp_get,
    tp_snmp_walk,
    tp_snmp_set,
};

static const char *const snmp_params[] = {"version", "level",     "auth",
                                          "priv",    "auth_pass", "priv_pass",
                                          "context", "msg_max",   NULL};

const struct tp_ops tp_snmp_ops = {
    .scheme = "snmp",
    .desc = "SNMP v1/v2c/v3 agents (net-snmp)",
    .kind = TP_OIDS,
    .default_port = 161,
    .open = snmp_tp_open,
    .close = snmp_tp_close,
    .ext = &snmp_ext,
    .params = snmp_params,
};
