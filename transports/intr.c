/* Interrupting blocked transport calls (Ctrl-C).
 *
 * libmodbus (and other libraries) retry select() on EINTR, so a flag set by
 * a SIGINT handler alone cannot stop a call blocked on a silent device.
 * Transports register the sockets they block on in a small fixed table;
 * tp_interrupt(), safe to call from a signal handler, sets tp_interrupted and
 * shutdown()s each registered socket, which wakes the blocked call with an
 * EOF or EPIPE. The transport then sees tp_interrupted and returns
 * OHM_EINTR; its connection is dead and is reopened by the next call. */
#include "transport.h"

#include <sys/socket.h>

#define TP_INTR_SLOTS 64

/* fd + 1 per slot, 0 when free: a zeroed table is empty. Lock-free
 * atomics, so worker threads (ohm poll) may register concurrently and the
 * signal handler may read at any time. */
static int slots[TP_INTR_SLOTS];

int tp_intr_register(int fd) {
  if (fd < 0) return -1;
  for (int i = 0; i < TP_INTR_SLOTS; i++) {
    int expect = 0;
    if (__atomic_compare_exchange_n(&slots[i], &expect, fd + 1, 0,
                                    __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
      return i;
  }
  return -1; /* table full: this socket just cannot be interrupted early */
}

void tp_intr_unregister(int slot) {
  if (slot >= 0 && slot < TP_INTR_SLOTS)
    __atomic_store_n(&slots[slot], 0, __ATOMIC_SEQ_CST);
}

void tp_interrupt(void) {
  tp_interrupted = 1;
  for (int i = 0; i < TP_INTR_SLOTS; i++) {
    int fd = __atomic_load_n(&slots[i], __ATOMIC_SEQ_CST) - 1;
    if (fd >= 0)
      shutdown(fd, SHUT_RDWR); /* async-signal-safe; ENOTSOCK is harmless */
  }
}
