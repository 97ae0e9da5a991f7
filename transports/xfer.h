/* Batch uploads (firmware, configuration files) over TFTP and FTP through
 * libcurl's multi interface: many targets on one multi handle, up to `jobs`
 * at a time, each target sending the same files in order.
 *
 * TFTP asks for an RFC 2348 block size (plus tsize and timeout, RFC 2349)
 * and, when the server answers the request with an ERROR instead of an OACK
 * or an ACK, sends again in plain RFC 1350 (CURLOPT_TFTP_NO_OPTIONS). FTP
 * puts in binary mode on a fresh connection per file, so the server sees a
 * QUIT after each one (a BM100 reboots on it) and the next file waits for
 * the unit to accept connections again.
 *
 * A library: nothing is printed; the caller learns what happens through
 * callbacks and the per-target results, and stops a batch with a flag. */
#ifndef OHM_TRANSPORTS_XFER_H
#define OHM_TRANSPORTS_XFER_H

#include <stddef.h>
#include <stdint.h>

#include "../util/err.h"
#include "uri.h"

enum xfer_method { XFER_TFTP = 1, XFER_FTP = 2 };

enum xfer_state {
  XS_PENDING = 0, /* not started */
  XS_ACTIVE,      /* a transfer is running */
  XS_WAITING,     /* between files (unit rebooting) or before a retry */
  XS_DONE,        /* every file sent */
  XS_FAILED,      /* gave up: err/msg say why */
  XS_INTERRUPTED, /* cancelled mid-transfer (or while waiting) */
  XS_SKIPPED,     /* cancelled before it started, or excluded by caller */
};

enum xfer_event {
  XE_START,       /* a try of file_idx begins (attempt counts tries) */
  XE_FALLBACK,    /* TFTP server refused options: again without them */
  XE_RETRY,       /* a try failed (msg), another follows */
  XE_FILE_DONE,   /* file_idx sent; the next one waits `settle` */
  XE_DONE,        /* all files sent */
  XE_FAILED,      /* msg says why */
  XE_INTERRUPTED, /* cancelled */
};

/* A file to send, read once into memory. */
struct xfer_file {
  char *path;   /* as given */
  char *remote; /* name on the server */
  unsigned char *data;
  size_t size;
  char sha256[65]; /* hex */
};

struct xfer_priv;

/* One target. The caller fills name and uri (xfer_target_init); xfer_run
 * fills the rest. */
struct xfer_target {
  char *name;         /* shown in events and reports; owned */
  struct ohm_uri uri; /* tftp:// or ftp://, owned copy */
  enum xfer_method method;
  enum xfer_state state;
  size_t file_idx;     /* file being (or last) sent */
  uint64_t bytes_sent; /* all files, current one included */
  uint64_t bytes_total;
  double t_start, t_end; /* xfer_now() seconds; 0 if never started */
  int attempt;           /* tries of the current file, from 1 */
  int no_options;        /* TFTP fell back to RFC 1350 */
  int err;               /* OHM_E* when failed or interrupted */
  char msg[256];
  struct xfer_priv *priv; /* internal, NULL outside xfer_run */
};

struct xfer_opts {
  int jobs;           /* transfers at once; <= 0: 8 */
  double timeout;     /* seconds a server may stay silent; <= 0: 5 */
  int retries;        /* extra tries after a transient failure; < 0: 1 */
  long blksize;       /* TFTP block size to ask for; 0: 8192; 512 .. 65464 */
  double settle;      /* seconds after a file before the next one */
  double reboot_wait; /* seconds the next file may wait for the unit */
  const volatile int *cancel; /* non-zero: stop everything (Ctrl-C) */
  /* Called from xfer_run's thread; t is borrowed for the call. */
  void (*on_event)(void *ud, const struct xfer_target *t, enum xfer_event ev);
  void (*on_tick)(void *ud); /* about every `tick` seconds */
  double tick;               /* <= 0: 0.2 */
  void *ud;
};

/* Monotonic seconds. */
double xfer_now(void);

/* Read path into f (once); remote NULL means its base name. An empty,
 * missing or unreadable file is an error naming it. */
int xfer_file_load(struct xfer_file *f, const char *path, const char *remote,
                   struct ohm_error *e);
void xfer_file_free(struct xfer_file *f);

/* Set t up for uri (tftp://HOST[:PORT] or ftp://[USER[:PASS]@]HOST[:PORT],
 * copied). name NULL: built from the URI without a password. */
int xfer_target_init(struct xfer_target *t, const char *name,
                     const struct ohm_uri *uri, struct ohm_error *e);
void xfer_target_free(struct xfer_target *t);

/* Check targets are reachable before anything is sent, all at once within
 * timeout seconds: FTP by a TCP connect, TFTP by a read request for a
 * name no server has (any answer, even an ERROR, means alive; a refusal by
 * ICMP means nothing listens). res[i]: 0 answered, OHM_ECONNREFUSED,
 * OHM_ETIMEDOUT (silent: a TFTP server may ignore reads), OHM_EIO. */
int xfer_probe(const struct xfer_target *ts, size_t n, double timeout, int *res,
               struct ohm_error *e);

/* Send files[0..nfiles) in order to each target in ts whose state is
 * XS_PENDING (others are left alone). Returns 0 when the batch ran (each
 * target's state says how it went), OHM_EINTR when cancelled, or an error
 * when nothing could start (libcurl missing). */
int xfer_run(struct xfer_target *ts, size_t n, const struct xfer_file *files,
             size_t nfiles, const struct xfer_opts *o, struct ohm_error *e);

const char *xfer_method_name(enum xfer_method m);
const char *xfer_state_name(enum xfer_state s);

#endif
