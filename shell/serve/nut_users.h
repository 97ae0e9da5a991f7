/* The NUT users of `ohm serve --nut`: the inventory's `nut.users` table
 * (who may SET VAR, which INSTCMDs, who is upsmon's primary), replaced
 * whole on SIGHUP, and the login check. Thread-safe: the clients' threads
 * read under a lock that a reload takes to write. */
#ifndef OHM_SERVE_NUT_USERS_H
#define OHM_SERVE_NUT_USERS_H

#include "../serve.h"

/* What a user may do, copied out under the users lock (a SIGHUP may
 * replace the users meanwhile). */
struct nut_grant {
  int can_set, primary;
  char instcmds[1024];
};

/* Replace the users by inv's `nut.users`; on an error in the config, none
 * (no login until it is fixed). 0 or a negative OHM_E* with e set. */
int nutu_load(struct inventory *inv, struct ohm_error *e);
/* Forget every user (passwords wiped); later reloads do nothing. */
void nutu_free(void);

/* Fill g for the user named user with password pass; -1 if there is none
 * (either may be NULL: none). */
int nutu_auth(const char *user, const char *pass, struct nut_grant *g);

/* Whether g may run the instant command cmd. */
int nutu_may_instcmd(const struct nut_grant *g, const char *cmd);

#endif
