/* ohm walk [OPTS] DEVICE OID: the SNMP objects under OID, one per line in
 * snmpwalk -On's form (`.1.3.6.1.2.1.1.1.0 = STRING: "text"`); --json an
 * array of {oid, type, value}, --csv oid,type,value rows. DEVICE is an
 * snmp:// URI or an inventory name (its secrets are used, never shown). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lua/inv_fields.h"
#include "../transports/snmp.h"
#include "output.h"
#include "snmp_out.h"
#include "shell.h"

#define WALK_USAGE "walk [OPTS] DEVICE OID"

#define walk_out sh_snmp_out

/* The bare value: text as is, numbers as numbers (Timeticks in
 * hundredths), else the value part of snmpwalk's text. buf >= 32. */
static const char *bare(const struct tp_snmp_val *v, char *buf, size_t n) {
  const char *c = strstr(v->text, ": ");
  switch (v->type) {
  case TP_SNMP_STRING:
  case TP_SNMP_OID:
  case TP_SNMP_IPADDR:
    return v->str;
  case TP_SNMP_INTEGER:
    snprintf(buf, n, "%lld", (long long)v->i);
    return buf;
  case TP_SNMP_UNSIGNED:
  case TP_SNMP_COUNTER32:
  case TP_SNMP_COUNTER64:
  case TP_SNMP_TIMETICKS:
    snprintf(buf, n, "%llu", (unsigned long long)v->u);
    return buf;
  default:
    return c ? c + 2 : v->text;
  }
}

/* Whether v's bare value is a number (JSON prints it unquoted). */
static int is_number(const struct tp_snmp_val *v) {
  switch (v->type) {
  case TP_SNMP_INTEGER:
  case TP_SNMP_UNSIGNED:
  case TP_SNMP_COUNTER32:
  case TP_SNMP_COUNTER64:
  case TP_SNMP_TIMETICKS:
    return 1;
  default:
    return 0;
  }
}

int sh_snmp_print(void *ud, const struct tp_snmp_val *v) {
  struct walk_out *w = ud;
  char buf[32];
  if (w->mode == SH_CSV && w->n == 0) sh_out_str(&w->out, "oid,type,value\n");
  if (w->mode == SH_JSON) {
    sh_out_str(&w->out, w->n ? ",\n {\"oid\": " : "[\n {\"oid\": ");
    sh_out_json_str(&w->out, v->oid);
    sh_out_str(&w->out, ", \"type\": ");
    sh_out_json_str(&w->out, tp_snmp_type_name(v->type));
    sh_out_str(&w->out, ", \"value\": ");
    if (is_number(v))
      sh_out_str(&w->out, bare(v, buf, sizeof buf));
    else
      sh_out_json_str(&w->out, bare(v, buf, sizeof buf));
    sh_out_str(&w->out, "}");
  } else if (w->mode == SH_CSV) {
    char *q = NULL;
    const char *b = bare(v, buf, sizeof buf);
    size_t k = 0;
    if ((q = malloc(2 * strlen(b) + 3))) {
      q[k++] = '"';
      for (const char *c = b; *c; c++) {
        if (*c == '"') q[k++] = '"';
        q[k++] = *c;
      }
      q[k++] = '"';
      q[k] = 0;
    }
    sh_out_printf(&w->out, "%s,%s,%s\n", v->oid, tp_snmp_type_name(v->type),
                  q ? q : "");
    free(q);
  } else {
    sh_out_printf(&w->out, "%s = %s\n", v->oid, v->text);
  }
  w->n++;
  return 0;
}

/* Put an inventory device's secrets where the transport looks for them;
 * this process only, never printed. */
static void export_secrets(const struct inv_device *d) {
  const char *a = inv_field(d, "auth_pass"), *p = inv_field(d, "priv_pass");
  if (a) setenv("OHM_SNMP_AUTHPASS", a, 1);
  if (p) setenv("OHM_SNMP_PRIVPASS", p, 1);
}

/* DEVICE as an inventory name, else as a URI. */
int sh_open_tp(const char *device, const struct sh_opts *o, struct tp **t,
               struct ohm_error *e) {
  struct inventory *inv = sh_inventory(o, e);
  const struct inv_device *d = inv ? inv_find(inv, device) : NULL;
  struct ohm_uri u;
  int rc;
  if (!inv) return e->code ? e->code : OHM_ECONFIG;
  if (!d) return tp_open(device, &o->tp, t, e);
  if (inv_entry_error(d, e) < 0) return e->code;
  if ((rc = ohm_uri_parse(d->uri, &u, e)) < 0) return rc;
  if (inv_field(d, "password") && !u.password)
    u.password = strdup(inv_field(d, "password"));
  export_secrets(d);
  struct tp_opts own;
  inv_field_opts(d, &o->tp, &own);
  rc = tp_open_uri(&u, d->name, &own, t, e);
  ohm_uri_free(&u);
  return rc;
}

/* walk's DEVICE: sim:DRIVER starts the simulator (*dv then owns the
 * transport), anything else is sh_open_tp's. */
static int walk_open(const char *device, const struct sh_opts *o, struct tp **t,
                     struct dev **dv, struct ohm_error *e) {
  struct inventory *inv = sh_inventory(o, e);
  if (!inv) return e->code ? e->code : OHM_ECONFIG;
  if (!inv_find(inv, device) && !strncmp(device, "sim:", 4)) {
    int rc = dev_open(device, o->driver, &o->tp, dv, e);
    *t = rc == 0 ? (*dv)->tp : NULL;
    return rc;
  }
  return sh_open_tp(device, o, t, e);
}

int cmd_walk(int argc, char **argv) {
  struct sh_opts o;
  struct ohm_error e;
  struct walk_out w;
  struct tp *t = NULL;
  struct dev *dv = NULL;
  int i, rc;
  sh_opts_init(&o);
  ohm_error_clear(&e);
  if ((i = sh_parse_common(argc, argv, &o, WALK_USAGE)) < 0) return EXIT_USAGE;
  if (argc - i != 2) return sh_usage(WALK_USAGE);
  if ((rc = walk_open(argv[i], &o, &t, &dv, &e)) < 0) {
    sh_error(argv[i], &e);
    return sh_exit_code(rc);
  }
  if (t->ops->kind != TP_OIDS) {
    sh_errorf(argv[i], "walk needs an snmp:// device");
    dv ? dev_close(dv) : tp_free(t);
    return EXIT_USAGE;
  }
  memset(&w, 0, sizeof w);
  w.mode = o.mode;
  sh_out_init(&w.out, o.mode, stdout);
  rc = tp_snmp_walk(t, argv[i + 1], sh_snmp_print, &w, &e);
  if (w.mode == SH_JSON && w.n) sh_out_str(&w.out, "\n]\n");
  fflush(stdout);
  if (rc < 0)
    sh_error(argv[i], &e);
  else if (!w.n)
    sh_errorf(argv[i], "no object under %s", argv[i + 1]);
  dv ? dev_close(dv) : tp_free(t);
  return rc < 0 ? sh_exit_code(rc) : w.n ? EXIT_OK : EXIT_FAIL;
}
