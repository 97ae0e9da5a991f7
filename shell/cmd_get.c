/* ohm get [OPTS] DEVICE [VAR...]: read the device (one request for the
 * whole map where the transport allows) and print `name: value` lines
 * sorted by name, like upsc; --json one object, --csv name,value rows.
 * A failed read prints nothing on stdout; a var that failed to decode is
 * reported on stderr (exit 1) while the good ones print. */
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "output.h"
#include "shell.h"
#include "suggest.h"

#define GET_USAGE "get [OPTS] DEVICE [VAR...]"

static const struct dev_map *sort_map; /* qsort has no context argument */

static int cmp_idx(const void *a, const void *b) {
  return strcmp(sort_map->vars[*(const size_t *)a].name,
                sort_map->vars[*(const size_t *)b].name);
}

/* Whether idx[0..n) is in name order already (a map listed sorted, read
 * whole): qsort's merge sort would cost more than the read. */
static int sorted(const struct dev_map *m, const size_t *idx, size_t n) {
  for (size_t i = 1; i < n; i++)
    if (strcmp(m->vars[idx[i - 1]].name, m->vars[idx[i]].name) > 0) return 0;
  return 1;
}

/* The indexes of the vars to print into idx (sorted by name, duplicates
 * dropped). Unknown or unavailable names: message, OHM_ENOENT. */
static int pick_vars(struct dev *d, const char *device, char **names,
                     int nnames, size_t *idx, size_t *n) {
  const struct dev_map *m = d->map;
  *n = 0;
  if (nnames == 0) {
    for (size_t i = 0; i < m->nvars; i++)
      if (dev_var_available(d, &m->vars[i])) idx[(*n)++] = i;
  }
  for (int k = 0; k < nnames; k++) {
    if (strpbrk(names[k], "*?[")) { /* a pattern: input.*.current */
      size_t before = *n;
      for (size_t i = 0; i < m->nvars; i++)
        if (dev_var_available(d, &m->vars[i]) &&
            fnmatch(names[k], m->vars[i].name, 0) == 0)
          idx[(*n)++] = i;
      if (*n == before) {
        sh_errorf(device, "no variable matches '%s' (see ohm list %s)",
                  names[k], device);
        return OHM_ENOENT;
      }
      continue;
    }
    const struct dev_var *v = dev_map_var(m, names[k]);
    if (!v) {
      sh_no_var(device, m, names[k]);
      return OHM_ENOENT;
    }
    if (!dev_var_available(d, v)) {
      sh_errorf(device, "variable '%s' is not available over %s", names[k],
                d->tp && d->tp->ops ? d->tp->ops->scheme : "this transport");
      return OHM_ENOTSUP;
    }
    idx[(*n)++] = (size_t)(v - m->vars);
  }
  if (!sorted(m, idx, *n)) {
    sort_map = m;
    qsort(idx, *n, sizeof *idx, cmp_idx);
  }
  size_t w = 0;
  for (size_t i = 0; i < *n; i++)
    if (w == 0 || idx[w - 1] != idx[i]) idx[w++] = idx[i];
  *n = w;
  return 0;
}

/* Print the picked values; returns the exit status (1 if any var failed
 * to decode, or an explicitly named var is absent on the device). */
static int print_vals(struct dev *d, const char *device,
                      const struct sh_opts *o, const struct dev_value *vals,
                      const size_t *idx, size_t n, int named) {
  struct sh_out out;
  struct sh_buf sink = {stdout, NULL, 0, 0};
  char buf[256];
  int status = EXIT_OK;
  sh_out_init(&out, o->mode, stdout);
  out.write = sh_buf_write; /* all lines in one write at the end */
  out.ctx = &sink;
  sh_out_rec_begin(&out);
  for (size_t k = 0; k < n; k++) {
    const struct dev_var *v = &d->map->vars[idx[k]];
    const struct dev_value *val = &vals[idx[k]];
    if (val->kind == DV_ERR) {
      const char *why = val->str[0] ? val->str : ohm_strerror(val->err);
      size_t len = strlen(v->name);
      if (strncmp(why, v->name, len) == 0 && why[len] == ':')
        sh_errorf(device, "%s", why); /* the message names it already */
      else
        sh_errorf(device, "%s: %s", v->name, why);
      status = EXIT_FAIL;
    } else if (val->kind == DV_NONE) {
      if (named) {
        sh_errorf(device, "%s: not available on this device", v->name);
        status = EXIT_FAIL;
      }
    } else
      sh_out_kv(&out, v->name, sh_value_cell(v, val, buf, sizeof buf));
  }
  sh_out_rec_end(&out);
  sh_buf_flush(&sink);
  return status;
}

/* Where d's driver came from: "-d", "the inventory", "driver= in the
 * URI", "sim:DRIVER", or NULL when ohm picked it (the only built-in map
 * that reads anything over the transport). */
static const char *driver_origin(const char *device, const struct sh_opts *o) {
  struct ohm_error e;
  struct inventory *inv = sh_inventory(o, &e);
  const struct inv_device *id = inv ? inv_find(inv, device) : NULL;
  const char *uri = id ? id->uri : device, *why = NULL;
  struct ohm_uri u;
  if (o->driver) return "-d";
  if (id && id->driver) return "the inventory";
  if (ohm_uri_parse(uri, &u, &e) < 0) return NULL;
  if (ohm_uri_param(&u, "driver"))
    why = "driver= in the URI";
  else if (strcmp(u.scheme, "sim") == 0)
    why = "sim:DRIVER";
  ohm_uri_free(&u);
  return why;
}

/* The device error, with the assumed driver named when ohm picked it and
 * the device answered (a refused connection says nothing about drivers). */
static void read_error(struct dev *d, const char *device,
                       const struct sh_opts *o, const struct ohm_error *e) {
  if (driver_origin(device, o) || e->code == OHM_ECONNREFUSED ||
      e->code == OHM_EINTR) {
    sh_error(device, e);
    return;
  }
  sh_errorf(device,
            "%s (driver %s assumed, the only one for %s: if the device is "
            "another, give -d NAME; see ohm drivers)",
            ohm_error_text(e), d->map->name, d->tp->ops->scheme);
}

/* -v: which driver reads the device, and why that one. */
static void trace_driver(struct dev *d, const char *device,
                         const struct sh_opts *o) {
  const char *why = driver_origin(device, o);
  char *safe = inv_redact(device);
  if ((o->driver && strcmp(o->driver, "auto") == 0) ||
      (!why && d->tp->ops->kind == TP_OIDS))
    why = "its map's signature, detected";
  if (o->tp.verbose)
    fprintf(stderr, "ohm: %s: driver %s (%s%s)\n", safe ? safe : device,
            d->map->name, why ? "from " : "the only built-in driver for ",
            why ? why : d->tp->ops->scheme);
  free(safe);
}

/* Read the picked vars only (idx[0..n), all when idx is NULL). */
static int read_picked(struct dev *d, const size_t *idx, size_t n,
                       struct dev_value *vals, struct ohm_error *e) {
  unsigned char *want = idx ? calloc(d->map->nvars + 1, 1) : NULL;
  int rc;
  for (size_t i = 0; want && i < n; i++)
    want[idx[i]] = 1;
  rc = dev_read_some(d, want, vals, e);
  free(want);
  return rc;
}

/* Read and print; d is open. */
static int get_run(struct dev *d, const char *device, const struct sh_opts *o,
                   char **names, int nnames) {
  struct ohm_error e;
  size_t n, nv = d->map->nvars;
  int any_pattern = 0; /* a var a pattern picks may be absent: not an error */
  for (int k = 0; k < nnames; k++)
    any_pattern |= strpbrk(names[k], "*?[") != NULL;
  size_t *idx = malloc((nv * ((size_t)nnames + 1) + 1) * sizeof *idx);
  /* not calloc: dev_read_some clears the nv it fills */
  struct dev_value *vals = malloc((nv + 1) * sizeof *vals);
  int rc;
  ohm_error_clear(&e);
  if (!idx || !vals) {
    free(idx);
    free(vals);
    sh_errorf(device, "out of memory");
    return EXIT_FAIL;
  }
  if ((rc = pick_vars(d, device, names, nnames, idx, &n)) < 0)
    rc = EXIT_FAIL;
  else if ((rc = read_picked(d, nnames ? idx : NULL, n, vals, &e)) < 0) {
    read_error(d, device, o, &e);
    rc = EXIT_FAIL;
  } else
    rc = print_vals(d, device, o, vals, idx, n, nnames > 0 && !any_pattern);
  free(idx);
  free(vals);
  return rc;
}

int cmd_get(int argc, char **argv) {
  struct sh_opts o;
  struct dev *d;
  int rc, i = sh_open_args(argc, argv, &o, GET_USAGE, "DEVICE", 0, NULL, &d);
  if (i < 0) return -i;
  trace_driver(d, argv[i], &o);
  rc = get_run(d, argv[i], &o, argv + i + 1, argc - i - 1);
  dev_close(d);
  fflush(stdout);
  return rc;
}
