/* The BPS2000v2 Telnet console (manual section 9), described once and used
 * by both halves of ohm: the server (`ohm serve --telnet`, shell/) formats
 * screens from it, the console engine (telnet:// client) builds commands
 * and parses replies with it.
 *
 * Values travel as keys: a reply line "Load Phase1:0.00A Phase2:..." is the
 * keys "load.1", "load.2", ...; "Phase 1 Current [A]: High Alarm:32.0A ..."
 * is "current.1.ha", "current.1.hw", "current.1.lw", "current.1.la". A map
 * var's `menu=` names one as "SCREEN:KEY" ("1:load.1", "8:current.1.hw"),
 * which ties ohm's variable names to the console in both directions. */
#ifndef OHM_DEVICES_BPS2000V2_CONSOLE_H
#define OHM_DEVICES_BPS2000V2_CONSOLE_H

#include <stddef.h>

#define CON_PROMPT "Please enter the command:"
#define CON_ACCOUNT_PROMPT "Telnet Account:"
#define CON_PASSWORD_PROMPT "Password:"
#define CON_LINE_MAX 128 /* longest command line the server accepts */
#define CON_MAX_SLAVES 5

enum con_screen {
  CON_UNKNOWN = -1,
  CON_MAIN = 0, /* the eleven numbered commands */
  CON_SHOW = 1,
  CON_TIME = 2,
  CON_USERS = 3,
  CON_NET = 4,
  CON_SNMP = 5,
  CON_HTTP = 6,
  CON_SMTP = 7,
  CON_THRESH = 8,
  CON_ENERGY = 9,
  CON_RESTART = 10,
  CON_LOGOUT = 11,
};

/* One parsed or to-be-printed value. */
struct con_kv {
  char key[64]; /* lower-case, "load.1" */
  char str[48]; /* value text as printed, unit stripped for numbers */
  double num;
  int isnum;
};

#define CON_KV_MAX 96
struct con_vals {
  struct con_kv kv[CON_KV_MAX];
  size_t n;
};

/* Screen 1 items: command word, the reply line(s) they print. */
struct con_show_item {
  int num;           /* 1..9 in "Command:1.Load 2.Voltage ..." */
  const char *cmd;   /* what follows "master ": "load" */
  const char *title; /* first word(s) of the reply line: "Load" */
  const char *unit;  /* "A" */
  int decimals;
};
extern const struct con_show_item con_show_items[]; /* ends with num 0 */

/* Screen 8 rows. */
struct con_thresh_row {
  const char *title;   /* "Phase 1 Current" */
  const char *bracket; /* "A" as in "[A]" */
  const char *unit;    /* printed after each number */
  int decimals;
  const char *key; /* "current.1" */
  const char *set; /* "current one" as in "current one:xx&xx&xx&xx" */
};
extern const struct con_thresh_row con_thresh_rows[]; /* ends with NULL */
/* The four fields of a row, in printed and in set order. */
extern const char *const con_thresh_fields[4]; /* "ha","hw","lw","la" */

/* --- shared helpers ------------------------------------------------- */

/* Lower-case alphanumerics of s: how titles and commands are compared. */
void con_norm(char *dst, size_t n, const char *s);
void con_vals_clear(struct con_vals *v);
/* Add or replace a key; silently ignores keys beyond CON_KV_MAX. */
void con_vals_num(struct con_vals *v, const char *key, double num);
void con_vals_str(struct con_vals *v, const char *key, const char *str);
const struct con_kv *con_vals_find(const struct con_vals *v, const char *key);

/* "SCREEN:KEY" from a map var's menu field. Returns 0, or -1 if malformed. */
int con_menu_split(const char *menu, int *screen, char *key, size_t keysz);

/* Unit name: 0 "master", N "slaveN"; buf >= 16. */
const char *con_unit_name(int unit, char *buf, size_t n);

/* --- client side: recognise and parse what a console printed -------- */

/* Which screen a reply shows (CON_UNKNOWN if none). Lenient on case,
 * spacing and blank lines. */
int con_identify(const char *text);
/* Whether text (accumulated output) ends with the command prompt, the
 * account prompt or the password prompt (trailing blanks ignored). */
int con_ends_with(const char *text, size_t len, const char *prompt);
/* Parse every value line of a reply into v (added to what it holds).
 * Unknown lines and trailing text are ignored. Returns keys added. */
int con_parse(const char *text, struct con_vals *v);

/* The screen 1 command for unit and item ("slave2 voltage"). */
int con_fmt_show_cmd(char *buf, size_t n, int unit, const char *cmd);
/* The k-th way (0, 1, ...) of asking for a screen 1 item: the manual
 * prints only "master load", so the others are guesses a unit may want:
 * the word run together ("totalenergy"), as printed in the menu ("total
 * energy"), the item's number ("8"). 0 with buf set, -1 when none left. */
int con_show_spelling(const struct con_show_item *it, int k, char *buf,
                      size_t n);
/* The screen 8 set command ("slave1 current one:32&16&0&0"). */
int con_fmt_thresh_cmd(char *buf, size_t n, int unit,
                       const struct con_thresh_row *r, const double v[4]);
/* The screen 9 clear command ("clearp1"). */
int con_fmt_clear_cmd(char *buf, size_t n, int unit, int phase);
/* The screen-1 item whose reply holds keys starting with prefix. */
const struct con_show_item *con_show_for_key(const char *key);
const struct con_thresh_row *con_thresh_for_key(const char *key, int *field);

/* --- server side: texts and formatters --------------------------------
 * Every function appends to buf (NUL-terminated, truncated at n) with
 * "\r\n" line ends as the console sends them, and returns the length. */
struct con_banner {
  const char *last_update; /* "2014-10-20" */
  const char *version;     /* "1.0.0" */
  long uptime;             /* seconds */
};
size_t con_fmt_banner(char *buf, size_t n, const struct con_banner *b);
size_t con_fmt_main_menu(char *buf, size_t n);
/* The screen's text after its number was entered, up to and including
 * the prompt. v holds keys from the device (thresholds, energy); user is
 * the account (screen 3); may be NULL for screens that show none. */
size_t con_fmt_screen(char *buf, size_t n, int screen, const struct con_vals *v,
                      const char *user);
/* The reply line(s) of a screen 1 item for v. */
size_t con_fmt_show(char *buf, size_t n, const struct con_show_item *it,
                    const struct con_vals *v);
/* The threshold lines of screen 8 for v (without header or commands). */
size_t con_fmt_thresholds(char *buf, size_t n, const struct con_vals *v);

/* Parse what a user typed. Each returns 0 on success, -1 if it is not
 * this command. unit: 0 master, 1..5 slaves (prefix "master"/"slaveN",
 * optional except for screen 1). */
int con_parse_show_cmd(const char *line, int *unit,
                       const struct con_show_item **it);
int con_parse_thresh_cmd(const char *line, int *unit,
                         const struct con_thresh_row **r, double v[4]);
int con_parse_clear_cmd(const char *line, int *unit, int *phase);
/* A bare "master"/"slaveN" (screen 8: show that unit's thresholds). */
int con_parse_unit(const char *line, int *unit);

/* The dialect for the console server (console_srv.c, devices/console.h). */
struct dev_console;
extern const struct dev_console con_bps_console;

#endif
