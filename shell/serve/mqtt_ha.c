/* Home Assistant's MQTT device discovery for one device (see mqtt.h):
 * every variable a component with the device_class, unit and state_class
 * Home Assistant's sensor rules give its unit. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mqtt.h"

void mq_buf_printf(struct mq_buf *b, const char *fmt, ...) {
  va_list ap;
  for (;;) {
    size_t room = b->cap - b->len;
    va_start(ap, fmt);
    int n = b->s ? vsnprintf(b->s + b->len, room, fmt, ap) : -1;
    va_end(ap);
    if (n >= 0 && (size_t)n < room) {
      b->len += (size_t)n;
      return;
    }
    size_t nc = b->cap * 2 + (n > 0 ? (size_t)n : 0) + 256;
    char *s = realloc(b->s, nc);
    if (!s) {
      b->bad = 1;
      return;
    }
    b->s = s, b->cap = nc;
  }
}

void mq_buf_json(struct mq_buf *b, const char *s) {
  mq_buf_printf(b, "\"");
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\')
      mq_buf_printf(b, "\\%c", c);
    else if (c < 0x20)
      mq_buf_printf(b, "\\u%04x", c);
    else
      mq_buf_printf(b, "%c", c);
  }
  mq_buf_printf(b, "\"");
}

void mq_topic_name(const char *in, char *out, size_t n) {
  size_t i = 0;
  for (; in[i] && i + 1 < n; i++)
    out[i] = strchr("/+# ", in[i]) ? '_' : in[i];
  out[i] = 0;
}

/* What Home Assistant's sensor rules say for a unit (and name). */
struct ha_kind {
  const char *unit, *device_class, *ha_unit, *state_class;
};

static struct ha_kind kind_of(const struct dev_var *v) {
  static const struct ha_kind tab[] = {
      {"V", "voltage", "V", "measurement"},
      {"A", "current", "A", "measurement"},
      {"W", "power", "W", "measurement"},
      {"VA", "apparent_power", "VA", "measurement"},
      {"var", "reactive_power", "var", "measurement"},
      {"Hz", "frequency", "Hz", "measurement"},
      {"kWh", "energy", "kWh", "total_increasing"},
      {"kVAh", NULL, "kVAh", "total_increasing"}, /* no apparent energy */
      {"degC", "temperature",
       "\xc2\xb0"
       "C",
       "measurement"},
      {"s", "duration", "s", "measurement"},
  };
  struct ha_kind k = {v->unit, NULL, v->unit, "measurement"};
  const char *dot = strrchr(v->name, '.');
  for (size_t i = 0; i < sizeof tab / sizeof tab[0]; i++)
    if (!strcmp(v->unit, tab[i].unit)) return tab[i];
  if (dot && !strcmp(dot, ".cycles")) /* a bank pack's charge cycles */
    k.state_class = "total_increasing";
  if (!strcmp(v->unit, "%") && !strncmp(v->name, "battery.", 8) && dot &&
      !strcmp(dot, ".charge")) /* the bank's and each pack's */
    k.device_class = "battery";
  else if (!strcmp(v->unit, "%") && strstr(v->name, "humidity"))
    k.device_class = "humidity";
  else if (strstr(v->name, "powerfactor"))
    k.device_class = "power_factor";
  return k;
}

/* Doors, smoke, water and alarms are binary sensors. */
static int binary(const struct dev_var *v, const char **cls, const char **on,
                  const char **off) {
  const char *n = v->name, *dot = strrchr(n, '.');
  *on = "yes", *off = "no";
  if (!strcmp(n, "ambient.smoke")) return *cls = "smoke", 1;
  if (!strcmp(n, "ambient.water")) return *cls = "moisture", 1;
  if (!strncmp(n, "ambient.contacts.", 17) && dot && !strcmp(dot, ".status"))
    return *cls = "door", *on = "open", *off = "closed", 1;
  if (!strcmp(n, "ups.alarms.count") || (dot && !strcmp(dot, ".alarms")))
    return *cls = "problem", *on = *off = NULL, 1;
  return 0;
}

/* Identity and make-up rather than measurements: the device's texts and a
 * bank pack's serial, firmware and cell count (entity_category). */
static int diagnostic(const struct dev_var *v) {
  static const char *const ends[] = {".serial", ".firmware", ".cells"};
  const char *dot = strrchr(v->name, '.');
  if (!strncmp(v->name, "device.", 7)) return 1;
  for (size_t i = 0; dot && i < sizeof ends / sizeof ends[0]; i++)
    if (!strcmp(dot, ends[i])) return 1;
  return 0;
}

/* state: the JSON state topic instead of the var's own (a retained empty
 * payload would delete the var's topic: an empty alarm list) */
static void common(struct mq_buf *b, const char *prefix, const char *dev,
                   const char *obj, const struct dev_var *v, int state) {
  mq_buf_printf(b, "\"%s\":{\"name\":", obj);
  mq_buf_json(b, v->name);
  mq_buf_printf(b, ",\"unique_id\":\"ohm_%s_%s\",\"state_topic\":", dev, obj);
  char t[512];
  snprintf(t, sizeof t, "%s/%s/%s", prefix, dev, state ? "state" : v->name);
  mq_buf_json(b, t);
}

static void component(struct mq_buf *b, const char *prefix, const char *dev,
                      const struct dev_var *v, const struct dev_value *x) {
  char obj[160];
  const char *cls, *on, *off;
  mq_topic_name(v->name, obj, sizeof obj);
  for (char *p = obj; *p; p++)
    if (*p == '.' || *p == '-') *p = '_';
  if (binary(v, &cls, &on, &off)) {
    common(b, prefix, dev, obj, v, !on);
    mq_buf_printf(b, ",\"p\":\"binary_sensor\",\"device_class\":\"%s\"", cls);
    if (on)
      mq_buf_printf(b, ",\"payload_on\":\"%s\",\"payload_off\":\"%s\"}", on,
                    off);
    else /* a count or a list of words, none an empty one: any is a problem */
      mq_buf_printf(b,
                    ",\"value_template\":\"{{ 'ON' if "
                    "(value_json.get('%s', '') | string) not in ['0', ''] "
                    "else 'OFF' }}\"}",
                    v->name);
    return;
  }
  common(b, prefix, dev, obj, v, 0);
  if (v->type == DT_ENUM && v->nenums) { /* status words */
    mq_buf_printf(b, ",\"p\":\"sensor\",\"device_class\":\"enum\","
                     "\"options\":[");
    for (size_t i = 0; i < v->nenums; i++) {
      mq_buf_printf(b, i ? "," : "");
      mq_buf_json(b, v->enums[i].text);
    }
    mq_buf_printf(b, "]}");
    return;
  }
  if (x->kind == DV_STR) { /* text: identity and state words */
    mq_buf_printf(b, ",\"p\":\"sensor\"%s}",
                  diagnostic(v) ? ",\"entity_category\":\"diagnostic\"" : "");
    return;
  }
  struct ha_kind k = kind_of(v);
  int rw = v->access == DA_RW;
  mq_buf_printf(b, ",\"p\":\"%s\"", rw ? "number" : "sensor");
  if (!rw && diagnostic(v))
    mq_buf_printf(b, ",\"entity_category\":\"diagnostic\"");
  if (k.device_class)
    mq_buf_printf(b, ",\"device_class\":\"%s\"", k.device_class);
  if (k.ha_unit[0]) {
    mq_buf_printf(b, ",\"unit_of_measurement\":");
    mq_buf_json(b, k.ha_unit);
  }
  if (!rw) {
    mq_buf_printf(b, ",\"state_class\":\"%s\"}", k.state_class);
    return;
  }
  mq_buf_printf(b, ",\"command_topic\":\"%s/%s/%s/set\",\"mode\":\"box\"",
                prefix, dev, v->name);
  mq_buf_printf(b, ",\"min\":%.10g,\"max\":%.10g,\"step\":%.10g}",
                v->has_min ? v->min : -1e9, v->has_max ? v->max : 1e9,
                v->scale > 0 && v->scale < 1 ? v->scale : 1);
}

static void buttons(struct mq_buf *b, const char *prefix, const char *dev,
                    const char *allowed, const struct dev_map *m) {
  for (size_t i = 0; i < m->ncmds; i++) {
    char obj[160], w[160];
    snprintf(w, sizeof w, " %s ", m->cmds[i].name);
    if (m->cmds[i].dangerous && !strstr(allowed, w))
      continue; /* a dangerous one-click act only where allowed */
    mq_topic_name(m->cmds[i].name, obj, sizeof obj);
    for (char *p = obj; *p; p++)
      if (*p == '.' || *p == '-') *p = '_';
    mq_buf_printf(b, ",\"cmd_%s\":{\"p\":\"button\",\"name\":", obj);
    mq_buf_json(b, m->cmds[i].name);
    mq_buf_printf(b,
                  ",\"unique_id\":\"ohm_%s_cmd_%s\",\"command_topic\":"
                  "\"%s/%s/cmd\",\"payload_press\":",
                  dev, obj, prefix, dev);
    mq_buf_json(b, m->cmds[i].name);
    mq_buf_printf(b, "}");
  }
}

static const char *text_of(const struct sv_snap *s, const char *name,
                           const char *def) {
  const struct dev_var *v = dev_map_var(s->map, name);
  const struct dev_value *x = v ? &s->vals[v - s->map->vars] : NULL;
  return x && x->kind == DV_STR && x->str[0] ? x->str : def;
}

void mq_ha_config(struct mq_buf *b, const char *prefix, const char *dev,
                  const char *allowed, const struct sv_snap *s) {
  int first = 1;
  mq_buf_printf(b, "{\"dev\":{\"ids\":[\"ohm_%s\"],\"name\":", dev);
  mq_buf_json(b, dev);
  mq_buf_printf(b, ",\"mf\":");
  mq_buf_json(b, text_of(s, "device.mfr", s->map->mfr ? s->map->mfr : "?"));
  mq_buf_printf(b, ",\"mdl\":");
  mq_buf_json(b,
              text_of(s, "device.model", s->map->model ? s->map->model : "?"));
  /* unavailable when ohm is gone (its will) or the device fails */
  mq_buf_printf(b,
                "},\"o\":{\"name\":\"ohm\"},\"avty\":[{\"t\":\"%s/status\"},"
                "{\"t\":\"%s/%s/availability\"}],\"avty_mode\":\"all\","
                "\"cmps\":{",
                prefix, prefix, dev);
  for (size_t i = 0; s->vals && i < s->map->nvars; i++) {
    const struct dev_value *x = &s->vals[i];
    if (x->kind != DV_NUM && x->kind != DV_STR) continue;
    if (!first) mq_buf_printf(b, ",");
    first = 0;
    component(b, prefix, dev, &s->map->vars[i], x);
  }
  if (!first) buttons(b, prefix, dev, allowed, s->map);
  mq_buf_printf(b, "}}");
}
