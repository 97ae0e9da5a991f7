/* The BPS2000v2 console, server side: the texts of manual section 9
 * verbatim (banner, main menu, each screen's "Command:" and "Command
 * format:" lines) and the screens the manual does not print, by analogy;
 * plus the parsers for what a user types. Tables are in console.c. */
#include "console.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NL "\r\n"

/* Append to buf (always NUL-terminated); returns the new length. */
static size_t app(char *buf, size_t n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static size_t app(char *buf, size_t n, const char *fmt, ...) {
  size_t len = strnlen(buf, n);
  va_list ap;
  if (len + 1 >= n) return len;
  va_start(ap, fmt);
  vsnprintf(buf + len, n - len, fmt, ap);
  va_end(ap);
  return strnlen(buf, n);
}

size_t con_fmt_banner(char *buf, size_t n, const struct con_banner *b) {
  time_t now = time(NULL);
  struct tm tm;
  char date[16], tod[16];
  long up = b->uptime < 0 ? 0 : b->uptime;
  localtime_r(&now, &tm);
  strftime(date, sizeof date, "%Y-%m-%d", &tm);
  strftime(tod, sizeof tod, "%H:%M:%S", &tm);
  app(buf, n, "Last Update Time : %s" NL "Version : %s" NL,
      b->last_update ? b->last_update : "2014-10-20",
      b->version ? b->version : "1.0.0");
  app(buf, n, "Date:%s Time:%s" NL, date, tod);
  app(buf, n, "Up time : %ldDays %ldHours %ldMinute" NL, up / 86400,
      up / 3600 % 24, up / 60 % 60);
  return app(buf, n,
             "BKT ELEKTRONIK 69 Lochowska Str., 86-005 Biale Blota, "
             "www.bkte.pl" NL NL);
}

size_t con_fmt_main_menu(char *buf, size_t n) {
  return app(buf, n,
             "Command:" NL "1.Show information" NL "2.Set time and date" NL
             "3.Users" NL "4.Network Settings" NL "5.SNMP service" NL
             "6.HTTP Settings" NL "7.SMTP Settings" NL "8.Threshold Settings" NL
             "9.Clear energy Phase" NL "10.Restart" NL
             "11.Logout" NL NL CON_PROMPT);
}

/* A value from v as text, or def. */
static const char *sval(const struct con_vals *v, const char *key,
                        const char *def) {
  const struct con_kv *kv = v ? con_vals_find(v, key) : NULL;
  return kv ? kv->str : def;
}

static size_t fmt_time(char *buf, size_t n) {
  time_t now = time(NULL);
  struct tm tm;
  char s[48];
  localtime_r(&now, &tm);
  strftime(s, sizeof s, "Date: %Y-%m-%d Time: %H:%M:%S", &tm);
  return app(buf, n,
             "System clock: %s" NL "Command:1.Set Date/Time 2.Back" NL
             "Command format:date yyyy-mm-dd,time hh:mm:ss" NL NL CON_PROMPT,
             s);
}

static size_t fmt_net(char *buf, size_t n, const struct con_vals *v) {
  app(buf, n,
      "Network" NL "IPv4 Address:%s" NL "IPv4 Subnet Mask:%s" NL "Gateway:%s" NL
      "DNS:%s" NL,
      sval(v, "net.address", "0.0.0.0"), sval(v, "net.mask", "0.0.0.0"),
      sval(v, "net.gateway", "0.0.0.0"), sval(v, "net.dns", "0.0.0.0"));
  return app(buf, n,
             "Command:1.Set IPv4 Address 2.Set IPv4 Subnet Mask 3.Set "
             "Gateway 4.Set DNS 5.Back" NL
             "Command format: address:xxx.xxx.xxx.xxx" NL NL CON_PROMPT);
}

static size_t fmt_snmp(char *buf, size_t n, const struct con_vals *v) {
  app(buf, n,
      "SNMP service" NL "SNMP agent:%s" NL "Write community:%s" NL
      "Read community:%s" NL "Trap1 address:%s" NL,
      sval(v, "snmp.agent", "Disable"), sval(v, "snmp.write", ""),
      sval(v, "snmp.read", ""), sval(v, "snmp.trap1", "0.0.0.0"));
  return app(buf, n,
             "Command:1.Set agent 2.Set Write community 3.Set Read "
             "community 4.Set Trap1 address 5.Back" NL
             "Command format: address:xxx.xxx.xxx.xxx" NL NL CON_PROMPT);
}

static size_t fmt_smtp(char *buf, size_t n, const struct con_vals *v) {
  app(buf, n,
      "SMTP Settings" NL "SMTP Account:" NL "SMTP Password:" NL
      "SMTP Server:" NL "SMTP Port:%s" NL "Number of cyclical notification:1" NL
      "Time between cyclical notification:1" NL "SMTP Recipient Email:" NL,
      sval(v, "smtp.port", "25"));
  return app(buf, n,
             "Command:1.Set Account 2.Set Password 3.Set Server 4.Set Port "
             "5.Set Number 6.Set time between 7 .Set Recipient 8.Back" NL
             "Command format: account:xxxxx@xx.com" NL NL CON_PROMPT);
}

/* Screen 9 shows each phase's active energy in Wh (the manual prints
 * integers: "Phase1 energy:1150"); v holds kWh as "totalenergy.N". */
static size_t fmt_energy(char *buf, size_t n, const struct con_vals *v) {
  app(buf, n, "Clear energy Phase" NL);
  for (int p = 1; p <= 3; p++) {
    char key[32];
    const struct con_kv *kv;
    snprintf(key, sizeof key, "totalenergy.%d", p);
    kv = v ? con_vals_find(v, key) : NULL;
    if (kv && kv->isnum)
      app(buf, n, "Phase%d energy:%.0f" NL, p, kv->num * 1000.0);
    else
      app(buf, n, "Phase%d energy:-" NL, p);
  }
  return app(buf, n,
             "Command:1.Clear energy 2.Back" NL
             "Command format: clearp1" NL CON_PROMPT);
}

size_t con_fmt_screen(char *buf, size_t n, int screen, const struct con_vals *v,
                      const char *user) {
  switch (screen) {
  case CON_SHOW:
    return app(buf, n,
               "Command:1.Load 2.Voltage 3.ActivePower 4.ApparentPower "
               "5.ReactivePower 6.Frequency 7.PF 8.Total Energy 9.Sensor "
               "10.Back" NL
               "Command format:master load or slave1 load" NL CON_PROMPT);
  case CON_TIME:
    return fmt_time(buf, n);
  case CON_USERS:
    return app(buf, n,
               "Users:%s" NL "Command:1.Change password 2.Back" NL
               "Command format: old:xxxxxx&new:xxxxxx&confirm:xxxxxx&" NL NL
                   CON_PROMPT,
               user ? user : "");
  case CON_NET:
    return fmt_net(buf, n, v);
  case CON_SNMP:
    return fmt_snmp(buf, n, v);
  case CON_HTTP:
    return app(buf, n,
               "HTTP Settings" NL "HTTP port:%s" NL
               "Command:1.Set port 2.Back" NL
               "Command format: port:xx" NL NL CON_PROMPT,
               sval(v, "http.port", "80"));
  case CON_SMTP:
    return fmt_smtp(buf, n, v);
  case CON_THRESH:
    app(buf, n, "Threshold Settings" NL);
    con_fmt_thresholds(buf, n, v);
    return app(buf, n,
               "Command:1.Set Current 2.Set Voltage 3.Set Temperature 4.Set "
               "Humidity 5.Back" NL
               "Command format: current one:xx&xx&xx&xx" NL CON_PROMPT);
  case CON_ENERGY:
    return fmt_energy(buf, n, v);
  case CON_RESTART:
    return app(buf, n,
               "Restart" NL "1.Restart" NL "2.Restart to factory default" NL
               "3.Back" NL "Command format: 1or2" NL CON_PROMPT);
  default:
    return strnlen(buf, n);
  }
}

/* " Phase1:0.00A": a number with its decimals and unit, or "-". */
static void fmt_field(char *buf, size_t n, const char *label,
                      const struct con_vals *v, const char *key, int dec,
                      const char *unit) {
  const struct con_kv *kv = v ? con_vals_find(v, key) : NULL;
  if (kv && kv->isnum)
    app(buf, n, " %s:%.*f%s", label, dec, kv->num, unit);
  else if (kv && kv->str[0]) /* states: "closed" -> "Closed" */
    app(buf, n, " %s:%c%s", label, toupper((unsigned char)kv->str[0]),
        kv->str + 1);
  else
    app(buf, n, " %s:-", label);
}

static void fmt_phases(char *buf, size_t n, const char *title, const char *pre,
                       const struct con_vals *v, int dec, const char *unit,
                       int total) {
  app(buf, n, "%s", title);
  for (int p = 1; p <= 3; p++) {
    char key[64], label[24];
    snprintf(key, sizeof key, "%s.%d", pre, p);
    snprintf(label, sizeof label, "Phase%d", p);
    fmt_field(buf, n, label, v, key, dec, unit);
  }
  if (total) {
    char key[40];
    snprintf(key, sizeof key, "%s.total", pre);
    fmt_field(buf, n, "Total", v, key, dec, unit);
  }
  app(buf, n, NL);
}

static const struct {
  const char *pre, *label, *unit;
  int line; /* 0 "Sensor", 1 and 2 "SensorBox" */
} sensors[] = {{"sensor.temperature", "Temperature", "C", 0},
               {"sensor.humidity", "Humidity", "%", 0},
               {"sensorbox.temperature1", "Temperature1", "C", 1},
               {"sensorbox.temperature2", "Temperature2", "C", 1},
               {"sensorbox.humidity1", "Humidity1", "%", 1},
               {"sensorbox.humidity2", "Humidity2", "%", 1},
               {"sensorbox.door1", "Door1", "", 2},
               {"sensorbox.door2", "Door2", "", 2},
               {"sensorbox.smoke", "Smoke", "", 2},
               {"sensorbox.water", "Water", "", 2}};

size_t con_fmt_show(char *buf, size_t n, const struct con_show_item *it,
                    const struct con_vals *v) {
  if (it->decimals >= 0) {
    char pre[32];
    con_norm(pre, sizeof pre, it->title);
    fmt_phases(buf, n, it->title, pre, v, it->decimals, it->unit, 0);
  } else if (it->decimals == -1) {
    fmt_phases(buf, n, "Total Energy", "totalenergy", v, 2, "kWh", 1);
    fmt_phases(buf, n, "Apparent Energy", "apparentenergy", v, 2, "kVAh", 1);
  } else {
    for (int line = 0; line < 3; line++) {
      app(buf, n, "%s", line ? "SensorBox" : "Sensor");
      for (size_t i = 0; i < sizeof sensors / sizeof sensors[0]; i++)
        if (sensors[i].line == line)
          fmt_field(buf, n, sensors[i].label, v, sensors[i].pre, 1,
                    sensors[i].unit);
      app(buf, n, NL);
    }
  }
  return strnlen(buf, n);
}

size_t con_fmt_thresholds(char *buf, size_t n, const struct con_vals *v) {
  static const char *const labels[4] = {"High Alarm", "High Warning",
                                        "Low Warning", "Low Alarm"};
  for (const struct con_thresh_row *r = con_thresh_rows; r->title; r++) {
    app(buf, n, "%s [%s]:", r->title, r->bracket);
    for (int f = 0; f < 4; f++) {
      char key[48];
      snprintf(key, sizeof key, "%s.%s", r->key, con_thresh_fields[f]);
      fmt_field(buf, n, labels[f], v, key, r->decimals, r->unit);
    }
    app(buf, n, NL);
  }
  return strnlen(buf, n);
}

/* Split an optional leading "master" / "slaveN" / "slave N" off line;
 * *rest points after it. Returns 1 if there was one. */
static int unit_prefix(const char *line, int *unit, const char **rest) {
  const char *p = line;
  char w[16], raw[16];
  size_t len;
  while (isspace((unsigned char)*p))
    p++;
  len = strcspn(p, " \t");
  if (len >= sizeof w) return 0;
  snprintf(raw, sizeof raw, "%.*s", (int)len, p);
  con_norm(w, sizeof w, raw);
  if (strcmp(w, "master") == 0) {
    *unit = 0;
  } else if (strncmp(w, "slave", 5) == 0) {
    const char *d = w[5] ? w + 5 : NULL;
    if (!d) { /* "slave 1" */
      p += len;
      while (*p == ' ' || *p == '\t')
        p++;
      len = strspn(p, "0123456789");
      d = p;
    }
    if (!d[0] || !isdigit((unsigned char)d[0]) || atoi(d) < 1 ||
        atoi(d) > CON_MAX_SLAVES)
      return 0;
    *unit = atoi(d);
  } else {
    return 0;
  }
  *rest = p + len;
  return 1;
}

int con_parse_unit(const char *line, int *unit) {
  const char *rest;
  char tail[8];
  if (!unit_prefix(line, unit, &rest)) return -1;
  con_norm(tail, sizeof tail, rest);
  return tail[0] ? -1 : 0;
}

int con_parse_show_cmd(const char *line, int *unit,
                       const struct con_show_item **it) {
  const char *rest;
  char w[CON_LINE_MAX + 1];
  if (!unit_prefix(line, unit, &rest)) return -1;
  con_norm(w, sizeof w, rest);
  for (const struct con_show_item *i = con_show_items; i->num; i++) {
    char t[32], num[8];
    con_norm(t, sizeof t, i->title);
    snprintf(num, sizeof num, "%d", i->num);
    if (strcmp(w, i->cmd) == 0 || strcmp(w, t) == 0 || strcmp(w, num) == 0 ||
        (i->decimals == -1 && strcmp(w, "energy") == 0)) {
      *it = i;
      return 0;
    }
  }
  return -1;
}

/* "one" / "1" -> "1" so "current 1:" and "current one:" both work. */
static void digits_for_words(char *s) {
  static const char *const words[] = {"one", "two", "three"};
  for (int i = 0; i < 3; i++) {
    char *p = strstr(s, words[i]);
    if (p && !p[strlen(words[i])]) {
      p[0] = (char)('1' + i);
      p[1] = 0;
    }
  }
}

int con_parse_thresh_cmd(const char *line, int *unit,
                         const struct con_thresh_row **r, double v[4]) {
  const char *rest = line, *colon, *p;
  char name[48], raw[48];
  *unit = 0;
  unit_prefix(line, unit, &rest);
  colon = strchr(rest, ':');
  if (!colon || (size_t)(colon - rest) >= sizeof name) return -1;
  snprintf(raw, sizeof raw, "%.*s", (int)(colon - rest), rest);
  con_norm(name, sizeof name, raw);
  digits_for_words(name);
  *r = NULL;
  for (const struct con_thresh_row *t = con_thresh_rows; t->title; t++) {
    char s[48];
    con_norm(s, sizeof s, t->set);
    digits_for_words(s);
    if (strcmp(s, name) == 0) *r = t;
  }
  if (!*r) return -1;
  p = colon + 1;
  for (int i = 0; i < 4; i++) {
    char *e;
    v[i] = strtod(p, &e);
    if (e == p) return -1;
    p = e;
    while (*p == ' ' || *p == '\t')
      p++;
    if (i < 3 && *p++ != '&') return -1;
  }
  while (*p == '&' || isspace((unsigned char)*p))
    p++;
  return *p ? -1 : 0;
}

int con_parse_clear_cmd(const char *line, int *unit, int *phase) {
  const char *rest = line;
  char w[32];
  *unit = 0;
  unit_prefix(line, unit, &rest);
  con_norm(w, sizeof w, rest);
  if (strncmp(w, "clearp", 6) != 0 || w[6] < '1' || w[6] > '3' || w[7])
    return -1;
  *phase = w[6] - '0';
  return 0;
}
