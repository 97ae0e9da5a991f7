/* The SNMP agent (net-snmp's agent library, loaded on first use): serves
 * devices as SNMP objects for `ohm serve --snmp/--agentx` and the SNMP
 * side of the simulator (`ohm sim DRIVER --snmp`, sim:DRIVER).
 *
 * One agent per process, on its own thread: net-snmp's agent is not
 * thread-safe, so every call into it (here) takes the agent's lock. A
 * device is a name (its v1/v2c community, or its SNMP context over v3
 * and AgentX), the OID subtree it answers under, and a source that gives
 * its objects, sorted, when a request comes, and writes a SET. An unknown
 * community gets no answer (as snmpd does). Nothing prints. */
#ifndef OHM_SHELL_SERVE_SNMP_AGENT_H
#define OHM_SHELL_SERVE_SNMP_AGENT_H

#include <stddef.h>

#include "../../util/err.h"

#define SA_OID_MAX 24

enum sa_type { SA_INT, SA_GAUGE, SA_STR, SA_TICKS };

/* One object: oid, its type and value; var is the source's own index
 * (e.g. the map var it comes from), writable whether a SET may reach it. */
struct sa_obj {
  unsigned long oid[SA_OID_MAX];
  size_t len;
  enum sa_type type;
  long num;
  char str[128];
  int writable;
  int var;
};

struct sa_source {
  /* The device's objects now, sorted by OID, in *tab (malloc'd, freed by
   * the agent); < 0 when it has none to show (failed, not read yet). */
  int (*objects)(void *ctx, struct sa_obj **tab, size_t *n);
  /* Write o (an object of the last table) with the value v carries (its
   * type and num or str as received). 0, or an OHM_E* code with e set:
   * OHM_EINVAL / OHM_ERANGE become wrongValue, others commitFailed. */
  int (*set)(void *ctx, const struct sa_obj *o, const struct sa_obj *v,
             struct ohm_error *e);
};

/* Start the agent thread: agentx NULL for a master agent (listening on
 * what sa_listen adds), else a subagent of the snmpd at that AgentX
 * socket (a path, or tcp:HOST:PORT). Calling again is a no-op while the
 * agent runs in the same role; OHM_EINVAL if in the other. */
int sa_start(const char *agentx, struct ohm_error *e);

/* Listen on UDP ADDR (HOST:PORT, [V6]:PORT, PORT = 127.0.0.1; port 0
 * picks one); *port gets the port bound. Master agent only. */
int sa_listen(const char *addr, int *port, struct ohm_error *e);

/* Serve a device under root (root_len arcs) as name: community and
 * context. can_set: SETs allowed (through src->set). src and ctx are
 * borrowed until sa_device_del / sa_stop. OHM_EINVAL if name is taken
 * for that root. */
int sa_device_add(const char *name, const unsigned long *root, size_t root_len,
                  const struct sa_source *src, void *ctx, int can_set,
                  struct ohm_error *e);
/* Forget every device served under ctx. */
void sa_device_del(void *ctx);
/* A v3 user (USM, as snmpd's createUser: auth "SHA" when NULL, priv
 * "AES"; no privacy without priv_pass); can_set grants SETs. The agent
 * must run. Passphrases are not kept here. */
int sa_user_add(const char *name, const char *auth, const char *auth_pass,
                const char *priv, const char *priv_pass, int can_set,
                struct ohm_error *e);
/* Send v2c traps to host:port with community too (the agent must run). */
int sa_trap_sink(const char *host, int port, const char *community,
                 struct ohm_error *e);
/* A v2c trap trap_oid (dotted text) with varbinds vbs (oid and value;
 * an SA_STR whose var is -2 carries an OID value in str) to every sink. */
void sa_trap_send(const char *trap_oid, const struct sa_obj *vbs, size_t n);
/* Whether name is served (as a community) already. */
int sa_device_has(const char *name);

/* Stop the agent thread and forget every device (serve's stop). */
void sa_stop(void);

#endif
