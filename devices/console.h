/* A menu console's server side as a driver describes it (struct dev_hooks'
 * console): the console server (shell/serve_telnet.c) does the listener,
 * Telnet, accounts, logins and line editing, and knows no dialect; the
 * dialect (e.g. devices/bps2000v2/console_srv.c) draws its screens and acts
 * on each line typed after login through the host's callbacks. A second
 * Telnet-menu device is a driver folder with its own dialect. */
#ifndef OHM_DEVICES_CONSOLE_H
#define OHM_DEVICES_CONSOLE_H

#include <stddef.h>

#include "../util/err.h"
#include "device.h"

/* One served unit as the host last read it (borrowed until unit_free). */
struct dev_con_unit {
  const char *name;             /* inventory name or URI */
  const struct dev_map *map;    /* NULL until the device was opened */
  const struct dev_value *vals; /* map->nvars values; NULL unless ok */
  const char *scheme;           /* transport ("modbus-tcp") or "" */
  double updated;               /* unix time of vals */
  int ok;                       /* vals hold a (possibly stale) reading */
  const char *error;            /* why not ok, never a secret */
  void *priv;                   /* the host's */
};

/* What the server offers a dialect; h is the host's context. */
struct dev_con_host {
  void (*send)(void *h, const char *text); /* text as is (CRLF in it) */
  /* one log line naming the account (problem: logged even with -q) */
  void (*audit)(void *h, int problem, const char *text);
  /* unit i (0 the first served device): 0, or -1 when there is none */
  int (*unit)(void *h, size_t i, struct dev_con_unit *u);
  void (*unit_free)(void *h, struct dev_con_unit *u);
  /* a write / a command on the named device, as `ohm set` / `ohm cmd` */
  int (*set)(void *h, const char *dev, const char *var, const char *text,
             struct ohm_error *e);
  int (*cmd)(void *h, const char *dev, const char *cmd, struct ohm_error *e);
  /* values ohm keeps for a device (kept = 1: the device has no place for
   * it; 0: written, not yet read back); get returns 0 or -1 if none */
  void (*keep)(void *h, const char *dev, const char *var, double num, int kept);
  int (*kept)(void *h, const char *dev, const char *var, double *num,
              double *when, int *kept);
  /* a decimal number as every server takes them (no hex, no exponent) */
  int (*decimal)(const char *s, double *v);
};

/* A logged-in session as the dialect sees it. */
struct dev_con_session {
  const struct dev_con_host *host;
  void *h;
  const char *user; /* the account */
  int admin;        /* the account may use every screen */
  int logout;       /* set by the dialect: the server closes the session */
  int state, screen, confirm; /* the dialect's own; 0 after login */
};

struct dev_console {
  const char *prompt, *account_prompt, *password_prompt;
  size_t line_max; /* longest line taken ("Command too long" beyond) */
  /* the text before the account prompt; appends to buf, returns length */
  size_t (*banner)(char *buf, size_t n, long uptime);
  void (*start)(struct dev_con_session *s); /* just logged in */
  void (*line)(struct dev_con_session *s, const char *line);
};

/* The console of driver (its hooks'), else the first driver's that has
 * one; NULL when no driver has a console. */
const struct dev_console *dev_console_find(const char *driver);

#endif
