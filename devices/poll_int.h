/* Inside the poller: the set, shared by poll.c (worker threads, SNMP)
 * and poll_mb.c (the Modbus TCP event loop). Not for other callers. */
#ifndef OHM_DEVICES_POLL_INT_H
#define OHM_DEVICES_POLL_INT_H

#include <pthread.h>
#include <stdatomic.h>

#include "poll.h"

struct poll_set {
  const struct poll_target *t;
  size_t n;
  struct poll_opts o;
  size_t ngroups;
  size_t *gstart; /* ngroups + 1: group g is order[gstart[g]..gstart[g+1]) */
  size_t *order;  /* target indices, grouped */
  size_t *group_of;
  pthread_mutex_t *glock;
  struct dev **devs; /* kept open between runs when o.keep_open */
  pthread_mutex_t done_lock;
  /* the current run */
  const unsigned char *due;
  atomic_size_t next;
  atomic_int failed;
};

/* Report target i (its device d or NULL, r filled in, t0 its ohm_mono()
 * start) through the caller's done, serialised, and close d unless kept. */
void poll_finish(struct poll_set *s, size_t i, struct dev *d,
                 struct poll_result *r, double t0);

/* Read targets idx[0..n) (Modbus TCP at numeric addresses, opened with
 * o.open_lazy) from this thread in one epoll loop; each is reported with
 * poll_finish. A device the loop cannot read itself (a driver with its own
 * engine, a block refused, -v) is read the blocking way in place. */
void poll_mb_run(struct poll_set *s, const size_t *idx, size_t n);

#endif
