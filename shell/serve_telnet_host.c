/* The console server's side of devices/console.h: the driver's dialect
 * reads the serve cache (unit 0 the first device, then the others), writes
 * and runs commands through it, and keeps the values a device has no place
 * for in the server (shared by every session). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "serve_telnet_int.h"

static void host_send(void *h, const char *text) {
  tn_send(h, text);
}

static void host_audit(void *h, int problem, const char *text) {
  tn_audit(h, problem, "%s", text);
}

static int host_unit(void *h, size_t i, struct dev_con_unit *u) {
  struct tn_session *s = h;
  struct sv_snap *sn = calloc(1, sizeof *sn);
  memset(u, 0, sizeof *u);
  if (!sn || i >= sv_cache_count(s->srv->cache) ||
      sv_cache_snap(s->srv->cache, i, sn) < 0) {
    free(sn);
    return -1;
  }
  u->name = sn->name;
  u->map = sn->map;
  u->vals = sn->vals;
  u->scheme = sn->scheme;
  u->updated = sn->updated;
  u->ok = sn->state == SV_OK || sn->state == SV_STALE;
  u->error = sn->error;
  u->priv = sn;
  return 0;
}

static void host_unit_free(void *h, struct dev_con_unit *u) {
  (void)h;
  if (u->priv) sv_snap_free(u->priv);
  free(u->priv);
  memset(u, 0, sizeof *u);
}

static int host_set(void *h, const char *dev, const char *var, const char *text,
                    struct ohm_error *e) {
  struct tn_session *s = h;
  return sv_cache_set(s->srv->cache, dev, var, text, e);
}

static int host_cmd(void *h, const char *dev, const char *cmd,
                    struct ohm_error *e) {
  struct tn_session *s = h;
  return sv_cache_cmd(s->srv->cache, dev, cmd, e);
}

static struct tn_kept *kept_find(struct tn_server *srv, const char *dev,
                                 const char *var) {
  for (size_t i = 0; i < srv->nkept; i++)
    if (!strcmp(srv->kept[i].dev, dev) && !strcmp(srv->kept[i].var, var))
      return &srv->kept[i];
  return NULL;
}

static void host_keep(void *h, const char *dev, const char *var, double num,
                      int kept) {
  struct tn_server *srv = ((struct tn_session *)h)->srv;
  struct tn_kept *k;
  pthread_mutex_lock(&srv->mu);
  k = kept_find(srv, dev, var);
  if (!k && srv->nkept < TN_KEPT_MAX) k = &srv->kept[srv->nkept++];
  if (k) {
    snprintf(k->dev, sizeof k->dev, "%s", dev);
    snprintf(k->var, sizeof k->var, "%s", var);
    k->num = num;
    k->when = tn_now();
    k->kept = kept;
  }
  pthread_mutex_unlock(&srv->mu);
}

static int host_kept(void *h, const char *dev, const char *var, double *num,
                     double *when, int *kept) {
  struct tn_server *srv = ((struct tn_session *)h)->srv;
  struct tn_kept *k;
  pthread_mutex_lock(&srv->mu);
  k = kept_find(srv, dev, var);
  if (k) {
    *num = k->num;
    *when = k->when;
    *kept = k->kept;
  }
  pthread_mutex_unlock(&srv->mu);
  return k ? 0 : -1;
}

static const struct dev_con_host host = {
    .send = host_send,
    .audit = host_audit,
    .unit = host_unit,
    .unit_free = host_unit_free,
    .set = host_set,
    .cmd = host_cmd,
    .keep = host_keep,
    .kept = host_kept,
    .decimal = ls_decimal,
};

void tn_menu_start(struct tn_session *s) {
  memset(&s->cs, 0, sizeof s->cs);
  s->cs.host = &host;
  s->cs.h = s;
  s->cs.user = s->who->user;
  s->cs.admin = s->who->role == TN_ADMIN;
  s->srv->con->start(&s->cs);
}

void tn_menu_line(struct tn_session *s, const char *line) {
  s->srv->con->line(&s->cs, line);
  if (s->cs.logout) s->dead = 1;
}
