/* Failed logins of the daemons (NUT, the console): passwords compared in
 * constant time, a delay that grows with each failure from one client
 * address (across its connections), a lock-out of the address after
 * LG_LOCK_AFTER failures in a row, and a log line per failure naming the
 * user and the address, never the password. */
#ifndef OHM_SHELL_SERVE_LOGIN_H
#define OHM_SHELL_SERVE_LOGIN_H

#define LG_LOCK_AFTER 5         /* failures in a row, then locked out */
#define LG_LOCK_MS (300 * 1000) /* for this long */
#define LG_DELAY_MS 500         /* first failure; doubles each time */

/* 1 if a and b are equal; the time taken depends on their lengths only. */
int lg_equal(const char *a, const char *b);

/* Before checking credentials from addr: waits until the address's delay
 * has passed (returning early once stop(ctx) says so). OHM_EACCES if the
 * address is locked out (logged at most every 10 s), else 0. */
int lg_before(const char *proto, const char *addr, int (*stop)(void *),
              void *ctx);
/* A failure: logged, counted, and waited for (the growing delay). */
void lg_failed(const char *proto, const char *addr, const char *user,
               int (*stop)(void *), void *ctx);
/* A success clears the address's failures. */
void lg_ok(const char *addr);

/* Fuzzing only: no waiting at all. */
void lg_no_delays(int on);

#endif
