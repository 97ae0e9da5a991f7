/* The BPS2000v2 console described once (see console.h): tables, keys, and
 * the lenient parser the telnet:// client uses on what a console prints.
 * Formatters and command parsers for the server are in console_fmt.c. */
#include "console.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Screen 1, "Command:1.Load 2.Voltage ... 9.Sensor 10.Back". decimals < 0
 * marks the items with their own layout (energy, sensors). */
const struct con_show_item con_show_items[] = {
    {1, "load", "Load", "A", 2},
    {2, "voltage", "Voltage", "V", 1},
    {3, "activepower", "ActivePower", "W", 1},
    {4, "apparentpower", "ApparentPower", "VA", 1},
    {5, "reactivepower", "ReactivePower", "VAR", 1},
    {6, "frequency", "Frequency", "Hz", 2},
    {7, "pf", "PF", "", 2},
    {8, "totalenergy", "Total Energy", "kWh", -1},
    {9, "sensor", "Sensor", "", -2},
    {0, NULL, NULL, NULL, 0}};

/* Screen 8, as printed in the manual. */
const struct con_thresh_row con_thresh_rows[] = {
    {"Phase 1 Current", "A", "A", 1, "current.1", "current one"},
    {"Phase 2 Current", "A", "A", 1, "current.2", "current two"},
    {"Phase 3 Current", "A", "A", 1, "current.3", "current three"},
    {"Phase 1 Voltage", "V", "V", 1, "voltage.1", "voltage one"},
    {"Phase 2 Voltage", "V", "V", 1, "voltage.2", "voltage two"},
    {"Phase 3 Voltage", "V", "V", 1, "voltage.3", "voltage three"},
    {"Temperature", "C", "C", 0, "temperature", "temperature"},
    {"Humidity", "%", "%", 0, "humidity", "humidity"},
    {NULL, NULL, NULL, 0, NULL, NULL}};

const char *const con_thresh_fields[4] = {"ha", "hw", "lw", "la"};
static const char *const field_names[4] = {"highalarm", "highwarning",
                                           "lowwarning", "lowalarm"};

/* Lower-case alphanumerics of s[0..len) into dst: the form in which
 * titles, names and commands are compared, so case and spacing never
 * matter. */
static void norm_n(char *dst, size_t dsz, const char *s, size_t len) {
  size_t j = 0;
  for (size_t i = 0; i < len && s[i] && j + 1 < dsz; i++)
    if (isalnum((unsigned char)s[i]))
      dst[j++] = (char)tolower((unsigned char)s[i]);
  dst[j] = 0;
}

static void norm(char *dst, size_t dsz, const char *s) {
  norm_n(dst, dsz, s, strlen(s));
}

void con_norm(char *dst, size_t n, const char *s) {
  norm(dst, n, s);
}

void con_vals_clear(struct con_vals *v) {
  v->n = 0;
}

static struct con_kv *vals_slot(struct con_vals *v, const char *key) {
  for (size_t i = 0; i < v->n; i++)
    if (strcmp(v->kv[i].key, key) == 0) return &v->kv[i];
  if (v->n >= CON_KV_MAX) return NULL;
  memset(&v->kv[v->n], 0, sizeof v->kv[0]);
  snprintf(v->kv[v->n].key, sizeof v->kv[0].key, "%s", key);
  return &v->kv[v->n++];
}

void con_vals_num(struct con_vals *v, const char *key, double num) {
  struct con_kv *kv = vals_slot(v, key);
  if (!kv) return;
  kv->num = num;
  kv->isnum = 1;
  snprintf(kv->str, sizeof kv->str, "%g", num);
}

void con_vals_str(struct con_vals *v, const char *key, const char *str) {
  struct con_kv *kv = vals_slot(v, key);
  if (!kv) return;
  kv->isnum = 0;
  kv->num = 0;
  snprintf(kv->str, sizeof kv->str, "%s", str);
}

const struct con_kv *con_vals_find(const struct con_vals *v, const char *key) {
  for (size_t i = 0; i < v->n; i++)
    if (strcmp(v->kv[i].key, key) == 0) return &v->kv[i];
  return NULL;
}

int con_menu_split(const char *menu, int *screen, char *key, size_t keysz) {
  char *end;
  long s;
  if (!menu) return -1;
  s = strtol(menu, &end, 10);
  if (end == menu || *end != ':' || s < 1 || s > 10 || !end[1]) return -1;
  *screen = (int)s;
  snprintf(key, keysz, "%s", end + 1);
  return 0;
}

const char *con_unit_name(int unit, char *buf, size_t n) {
  if (unit <= 0)
    snprintf(buf, n, "master");
  else
    snprintf(buf, n, "slave%d", unit);
  return buf;
}

/* Screen signatures in normalized text; sub-screens first, because a
 * reply may also carry the main menu. */
static const struct {
  int screen;
  const char *sig;
} sigs[] = {{CON_SHOW, "command1load2voltage"},
            {CON_TIME, "command1setdatetime"},
            {CON_USERS, "command1changepassword"},
            {CON_NET, "command1setipv4address"},
            {CON_SNMP, "command1setagent"},
            {CON_HTTP, "command1setport"},
            {CON_SMTP, "command1setaccount"},
            {CON_THRESH, "command1setcurrent"},
            {CON_ENERGY, "command1clearenergy"},
            {CON_RESTART, "restarttofactorydefault"},
            {CON_MAIN, "1showinformation"}};

int con_identify(const char *text) {
  size_t len = strlen(text);
  char *t = malloc(len + 1);
  int found = CON_UNKNOWN;
  if (!t) return CON_UNKNOWN;
  norm_n(t, len + 1, text, len);
  for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
    if (strstr(t, sigs[i].sig)) {
      found = sigs[i].screen;
      break;
    }
  free(t);
  return found;
}

int con_ends_with(const char *text, size_t len, const char *prompt) {
  size_t i = len, j = strlen(prompt);
  while (j > 0) {
    while (j > 0 && isspace((unsigned char)prompt[j - 1]))
      j--;
    while (i > 0 && (isspace((unsigned char)text[i - 1]) || !text[i - 1]))
      i--;
    if (j == 0) break;
    if (i == 0 || tolower((unsigned char)text[i - 1]) !=
                      tolower((unsigned char)prompt[j - 1]))
      return 0;
    i--;
    j--;
  }
  return 1;
}

/* The value after a ':' at p: its text up to whitespace into kv. Returns
 * the end of the value. */
static const char *parse_value(const char *p, const char *end,
                               struct con_kv *kv) {
  const char *s;
  size_t n;
  char tmp[48], *e;
  while (p < end && (*p == ' ' || *p == '\t'))
    p++;
  s = p;
  while (p < end && !isspace((unsigned char)*p))
    p++;
  n = (size_t)(p - s) < sizeof tmp - 1 ? (size_t)(p - s) : sizeof tmp - 1;
  memcpy(tmp, s, n);
  tmp[n] = 0;
  kv->num = strtod(tmp, &e);
  kv->isnum = e != tmp &&
              (isdigit((unsigned char)tmp[0]) || tmp[0] == '-' ||
               tmp[0] == '+' || tmp[0] == '.') &&
              strcmp(tmp, "-") != 0;
  if (kv->isnum) n = (size_t)(e - tmp);
  snprintf(kv->str, sizeof kv->str, "%.*s", (int)n, tmp);
  return p;
}

/* "Phase1" -> "1": the phase names keys by number. */
static void key_name(char *dst, size_t n, const char *s, size_t len) {
  norm_n(dst, n, s, len);
  if (strncmp(dst, "phase", 5) == 0 && dst[5] &&
      strspn(dst + 5, "0123456789") == strlen(dst + 5))
    memmove(dst, dst + 5, strlen(dst + 5) + 1);
}

static int add_kv(struct con_vals *v, const struct con_kv *kv) {
  struct con_kv *slot = vals_slot(v, kv->key);
  if (!slot) return 0;
  *slot = *kv;
  return 1;
}

/* "Phase 1 Current [A]: High Alarm:32.0A High Warning:16.0A ..." */
static int parse_thresh_line(const char *l, const char *end,
                             struct con_vals *v) {
  const char *br = memchr(l, '[', (size_t)(end - l));
  const char *p = memchr(l, ']', (size_t)(end - l));
  char title[48], name[48];
  const struct con_thresh_row *row = NULL;
  int added = 0;
  if (!br || !p) return 0;
  while (p + 1 < end && p[1] == ' ')
    p++; /* "] :" as well as "]:" */
  norm_n(title, sizeof title, l, (size_t)(br - l));
  for (const struct con_thresh_row *r = con_thresh_rows; r->title; r++) {
    char t[48];
    norm(t, sizeof t, r->title);
    if (strcmp(t, title) == 0) row = r;
  }
  if (!row) return 0;
  for (p += 2; p < end;) {
    const char *c = memchr(p, ':', (size_t)(end - p));
    struct con_kv kv;
    if (!c) break;
    norm_n(name, sizeof name, p, (size_t)(c - p));
    memset(&kv, 0, sizeof kv);
    p = parse_value(c + 1, end, &kv);
    for (int f = 0; f < 4; f++)
      if (strcmp(name, field_names[f]) == 0) {
        snprintf(kv.key, sizeof kv.key, "%s.%s", row->key,
                 con_thresh_fields[f]);
        added += add_kv(v, &kv);
      }
  }
  return added;
}

/* "Title Name:value Name:value ...": the name is the last word before
 * each ':'; the title is what precedes the first name. */
static int parse_line(const char *l, const char *end, struct con_vals *v) {
  const char *c = memchr(l, ':', (size_t)(end - l)), *p = l;
  char title[32] = "";
  int added = 0, first = 1;
  while (c) {
    const char *ne = c, *ns;
    char name[32];
    struct con_kv kv;
    while (ne > p && isspace((unsigned char)ne[-1]))
      ne--;
    ns = ne;
    while (ns > p && !isspace((unsigned char)ns[-1]))
      ns--;
    if (first) norm_n(title, sizeof title, l, (size_t)(ns - l));
    first = 0;
    key_name(name, sizeof name, ns, (size_t)(ne - ns));
    memset(&kv, 0, sizeof kv);
    p = parse_value(c + 1, end, &kv);
    if (name[0]) {
      snprintf(kv.key, sizeof kv.key, "%s%s%s", title, title[0] ? "." : "",
               name);
      added += add_kv(v, &kv);
    }
    c = p < end ? memchr(p, ':', (size_t)(end - p)) : NULL;
  }
  return added;
}

int con_parse(const char *text, struct con_vals *v) {
  int added = 0;
  const char *l = text;
  while (*l) {
    const char *end = strpbrk(l, "\r\n");
    if (!end) end = l + strlen(l);
    if (end > l) {
      const char *br = memchr(l, ']', (size_t)(end - l));
      while (br && br + 1 < end && br[1] == ' ')
        br++;
      if (br && br + 1 < end && br[1] == ':')
        added += parse_thresh_line(l, end, v);
      else
        added += parse_line(l, end, v);
    }
    l = *end ? end + 1 : end;
  }
  return added;
}

int con_fmt_show_cmd(char *buf, size_t n, int unit, const char *cmd) {
  char u[16];
  return snprintf(buf, n, "%s %s", con_unit_name(unit, u, sizeof u), cmd);
}

int con_show_spelling(const struct con_show_item *it, int k, char *buf,
                      size_t n) {
  char low[48], num[8];
  const char *words[3];
  int m = 0;
  size_t i;
  for (i = 0; it->title[i] && i + 1 < sizeof low; i++)
    low[i] = (char)tolower((unsigned char)it->title[i]);
  low[i] = 0;
  snprintf(num, sizeof num, "%d", it->num);
  words[m++] = it->cmd;
  if (strcmp(low, it->cmd) != 0) words[m++] = low;
  words[m++] = num;
  if (k < 0 || k >= m) return -1;
  snprintf(buf, n, "%s", words[k]);
  return 0;
}

int con_fmt_thresh_cmd(char *buf, size_t n, int unit,
                       const struct con_thresh_row *r, const double v[4]) {
  char u[16];
  con_unit_name(unit, u, sizeof u);
  return snprintf(buf, n, "%s%s%s:%g&%g&%g&%g", unit > 0 ? u : "",
                  unit > 0 ? " " : "", r->set, v[0], v[1], v[2], v[3]);
}

int con_fmt_clear_cmd(char *buf, size_t n, int unit, int phase) {
  char u[16];
  con_unit_name(unit, u, sizeof u);
  return snprintf(buf, n, "%s%sclearp%d", unit > 0 ? u : "",
                  unit > 0 ? " " : "", phase);
}

const struct con_show_item *con_show_for_key(const char *key) {
  char pre[32];
  const char *dot = strchr(key, '.');
  size_t len = dot ? (size_t)(dot - key) : strlen(key);
  norm_n(pre, sizeof pre, key, len);
  if (strcmp(pre, "apparentenergy") == 0) strcpy(pre, "totalenergy");
  if (strcmp(pre, "sensorbox") == 0) strcpy(pre, "sensor");
  for (const struct con_show_item *it = con_show_items; it->num; it++) {
    char t[32];
    norm(t, sizeof t, it->title);
    if (strcmp(t, pre) == 0) return it;
  }
  return NULL;
}

const struct con_thresh_row *con_thresh_for_key(const char *key, int *field) {
  for (const struct con_thresh_row *r = con_thresh_rows; r->title; r++) {
    size_t n = strlen(r->key);
    if (strncmp(key, r->key, n) != 0 || key[n] != '.') continue;
    for (int f = 0; f < 4; f++)
      if (strcmp(key + n + 1, con_thresh_fields[f]) == 0) {
        *field = f;
        return r;
      }
  }
  return NULL;
}
