/* The BPS2000v2's console engine, given by the driver's hooks (no generic
 * engine knows a menu dialect): a device read, written and commanded
 * through its menu console (TP_CONSOLE, telnet://). One login per open (the
 * engine's open hook), then each read walks only the screens the map's `menu=`
 * fields need ("1:load.1": screen 1, "master load"; "8:current.1.hw": screen
 * 8), with the BPS2000v2 console description (bps2000v2/console.h) building the
 * commands and parsing the replies leniently. A reply that is not the screen
 * expected fails the read with what was seen; no value is guessed. The manual
 * prints only "master load": for the other screen-1 items each known spelling
 * is tried in turn and the one a unit takes is remembered for the device; an
 * item it refuses in every spelling leaves its variables out (per-variable
 * errors), not the whole read. Chain position: d->unit, 0 the master, N
 * "slaveN". */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../../transports/telnet.h"
#include "../engine.h"
#include "console.h"

struct ce_state {
  int screen;       /* where the console is: CON_MAIN or a sub-screen */
  int broken;       /* a send or wait failed: do not wait again on close */
  int spelling[16]; /* per screen-1 item: 1 + the spelling the unit took */
};

static const char *const cmd_prompt[] = {CON_PROMPT, NULL};

/* Send line, wait for the prompt; *out gets the reply (may be NULL). */
static int ce_say(struct dev *d, const char *line, char **out,
                  struct ohm_error *e) {
  struct ce_state *st = d->priv;
  int rc = tp_console_send(d->tp, line, e);
  if (rc == 0) rc = tp_console_expect(d->tp, cmd_prompt, NULL, out, e);
  if (rc < 0 && st) st->broken = 1;
  return rc;
}

/* The first line of text worth quoting in an error (no secrets come back
 * from a console after login). */
static void first_line(const char *text, char *buf, size_t n) {
  const char *p = text;
  while (*p == '\r' || *p == '\n' || *p == ' ')
    p++;
  snprintf(buf, n, "%.*s", (int)strcspn(p, "\r\n"), p);
}

static int ce_back(struct dev *d, struct ohm_error *e);

/* Enter a main-menu screen and check that it is the one expected. *out
 * (may be NULL) gets its text. */
static int ce_enter(struct dev *d, int screen, char **out,
                    struct ohm_error *e) {
  struct ce_state *st = d->priv;
  char num[8], *txt = NULL, seen[80];
  int rc, got;
  if (st->screen != CON_MAIN && (rc = ce_back(d, e)) < 0) return rc;
  snprintf(num, sizeof num, "%d", screen);
  if ((rc = ce_say(d, num, &txt, e)) < 0) return rc;
  got = con_identify(txt);
  if (got != screen) {
    first_line(strstr(txt, "\n") ? strstr(txt, "\n") + 1 : txt, seen,
               sizeof seen);
    free(txt);
    return ohm_error_set(e, OHM_EPROTO,
                         "command %d gave a screen ohm "
                         "does not recognise ('%.60s')",
                         screen, seen);
  }
  st->screen = screen;
  if (out)
    *out = txt;
  else
    free(txt);
  return 0;
}

/* Back to the main menu from the current screen. */
static int ce_back(struct dev *d, struct ohm_error *e) {
  static const int back[] = {0, 10, 2, 2, 5, 5, 2, 8, 5, 2, 3};
  struct ce_state *st = d->priv;
  char num[8];
  int rc;
  if (st->screen <= CON_MAIN || st->screen > CON_RESTART) return 0;
  snprintf(num, sizeof num, "%d", back[st->screen]);
  rc = ce_say(d, num, NULL, e);
  if (rc == 0) st->screen = CON_MAIN;
  return rc;
}

static int ce_open(struct dev *d, struct ohm_error *e) {
  struct ce_state *st = calloc(1, sizeof *st);
  char *greet = NULL;
  int rc;
  if (!st) return ohm_error_set(e, OHM_ENOMEM, "out of memory");
  if (d->unit < 0 || d->unit > CON_MAX_SLAVES) { /* before any login */
    free(st);
    return ohm_error_set(e, OHM_EINVAL,
                         "unit %d out of range (0 master, 1..%d slaves)",
                         d->unit, CON_MAX_SLAVES);
  }
  d->priv = st;
  rc = tp_console_login(d->tp, "Account:", CON_PASSWORD_PROMPT, CON_PROMPT,
                        &greet, e);
  if (rc == 0 && con_identify(greet) != CON_MAIN)
    rc = ohm_error_set(e, OHM_EPROTO,
                       "after login, a screen ohm does "
                       "not recognise (no BPS2000v2 main menu)");
  free(greet);
  st->screen = CON_MAIN;
  if (rc < 0) { /* no close hook runs after a failed open */
    free(st);
    d->priv = NULL;
  }
  return rc;
}

static void ce_close(struct dev *d) {
  struct ohm_error e;
  if (!d->priv) return;
  if (d->tp && !((struct ce_state *)d->priv)->broken &&
      ce_back(d, &e) == 0) /* 11.Logout, best effort */
    tp_console_send(d->tp, "11", &e);
  free(d->priv);
  d->priv = NULL;
}

/* A value for var from the parsed keys: numbers as numbers, states in the
 * map's own spelling ("Closed" -> "closed"), "-" as not reported. */
static void ce_value(const struct dev_var *v, const struct con_kv *kv,
                     struct dev_value *val) {
  if (!kv || (!kv->isnum && (!kv->str[0] || !strcmp(kv->str, "-")))) return;
  if (v->type == DT_ENUM && !kv->isnum) {
    for (size_t i = 0; i < v->nenums; i++)
      if (!strcasecmp(v->enums[i].text, kv->str)) {
        val->kind = DV_STR;
        snprintf(val->str, sizeof val->str, "%s", v->enums[i].text);
        return;
      }
  }
  if (kv->isnum) {
    val->kind = DV_NUM;
    val->num = kv->num;
  } else {
    val->kind = DV_STR;
    snprintf(val->str, sizeof val->str, "%s", kv->str);
  }
}

/* Which screen-1 items and whether screen 8 the map needs. */
static int ce_needs(const struct dev_map *m, int items[16]) {
  int s8 = 0;
  for (size_t i = 0; i < m->nvars; i++) {
    char key[64];
    int screen;
    const struct con_show_item *it;
    if (con_menu_split(m->vars[i].menu, &screen, key, sizeof key) < 0) continue;
    if (screen == CON_THRESH)
      s8 = 1;
    else if (screen == CON_SHOW && (it = con_show_for_key(key)))
      items[it->num] = 1;
  }
  return s8;
}

/* The values of item it in a reply into cv; how many. A refusal's text
 * ("Command format:master load ...") parses to keys of no item. */
static int ce_take_item(const char *txt, const struct con_show_item *it,
                        struct con_vals *cv) {
  struct con_vals *got = calloc(1, sizeof *got);
  int n = 0;
  if (!got) return 0;
  con_parse(txt, got);
  for (size_t i = 0; i < got->n; i++) {
    const struct con_kv *kv = &got->kv[i];
    if (con_show_for_key(kv->key) != it) continue;
    if (kv->isnum)
      con_vals_num(cv, kv->key, kv->num);
    else
      con_vals_str(cv, kv->key, kv->str);
    n++;
  }
  free(got);
  return n;
}

/* Ask for one screen-1 item in the spelling k: > 0 keys parsed, 0 if the
 * unit refused it (no values came back), < 0 on a transport failure. */
static int ce_try_item(struct dev *d, const struct con_show_item *it, int k,
                       struct con_vals *cv, struct ohm_error *e) {
  struct ce_state *st = d->priv;
  char word[32], line[64], *txt = NULL;
  int rc;
  if (con_show_spelling(it, k, word, sizeof word) < 0) return 0;
  if (st->screen != CON_SHOW && (rc = ce_enter(d, CON_SHOW, NULL, e)) < 0)
    return rc;
  con_fmt_show_cmd(line, sizeof line, d->unit, word);
  if ((rc = ce_say(d, line, &txt, e)) < 0) return rc;
  rc = ce_take_item(txt, it, cv);
  if (rc == 0 && con_identify(txt) == CON_MAIN) /* refused back to the menu */
    st->screen = CON_MAIN;
  free(txt);
  return rc;
}

/* One screen-1 item: the spelling the unit took last time, else each in
 * turn. 0 if one gave values, 1 if the unit refused them all (the item's
 * variables are then absent, with a note in *why), < 0 on a failure. */
static int ce_read_item(struct dev *d, const struct con_show_item *it,
                        struct con_vals *cv, char *why, size_t whysz,
                        struct ohm_error *e) {
  struct ce_state *st = d->priv;
  int known = st->spelling[it->num] - 1, rc;
  if (known >= 0 && (rc = ce_try_item(d, it, known, cv, e)) != 0)
    return rc < 0 ? rc : 0;
  for (int k = 0; k < 8; k++) {
    char word[32];
    if (con_show_spelling(it, k, word, sizeof word) < 0) break;
    if (k == known) continue;
    if ((rc = ce_try_item(d, it, k, cv, e)) < 0) return rc;
    if (rc > 0) {
      st->spelling[it->num] = k + 1;
      return 0;
    }
  }
  st->spelling[it->num] = 0;
  char tried[96] = "", word[32];
  for (int k = 0; con_show_spelling(it, k, word, sizeof word) == 0; k++)
    snprintf(tried + strlen(tried), sizeof tried - strlen(tried), "%s'%s'",
             k ? ", " : "", word);
  snprintf(why, whysz,
           "the console refused '%s' in every spelling (%s); "
           "left out",
           it->title, tried);
  return 1;
}

/* Screen-1 items the map needs into cv; an item the unit refuses gets
 * its note in refused[N] (N its number) and the read goes on. */
static int ce_read_show(struct dev *d, const int items[16], struct con_vals *cv,
                        char refused[16][160], struct ohm_error *e) {
  for (const struct con_show_item *it = con_show_items; it->num; it++) {
    int rc;
    if (!items[it->num]) continue;
    rc = ce_read_item(d, it, cv, refused[it->num], sizeof refused[0], e);
    if (rc < 0) return rc;
  }
  return 0;
}

/* Screen 8 for d->unit: the master's is the screen itself; a slave's is
 * what "slaveN" prints there. */
static int ce_read_thresh(struct dev *d, struct con_vals *cv,
                          struct ohm_error *e) {
  char *txt = NULL, u[16];
  int rc = ce_enter(d, CON_THRESH, &txt, e);
  if (rc == 0 && d->unit > 0) {
    free(txt);
    txt = NULL;
    rc = ce_say(d, con_unit_name(d->unit, u, sizeof u), &txt, e);
  }
  if (rc == 0) con_parse(txt, cv);
  free(txt);
  return rc;
}

/* A var of a screen-1 item the unit refused: absent, with why as a
 * per-var error (the rest of the read stands). */
static void ce_refused_item(const char *why, struct dev_value *val) {
  val->kind = DV_ERR;
  val->err = OHM_ENOTSUP;
  snprintf(val->str, sizeof val->str, "%s", why);
}

static int ce_read_all(struct dev *d, struct dev_value *vals,
                       struct ohm_error *e) {
  const struct dev_map *m = d->map;
  int items[16] = {0}, rc = 0;
  struct con_vals *cv = calloc(1, sizeof *cv);
  char(*refused)[160] = calloc(16, sizeof *refused);
  if (!cv || !refused) {
    free(cv);
    free(refused);
    return ohm_error_set(e, OHM_ENOMEM, "out of memory");
  }
  if (ce_needs(m, items)) rc = ce_read_thresh(d, cv, e);
  if (rc == 0) rc = ce_read_show(d, items, cv, refused, e);
  if (rc == 0) rc = ce_back(d, e);
  for (size_t i = 0; rc == 0 && i < m->nvars; i++) {
    char key[64];
    int screen;
    const struct con_show_item *it;
    if (con_menu_split(m->vars[i].menu, &screen, key, sizeof key) < 0) continue;
    if (screen == CON_SHOW && (it = con_show_for_key(key)) &&
        refused[it->num][0])
      ce_refused_item(refused[it->num], &vals[i]);
    else
      ce_value(&m->vars[i], con_vals_find(cv, key), &vals[i]);
  }
  free(cv);
  free(refused);
  return rc;
}

/* A reply that says the console refused what it was told. */
static int ce_refused(const char *txt) {
  char low[256];
  size_t i;
  for (i = 0; txt[i] && i + 1 < sizeof low; i++)
    low[i] = (char)(txt[i] >= 'A' && txt[i] <= 'Z' ? txt[i] + 32 : txt[i]);
  low[i] = 0;
  return strstr(low, "error") || strstr(low, "invalid") ||
         strstr(low, "fail") || strstr(low, "denied") ||
         strstr(low, "command format") || strstr(low, "not supported");
}

static int ce_check(struct dev *d, const char *what, const char *txt,
                    struct ohm_error *e) {
  char seen[120];
  if (!ce_refused(txt)) return 0;
  first_line(strstr(txt, "\n") ? strstr(txt, "\n") + 1 : txt, seen,
             sizeof seen);
  return ohm_error_set(e, OHM_EDEVICE,
                       "the console refused %s "
                       "('%.80s')",
                       what, seen);
}

/* Write one threshold: screen 8 takes a whole row, so read the row's four
 * values, replace one, send "current one:32&16&0&0". */
static int ce_set(struct dev *d, const struct dev_var *v, const char *text,
                  struct ohm_error *e) {
  const struct con_thresh_row *r;
  struct con_vals *cv;
  char key[64], line[128], *txt = NULL;
  double vals[4];
  int screen, field, rc;
  if (con_menu_split(v->menu, &screen, key, sizeof key) < 0 ||
      screen != CON_THRESH || !(r = con_thresh_for_key(key, &field)))
    return ohm_error_set(e, OHM_ENOTSUP,
                         "%s: cannot be written over the "
                         "console",
                         v->name);
  if (!(cv = calloc(1, sizeof *cv)))
    return ohm_error_set(e, OHM_ENOMEM, "out of memory");
  rc = ce_read_thresh(d, cv, e);
  for (int f = 0; f < 4 && rc == 0; f++) {
    const struct con_kv *kv;
    snprintf(key, sizeof key, "%s.%s", r->key, con_thresh_fields[f]);
    kv = con_vals_find(cv, key);
    if (!kv || !kv->isnum)
      rc = ohm_error_set(e, OHM_EPROTO, "screen 8 shows no '%s %s'", r->title,
                         con_thresh_fields[f]);
    else
      vals[f] = kv->num;
  }
  free(cv);
  if (rc < 0) return rc;
  vals[field] = strtod(text, NULL);
  con_fmt_thresh_cmd(line, sizeof line, d->unit, r, vals);
  if ((rc = ce_say(d, line, &txt, e)) == 0) rc = ce_check(d, v->name, txt, e);
  free(txt);
  if (rc == 0) rc = ce_back(d, e);
  return rc;
}

/* reset.energy.Lx through screen 9; restarts through screen 10, which may
 * ask to confirm and may drop the connection when it restarts. */
static int ce_cmd(struct dev *d, const struct dev_cmd *c, struct ohm_error *e) {
  static const char *const ask[] = {CON_PROMPT, "(y/n):", NULL};
  char line[64], *txt = NULL;
  int rc, which = 0, phase;
  if (sscanf(c->name, "reset.energy.L%d", &phase) == 1 && phase >= 1 &&
      phase <= 3) {
    if ((rc = ce_enter(d, CON_ENERGY, NULL, e)) < 0) return rc;
    con_fmt_clear_cmd(line, sizeof line, d->unit, phase);
    if ((rc = ce_say(d, line, &txt, e)) == 0) rc = ce_check(d, c->name, txt, e);
    free(txt);
    return rc ? rc : ce_back(d, e);
  }
  if (strcmp(c->name, "device.restart") &&
      strcmp(c->name, "device.factory_reset"))
    return ohm_error_set(e, OHM_ENOTSUP,
                         "%s: not supported over the "
                         "console",
                         c->name);
  if ((rc = ce_enter(d, CON_RESTART, NULL, e)) < 0 ||
      (rc = tp_console_send(
           d->tp, strcmp(c->name, "device.restart") ? "2" : "1", e)) < 0)
    return rc;
  rc = tp_console_expect(d->tp, ask, &which, &txt, e);
  if (rc == 0 && which == 1) {
    free(txt);
    txt = NULL;
    if ((rc = ce_say(d, "y", &txt, e)) == OHM_EIO)
      rc = 0; /* the unit went down to restart */
  }
  if (rc == 0 && txt) rc = ce_check(d, c->name, txt, e);
  free(txt);
  return rc;
}

/* What ce_cmd carries: the energy resets and the two restarts. */
static int ce_has_cmd(const struct dev *d, const struct dev_cmd *c) {
  int phase;
  (void)d;
  if (sscanf(c->name, "reset.energy.L%d", &phase) == 1)
    return phase >= 1 && phase <= 3;
  return !strcmp(c->name, "device.restart") ||
         !strcmp(c->name, "device.factory_reset");
}

static const struct dev_engine console_engine = {
    .kind = TP_CONSOLE,
    .open = ce_open,
    .read_all = ce_read_all,
    .set = ce_set,
    .cmd = ce_cmd,
    .has_cmd = ce_has_cmd,
    .close = ce_close,
};

/* The driver's hooks: its console engine and console server dialect. A second
 * Telnet-menu device is a folder with its own map and hooks. */
const struct dev_hooks dev_hooks_bps2000v2 = {
    .driver = "bps2000v2",
    .engine = &console_engine,
    .console = &con_bps_console,
};
