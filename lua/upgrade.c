/* Batch upgrade / push: targets, checks before and after; see upgrade.h. */
#include "upgrade.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../devices/device.h"
#include "../util/suggest.h"

static char *dup_or_null(const char *s) {
  return s ? strdup(s) : NULL;
}

/* The transfer URI for a unit reached at host by method ("tftp"/"ftp"):
 * the protocol's own port, user and password as given (never shown). */
static int host_target(struct xfer_target *x, const char *name,
                       const char *method, const char *host, int port,
                       const char *user, const char *password,
                       struct ohm_error *e) {
  struct ohm_uri u = {0};
  if (!host)
    return ohm_error_set(e, OHM_EINVAL,
                         "no host to send firmware to "
                         "(give the device an upgrade_uri)");
  u.scheme = (char *)method;
  u.host = (char *)host;
  u.port = port;
  u.path = (char *)"";
  u.user = (char *)user;
  u.password = (char *)password;
  return xfer_target_init(x, name, &u, e);
}

/* FTP password when none was given: the environment (DESIGN.md). */
static const char *env_password(const char *pw) {
  return pw ? pw : getenv("OHM_PASSWORD");
}

/* How the driver's units take firmware: "tftp" or "ftp". */
static int driver_method(const char *driver, const char **method,
                         struct ohm_error *e) {
  const struct dev_map *m;
  if (!driver)
    return ohm_error_set(e, OHM_EINVAL,
                         "no driver: say -d DRIVER or use a "
                         "tftp:// or ftp:// target");
  int rc = dev_driver_find(driver, &m, e);
  if (rc < 0) return rc;
  if (!m->upgrade)
    return ohm_error_set(e, OHM_ENOTSUP, "driver %s has no upgrade method",
                         driver);
  *method = m->upgrade;
  return 0;
}

/* An inventory device: `upgrade_uri` says where firmware goes; else its
 * driver's method at the host of its management URI. */
static int from_inventory(struct upg_batch *b, size_t i,
                          const struct inv_device *d, struct ohm_error *e) {
  struct upg_target *t = &b->ts[i];
  const char *up = inv_field(d, "upgrade_uri"), *method = NULL;
  const char *drv = b->o.driver ? b->o.driver : d->driver;
  const char *src = up ? up : d->uri;
  struct ohm_uri u;
  int rc = ohm_uri_parse(src, &u, e);
  if (rc < 0) return rc;
  if (!drv) /* the URI's driver=, or sim:DRIVER */
    drv = strcmp(u.scheme, "sim") == 0 ? u.path : ohm_uri_param(&u, "driver");
  if (up)
    method = u.scheme;
  else
    rc = driver_method(drv, &method, e);
  const char *user = u.user ? u.user : inv_field(d, "user");
  const char *pw = u.password ? u.password : inv_field(d, "password");
  if (rc == 0)
    rc = host_target(&b->xs[i], d->name, method, u.host, up ? u.port : -1, user,
                     env_password(pw), e);
  t->device = strdup(d->name);
  t->driver = dup_or_null(drv);
  ohm_uri_free(&u);
  return rc;
}

/* A URI: tftp:// or ftp:// as is; a device URI by its driver's method. */
static int from_uri(struct upg_batch *b, size_t i, const char *arg,
                    struct ohm_error *e) {
  struct upg_target *t = &b->ts[i];
  struct ohm_uri u;
  int rc = ohm_uri_parse(arg, &u, e);
  if (rc < 0) return rc;
  if (strcmp(u.scheme, "tftp") == 0 || strcmp(u.scheme, "ftp") == 0) {
    if (!u.password && getenv("OHM_PASSWORD"))
      u.password = strdup(getenv("OHM_PASSWORD"));
    rc = xfer_target_init(&b->xs[i], t->arg, &u, e);
  } else {
    const char *drv = b->o.driver ? b->o.driver : ohm_uri_param(&u, "driver");
    if (!drv && strcmp(u.scheme, "sim") == 0)
      drv = u.path; /* sim:DRIVER names its driver */
    const char *method = NULL;
    if ((rc = driver_method(drv, &method, e)) == 0)
      rc = host_target(&b->xs[i], t->arg, method, u.host, -1, u.user,
                       env_password(u.password), e);
    t->device = strdup(arg);
    t->driver = dup_or_null(drv);
  }
  ohm_uri_free(&u);
  return rc;
}

/* An unknown name, with the nearest inventory name. */
static int no_such_target(const struct inventory *inv, const char *arg,
                          struct ohm_error *e) {
  struct ohm_suggest s;
  ohm_suggest_init(&s, arg);
  for (size_t k = 0; inv && k < inv->ndevs; k++)
    ohm_suggest_add(&s, inv->devs[k].name);
  return ohm_error_set(
      e, OHM_ENOENT, "no such device in the inventory (and not a URI)%s%s%s",
      s.best ? "; did you mean " : "", s.best ? s.best : "", s.best ? "?" : "");
}

static int resolve(struct upg_batch *b, size_t i, const char *arg,
                   struct ohm_error *e) {
  struct upg_target *t = &b->ts[i];
  const struct inv_device *d = b->inv ? inv_find(b->inv, arg) : NULL;
  t->arg = inv_redact(arg);
  t->wait_s = -1;
  if (!t->arg) return ohm_error_set(e, OHM_ENOMEM, "out of memory");
  int rc = d                  ? from_inventory(b, i, d, e)
           : strchr(arg, ':') ? from_uri(b, i, arg, e)
                              : no_such_target(b->inv, arg, e);
  if (rc == 0 && b->o.push && b->xs[i].method != XFER_FTP)
    rc = ohm_error_set(e, OHM_EINVAL,
                       "a configuration push goes by FTP; "
                       "this target takes TFTP");
  return rc;
}

static int load_files(struct upg_batch *b, char *const *files, size_t n,
                      struct ohm_error *e) {
  if (n == 0) return ohm_error_set(e, OHM_EINVAL, "no --file given");
  if (n > UPG_MAX_FILES)
    return ohm_error_set(e, OHM_EINVAL, "too many files (%zu; at most %d)", n,
                         UPG_MAX_FILES);
  if (b->o.remote && n > 1)
    return ohm_error_set(e, OHM_EINVAL, "--remote-name needs a single file");
  b->files = calloc(n, sizeof *b->files);
  if (!b->files) return ohm_error_set(e, OHM_ENOMEM, "out of memory");
  for (size_t k = 0; k < n; k++) {
    int rc = xfer_file_load(&b->files[k], files[k], b->o.remote, e);
    if (rc < 0) return rc;
    b->nfiles++;
  }
  return 0;
}

int upg_prepare(struct upg_batch *b, const struct inventory *inv,
                char *const *targets, size_t ntargets, char *const *files,
                size_t nfiles, const struct upg_opts *o, struct ohm_error *e) {
  memset(b, 0, sizeof *b);
  b->o = *o;
  b->inv = inv;
  if (ntargets == 0) return ohm_error_set(e, OHM_EINVAL, "no target given");
  b->ts = calloc(ntargets, sizeof *b->ts);
  b->xs = calloc(ntargets, sizeof *b->xs);
  if (!b->ts || !b->xs) return ohm_error_set(e, OHM_ENOMEM, "out of memory");
  int rc = load_files(b, files, nfiles, e);
  uint64_t total = 0;
  for (size_t k = 0; k < b->nfiles; k++)
    total += b->files[k].size;
  for (size_t i = 0; rc == 0 && i < ntargets; i++) {
    b->n = i + 1;
    rc = resolve(b, i, targets[i], e);
    b->xs[i].bytes_total = total; /* also for targets that fail checks */
    if (rc < 0) {
      char why[sizeof e->msg];
      snprintf(why, sizeof why, "%s", ohm_error_text(e));
      ohm_error_set(e, rc, "%s: %s", b->ts[i].arg ? b->ts[i].arg : "?", why);
    }
  }
  return rc;
}

void upg_free(struct upg_batch *b) {
  for (size_t i = 0; b->ts && i < b->n; i++) {
    free(b->ts[i].arg);
    free(b->ts[i].device);
    free(b->ts[i].driver);
    xfer_target_free(&b->xs[i]);
  }
  for (size_t k = 0; k < b->nfiles; k++)
    xfer_file_free(&b->files[k]);
  free(b->files);
  free(b->ts);
  free(b->xs);
  memset(b, 0, sizeof *b);
}

static void fail(struct xfer_target *x, int code, const char *fmt,
                 const char *why) {
  x->state = XS_FAILED;
  x->err = code;
  snprintf(x->msg, sizeof x->msg, fmt, why);
}

/* Open the unit's management transport and read its firmware version
 * (buf "" when the driver has no version variable): proof it answers. */
static int read_version(struct upg_batch *b, struct upg_target *t, char *buf,
                        size_t n, struct ohm_error *e) {
  struct dev *d;
  int rc = inv_open(b->inv, t->device, t->driver, b->o.tp, &d, e);
  if (rc < 0) return rc;
  buf[0] = 0;
  const char *var = d->map->version_var;
  struct dev_value v;
  if (var && (rc = dev_get(d, var, &v, e)) == 0) {
    char s[128];
    dev_value_format(dev_map_var(d->map, var), &v, s, sizeof s);
    snprintf(buf, n, "%.63s", s);
  } else if (!var) {
    struct dev_value *vals = calloc(d->map->nvars + 1, sizeof *vals);
    rc = vals ? dev_read_all(d, vals, e) : OHM_ENOMEM;
    free(vals);
  }
  dev_close(d);
  return rc;
}

static void probe_all(struct upg_batch *b) {
  int *res = calloc(b->n, sizeof *res);
  struct ohm_error e;
  /* a unit on the LAN answers well within 2 s; a silent one costs that */
  double t = b->o.x.timeout > 0 && b->o.x.timeout < 2 ? b->o.x.timeout : 2;
  if (!res || xfer_probe(b->xs, b->n, t, res, &e) < 0) {
    free(res);
    return; /* the transfers will say what is wrong */
  }
  for (size_t i = 0; i < b->n; i++) {
    struct xfer_target *x = &b->xs[i];
    b->ts[i].probe = res[i];
    if (res[i] == OHM_ECONNREFUSED)
      fail(x, res[i], "unreachable (%s)", "connection refused");
    else if (res[i] == OHM_EIO)
      fail(x, res[i], "unreachable (%s)", "cannot resolve or reach host");
    else if (res[i] == OHM_ETIMEDOUT && x->method == XFER_FTP)
      fail(x, res[i], "unreachable (%s)", "no answer");
    /* a silent TFTP server may just ignore reads: the transfer will tell */
  }
  free(res);
}

void upg_check(struct upg_batch *b) {
  probe_all(b);
  for (size_t i = 0; i < b->n; i++) {
    struct upg_target *t = &b->ts[i];
    struct ohm_error e;
    if (!t->device || b->xs[i].state != XS_PENDING) continue;
    if (read_version(b, t, t->ver_before, sizeof t->ver_before, &e) < 0)
      fail(&b->xs[i], e.code, "management transport failed (%s)",
           ohm_error_text(&e));
  }
}

static void sleep_s(double s) {
  if (s <= 0) return;
  struct timespec ts = {(time_t)s, (long)((s - (time_t)s) * 1e9)};
  nanosleep(&ts, NULL);
}

static int stopped(const struct upg_batch *b) {
  return b->o.x.cancel && *b->o.x.cancel;
}

/* After a transfer: give the unit `settle` seconds to start restarting,
 * then poll until it answers (and say its version) or `wait` runs out. */
static void wait_back(struct upg_batch *b, size_t i) {
  struct upg_target *t = &b->ts[i];
  struct xfer_target *x = &b->xs[i];
  double end = x->t_end + b->o.settle + b->o.wait;
  sleep_s(x->t_end + b->o.settle - xfer_now());
  struct ohm_error e = {0};
  for (;;) {
    if (read_version(b, t, t->ver_after, sizeof t->ver_after, &e) == 0) {
      t->wait_s = xfer_now() - x->t_end;
      return;
    }
    double left = end - xfer_now();
    if (left <= 0 || stopped(b)) break;
    sleep_s(left < 1 ? left : 1);
  }
  x->state = stopped(b) ? XS_INTERRUPTED : XS_FAILED;
  x->err = stopped(b) ? OHM_EINTR : OHM_ETIMEDOUT;
  snprintf(x->msg, sizeof x->msg,
           "sent, but did not answer within %gs after (%.150s)", b->o.wait,
           ohm_error_text(&e));
}

int upg_run(struct upg_batch *b, struct ohm_error *e) {
  if (b->o.dry_run) {
    for (size_t i = 0; i < b->n; i++)
      if (b->xs[i].state == XS_PENDING) {
        b->xs[i].state = XS_SKIPPED;
        snprintf(b->xs[i].msg, sizeof b->xs[i].msg, "dry run: checks passed");
      }
    return 0;
  }
  if (b->o.x.reboot_wait <= 0) b->o.x.reboot_wait = b->o.wait;
  if (b->o.x.settle <= 0) b->o.x.settle = b->o.settle;
  double t0 = xfer_now();
  int rc = xfer_run(b->xs, b->n, b->files, b->nfiles, &b->o.x, e);
  b->seconds = xfer_now() - t0;
  for (size_t i = 0; rc == 0 && i < b->n; i++)
    if (b->xs[i].state == XS_DONE && b->ts[i].device && !stopped(b))
      wait_back(b, i);
  return rc;
}

int upg_summary(const struct upg_batch *b, size_t *ok, size_t *failed) {
  *ok = *failed = 0;
  for (size_t i = 0; i < b->n; i++) {
    enum xfer_state s = b->xs[i].state;
    if (s == XS_DONE || (s == XS_SKIPPED && b->o.dry_run && !b->xs[i].err))
      (*ok)++;
    else
      (*failed)++;
  }
  return *failed == 0 ? 0 : *ok == 0 ? 1 : 3;
}
