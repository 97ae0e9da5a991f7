/* The console's menus after login: the main menu and screens 1-10 of the
 * manual's section 9, drawn by devices/bps2000v2/console.h from the serve
 * cache (device 0 the master, 1.. the slaves). Writes go to the device
 * through sv_cache_set / sv_cache_cmd; warning limits the device has no
 * place for (over Modbus: no register) are kept by ohm and said so. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../devices/thresh.h"
#include "serve_telnet_int.h"

#define OUT_MAX 8192

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

static void reply(struct tn_session *s, const char *text) {
  tn_send(s, text);
  tn_send(s, "\r\n\r\n" CON_PROMPT);
}

static void replyf(struct tn_session *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void replyf(struct tn_session *s, const char *fmt, ...) {
  char buf[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  reply(s, buf);
}

/* ---- values ---------------------------------------------------------- */

static struct tn_kept *kept_find(struct tn_server *srv, const char *dev,
                                 const char *var) {
  for (size_t i = 0; i < srv->nkept; i++)
    if (!strcmp(srv->kept[i].dev, dev) && !strcmp(srv->kept[i].var, var))
      return &srv->kept[i];
  return NULL;
}

static void kept_put(struct tn_server *srv, const char *dev, const char *var,
                     double num, int kept) {
  struct tn_kept *k;
  pthread_mutex_lock(&srv->mu);
  k = kept_find(srv, dev, var);
  if (!k && srv->nkept < TN_KEPT_MAX) k = &srv->kept[srv->nkept++];
  if (k) {
    snprintf(k->dev, sizeof k->dev, "%s", dev);
    snprintf(k->var, sizeof k->var, "%s", var);
    k->num = num;
    k->when = tn_now();
    k->kept = kept;
  }
  pthread_mutex_unlock(&srv->mu);
}

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

/* Keys of screen 8 the device did not give: what ohm keeps, else the
 * default; and values written but not yet read back. */
static void overlay(struct tn_server *srv, const struct sv_snap *sn,
                    struct con_vals *v) {
  pthread_mutex_lock(&srv->mu);
  for (const struct con_thresh_row *r = con_thresh_rows; r->title; r++)
    for (int f = 0; f < 4; f++) {
      char key[64], menu[72];
      const struct dev_var *var = NULL;
      struct tn_kept *k;
      snprintf(key, sizeof key, "%s.%s", r->key, con_thresh_fields[f]);
      snprintf(menu, sizeof menu, "8:%s", key);
      for (size_t i = 0; sn->map && i < sn->map->nvars; i++)
        if (sn->map->vars[i].menu && !strcmp(sn->map->vars[i].menu, menu))
          var = &sn->map->vars[i];
      k = kept_find(srv, sn->name, var ? var->name : menu);
      if (k && (k->kept || k->when > sn->updated))
        con_vals_num(v, key, k->num);
      else if (!con_vals_find(v, key) && (f == 1 || f == 2))
        con_vals_num(v, key, warn_default(v, r->key, f));
    }
  pthread_mutex_unlock(&srv->mu);
}

static void snap_to_vals(const struct sv_snap *sn, struct con_vals *v) {
  for (size_t i = 0; i < sn->map->nvars; i++) {
    const struct dev_var *var = &sn->map->vars[i];
    const struct dev_value *val = &sn->vals[i];
    char key[64];
    int screen;
    if (con_menu_split(var->menu, &screen, key, sizeof key) < 0) continue;
    if (val->kind == DV_NUM)
      con_vals_num(v, key, val->num);
    else if (val->kind == DV_STR)
      con_vals_str(v, key, val->str);
  }
}

/* Unit's values into v; on failure an error line in err. Returns 0/-1;
 * name (>= 128) gets the cache's device name. */
static int unit_vals(struct tn_session *s, int unit, struct con_vals *v,
                     char *name, char *err, size_t errsz) {
  struct sv_snap sn;
  char u[16];
  con_vals_clear(v);
  con_unit_name(unit, u, sizeof u);
  if (unit < 0 || (size_t)unit >= sv_cache_count(s->srv->cache) ||
      sv_cache_snap(s->srv->cache, (size_t)unit, &sn) < 0) {
    snprintf(err, errsz, "Error: %s: no such unit", u);
    return -1;
  }
  snprintf(name, 128, "%s", sn.name);
  if (!sn.vals || !sn.map || (sn.state != SV_OK && sn.state != SV_STALE)) {
    snprintf(err, errsz, "Error: %s: no reading (%.200s)", u,
             sn.error[0] ? sn.error : "device not read yet");
    sv_snap_free(&sn);
    return -1;
  }
  snap_to_vals(&sn, v);
  overlay(s->srv, &sn, v);
  sv_snap_free(&sn);
  return 0;
}

/* ---- screens ----------------------------------------------------------- */

static void show_screen(struct tn_session *s, int screen, int unit) {
  char *buf = calloc(1, OUT_MAX), err[512], name[128];
  struct con_vals *v = calloc(1, sizeof *v);
  if (!buf || !v) goto out;
  if (screen == CON_THRESH || screen == CON_ENERGY) {
    if (unit_vals(s, unit, v, name, err, sizeof err) < 0) {
      reply(s, err);
      goto out;
    }
  } else if (screen == CON_HTTP) {
    con_vals_str(v, "http.port", "0");
  }
  con_fmt_screen(buf, OUT_MAX, screen, v, s->who->user);
  tn_send(s, buf);
out:
  free(buf);
  free(v);
}

static void screen1_line(struct tn_session *s, const char *line) {
  const struct con_show_item *it;
  struct con_vals *v = calloc(1, sizeof *v);
  char buf[1024] = "", err[512], name[128];
  int unit;
  if (!v) return;
  if (con_parse_show_cmd(line, &unit, &it) < 0)
    reply(s, "Command format:master load or slave1 load");
  else if (unit_vals(s, unit, v, name, err, sizeof err) < 0)
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
static int thresh_write(struct tn_session *s, const struct sv_snap *sn,
                        const char *menu, double val, char *err, size_t errsz) {
  const struct dev_var *var = NULL;
  struct ohm_error e;
  char text[32];
  for (size_t i = 0; sn->map && i < sn->map->nvars; i++)
    if (sn->map->vars[i].menu && !strcmp(sn->map->vars[i].menu, menu))
      var = &sn->map->vars[i];
  snprintf(text, sizeof text, "%g", val);
  ohm_error_clear(&e);
  if (var && !dev_var_over(sn->scheme[0] ? sn->scheme : NULL, var)) {
    /* no place on the device over its transport: kept, nothing tried, so
     * no false failure in the log */
    kept_put(s->srv, sn->name, var->name, val, 1);
    return 1;
  }
  if (var && sv_cache_set(s->srv->cache, sn->name, var->name, text, &e) == 0) {
    kept_put(s->srv, sn->name, var->name, val, 0);
    return 0;
  }
  if (!var || e.code == OHM_ENOTSUP || e.code == OHM_ENOENT) {
    kept_put(s->srv, sn->name, var ? var->name : menu, val, 1);
    return 1;
  }
  snprintf(err, errsz, "Error: %.400s", ohm_error_text(&e));
  return -1;
}

/* The row's four values in the order thresholds must keep (the device's
 * own rule, devices/thresh.h): 0, or -1 with the reason in err. */
static int thresh_order(const struct sv_snap *sn,
                        const struct con_thresh_row *r, const double v[4],
                        char *err, size_t errsz) {
  struct dev_thresh p[4];
  struct ohm_error e;
  size_t n = 0;
  if (!sn->map) return 0;
  for (int f = 0; f < 4; f++) {
    char menu[72];
    snprintf(menu, sizeof menu, "8:%s.%s", r->key, con_thresh_fields[f]);
    for (size_t i = 0; i < sn->map->nvars; i++)
      if (sn->map->vars[i].menu && !strcmp(sn->map->vars[i].menu, menu)) {
        p[n].name = sn->map->vars[i].name;
        p[n++].value = v[f];
      }
  }
  ohm_error_clear(&e);
  if (dev_thresh_check(sn->map, p, n, NULL, &e) == 0) return 0;
  snprintf(err, errsz, "Error: %.400s; nothing written", ohm_error_text(&e));
  return -1;
}

static void thresh_set(struct tn_session *s, int unit,
                       const struct con_thresh_row *r, const double v[4]) {
  static const char *const names[4] = {"High Alarm", "High Warning",
                                       "Low Warning", "Low Alarm"};
  struct sv_snap sn;
  char err[512] = "", msg[1024] = "Set successfully", kept[256] = "", u[16];
  if (unit < 0 || (size_t)unit >= sv_cache_count(s->srv->cache) ||
      sv_cache_snap(s->srv->cache, (size_t)unit, &sn) < 0) {
    reply(s, "Error: no such unit");
    return;
  }
  int ordered = thresh_order(&sn, r, v, err, sizeof err) == 0;
  for (int f = 0; ordered && f < 4; f++) {
    char menu[72];
    int rc;
    snprintf(menu, sizeof menu, "8:%s.%s", r->key, con_thresh_fields[f]);
    rc = thresh_write(s, &sn, menu, v[f], err, sizeof err);
    if (rc < 0) break;
    if (rc == 1)
      snprintf(kept + strlen(kept), sizeof kept - strlen(kept), "%s%s",
               kept[0] ? ", " : "", names[f]);
  }
  sv_snap_free(&sn);
  tn_audit(s, err[0] != 0, "%s: %s:%g&%g&%g&%g: %s%s%s",
           con_unit_name(unit, u, sizeof u), r->set, v[0], v[1], v[2], v[3],
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
 * (serve/listen.h): "0x10", "1e1", "inf" are not taken. */
static int values_decimal(const char *line) {
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
                                ls_decimal(v, &x) < 0)))
      return 0;
    p = end;
  }
  return 1;
}

static void screen8_line(struct tn_session *s, const char *line) {
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
    char buf[2048] = "", err[512], name[128];
    struct con_vals *cv = calloc(1, sizeof *cv);
    if (cv && unit_vals(s, unit, cv, name, err, sizeof err) < 0)
      reply(s, err);
    else if (cv) {
      con_fmt_thresholds(buf, sizeof buf, cv);
      buf[strlen(buf) - 2] = 0;
      reply(s, buf);
    }
    free(cv);
  } else if (values_decimal(line) &&
             con_parse_thresh_cmd(line, &unit, &r, v) == 0) {
    thresh_set(s, unit, r, v);
  } else {
    reply(s, "Command format: current one:xx&xx&xx&xx");
  }
}

static void run_cmd(struct tn_session *s, int unit, const char *cmd,
                    const char *done) {
  struct sv_snap sn;
  struct ohm_error e;
  char u[16];
  ohm_error_clear(&e);
  con_unit_name(unit, u, sizeof u);
  if (unit < 0 || (size_t)unit >= sv_cache_count(s->srv->cache) ||
      sv_cache_snap(s->srv->cache, (size_t)unit, &sn) < 0) {
    reply(s, "Error: no such unit");
    return;
  }
  if (sv_cache_cmd(s->srv->cache, sn.name, cmd, &e) == 0) {
    tn_audit(s, 0, "%s: %s: done", u, cmd);
    reply(s, done);
  } else if (e.code == OHM_ENOTSUP) {
    /* the user is on the console already: say why it cannot be done */
    tn_audit(s, 1, "%s: %s: not possible over %s", u, cmd,
             sn.scheme[0] ? sn.scheme : "its transport");
    replyf(s,
           "Error: %s cannot be done here: ohm reaches %s over %s, "
           "which cannot carry it; do it on the unit itself",
           cmd, u, sn.scheme[0] ? sn.scheme : "a transport");
  } else {
    tn_audit(s, 1, "%s: %s failed: %.300s", u, cmd, ohm_error_text(&e));
    replyf(s, "Error: %.400s", ohm_error_text(&e));
  }
  sv_snap_free(&sn);
}

static void screen9_line(struct tn_session *s, const char *line) {
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

static void screen10_line(struct tn_session *s, const char *line) {
  if (is_num(line, 1) || is_num(line, 2)) {
    s->confirm = is_num(line, 1) ? 1 : 2;
    s->state = TN_CONFIRM;
    tn_send(s, s->confirm == 1 ? "Restart the unit? (y/n):"
                               : "Restart to factory default? (y/n):");
    return;
  }
  reply(s, "Command format: 1or2");
}

static void confirm_line(struct tn_session *s, const char *line) {
  s->state = TN_SCREEN;
  if (line[0] != 'y' && line[0] != 'Y') {
    reply(s, "Cancelled");
    return;
  }
  run_cmd(s, 0, s->confirm == 1 ? "device.restart" : "device.factory_reset",
          s->confirm == 1 ? "Restarting" : "Restoring factory defaults");
}

static void screen_line(struct tn_session *s, const char *line) {
  char buf[1024] = "";
  if (is_num(line, back_of(s->screen))) {
    s->state = TN_MENU;
    con_fmt_main_menu(buf, sizeof buf);
    tn_send(s, buf);
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

void tn_menu_line(struct tn_session *s, const char *line) {
  char *end;
  long n;
  while (*line == ' ' || *line == '\t')
    line++;
  if (!*line) {
    tn_send(s, CON_PROMPT);
    return;
  }
  if (s->state == TN_CONFIRM) {
    confirm_line(s, line);
    return;
  }
  if (s->state == TN_SCREEN) {
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
    s->dead = 1;
    return;
  }
  if (n != CON_SHOW && s->who->role != TN_ADMIN) {
    reply(s, "Permission denied");
    return;
  }
  s->state = TN_SCREEN;
  s->screen = (int)n;
  show_screen(s, s->screen, 0);
}
