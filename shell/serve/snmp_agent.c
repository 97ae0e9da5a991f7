/* The agent thread over net-snmp's agent library (see snmp_agent.h). The
 * library is loaded with dlopen on first use (util/lazy.h), so
 * commands that serve no SNMP never pay for it. */
#include "snmp_agent_lib.h"
#include "../../util/lazy_netsnmpagent.h"

#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <sys/socket.h>

#include "snmp_agent.h"
#include "transports/snmp_lock.h"

/* transports/snmp_int.h: the client's one-time set-up of the library */
int snmp_lib_ready(struct ohm_error *e);

/* agentx/protocol.h (not installed): the version of PDUs from snmpd */
#define AGENTX_VERSION_1 193

struct sa_dev {
  char *name;
  oid root[SA_OID_MAX];
  size_t root_len;
  const struct sa_source *src;
  void *ctx;
  int can_set;
};

/* A handler registered for one (context, root): registered once, kept. */
struct sa_reg {
  char *context;
  oid root[SA_OID_MAX];
  size_t root_len;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_t thread;

/* net-snmp's process-wide lock first, then ours (transports/snmp_lock.h):
 * the library's state (users, sessions) is shared with the client code. */
static void lock_both(void) {
  snmp_lock();
  pthread_mutex_lock(&lock);
}

static void unlock_both(void) {
  pthread_mutex_unlock(&lock);
  snmp_unlock();
}
static int running, role = -1; /* 0 master, 1 subagent of snmpd */
static volatile int stopping;
static struct sa_dev *devs;
static size_t ndevs;
static struct sa_reg *regs;
static size_t nregs;
static struct sa_user {
  char name[64];
  int can_set;
} users[32];
static size_t nusers;

/* ---- finding the device a request is for ---- */

static const struct sa_dev *dev_for(const char *name, size_t len,
                                    const oid *root, size_t root_len) {
  for (size_t i = 0; i < ndevs; i++)
    if (strlen(devs[i].name) == len && !memcmp(devs[i].name, name, len) &&
        devs[i].root_len == root_len &&
        !memcmp(devs[i].root, root, root_len * sizeof(oid)))
      return &devs[i];
  return NULL;
}

static int known_name(const char *name, size_t len) {
  for (size_t i = 0; i < ndevs; i++)
    if (strlen(devs[i].name) == len && !memcmp(devs[i].name, name, len))
      return 1;
  return 0;
}

/* The device a PDU names: its context (v3, AgentX), else its community. */
static const struct sa_dev *dev_of_pdu(const netsnmp_pdu *pdu,
                                       const netsnmp_handler_registration *r) {
  if (pdu->contextName && pdu->contextNameLen)
    return dev_for(pdu->contextName, pdu->contextNameLen, r->rootoid,
                   r->rootoid_len);
  if (pdu->version != SNMP_VERSION_3 && pdu->community)
    return dev_for((const char *)pdu->community, pdu->community_len, r->rootoid,
                   r->rootoid_len);
  return NULL;
}

/* Unknown communities get no answer at all, as snmpd drops them. The
 * library's own check (no VACM configured) refuses everything: this one
 * decides, for the whole PDU and for each object. */
static int acm_check(int major, int minor, void *server, void *client) {
  struct view_parameters *vp = server;
  const netsnmp_pdu *pdu = vp->pdu;
  int ok;
  (void)major, (void)minor, (void)client;
  if (pdu->version == AGENTX_VERSION_1) /* snmpd checked its access */
    ok = 1;
  else if (pdu->version == SNMP_VERSION_3)
    ok = !pdu->contextNameLen ||
         known_name(pdu->contextName, pdu->contextNameLen);
  else
    ok = pdu->community &&
         known_name((const char *)pdu->community, pdu->community_len);
  vp->errorcode = ok ? VACM_SUCCESS : VACM_NOACCESS;
  return SNMP_ERR_NOERROR;
}

/* ---- answering ---- */

static const struct sa_obj *find_obj(const struct sa_obj *t, size_t n,
                                     const oid *name, size_t len, int next) {
  for (size_t i = 0; i < n; i++) {
    int c = snmp_oid_compare(t[i].oid, t[i].len, name, len);
    if (next ? c > 0 : c == 0) return &t[i];
    if (!next && c > 0) break;
  }
  return NULL;
}

static void put_value(netsnmp_variable_list *vb, const struct sa_obj *o) {
  if (o->type == SA_STR) {
    snmp_set_var_typed_value(vb, ASN_OCTET_STR, o->str, strlen(o->str));
  } else {
    long v = o->num;
    u_long g = o->num < 0 ? 0 : (u_long)o->num;
    if (o->type == SA_GAUGE || o->type == SA_TICKS)
      snmp_set_var_typed_value(
          vb, o->type == SA_GAUGE ? ASN_GAUGE : ASN_TIMETICKS, &g, sizeof g);
    else
      snmp_set_var_typed_value(vb, ASN_INTEGER, &v, sizeof v);
  }
}

static void answer_read(netsnmp_agent_request_info *ri,
                        netsnmp_request_info *rq, const struct sa_obj *t,
                        size_t n, const netsnmp_handler_registration *r) {
  for (; rq; rq = rq->next) {
    netsnmp_variable_list *vb = rq->requestvb;
    int next = ri->mode != MODE_GET;
    const struct sa_obj *o = find_obj(t, n, vb->name, vb->name_length, next);
    if (o && next &&
        snmp_oidtree_compare(o->oid, o->len, r->rootoid, r->rootoid_len) != 0)
      o = NULL;
    if (o) {
      if (next) snmp_set_var_objid(vb, o->oid, o->len);
      put_value(vb, o);
    } else if (!next) {
      netsnmp_set_request_error(ri, rq, SNMP_NOSUCHINSTANCE);
    } /* GETNEXT past the end: left unanswered, the next subtree goes on */
  }
}

/* Whether the PDU's v3 user was granted SET. */
static int user_can_set(const netsnmp_pdu *pdu) {
  if (pdu->version != SNMP_VERSION_3 || !pdu->securityName) return 0;
  for (size_t i = 0; i < nusers; i++)
    if (strlen(users[i].name) == pdu->securityNameLen &&
        !memcmp(users[i].name, pdu->securityName, pdu->securityNameLen))
      return users[i].can_set;
  return 0;
}

/* A received value as an object (type and num or str). */
static int received(const netsnmp_variable_list *vb, struct sa_obj *v) {
  memset(v, 0, sizeof *v);
  if (vb->type == ASN_OCTET_STR) {
    if (vb->val_len >= sizeof v->str) return SNMP_ERR_WRONGLENGTH;
    memcpy(v->str, vb->val.string, vb->val_len);
    v->type = SA_STR;
  } else if (vb->type == ASN_INTEGER || vb->type == ASN_GAUGE ||
             vb->type == ASN_UNSIGNED) {
    v->num = *vb->val.integer;
    v->type = vb->type == ASN_INTEGER ? SA_INT : SA_GAUGE;
  } else {
    return SNMP_ERR_WRONGTYPE;
  }
  return SNMP_ERR_NOERROR;
}

/* SETs are checked in RESERVE1 and written in RESERVE2, so a refused
 * value is an error with nothing written. */
static void answer_set(netsnmp_agent_request_info *ri, netsnmp_request_info *rq,
                       const struct sa_dev *d, const struct sa_obj *t,
                       size_t n) {
  for (; rq; rq = rq->next) {
    netsnmp_variable_list *vb = rq->requestvb;
    const struct sa_obj *o = find_obj(t, n, vb->name, vb->name_length, 0);
    struct sa_obj v;
    struct ohm_error e;
    int err = SNMP_ERR_NOERROR, rc;
    if (ri->mode != MODE_SET_RESERVE1 && ri->mode != MODE_SET_RESERVE2)
      continue;
    if (!o)
      err = SNMP_ERR_NOCREATION;
    else if (!(d->can_set || user_can_set(ri->asp->pdu)) || !o->writable ||
             !d->src->set)
      err = SNMP_ERR_NOTWRITABLE;
    else if ((err = received(vb, &v)) == SNMP_ERR_NOERROR &&
             ri->mode == MODE_SET_RESERVE2 &&
             (rc = d->src->set(d->ctx, o, &v, &e)) < 0)
      err = rc == OHM_EINVAL || rc == OHM_ERANGE ? SNMP_ERR_WRONGVALUE
                                                 : SNMP_ERR_COMMITFAILED;
    if (err != SNMP_ERR_NOERROR) netsnmp_set_request_error(ri, rq, err);
  }
}

static int handler(netsnmp_mib_handler *h, netsnmp_handler_registration *r,
                   netsnmp_agent_request_info *ri, netsnmp_request_info *rq) {
  const struct sa_dev *d = dev_of_pdu(ri->asp->pdu, r);
  struct sa_obj *t = NULL;
  size_t n = 0;
  (void)h;
  if (!d || d->src->objects(d->ctx, &t, &n) < 0) {
    free(t);
    t = NULL, n = 0; /* nothing to show: noSuchInstance / next subtree */
  }
  if (ri->mode == MODE_GET || ri->mode == MODE_GETNEXT)
    answer_read(ri, rq, t, n, r);
  else if (d)
    answer_set(ri, rq, d, t, n);
  else
    for (; rq; rq = rq->next)
      if (ri->mode == MODE_SET_RESERVE1)
        netsnmp_set_request_error(ri, rq, SNMP_ERR_NOACCESS);
  free(t);
  return SNMP_ERR_NOERROR;
}

/* ---- registrations (under lock) ---- */

static int register_root(const char *context, const oid *root, size_t len,
                         struct ohm_error *e) {
  for (size_t i = 0; i < nregs; i++)
    if (!strcmp(regs[i].context, context) && regs[i].root_len == len &&
        !memcmp(regs[i].root, root, len * sizeof(oid)))
      return 0;
  struct sa_reg *nr = realloc(regs, (nregs + 1) * sizeof *regs);
  if (!nr) return ohm_error_set(e, OHM_ENOMEM, "out of memory");
  regs = nr;
  netsnmp_handler_registration *r = netsnmp_create_handler_registration(
      "ohm", handler, root, len, HANDLER_CAN_RWRITE);
  if (!r) return ohm_error_set(e, OHM_ENOMEM, "out of memory");
  if (context[0]) r->contextName = strdup(context);
  if (netsnmp_register_handler(r) != MIB_REGISTERED_OK)
    return ohm_error_set(e, OHM_EIO, "cannot register the OID subtree");
  regs[nregs].context = strdup(context);
  memcpy(regs[nregs].root, root, len * sizeof(oid));
  regs[nregs++].root_len = len;
  return 0;
}

int sa_device_add(const char *name, const unsigned long *root, size_t root_len,
                  const struct sa_source *src, void *ctx, int can_set,
                  struct ohm_error *e) {
  int rc = 0;
  if (root_len > SA_OID_MAX || !name[0])
    return ohm_error_set(e, OHM_EINVAL, "bad SNMP device '%s'", name);
  lock_both();
  struct sa_dev *nd = realloc(devs, (ndevs + 1) * sizeof *devs);
  if (nd) devs = nd;
  if (dev_for(name, strlen(name), root, root_len))
    rc = ohm_error_set(e, OHM_EINVAL, "%s: served twice", name);
  else if (!nd)
    rc = ohm_error_set(e, OHM_ENOMEM, "out of memory");
  /* v1/v2c come in the default context; v3 and AgentX name it */
  if (rc == 0) rc = register_root("", root, root_len, e);
  if (rc == 0) rc = register_root(name, root, root_len, e);
  if (rc == 0) {
    struct sa_dev *d = &devs[ndevs++];
    d->name = strdup(name);
    memcpy(d->root, root, root_len * sizeof(oid));
    d->root_len = root_len;
    d->src = src, d->ctx = ctx, d->can_set = can_set;
  }
  unlock_both();
  return rc;
}

void sa_device_del(void *ctx) {
  lock_both();
  for (size_t i = 0; i < ndevs;)
    if (devs[i].ctx == ctx) {
      free(devs[i].name);
      devs[i] = devs[--ndevs];
    } else {
      i++;
    }
  unlock_both();
}

int sa_user_add(const char *name, const char *auth, const char *auth_pass,
                const char *priv, const char *priv_pass, int can_set,
                struct ohm_error *e) {
  char line[512];
  if (!name[0] || strlen(name) >= sizeof users[0].name || nusers >= 32 ||
      strpbrk(name, " \t\"") || !auth_pass || strlen(auth_pass) < 8 ||
      strpbrk(auth_pass, " \t\"") ||
      (priv_pass && (strlen(priv_pass) < 8 || strpbrk(priv_pass, " \t\""))))
    return ohm_error_set(e, OHM_EINVAL,
                         "agent user '%.40s': a name and passphrases of 8 "
                         "characters or more, without spaces",
                         name);
  snprintf(line, sizeof line, "%s %s %s%s%s%s%s", name, auth ? auth : "SHA",
           auth_pass, priv_pass ? " " : "",
           priv_pass ? (priv ? priv : "AES") : "", priv_pass ? " " : "",
           priv_pass ? priv_pass : "");
  lock_both();
  usm_parse_create_usmUser(NULL, line);
  snprintf(users[nusers].name, sizeof users[0].name, "%s", name);
  users[nusers++].can_set = can_set;
  unlock_both();
  memset(line, 0, sizeof line);
  return 0;
}

int sa_trap_sink(const char *host, int port, const char *community,
                 struct ohm_error *e) {
  char h[300], c[128];
  snprintf(h, sizeof h, strchr(host, ':') ? "udp6:[%s]:%d" : "udp:%s:%d", host,
           port);
  snprintf(c, sizeof c, "%s", community);
  lock_both();
  int ok = role >= 0 && port > 0 && port < 65536 &&
           create_trap_session2(h, NULL, c, SNMP_VERSION_2c, SNMP_MSG_TRAP2);
  unlock_both();
  return ok ? 0
            : ohm_error_set(e, OHM_EINVAL, "cannot send traps to %.60s:%d",
                            host, port);
}

/* Dotted text into arcs; the count, 0 if bad. */
static size_t arcs_of(const char *t, oid *o) {
  size_t n = 0;
  for (const char *p = *t == '.' ? t + 1 : t; *p && n < SA_OID_MAX;) {
    char *end;
    o[n++] = strtoul(p, &end, 10);
    if (end == p) return 0;
    p = *end == '.' ? end + 1 : end;
  }
  return n;
}

void sa_trap_send(const char *trap_oid, const struct sa_obj *vbs, size_t n) {
  static const oid trap_name[] = {1, 3, 6, 1, 6, 3, 1, 1, 4, 1, 0};
  netsnmp_variable_list *l = NULL;
  oid o[SA_OID_MAX];
  size_t k = arcs_of(trap_oid, o);
  lock_both();
  snmp_varlist_add_variable(&l, trap_name, 11, ASN_OBJECT_ID, o,
                            k * sizeof(oid));
  for (size_t i = 0; i < n; i++) {
    const struct sa_obj *v = &vbs[i];
    long num = v->num;
    if (v->type == SA_STR && v->var == -2) { /* an OID value */
      k = arcs_of(v->str, o);
      snmp_varlist_add_variable(&l, v->oid, v->len, ASN_OBJECT_ID, o,
                                k * sizeof(oid));
    } else if (v->type == SA_STR) {
      snmp_varlist_add_variable(&l, v->oid, v->len, ASN_OCTET_STR, v->str,
                                strlen(v->str));
    } else {
      snmp_varlist_add_variable(&l, v->oid, v->len, ASN_INTEGER, &num,
                                sizeof num);
    }
  }
  send_v2trap(l);
  snmp_free_varbind(l);
  unlock_both();
}

int sa_device_has(const char *name) {
  lock_both();
  int r = known_name(name, strlen(name));
  unlock_both();
  return r;
}

/* ---- the thread ---- */

static void *loop(void *arg) {
  (void)arg;
  while (!stopping) {
    int nfds = 0, block = 1;
    fd_set fds;
    struct timeval tv = {0, 0}, *tvp = &tv;
    FD_ZERO(&fds);
    lock_both();
    snmp_select_info(&nfds, &fds, tvp, &block);
    unlock_both();
    if (block || tv.tv_sec > 0 || tv.tv_usec > 200000)
      tv = (struct timeval){0, 200000}; /* to see `stopping` */
    int n = select(nfds, &fds, NULL, NULL, tvp);
    lock_both();
    if (n > 0)
      snmp_read(&fds);
    else if (n == 0)
      snmp_timeout();
    run_alarms();
    netsnmp_check_outstanding_agent_requests();
    unlock_both();
  }
  return NULL;
}

static int init_lib(struct ohm_error *e) {
  int rc;
  if ((rc = snmp_lib_ready(e)) < 0) return rc; /* the client's set-up */
  if ((rc = lazy_netsnmpagent_load(e)) < 0) return rc;
  netsnmp_ds_set_boolean(NETSNMP_DS_APPLICATION_ID, NETSNMP_DS_AGENT_ROLE, 0);
  netsnmp_ds_set_boolean(NETSNMP_DS_APPLICATION_ID,
                         NETSNMP_DS_AGENT_NO_ROOT_ACCESS, 1);
  init_agent("ohm");
  snmp_register_callback(SNMP_CALLBACK_APPLICATION,
                         SNMPD_CALLBACK_ACM_CHECK_INITIAL, acm_check, NULL);
  snmp_register_callback(SNMP_CALLBACK_APPLICATION, SNMPD_CALLBACK_ACM_CHECK,
                         acm_check, NULL);
  snmp_register_callback(SNMP_CALLBACK_APPLICATION,
                         SNMPD_CALLBACK_ACM_CHECK_SUBTREE, acm_check, NULL);
  return 0;
}

/* AgentX to snmpd at path; 0 once connected. */
static int subagent(const char *path, struct ohm_error *e) {
  netsnmp_ds_set_boolean(NETSNMP_DS_APPLICATION_ID, NETSNMP_DS_AGENT_ROLE, 1);
  netsnmp_ds_set_string(NETSNMP_DS_APPLICATION_ID, NETSNMP_DS_AGENT_X_SOCKET,
                        path);
  subagent_init();
  /* the first UDP port (sa_listen) took main_session, which the AgentX
   * client takes for "already connected" */
  netsnmp_session *udp = main_session;
  main_session = NULL;
  subagent_open_master_session();
  if (!main_session) main_session = udp;
  if (main_session == udp)
    return ohm_error_set(e, OHM_ECONNREFUSED,
                         "no AgentX master at %s (snmpd with 'master "
                         "agentx')",
                         path);
  return 0;
}

int sa_start(const char *agentx, struct ohm_error *e) {
  int rc = 0;
  lock_both();
  if (role < 0 && (rc = init_lib(e)) == 0) role = 0;
  /* a master with only in-process simulators may become a subagent:
   * their UDP ports keep answering */
  if (rc == 0 && agentx && role == 0 && (rc = subagent(agentx, e)) == 0)
    role = 1;
  if (rc == 0 && !running) {
    stopping = 0;
    if (pthread_create(&thread, NULL, loop, NULL) != 0)
      rc = ohm_error_set(e, OHM_ENOMEM, "cannot start the SNMP agent");
    else
      running = 1;
  }
  unlock_both();
  return rc;
}

/* "udp:HOST:PORT" / "udp6:[V6]:PORT" from ADDR (PORT alone: loopback). */
static int agent_spec(const char *addr, char *buf, size_t n,
                      struct ohm_error *e) {
  const char *colon = strrchr(addr, ':');
  if (strspn(addr, "0123456789") == strlen(addr) && *addr)
    snprintf(buf, n, "udp:127.0.0.1:%s", addr);
  else if (addr[0] == ':' && colon == addr)
    snprintf(buf, n, "udp:127.0.0.1%s", addr);
  else if (addr[0] == '[' && colon && colon[-1] == ']')
    snprintf(buf, n, "udp6:%s", addr);
  else if (colon && !strchr(addr, '/'))
    snprintf(buf, n, "udp:%s", addr);
  else
    return ohm_error_set(e, OHM_EINVAL, "bad address '%s' (HOST:PORT)", addr);
  const char *port = strrchr(buf, ':') + 1;
  if (!*port || strspn(port, "0123456789") != strlen(port) ||
      atol(port) > 65535)
    return ohm_error_set(e, OHM_EINVAL, "bad address '%s' (HOST:PORT)", addr);
  return 0;
}

int sa_listen(const char *addr, int *port, struct ohm_error *e) {
  char spec[300];
  int rc;
  struct sockaddr_storage ss;
  socklen_t sl = sizeof ss;
  if ((rc = agent_spec(addr, spec, sizeof spec, e)) < 0) return rc;
  lock_both();
  netsnmp_transport *t =
      role >= 0 ? netsnmp_transport_open_server("snmp", spec) : NULL;
  if (!t)
    rc = ohm_error_set(e, OHM_EIO, "cannot listen on %s", addr);
  else if (netsnmp_register_agent_nsap(t) < 0)
    rc = ohm_error_set(e, OHM_EIO, "cannot serve SNMP on %s", addr);
  unlock_both();
  if (rc == 0 && getsockname(t->sock, (struct sockaddr *)&ss, &sl) == 0)
    *port =
        ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                       : ((struct sockaddr_in *)&ss)->sin_port);
  return rc;
}

void sa_stop(void) {
  lock_both();
  int was = running;
  stopping = 1;
  running = 0;
  unlock_both();
  if (was) pthread_join(thread, NULL);
  lock_both();
  for (size_t i = 0; i < ndevs; i++)
    free(devs[i].name);
  ndevs = 0;
  unlock_both();
}
