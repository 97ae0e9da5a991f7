/* Driver maps as agent objects (shell/serve/snmp_map.c): NUT's ups.status
 * into RFC 1628 codes, NUT scales back to the MIB's, BKT decimal text,
 * sorted tables, values a device lacks left out. */
#include <stdlib.h>

#include "../../devices/device.h"
#include "../../shell/serve/snmp_map.h"
#include "t.h"

static const struct sa_obj *find(const struct sa_obj *t, size_t n,
                                 const char *oid) {
  unsigned long a[SA_OID_MAX];
  size_t len;
  if (sa_oid_parse(oid, 2, a, &len) < 0) return NULL;
  for (size_t i = 0; i < n; i++)
    if (t[i].len == len && !memcmp(t[i].oid, a, len * sizeof *a)) return &t[i];
  return NULL;
}

static void set_num(const struct dev_map *m, struct dev_value *v,
                    const char *name, double x) {
  const struct dev_var *var = dev_map_var(m, name);
  v[var - m->vars] = (struct dev_value){.kind = DV_NUM, .num = x};
}

static void set_str(const struct dev_map *m, struct dev_value *v,
                    const char *name, const char *s) {
  const struct dev_var *var = dev_map_var(m, name);
  struct dev_value *x = &v[var - m->vars];
  x->kind = DV_STR;
  snprintf(x->str, sizeof x->str, "%s", s);
}

static long num_at(const struct sa_obj *t, size_t n, const char *oid) {
  const struct sa_obj *o = find(t, n, oid);
  return o ? o->num : -999;
}

static void ups(void) {
  const struct dev_map *m;
  struct ohm_error e;
  struct sa_obj *t;
  size_t n;
  dev_driver_find("ups-mib", &m, &e);
  struct dev_value *v = calloc(m->nvars, sizeof *v);
  set_str(m, v, "ups.status", "OB LB");
  set_num(m, v, "battery.runtime", 1500);
  set_num(m, v, "battery.voltage", 27.2);
  set_num(m, v, "input.frequency", 49.9);
  set_str(m, v, "device.mfr", "ohm");
  CHECK(sa_map_objects(m, m, v, &t, &n) == 0, "ups: objects");
  CHECK(num_at(t, n, ".1.3.6.1.2.1.33.1.4.1.0") == 5,
        "ups: OB is upsOutputSource battery(5)");
  CHECK(num_at(t, n, ".1.3.6.1.2.1.33.1.2.1.0") == 3,
        "ups: LB is upsBatteryStatus low(3)");
  CHECK(num_at(t, n, ".1.3.6.1.2.1.33.1.2.3.0") == 25,
        "ups: runtime 1500 s is 25 minutes");
  CHECK(num_at(t, n, ".1.3.6.1.2.1.33.1.2.5.0") == 272,
        "ups: battery voltage in 0.1 V");
  CHECK(num_at(t, n, ".1.3.6.1.2.1.33.1.3.3.1.2.1") == 499,
        "ups: input frequency in 0.1 Hz");
  CHECK(!find(t, n, ".1.3.6.1.2.1.33.1.2.4.0"),
        "ups: a value the device lacks is no object");
  CHECK_STR(find(t, n, ".1.3.6.1.2.1.33.1.1.1.0")->str, "ohm", "ups: text");
  int sorted = 1;
  for (size_t i = 1; i < n; i++)
    for (size_t k = 0; k < t[i].len && k < t[i - 1].len; k++)
      if (t[i].oid[k] != t[i - 1].oid[k]) {
        sorted &= t[i].oid[k] > t[i - 1].oid[k];
        break;
      }
  CHECK(sorted, "ups: objects sorted by OID");
  free(t);
  set_str(m, v, "ups.status", "OL BYPASS");
  sa_map_objects(m, m, v, &t, &n);
  CHECK(num_at(t, n, ".1.3.6.1.2.1.33.1.4.1.0") == 4,
        "ups: BYPASS is upsOutputSource bypass(4)");
  CHECK(num_at(t, n, ".1.3.6.1.2.1.33.1.2.1.0") == 2,
        "ups: no LB is upsBatteryStatus normal(2)");
  free(t);
  free(v);
}

static void bkt(void) {
  const struct dev_map *m;
  struct ohm_error e;
  struct sa_obj *t, v = {.type = SA_INT, .num = 2};
  size_t n;
  char text[64];
  dev_driver_find("bps2000v2", &m, &e);
  struct dev_value *x = calloc(m->nvars, sizeof *x);
  set_num(m, x, "input.L1-N.voltage", 230.4);
  set_num(m, x, "input.L1.energy", 1800.12);
  set_str(m, x, "ambient.smoke", "no");
  CHECK(sa_map_target(m) == m, "bkt: a bps2000v2 is served under its own map");
  CHECK(sa_map_objects(m, m, x, &t, &n) == 0 && n == 3, "bkt: three objects");
  CHECK_STR(find(t, n, ".1.3.6.1.4.1.47394.1.2.2.0")->str, "230.4",
            "bkt: voltage as decimal text");
  CHECK_STR(find(t, n, ".1.3.6.1.4.1.47394.1.2.7.0")->str, "1800.12",
            "bkt: energy as decimal text in kWh");
  const struct sa_obj *smoke = find(t, n, ".1.3.6.1.4.1.47394.1.2.34.0");
  CHECK(smoke && smoke->type == SA_INT && smoke->num == 2,
        "bkt: smoke 'no' as its Modbus code 2");
  CHECK(sa_map_text(m, smoke, &v, text, sizeof text, &e) == 0 &&
            !strcmp(text, "no"),
        "bkt: a code received means its state");
  free(t);
  free(x);
}

/* A map's agent section, not its name, says how it is served: a map
 * named nothing known, with integers, a gauge, a fixed object, a status
 * of flags and a derived var. */
static const char AGENT_MAP[] =
    "local E = '.1.3.6.1.4.1.99999.'\n"
    "return { name = 'x-agent', type = 'meter', vars = {\n"
    " { name = 'ups.status', oid = E..'1.0', type = 'enum',\n"
    "   enum = { [1] = '', [2] = 'OB', [3] = 'OL', [4] = 'OL BYPASS' } },\n"
    " { name = 'battery.status', oid = E..'2.0', type = 'enum',\n"
    "   enum = { [1] = 'fine', [2] = 'low' } },\n"
    " { name = 'x.count', oid = E..'3.0' },\n"
    " { name = 'x.volts', oid = E..'4.0', scale = 0.1 } },\n"
    " agent = { serves = { types = { 'meter' } }, numbers = 'integer',\n"
    "   gauges = { 'x.count' }, fixed = { [E..'9.0'] = 4 },\n"
    "   derive = { var = 'battery.status', from = 'ups.status',\n"
    "              flag = 'LB', on = 'low', off = 'fine' } } }\n";

static void agent_keys(void) {
  struct dev_map *m, *bad;
  struct ohm_error e;
  struct sa_obj *t;
  size_t n;
  CHECK(dev_map_load(AGENT_MAP, strlen(AGENT_MAP), "x-agent", &m, &e) == 0,
        "agent: the section loads");
  if (!m) return;
  CHECK(dev_map_agent_serves(m, m) && sa_map_target(m) == m,
        "agent: serves.types takes a device of that type");
  struct dev_value *v = calloc(m->nvars, sizeof *v);
  set_str(m, v, "ups.status", "OB LB");
  set_num(m, v, "x.count", 3);
  set_num(m, v, "x.volts", 23.4);
  CHECK(sa_map_objects(m, m, v, &t, &n) == 0, "agent: objects");
  const struct sa_obj *c = find(t, n, ".1.3.6.1.4.1.99999.3.0"),
                      *x = find(t, n, ".1.3.6.1.4.1.99999.4.0");
  CHECK(num_at(t, n, ".1.3.6.1.4.1.99999.1.0") == 2,
        "agent: the flags 'OB LB' are the enum state OB");
  CHECK(num_at(t, n, ".1.3.6.1.4.1.99999.2.0") == 2,
        "agent: derive: LB makes battery.status low");
  CHECK(c && c->type == SA_GAUGE && c->num == 3, "agent: gauges");
  CHECK(x && x->type == SA_INT && x->num == 234,
        "agent: numbers = integer, in the map's scale");
  CHECK(num_at(t, n, ".1.3.6.1.4.1.99999.9.0") == 4, "agent: fixed");
  free(t);
  set_str(m, v, "ups.status", "OL BYPASS");
  sa_map_objects(m, m, v, &t, &n);
  CHECK(num_at(t, n, ".1.3.6.1.4.1.99999.1.0") == 4 &&
            num_at(t, n, ".1.3.6.1.4.1.99999.2.0") == 1,
        "agent: 'OL BYPASS' exact, no LB is fine");
  free(t);
  free(v);
  dev_map_free(m);
  const char *src = "return { name = 'b', vars = { { name = 'x', oid = "
                    "'.1.3.6.1.4.1.9.1.0' } }, agent = { numbers = 'hex' } }";
  CHECK(dev_map_load(src, strlen(src), "b", &bad, &e) < 0 &&
            strstr(ohm_error_text(&e), "agent.numbers"),
        "agent: a bad numbers is a map error");
}

int main(void) {
  ups();
  bkt();
  agent_keys();
  T_DONE();
}
