/* Non-blocking Modbus TCP for an event loop (devices/poll_mb.c): one
 * connection, one request at a time, driven by the caller's epoll. The
 * caller owns the loop, the deadlines and the retry policy; this file
 * owns the socket and the bytes. Replies are checked whole as the blocking
 * path checks them (modbus_adu.h): another transaction's reply is read and
 * discarded, anything else that does not match fails the request.
 *
 * No allocation: the state is a fixed struct the caller keeps. */
#ifndef OHM_TRANSPORTS_MODBUS_NB_H
#define OHM_TRANSPORTS_MODBUS_NB_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "modbus_adu.h"
#include "transport.h"

struct mb_nb {
  int fd;         /* -1 when closed */
  int connecting; /* waiting for the connect to finish (EPOLLOUT) */
  int strays;     /* other transactions' replies read for this request */
  size_t got;     /* bytes of the reply read so far */
  struct mb_adu q;
  uint8_t buf[MB_ADU_MAX];
  char why[96]; /* what was wrong with a malformed reply */
};

/* The numeric address of host:port into sa (no name lookup); 0, or -1
 * when host is a name (resolve it the blocking way). */
int mb_nb_addr(const char *host, int port, struct sockaddr_storage *sa,
               socklen_t *len);

/* Start a non-blocking connect and add the socket to epoll fd ep (edge
 * triggered, in and out, data.u64 = key). 0 (in progress or done), or -1
 * with errno. */
int mb_nb_connect(struct mb_nb *c, int ep, uint64_t key,
                  const struct sockaddr *sa, socklen_t len);

/* The connect's verdict once epoll reported events on the socket: 0
 * connected (or was already), 1 not yet, -1 with errno (ECONNREFUSED ...). */
int mb_nb_connected(struct mb_nb *c, unsigned events);

/* Send request q (its tid chosen by the caller); stale bytes are dropped
 * first. 0, or -1 with errno. */
int mb_nb_send(struct mb_nb *c, const struct mb_adu *q);

/* Read what has arrived. 1: the reply to the request is in dst (its
 * registers or bits); 0: not complete yet; -1 with errno as for
 * mb_adu_transact (EMBBADDATA with why, EMBBADSLAVE, MODBUS_ENOBASE + the
 * exception, ECONNRESET when the peer closed). */
int mb_nb_recv(struct mb_nb *c, uint16_t *dst);

/* The socket's readiness now, as epoll events (0: nothing), without
 * waiting: for a deadline that passed while the caller was busy. */
unsigned mb_nb_poll(const struct mb_nb *c);

/* Close the socket (it leaves epoll with it); safe when closed. */
void mb_nb_close(struct mb_nb *c);

/* The blocking transport's error for a failed request of function fc on
 * t (a modbus-tcp:// transport): err an errno as above, why its detail,
 * tries the attempts made. The same OHM_E* code and message `ohm get`
 * gives for the same failure. */
int tp_modbus_fail(struct tp *t, int err, const char *why, int fc, int addr,
                   int n, int tries, struct ohm_error *e);

/* The blocking transport's error for a connect that failed with err. */
int tp_modbus_connect_fail(struct tp *t, int err, struct ohm_error *e);

/* The same, for the reconnect after a dropped connection (the request of
 * function fc named in the message). */
int tp_modbus_redial_fail(struct tp *t, int err, int fc, int addr, int n,
                          struct ohm_error *e);

/* The blocking transport's error for a request of function fc cut short
 * by tp_interrupt ("read registers 0-98 from unit 1 interrupted"). */
int tp_modbus_interrupted(struct tp *t, int fc, int addr, int n,
                          struct ohm_error *e);

/* The blocking transport's retry policy after a request failed with err:
 * 1 to try again on a new connection (tries and redials counted as it
 * counts them: tries is incremented by the caller before each attempt),
 * 0 to give up. */
int tp_modbus_retry(const struct tp *t, int err, int *tries, int *redials);

#endif
