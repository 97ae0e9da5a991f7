/* The transport registry and the generic open/free/wrappers. */
#include "transport.h"

#include "../util/clock.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../util/suggest.h"

volatile int tp_interrupted;

void tp_trace(const struct tp *t, char dir, const void *bytes, size_t n,
              const char *text, double t0) {
  if (!t || !t->opts.trace) return;
  struct tp_trace_ev ev = {t->name, dir,  bytes,
                           n,       text, t0 > 0 ? ohm_mono() - t0 : 0};
  t->opts.trace(t->opts.trace_ctx, &ev);
}

static void rc_ignore(int rc) {
  (void)rc;
}

/* Every transport of the build, NULL-terminated: generated from the
 * source files by scripts/gen-registry.sh. */
extern const struct tp_ops *const tp_registry[];

const struct tp_ops *const *tp_all(void) {
  return tp_registry;
}

const struct tp_ops *tp_find(const char *scheme) {
  for (const struct tp_ops *const *p = tp_all(); *p; p++)
    if (strcasecmp((*p)->scheme, scheme) == 0) return *p;
  return NULL;
}

static int known_param(const struct tp_ops *ops, const char *key) {
  if (strcmp(key, "unit") == 0 || strcmp(key, "driver") == 0) return 1;
  for (const char *const *p = ops->params; p && *p; p++)
    if (strcmp(*p, key) == 0) return 1;
  return 0;
}

/* Refuse a query parameter the scheme does not read, naming those it does. */
static int check_params(const struct tp_ops *ops, const struct ohm_uri *u,
                        struct ohm_error *e) {
  char known[160] = "unit, driver";
  for (size_t i = 0; i < u->nquery; i++) {
    if (known_param(ops, u->query[i].key)) continue;
    for (const char *const *p = ops->params; p && *p; p++)
      if (strlen(known) + strlen(*p) + 3 < sizeof known)
        strcat(strcat(known, ", "), *p);
    return ohm_error_set(e, OHM_EURI,
                         "unknown parameter '%.40s' in a %s URI"
                         " (known: %s)",
                         u->query[i].key, ops->scheme, known);
  }
  return 0;
}

static int set_defaults(struct tp *t, const struct tp_opts *o,
                        struct ohm_error *e) {
  long unit;
  int rc;
  if (o)
    t->opts = *o;
  else
    t->opts.retries = -1;
  if (t->opts.timeout <= 0) /* YD/T 1363.3 buses answer within 500 ms */
    t->opts.timeout = t->ops->kind == TP_STREAM ? 0.5 : 2.0;
  if (t->opts.retries < 0) t->opts.retries = 1;
  rc = ohm_uri_param_long(&t->uri, "unit", t->ops->kind == TP_REGS ? 1 : 0, 0,
                          255, &unit, e);
  t->unit = (int)unit;
  if (t->uri.port < 0 && t->ops->default_port)
    t->uri.port = t->ops->default_port;
  return rc;
}

static char *default_name(const struct ohm_uri *u) {
  char *s = NULL;
  const char *h = u->host ? u->host : "";
  int v6 = strchr(h, ':') != NULL;
  if (u->host && u->port > 0)
    rc_ignore(asprintf(&s, "%s://%s%s%s:%d", u->scheme, v6 ? "[" : "", h,
                       v6 ? "]" : "", u->port));
  else if (u->host)
    rc_ignore(asprintf(&s, "%s://%s%s%s%s", u->scheme, v6 ? "[" : "", h,
                       v6 ? "]" : "", u->path));
  else
    rc_ignore(asprintf(&s, "%s:%s", u->scheme, u->path));
  return s;
}

int tp_unknown_scheme(const char *scheme, struct ohm_error *e) {
  struct ohm_suggest s;
  ohm_suggest_init(&s, scheme);
  for (const struct tp_ops *const *t = tp_all(); *t; t++)
    ohm_suggest_add(&s, (*t)->scheme);
  ohm_suggest_add(&s, "sim");
  return ohm_error_set(e, OHM_EURI, "unknown transport '%s'%s%s%s", scheme,
                       s.best ? " (did you mean " : "", s.best ? s.best : "",
                       s.best ? "?)" : "");
}

int tp_open_uri(const struct ohm_uri *u, const char *name,
                const struct tp_opts *o, struct tp **out, struct ohm_error *e) {
  const struct tp_ops *ops = tp_find(u->scheme);
  struct tp *t;
  int rc;
  *out = NULL;
  if (!ops) return tp_unknown_scheme(u->scheme, e);
  if ((rc = check_params(ops, u, e)) < 0) return rc;
  t = calloc(1, sizeof *t);
  if (!t) return ohm_error_set(e, OHM_ENOMEM, "out of memory");
  t->ops = ops;
  if ((rc = ohm_uri_copy(&t->uri, u)) < 0 ||
      !(t->name = name ? strdup(name) : default_name(u))) {
    tp_free(t);
    return ohm_error_set(e, OHM_ENOMEM, "out of memory");
  }
  if ((rc = set_defaults(t, o, e)) < 0 || (rc = ops->open(t, e)) < 0) {
    tp_free(t);
    return rc;
  }
  *out = t;
  return 0;
}

int tp_open(const char *uri, const struct tp_opts *o, struct tp **out,
            struct ohm_error *e) {
  struct ohm_uri u;
  int rc = ohm_uri_parse(uri, &u, e);
  if (rc < 0) {
    *out = NULL;
    return rc;
  }
  char *name = ohm_uri_redact(uri);
  rc = name ? tp_open_uri(&u, name, o, out, e)
            : ohm_error_set(e, OHM_ENOMEM, "out of memory");
  free(name);
  ohm_uri_free(&u);
  return rc;
}

void tp_free(struct tp *t) {
  if (!t) return;
  if (t->ops && t->ops->close) t->ops->close(t);
  ohm_uri_free(&t->uri);
  free(t->name);
  free(t);
}

int tp_read_regs(struct tp *t, int unit, int addr, int n, uint16_t *dst,
                 struct ohm_error *e) {
  if (!t->ops->read_regs)
    return ohm_error_set(e, OHM_ENOTSUP, "%s cannot read registers",
                         t->ops->scheme);
  if (n < 1 || n > 125 || addr < 0 || addr + n > 65536)
    return ohm_error_set(e, OHM_EINVAL, "bad register range %d+%d", addr, n);
  return t->ops->read_regs(t, unit, addr, n, dst, e);
}

int tp_write_reg(struct tp *t, int unit, int addr, uint16_t val,
                 struct ohm_error *e) {
  if (!t->ops->write_reg)
    return ohm_error_set(e, OHM_ENOTSUP, "%s cannot write registers",
                         t->ops->scheme);
  if (addr < 0 || addr > 65535)
    return ohm_error_set(e, OHM_EINVAL, "bad register address %d", addr);
  return t->ops->write_reg(t, unit, addr, val, e);
}

int tp_modbus(struct tp *t, int unit, int fc, int addr, int n, uint16_t *data,
              struct ohm_error *e) {
  if (t->ops->modbus) return t->ops->modbus(t, unit, fc, addr, n, data, e);
  if (fc == 3) return tp_read_regs(t, unit, addr, n, data, e);
  if (fc == 6 && n == 1) return tp_write_reg(t, unit, addr, data[0], e);
  return ohm_error_set(e, OHM_ENOTSUP, "%s cannot carry Modbus function %d",
                       t->ops->scheme, fc);
}
