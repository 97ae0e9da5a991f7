/* The process-wide net-snmp lock (see snmp_lock.h). */
#include <errno.h>
#include <time.h>
#include <pthread.h>

#include "snmp_int.h"

static pthread_once_t lock_once = PTHREAD_ONCE_INIT;
static pthread_mutex_t lock;

static void lock_init(void) {
  pthread_mutexattr_t a;
  pthread_mutexattr_init(&a);
  pthread_mutexattr_settype(&a, PTHREAD_MUTEX_RECURSIVE);
  pthread_mutex_init(&lock, &a);
  pthread_mutexattr_destroy(&a);
}

void snmp_lock(void) {
  pthread_once(&lock_once, lock_init);
  pthread_mutex_lock(&lock);
}

void snmp_unlock(void) {
  pthread_mutex_unlock(&lock);
}

struct synch {
  int done, status;
  netsnmp_pdu *resp;
};

/* As net-snmp's own synchronous callback: a Report is an error. */
static int synch_cb(int op, netsnmp_session *s, int reqid, netsnmp_pdu *pdu,
                    void *magic) {
  struct synch *st = magic;
  (void)reqid;
  if (op == NETSNMP_CALLBACK_OP_RESEND) return 1; /* still waiting */
  st->done = 1;
  st->status = STAT_ERROR;
  if (op == NETSNMP_CALLBACK_OP_RECEIVED_MESSAGE &&
      pdu->command == SNMP_MSG_REPORT)
    s->s_snmp_errno = snmpv3_get_report_type(pdu);
  else if (op == NETSNMP_CALLBACK_OP_RECEIVED_MESSAGE)
    st->status = (st->resp = snmp_clone_pdu(pdu)) ? STAT_SUCCESS : STAT_ERROR;
  else if (op == NETSNMP_CALLBACK_OP_TIMED_OUT) {
    s->s_snmp_errno = SNMPERR_TIMEOUT;
    st->status = STAT_TIMEOUT;
  }
  return 1;
}

/* One turn of the wait, entered and left with the lock held: the select
 * itself runs without it. */
static void synch_turn(void *sess, netsnmp_large_fd_set *fds) {
  struct timeval tv = {0, 100000};
  int maxfd = 0, block = 1, cnt;
  NETSNMP_LARGE_FD_ZERO(fds);
  snmp_sess_select_info2(sess, &maxfd, fds, &tv, &block);
  if (block || tv.tv_sec > 0 || tv.tv_usec > 100000)
    tv = (struct timeval){0, 100000};
  snmp_unlock();
  cnt = netsnmp_large_fd_set_select(maxfd, fds, NULL, NULL, &tv);
  snmp_lock();
  if (cnt > 0) snmp_sess_read2(sess, fds);
  if (cnt < 0 && errno != EINTR) { /* no busy loop on a broken socket */
    struct timespec ts = {0, 10000000};
    nanosleep(&ts, NULL);
  }
  /* every turn: the request's own timeout and retries end the wait even
   * when select keeps failing */
  snmp_sess_timeout(sess);
}

int snmp_lock_synch(void *sess, netsnmp_pdu *pdu, netsnmp_pdu **resp) {
  struct synch st = {0, STAT_ERROR, NULL};
  netsnmp_large_fd_set fds;
  *resp = NULL;
  snmp_lock();
  if (!snmp_sess_async_send(sess, pdu, synch_cb, &st)) {
    snmp_free_pdu(pdu);
    snmp_unlock();
    return STAT_ERROR;
  }
  netsnmp_large_fd_set_init(&fds, FD_SETSIZE);
  while (!st.done)
    synch_turn(sess, &fds);
  netsnmp_large_fd_set_cleanup(&fds);
  snmp_unlock();
  *resp = st.resp;
  return st.status;
}
