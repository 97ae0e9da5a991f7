/* The BPS2000v2 console's server side (manual section 9): the main menu
 * and screens 1-10 after login, drawn from the served units' values (unit
 * 0 the master, 1.. the slaves) through the console server's host
 * callbacks (devices/console.h). Writes go to the device; warning limits
 * the device has no place for (over Modbus: no register) are kept by ohm
 * and said so. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../console.h"
#include "../thresh.h"
#include "console.h"

#define OUT_MAX 8192

enum { ST_MENU = 0, ST_SCREEN, ST_CONFIRM };

/* Screen number -> the number of its "Back" command. */
static int back_of(int screen) {
  static const int back[] = {0, 10, 2, 2, 5, 5, 2, 8, 5, 2, 3};
  return screen >= 1 && screen <= 10 ? back[screen] : 0;
}

static int is_num(const char *line, int n) {
  char *end;
  long v = strtol(line, &end, 10);
  while (*end == ' ' || *end == '\t')
    end++;
  return end != line && !*end && v == n;
}

static void send(struct dev_con_session *s, const char *text) {
  s->host->send(s->h, text);
}

static void reply(struct dev_con_session *s, const char *text) {
  send(s, text);
  send(s, "\r\n\r\n" CON_PROMPT);
}

static void replyf(struct dev_con_session *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void replyf(struct dev_con_session *s, const char *fmt, ...) {
  char buf[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  reply(s, buf);
}

static void audit(struct dev_con_session *s, int problem, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void audit(struct dev_con_session *s, int problem, const char *fmt,
                  ...) {
  char buf[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  s->host->audit(s->h, problem, buf);
}

/* ---- values ---------------------------------------------------------- */

/* Warning limits until someone sets them: a little inside the usual
 * alarms, and never outside the row's own alarms (so the row keeps the
 * order devices/thresh.h asks of it, whatever the device's alarms are). */
static double warn_default(const struct con_vals *v, const char *row,
                           int field) {
  static const struct {
    const char *row;
    double lw, hw;
  } t[] = {{"current.", 0, 13},
           {"voltage.", 215, 245},
           {"temperature", 10, 30},
           {"humidity", 30, 70}};
  const struct con_kv *la, *ha;
  char key[64];
  double x = 0;
  for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
    if (!strncmp(row, t[i].row, strlen(t[i].row)))
      x = field == 1 ? t[i].hw : t[i].lw;
  snprintf(key, sizeof key, "%s.la", row);
  if ((la = con_vals_find(v, key)) && la->isnum && x < la->num) x = la->num;
  snprintf(key, sizeof key, "%s.ha", row);
  if ((ha = con_vals_find(v, key)) && ha->isnum && x > ha->num) x = ha->num;
  return x;
}

/* The unit's var whose menu= is menu, or NULL. */
static const struct dev_var *menu_var(const struct dev_con_unit *u,
                                      const char *menu) {
  const struct dev_var *var = NULL;
  for (size_t i = 0; u->map && i < u->map->nvars; i++)
    if (u->map->vars[i].menu && !strcmp(u->map->vars[i].menu, menu))
      var = &u->map->vars[i];
  return var;
}

/* Keys of screen 8 the device did not give: what ohm keeps, else the
 * default; and values written but not yet read back. */
static void overlay(struct dev_con_session *s, const struct dev_con_unit *u,
                    struct con_vals *v) {
  for (const struct con_thresh_row *r = con_thresh_rows; r->title; r++)
    for (int f = 0; f < 4; f++) {
      char key[64], menu[72];
      const struct dev_var *var;
      double num, when;
      int kept;
      snprintf(key, sizeof key, "%s.%s", r->key, con_thresh_fields[f]);
      snprintf(menu, sizeof menu, "8:%s", key);
      var = menu_var(u, menu);
      if (s->host->kept(s->h, u->name, var ? var->name : menu, &num, &when,
                        &kept) == 0 &&
          (kept || when > u->updated))
        con_vals_num(v, key, num);
      else if (!con_vals_find(v, key) && (f == 1 || f == 2))
        con_vals_num(v, key, warn_default(v, r->key, f));
    }
}

static void unit_to_vals(const struct dev_con_unit *u, struct con_vals *v) {
  for (size_t i = 0; i < u->map->nvars; i++) {
    const struct dev_var *var = &u->map->vars[i];
    const struct dev_value *val = &u->vals[i];
    char key[64];
    int screen;
    if (con_menu_split(var->menu, &screen, key, sizeof key) < 0) continue;
    if (val->kind == DV_NUM)
      con_vals_num(v, key, val->num);
    else if (val->kind == DV_STR)
      con_vals_str(v, key, val->str);
  }
}

/* Unit's values into v; on failure an error line in err. Returns 0/-1. */
static int unit_vals(struct dev_con_session *s, int unit, struct con_vals *v,
                     char *err, size_t errsz) {
  struct dev_con_unit u;
  char name[16];
  con_vals_clear(v);
  con_unit_name(unit, name, sizeof name);
  if (unit < 0 || s->host->unit(s->h, (size_t)unit, &u) < 0) {
    snprintf(err, errsz, "Error: %s: no such unit", name);
    return -1;
  }
  if (!u.vals || !u.map || !u.ok) {
    snprintf(err, errsz, "Error: %s: no reading (%.200s)", name,
             u.error && u.error[0] ? u.error : "device not read yet");
    s->host->unit_free(s->h, &u);
    return -1;
  }
  unit_to_vals(&u, v);
  overlay(s, &u, v);
  s->host->unit_free(s->h, &u);
  return 0;
}

/* ---- screens ----------------------------------------------------------- */

static void show_screen(struct dev_con_session *s, int screen, int unit) {
  char *buf = calloc(1, OUT_MAX), err[512];
  struct con_vals *v = calloc(1, sizeof *v);
  if (!buf || !v) goto out;
  if (screen == CON_THRESH || screen == CON_ENERGY) {
    if (unit_vals(s, unit, v, err, sizeof err) < 0) {
      reply(s, err);
      goto out;
    }
  } else if (screen == CON_HTTP) {
    con_vals_str(v, "http.port", "0");
  }
  con_fmt_screen(buf, OUT_MAX, screen, v, s->user);
  send(s, buf);
out:
  free(buf);
  free(v);
}

static void screen1_line(struct dev_con_session *s, const char *line) {
  const struct con_show_item *it;
  struct con_vals *v = calloc(1, sizeof *v);
  char buf[1024] = "", err[512];
  int unit;
  if (!v) return;
  if (con_parse_show_cmd(line, &unit, &it) < 0)
    reply(s, "Command format:master load or slave1 load");
  else if (unit_vals(s, unit, v, err, sizeof err) < 0)
    reply(s, err);
  else {
    con_fmt_show(buf, sizeof buf, it, v);
    buf[strlen(buf) - 2] = 0; /* reply() ends the line */
    reply(s, buf);
  }
  free(v);
}

/* One threshold written: to the device if it has a place for it, else
 * kept by ohm. Returns 1 if kept, 0 if written, -1 on error (in err). */
static int thresh_write(struct dev_con_session *s, const struct dev_con_unit *u,
                        const char *menu, double val, char *err, size_t errsz) {
  const struct dev_var *var = menu_var(u, menu);
  struct ohm_error e;
  char text[32];
  snprintf(text, sizeof text, "%g", val);
  ohm_error_clear(&e);
  if (var && !dev_var_over(u->scheme && u->scheme[0] ? u->scheme : NULL, var)) {
    /* no place on the device over its transport: kept, nothing tried, so
     * no false failure in the log */
    s->host->keep(s->h, u->name, var->name, val, 1);
    return 1;
  }
  if (var && s->host->set(s->h, u->name, var->name, text, &e) == 0) {
    s->host->keep(s->h, u->name, var->name, val, 0);
    return 0;
  }
  if (!var || e.code == OHM_ENOTSUP || e.code == OHM_ENOENT) {
    s->host->keep(s->h, u->name, var ? var->name : menu, val, 1);
    return 1;
  }
  snprintf(err, errsz, "Error: %.400s", ohm_error_text(&e));
  return -1;
}

/* The row's four values in the order thresholds must keep (the device's
 * own rule, devices/thresh.h): 0, or -1 with the reason in err. */
static int thresh_order(const struct dev_con_unit *u,
                        const struct con_thresh_row *r, const double v[4],
                        char *err, size_t errsz) {
  struct dev_thresh p[4];
  struct ohm_error e;
  size_t n = 0;
  if (!u->map) return 0;
  for (int f = 0; f < 4; f++) {
    char menu[72];
    snprintf(menu, sizeof menu, "8:%s.%s", r->key, con_thresh_fields[f]);
    for (size_t i = 0; i < u->map->nvars; i++)
      if (u->map->vars[i].menu && !strcmp(u->map->vars[i].menu, menu)) {
        p[n].name = u->map->vars[i].name;
        p[n++].value = v[f];
      }
  }
  ohm_error_clear(&e);
  if (dev_thresh_check(u->map, p, n, NULL, &e) == 0) return 0;
  snprintf(err, errsz, "Error: %.400s; nothing written", ohm_error_text(&e));
  return -1;
}

static void thresh_set(struct dev_con_session *s, int unit,
                       const struct con_thresh_row *r, const double v[4]) {
  static const char *const names[4] = {"High Alarm", "High Warning",
                                       "Low Warning", "Low Alarm"};
  struct dev_con_unit u;
  char err[512] = "", msg[1024] = "Set successfully", kept[256] = "", un[16];
  if (unit < 0 || s->host->unit(s->h, (size_t)unit, &u) < 0) {
    reply(s, "Error: no such unit");
    return;
  }
  int ordered = thresh_order(&u, r, v, err, sizeof err) == 0;
  for (int f = 0; ordered && f < 4; f++) {
    char menu[72];
    int rc;
    snprintf(menu, sizeof menu, "8:%s.%s", r->key, con_thresh_fields[f]);
    rc = thresh_write(s, &u, menu, v[f], err, sizeof err);
    if (rc < 0) break;
    if (rc == 1)
      snprintf(kept + strlen(kept), sizeof kept - strlen(kept), "%s%s",
               kept[0] ? ", " : "", names[f]);
  }
  s->host->unit_free(s->h, &u);
  audit(s, err[0] != 0, "%s: %s:%g&%g&%g&%g: %s%s%s",
        con_unit_name(unit, un, sizeof un), r->set, v[0], v[1], v[2], v[3],
        err[0] ? err : "done", kept[0] ? "; kept by ohm: " : "", kept);
  if (err[0])
    snprintf(msg, sizeof msg, "%s", err);
  else if (kept[0])
    snprintf(msg, sizeof msg,
             "Set successfully\r\n%s kept by ohm (the "
             "device has no place for it)",
             kept);
  reply(s, msg);
}

/* The values after the colon of a threshold line are decimal numbers
 * (the host's rule): "0x10", "1e1", "inf" are not taken. */
static int values_decimal(struct dev_con_session *s, const char *line) {
  const char *p = strchr(line, ':');
  char v[64];
  double x;
  while (p) {
    const char *end = strchr(++p, '&');
    size_t n = end ? (size_t)(end - p) : strlen(p);
    while (n && (*p == ' ' || *p == '\t'))
      p++, n--;
    while (n && (p[n - 1] == ' ' || p[n - 1] == '\t'))
      n--;
    if (n && (n >= sizeof v || (snprintf(v, sizeof v, "%.*s", (int)n, p),
                                s->host->decimal(v, &x) < 0)))
      return 0;
    p = end;
  }
  return 1;
}

static void screen8_line(struct dev_con_session *s, const char *line) {
  static const char *const fmts[] = {
      "current one:xx&xx&xx&xx", "voltage one:xx&xx&xx&xx",
      "temperature:xx&xx&xx&xx", "humidity:xx&xx&xx&xx"};
  const struct con_thresh_row *r;
  double v[4];
  int unit;
  for (int i = 1; i <= 4; i++)
    if (is_num(line, i)) {
      replyf(s, "Command format: %s", fmts[i - 1]);
      return;
    }
  if (con_parse_unit(line, &unit) == 0) {
    char buf[2048] = "", err[512];
    struct con_vals *cv = calloc(1, sizeof *cv);
    if (cv && unit_vals(s, unit, cv, err, sizeof err) < 0)
      reply(s, err);
    else if (cv) {
      con_fmt_thresholds(buf, sizeof buf, cv);
      buf[strlen(buf) - 2] = 0;
      reply(s, buf);
    }
    free(cv);
  } else if (values_decimal(s, line) &&
             con_parse_thresh_cmd(line, &unit, &r, v) == 0) {
    thresh_set(s, unit, r, v);
  } else {
    reply(s, "Command format: current one:xx&xx&xx&xx");
  }
}

static void run_cmd(struct dev_con_session *s, int unit, const char *cmd,
                    const char *done) {
  struct dev_con_unit u;
  struct ohm_error e;
  char un[16];
  const char *over;
  ohm_error_clear(&e);
  con_unit_name(unit, un, sizeof un);
  if (unit < 0 || s->host->unit(s->h, (size_t)unit, &u) < 0) {
    reply(s, "Error: no such unit");
    return;
  }
  over = u.scheme && u.scheme[0] ? u.scheme : NULL;
  if (s->host->cmd(s->h, u.name, cmd, &e) == 0) {
    audit(s, 0, "%s: %s: done", un, cmd);
    reply(s, done);
  } else if (e.code == OHM_ENOTSUP) {
    /* the user is on the console already: say why it cannot be done */
    audit(s, 1, "%s: %s: not possible over %s", un, cmd,
          over ? over : "its transport");
    replyf(s,
           "Error: %s cannot be done here: ohm reaches %s over %s, "
           "which cannot carry it; do it on the unit itself",
           cmd, un, over ? over : "a transport");
  } else {
    audit(s, 1, "%s: %s failed: %.300s", un, cmd, ohm_error_text(&e));
    replyf(s, "Error: %.400s", ohm_error_text(&e));
  }
  s->host->unit_free(s->h, &u);
}

static void screen9_line(struct dev_con_session *s, const char *line) {
  int unit, phase;
  char cmd[32], done[64];
  if (is_num(line, 1)) {
    reply(s, "Command format: clearp1");
    return;
  }
  if (con_parse_clear_cmd(line, &unit, &phase) < 0) {
    reply(s, "Command format: clearp1");
    return;
  }
  snprintf(cmd, sizeof cmd, "reset.energy.L%d", phase);
  snprintf(done, sizeof done, "Phase%d energy cleared", phase);
  run_cmd(s, unit, cmd, done);
}

static void screen10_line(struct dev_con_session *s, const char *line) {
  if (is_num(line, 1) || is_num(line, 2)) {
    s->confirm = is_num(line, 1) ? 1 : 2;
    s->state = ST_CONFIRM;
    send(s, s->confirm == 1 ? "Restart the unit? (y/n):"
                            : "Restart to factory default? (y/n):");
    return;
  }
  reply(s, "Command format: 1or2");
}

static void confirm_line(struct dev_con_session *s, const char *line) {
  s->state = ST_SCREEN;
  if (line[0] != 'y' && line[0] != 'Y') {
    reply(s, "Cancelled");
    return;
  }
  run_cmd(s, 0, s->confirm == 1 ? "device.restart" : "device.factory_reset",
          s->confirm == 1 ? "Restarting" : "Restoring factory defaults");
}

static void main_menu(struct dev_con_session *s) {
  char buf[1024] = "";
  s->state = ST_MENU;
  con_fmt_main_menu(buf, sizeof buf);
  send(s, buf);
}

static void screen_line(struct dev_con_session *s, const char *line) {
  if (is_num(line, back_of(s->screen))) {
    main_menu(s);
    return;
  }
  switch (s->screen) {
  case CON_SHOW:
    screen1_line(s, line);
    break;
  case CON_THRESH:
    screen8_line(s, line);
    break;
  case CON_ENERGY:
    screen9_line(s, line);
    break;
  case CON_RESTART:
    screen10_line(s, line);
    break;
  default:
    reply(s, "Not supported: ohm serves this console; change the setting "
             "on the unit itself");
  }
}

static void menu_line(struct dev_con_session *s, const char *line) {
  char *end;
  long n;
  while (*line == ' ' || *line == '\t')
    line++;
  if (!*line) {
    send(s, CON_PROMPT);
    return;
  }
  if (s->state == ST_CONFIRM) {
    confirm_line(s, line);
    return;
  }
  if (s->state == ST_SCREEN) {
    screen_line(s, line);
    return;
  }
  n = strtol(line, &end, 10);
  while (*end == ' ' || *end == '\t')
    end++;
  if (end == line || *end || n < 1 || n > 11) {
    reply(s, "Invalid command");
    return;
  }
  if (n == CON_LOGOUT) {
    s->logout = 1;
    return;
  }
  if (n != CON_SHOW && !s->admin) {
    reply(s, "Permission denied");
    return;
  }
  s->state = ST_SCREEN;
  s->screen = (int)n;
  show_screen(s, s->screen, 0);
}

static size_t banner(char *buf, size_t n, long uptime) {
  struct con_banner b = {NULL, NULL, uptime};
  return con_fmt_banner(buf, n, &b);
}

const struct dev_console con_bps_console = {
    .prompt = CON_PROMPT,
    .account_prompt = CON_ACCOUNT_PROMPT,
    .password_prompt = CON_PASSWORD_PROMPT,
    .line_max = CON_LINE_MAX,
    .banner = banner,
    .start = main_menu,
    .line = menu_line,
};
