/* The telnet:// transport (TP_CONSOLE): a menu console over Telnet, the
 * protocol done by libtelnet (option negotiation, IAC escaping). It knows
 * no device: the caller names the prompts to wait for, so the console
 * engine (devices/console_engine.c) walks the menus.
 *
 *   telnet://[USER[:PASSWORD]@]HOST[:PORT]      port 23
 *
 * The password comes from the URI (inv_open puts the inventory's
 * `password` field there), else $OHM_PASSWORD; it is never printed. */
#ifndef OHM_TRANSPORTS_TELNET_H
#define OHM_TRANSPORTS_TELNET_H

#include "transport.h"

/* tp_telnet_ops.ext points at one of these. */
struct tp_console_ext {
  /* Wait until the output ends with one of the prompts (NULL-terminated;
   * compared leniently: case, spacing and trailing blanks do not matter).
   * *which = its index; *out (may be NULL) gets a malloc'd copy of what
   * came before it. OHM_ETIMEDOUT after the transport's timeout, OHM_EIO
   * if the peer closed. */
  int (*expect)(struct tp *t, const char *const *prompts, int *which,
                char **out, struct ohm_error *e);
  /* Send line followed by CR LF. */
  int (*send_line)(struct tp *t, const char *line, struct ohm_error *e);
  /* Log in: wait for account/password prompts (either may be skipped by
   * the peer) and answer them with the URI's user and the password, until
   * the command prompt. *greeting (may be NULL) gets what was printed
   * after the password. OHM_EACCES if the account prompt comes back or the
   * peer closes (a refused login). */
  int (*login)(struct tp *t, const char *account_prompt,
               const char *password_prompt, const char *command_prompt,
               char **greeting, struct ohm_error *e);
};

/* Thin wrappers: OHM_ENOTSUP unless t is a console transport. */
int tp_console_expect(struct tp *t, const char *const *prompts, int *which,
                      char **out, struct ohm_error *e);
int tp_console_send(struct tp *t, const char *line, struct ohm_error *e);
int tp_console_login(struct tp *t, const char *account_prompt,
                     const char *password_prompt, const char *command_prompt,
                     char **greeting, struct ohm_error *e);

extern const struct tp_ops tp_telnet_ops;

#endif
