/* What the byte-stream transports (serial://, tcp://) share: exclusive use
 * of one bus line and the poll()-based reads and writes on a file
 * descriptor (transports/line.c).
 *
 * Exclusive use: one struct tp_busy per line (a tty's real path, or
 * "tcp:HOST:PORT") in the process, shared by every transport open on it.
 * tp_busy_lock takes its mutex (threads of `ohm serve` take turns) and an
 * flock (other ohm processes take turns): a request and its reply are never
 * interleaved with another's on the same bus. */
#ifndef OHM_TRANSPORTS_LINE_H
#define OHM_TRANSPORTS_LINE_H

#include <stddef.h>

#include "../util/err.h"

struct tp_busy;

/* The line named key; fd is flocked on lock (a tty), or -1 for a lock file
 * in $XDG_RUNTIME_DIR (else /tmp) named after key. The fd is duplicated:
 * the caller keeps its own. Release with tp_busy_put. */
int tp_busy_get(const char *key, int fd, struct tp_busy **out,
                struct ohm_error *e);
void tp_busy_put(struct tp_busy *b);

/* Wait at most secs for the line; OHM_ETIMEDOUT "line in use by another
 * process" otherwise. Every successful lock is paired with an unlock. */
int tp_busy_lock(struct tp_busy *b, double secs, struct ohm_error *e);
void tp_busy_unlock(struct tp_busy *b);

/* Read 1..n bytes from a non-blocking fd within secs: the count, 0 on
 * timeout, OHM_EIO (peer closed, errno) or OHM_EINTR. what names the line
 * in messages. A tty's read of 0 means "nothing yet" (tty 1), a socket's
 * that the peer closed (tty 0). */
long tp_fd_read(int fd, int tty, void *buf, size_t n, double secs,
                const char *what, struct ohm_error *e);
/* Write all n bytes within secs; 0, OHM_ETIMEDOUT or OHM_EIO. */
int tp_fd_write(int fd, const void *buf, size_t n, double secs,
                const char *what, struct ohm_error *e);
/* Discard every byte already readable (stale replies); returns the count. */
size_t tp_fd_drain(int fd);

#endif
