/* Parallel polling: read every var of many devices at once. Modbus TCP
 * devices at numeric addresses are read from the calling thread in one
 * epoll loop when the caller gives open_lazy (poll_mb.c); the rest of the
 * network devices run on worker threads, each device's transport used
 * by one thread at a time (one libmodbus context per device, never shared);
 * devices on one RS485 line (same tty) form one group that a single worker
 * reads strictly one after another: one bus, one master; SNMP agents are
 * one group read in one event loop (net-snmp's asynchronous API), at most
 * 128 agents open and in flight at once.
 *
 * The poller never prints; results go to the caller's `done` callback. */
#ifndef OHM_DEVICES_POLL_H
#define OHM_DEVICES_POLL_H

#include <stddef.h>

#include "device.h"

struct poll_target {
  const char *name; /* borrowed; what results and messages call it */
  const char *bus;  /* RS485 line (tty path) or NULL: see poll_bus_of */
  int snmp;         /* an snmp:// device: all of them are read together
                       from one thread (dev_snmp_read_many), one GET each */
  int mbtcp;        /* modbus-tcp:// at a numeric address: with open_lazy,
                       read in one event loop (see poll_is_mbtcp) */
};

struct poll_result {
  int rc;                       /* 0 or the OHM_E* code of the failure */
  struct ohm_error err;         /* detail when rc != 0 */
  const struct dev *dev;        /* NULL if the open failed */
  const struct dev_map *map;    /* NULL if the open failed */
  const struct dev_value *vals; /* map->nvars values when rc == 0 */
  double started;               /* unix time the attempt began */
  double duration;              /* seconds it took (open + read) */
};

/* Open target i (inventory name or URI) on a worker thread. */
typedef int (*poll_open_fn)(void *ctx, size_t i, struct dev **out,
                            struct ohm_error *e);
/* One call per polled target, serialised (never two at once), on a worker
 * thread. r and everything it points to is valid only during the call. */
typedef void (*poll_done_fn)(void *ctx, size_t i, const struct poll_result *r);

struct poll_opts {
  int jobs;          /* worker threads; <= 0: POLL_DEFAULT_JOBS */
  int keep_open;     /* keep devices open between runs (serve) */
  poll_open_fn open; /* required */
  poll_done_fn done; /* may be NULL */
  /* releases a device the set is done with; NULL: dev_close. Lets a
   * caller lend devices it keeps (open returns them, close does nothing) */
  void (*close)(void *ctx, size_t i, struct dev *d);
  /* optional, one-shot runs only (not keep_open): open target i with its
   * transport not connected (tp_opts.defer); then the mbtcp targets are
   * read from the calling thread in one epoll loop, at most
   * POLL_WINDOW in flight (the descriptor limit is raised for them),
   * while the other targets go to the workers */
  poll_open_fn open_lazy;
  /* optional: the event loop is about to wait (flush output now) */
  void (*idle)(void *ctx);
  void *ctx;
};

#define POLL_WINDOW 1024

#define POLL_DEFAULT_JOBS 32

struct poll_set;

/* A set over n targets (array and names borrowed for the set's life).
 * Nothing is opened yet. */
int poll_set_new(const struct poll_target *t, size_t n,
                 const struct poll_opts *o, struct poll_set **out,
                 struct ohm_error *e);

/* Poll the targets with due[i] != 0 (due NULL: all) and wait for them.
 * Returns how many failed (>= 0), or a negative code if no worker could
 * start. Not reentrant: one run at a time per set. */
int poll_set_run(struct poll_set *s, const unsigned char *due,
                 struct ohm_error *e);

/* Run fn on target i's device (opened if needed) while holding its group's
 * lock, so a write never overlaps a read on the same device or bus. */
typedef int (*poll_dev_fn)(struct dev *d, void *arg, struct ohm_error *e);
int poll_set_with_dev(struct poll_set *s, size_t i, poll_dev_fn fn, void *arg,
                      struct ohm_error *e);

/* Close every device and free the set; safe on NULL. */
void poll_set_free(struct poll_set *s);

/* One-shot: new + run + free. Returns failures (>= 0) or a code < 0. */
int poll_run(const struct poll_target *t, size_t n, const struct poll_opts *o,
             struct ohm_error *e);

/* Groups n items by bus, for one thread per line: items whose key(ctx, i)
 * is the same string form one group; an item without a key (NULL, or key
 * itself NULL) is a group of its own. Groups are numbered as their first
 * item appears; order[0..n) lists the items group by group, each group in
 * item order, and group g is order[gstart[g]..gstart[g + 1]) (gstart has
 * room for n + 1). Keys are borrowed for the call. 0 with *ngroups set, or
 * OHM_ENOMEM (nothing written). */
int poll_group_by_bus(size_t n, const char *(*key)(void *ctx, size_t i),
                      void *ctx, size_t *order, size_t *gstart,
                      size_t *ngroups);

/* The RS485 line a device URI sits on (its tty, for modbus-rtu:// and
 * serial://) copied into buf; 0 if it is not on a shared line. */
int poll_bus_of(const char *uri, char *buf, size_t n);
/* The same for an open device: its line's tty path, or NULL. */
const char *poll_dev_bus(const struct dev *d);

/* 1 if uri is an snmp:// device (see poll_target.snmp). */
int poll_is_snmp(const char *uri);

/* 1 if uri is a modbus-tcp:// device at a numeric IPv4 or IPv6 address
 * (see poll_target.mbtcp); a host name is resolved the blocking way. */
int poll_is_mbtcp(const char *uri);

/* Stable shard membership for --shard K/N (1 <= k <= n): a hash of the
 * device name, so each name lands on the same host whatever the order. */
int poll_in_shard(const char *name, int k, int n);

#endif
