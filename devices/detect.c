/* Which driver fits an SNMP agent: every map (built-in, then the user's)
 * that declares a `signature` is probed, its OID asked and the agent's
 * sysObjectID compared with its prefix; no list of drivers is kept here.
 * Used by `ohm scan` and by `-d auto` (and a missing driver over SNMP). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../transports/snmp.h"
#include "engine.h"

#define SYS_DESCR ".1.3.6.1.2.1.1.1.0"
#define SYS_OBJECTID ".1.3.6.1.2.1.1.2.0"

int dev_snmp_ident(struct tp *t, char *objid, size_t objsz, char *descr,
                   size_t descrsz, struct ohm_error *e) {
  const char *oids[] = {SYS_OBJECTID, SYS_DESCR};
  struct tp_snmp_val v[2];
  int rc;
  memset(v, 0, sizeof v);
  objid[0] = descr[0] = 0;
  if ((rc = tp_snmp_get(t, oids, 2, v, e)) < 0) return rc;
  if (v[0].type == TP_SNMP_OID) snprintf(objid, objsz, "%s", v[0].str);
  if (v[1].type == TP_SNMP_STRING) {
    snprintf(descr, descrsz, "%s", v[1].str);
    for (char *p = descr; *p; p++) /* one line, no control bytes */
      if ((unsigned char)*p < 32 || *p == 127) *p = ' ';
  }
  tp_snmp_vals_free(v, 2);
  return 0;
}

/* Whether map m's signature answers at t (objid: the agent's). */
static int sig_fits(struct tp *t, const struct dev_map *m, const char *objid) {
  const char *oids[] = {m->sig_oid};
  struct tp_snmp_val v;
  struct ohm_error e;
  int fits;
  if (!m->sig_oid ||
      (m->sig_sysoid && !dev_oid_prefix(objid, m->sig_sysoid, NULL)))
    return 0;
  memset(&v, 0, sizeof v);
  if (tp_snmp_get(t, oids, 1, &v, &e) < 0) return 0;
  fits = v.type != TP_SNMP_MISSING;
  tp_snmp_vals_free(&v, 1);
  return fits;
}

static int try_driver(struct tp *t, const char *name, const char *objid,
                      const struct dev_map **out) {
  const struct dev_map *m;
  if (*out || dev_driver_find(name, &m, NULL) < 0) return 0;
  if (sig_fits(t, m, objid)) *out = m;
  return *out != NULL;
}

int dev_driver_detect(struct tp *t, const struct dev_map **out,
                      struct ohm_error *e) {
  char objid[256], descr[8];
  size_t nu;
  char **user;
  int rc;
  *out = NULL;
  if (t->ops->kind != TP_OIDS)
    return ohm_error_set(e, OHM_ENOTSUP,
                         "no driver can be detected over %s: use -d NAME",
                         t->ops->scheme);
  if ((rc = dev_snmp_ident(t, objid, sizeof objid, descr, sizeof descr, e)) < 0)
    return rc;
  user = dev_driver_user(&nu); /* a user map of a built-in's name wins */
  for (size_t i = 0; i < nu; i++)
    try_driver(t, user[i], objid, out);
  for (const char *const *b = dev_driver_builtin(); *b; b++)
    try_driver(t, *b, objid, out);
  dev_driver_user_free(user);
  if (!*out)
    return ohm_error_set(e, OHM_ENOENT,
                         "no driver's signature answers (sysObjectID %s): "
                         "use -d NAME",
                         objid[0] ? objid : "none");
  return 0;
}
