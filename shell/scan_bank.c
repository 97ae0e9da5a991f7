/* ohm scan of a battery bank on a byte stream (serial://, tcp:// with a
 * frame driver: pace, pylontech, a user's): every address of the dialect's
 * range, the packs that answer with their serial numbers, and an inventory
 * entry for them. shell/cmd_scan.c hands such URIs here. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "output.h"
#include "shell.h"

#define SCAN_USAGE "scan [OPTS] [--json] serial://TTY|tcp://HOST:PORT"

struct found {
  int adr;
  const char *serial;
};

/* The packs that answered: a pack's state var is present. */
static size_t found_packs(const struct dev_map *m, const struct dev_value *v,
                          struct found *f) {
  size_t n = 0;
  for (size_t i = 0; i < m->nvars; i++) {
    const struct dev_var *x = &m->vars[i];
    if (!x->frame || strcmp(x->frame, "state") || v[i].kind != DV_STR ||
        x->nindex < 1)
      continue;
    char name[96];
    const struct dev_var *s;
    snprintf(name, sizeof name, "battery.pack.%d.serial", x->index[0]);
    s = dev_map_var(m, name);
    f[n].adr = x->index[0];
    f[n].serial = s && v[s - m->vars].kind == DV_STR ? v[s - m->vars].str : "";
    n++;
  }
  return n;
}

static int cmp_found(const void *a, const void *b) {
  return ((const struct found *)a)->adr - ((const struct found *)b)->adr;
}

/* The URI with packs= the found addresses (driver=, unit=, packs= out). */
static void bank_uri(const struct ohm_uri *u, const struct found *f, size_t n,
                     char *buf, size_t bn) {
  size_t l = (size_t)snprintf(buf, bn, "%s://%s%s%s", u->scheme,
                              u->host ? u->host : "", u->path, "");
  if (u->host && u->port > 0 && l < bn) {
    l = (size_t)snprintf(buf, bn, "%s://%s:%d%s", u->scheme, u->host, u->port,
                         u->path);
  }
  for (size_t i = 0; i < u->nquery && l < bn; i++)
    if (strcmp(u->query[i].key, "driver") && strcmp(u->query[i].key, "unit") &&
        strcmp(u->query[i].key, "packs"))
      l += (size_t)snprintf(buf + l, bn - l, "%c%s=%s",
                            strchr(buf, '?') ? '&' : '?', u->query[i].key,
                            u->query[i].val);
  for (size_t i = 0; i < n && l < bn; i++)
    l += (size_t)snprintf(buf + l, bn - l, "%s%d",
                          i ? "," : (strchr(buf, '?') ? "&packs=" : "?packs="),
                          f[i].adr);
}

static void print(const struct sh_opts *o, const char *uri, const char *drv,
                  const struct found *f, size_t n) {
  if (o->mode == SH_JSON) {
    printf("{\"uri\": \"%s\", \"driver\": \"%s\", \"packs\": [", uri, drv);
    for (size_t i = 0; i < n; i++)
      printf("%s{\"address\": %d, \"serial\": \"%s\"}", i ? ", " : "", f[i].adr,
             f[i].serial);
    printf("]}\n");
    return;
  }
  printf("-- %zu pack%s answered (%s):", n, n == 1 ? "" : "s", drv);
  for (size_t i = 0; i < n; i++)
    printf(" %d%s%s%s", f[i].adr, f[i].serial[0] ? " (" : "", f[i].serial,
           f[i].serial[0] ? ")" : "");
  printf("\ndevices = {\n  bank1 = { uri = \"%s\", driver = \"%s\" },\n}\n",
         uri, drv);
}

static int scan_bank(struct dev *d, const char *device,
                     const struct sh_opts *o) {
  const struct dev_map *m = d->map;
  struct dev_value *v = calloc(m->nvars, sizeof *v);
  struct found *f = calloc(m->nvars, sizeof *f);
  struct ohm_error e;
  char uri[600];
  size_t n = 0;
  int rc = EXIT_FAIL;
  ohm_error_clear(&e);
  if (!v || !f) {
    sh_errorf(device, "out of memory");
  } else if (dev_read_all(d, v, &e) < 0) {
    sh_error(device, &e);
  } else if ((n = found_packs(m, v, f)) == 0) {
    sh_errorf(device, "no pack answered (%s)", m->name);
  } else {
    qsort(f, n, sizeof *f, cmp_found);
    bank_uri(&d->tp->uri, f, n, uri, sizeof uri);
    print(o, uri, m->name, f, n);
    rc = EXIT_OK;
  }
  free(v);
  free(f);
  return rc;
}

/* The built-in drivers that speak a frame dialect ("pace, pylontech"):
 * named from the maps, so a new dialect folder needs no edit here. */
static void frame_drivers(char *buf, size_t n) {
  size_t len = 0;
  buf[0] = 0;
  for (const char *const *b = dev_driver_builtin(); *b && len < n; b++) {
    const struct dev_map *m;
    if (dev_driver_find(*b, &m, NULL) < 0 || !m->frame) continue;
    len += (size_t)snprintf(buf + len, n - len, "%s%s", len ? ", " : "", *b);
  }
}

int sh_scan_bank(int argc, char **argv) {
  struct sh_opts o;
  struct dev *d;
  int rc, i = sh_open_args(argc, argv, &o, SCAN_USAGE, "URI", 1, "one URI only",
                           &d);
  if (i < 0) return -i;
  if (d->tp->ops->kind != TP_STREAM || !d->map->frame ||
      ohm_uri_param(&d->tp->uri, "unit") ||
      ohm_uri_param(&d->tp->uri, "packs")) {
    char names[256];
    frame_drivers(names, sizeof names);
    sh_errorf(argv[i],
              "scan: a bank on serial:// or tcp:// needs -d DRIVER of a "
              "frame dialect (%s), and no unit= or packs=",
              names);
  }
  rc = d->tp->ops->kind == TP_STREAM && d->map->frame &&
               !ohm_uri_param(&d->tp->uri, "unit") &&
               !ohm_uri_param(&d->tp->uri, "packs")
           ? scan_bank(d, argv[i], &o)
           : EXIT_USAGE;
  dev_close(d);
  return rc;
}
