/* The transport interface: one struct of function pointers per URI scheme,
 * found in a registry by scheme (transports/registry.c). A transport knows
 * nothing about devices: it moves registers, OIDs or console lines.
 *
 * Ownership: tp_open allocates the struct tp and copies the URI; tp_free
 * closes and frees it. A transport instance is used by one thread at a time. */
#ifndef OHM_TRANSPORTS_TRANSPORT_H
#define OHM_TRANSPORTS_TRANSPORT_H

#include <stddef.h>
#include <stdint.h>

#include "../util/err.h"
#include "uri.h"

enum tp_kind {
  TP_REGS = 1,    /* Modbus-style 16-bit registers */
  TP_OIDS = 2,    /* SNMP objects */
  TP_CONSOLE = 3, /* a menu console (Telnet) */
  TP_STREAM = 4,  /* raw bytes (serial) */
};

/* One trace event (-v): a request going out, its reply, or its failure.
 * Transports never print: they hand events to the shell's tracer. */
struct tp_trace_ev {
  const char *dev;   /* the transport's name (redacted URI) */
  char dir;          /* '>' request, '<' reply, '!' failure */
  const void *bytes; /* the frame (Modbus PDU with its unit), or NULL */
  size_t n;
  const char *text; /* a description (SNMP PDU, console text), or NULL */
  double secs;      /* since the request went out ('<' and '!') */
};
typedef void (*tp_trace_fn)(void *ctx, const struct tp_trace_ev *ev);

struct tp_opts {
  double timeout; /* seconds per request; <= 0 means the default, 2 s */
  int retries;    /* extra attempts after a timeout; < 0 means default, 1 */
  int verbose;
  tp_trace_fn trace; /* NULL: no tracing; may be called from any thread */
  void *trace_ctx;
  int defer; /* open without connecting: the first request connects (the
                fleet poller connects Modbus TCP itself, modbus_nb.h) */
};

struct tp;

struct tp_ops {
  const char *scheme; /* "modbus-tcp" */
  const char *desc;   /* one line for `ohm drivers` */
  enum tp_kind kind;
  int default_port; /* 0 if none */

  /* open: t->uri and t->opts are set; allocate t->priv and connect. */
  int (*open)(struct tp *t, struct ohm_error *e);
  /* close: release t->priv; safe to call twice. */
  void (*close)(struct tp *t);

  /* TP_REGS: read n (1..125) holding registers (function 03) from unit. */
  int (*read_regs)(struct tp *t, int unit, int addr, int n, uint16_t *dst,
                   struct ohm_error *e);
  /* TP_REGS: write one register (function 06). */
  int (*write_reg)(struct tp *t, int unit, int addr, uint16_t val,
                   struct ohm_error *e);

  /* TP_REGS: any Modbus function fc of 1-6, 15, 16 (modbus_adu.h): reads
   * fill data (bits as 0/1), writes take it (05, 06: data[0]). */
  int (*modbus)(struct tp *t, int unit, int fc, int addr, int n, uint16_t *data,
                struct ohm_error *e);

  /* Other kinds add their own typed entry points below this line
   * (see transports/snmp.h, transports/telnet.h). Keep NULL if unused. */
  const void *ext; /* kind-specific table of functions */

  /* Query parameters this scheme reads besides the common `unit` and
   * `driver`, NULL-terminated; any other is refused (a mistyped ?unti=2
   * must not read or write unit 1). NULL: no parameters of its own. */
  const char *const *params;
};

/* TP_STREAM (serial://, tcp://): ops->ext points at one of these. Both wait at
 * most t->opts.timeout. */
struct tp_stream_ops {
  /* Read 1..n bytes: returns the count, 0 if nothing came within the
   * timeout, or a negative OHM_E*. */
  long (*read)(struct tp *t, void *buf, size_t n, struct ohm_error *e);
  /* Write all n bytes; 0, or OHM_ETIMEDOUT / OHM_EIO. */
  int (*write)(struct tp *t, const void *buf, size_t n, struct ohm_error *e);
  /* Discard bytes that came unasked (a late reply) before a request. */
  void (*flush)(struct tp *t);
  /* Exclusive use of the line for one request and its reply (other
   * threads and other ohm processes wait); 0 or a negative OHM_E*. */
  int (*lock)(struct tp *t, struct ohm_error *e);
  void (*unlock)(struct tp *t);
};

struct tp {
  const struct tp_ops *ops;
  struct ohm_uri uri;
  struct tp_opts opts; /* defaults filled in by tp_open */
  char *name;          /* redacted URI text, for messages */
  int unit;            /* ?unit=N, or the scheme's default */
  void *priv;
};

/* Look up a transport by scheme; NULL if this build has none. */
const struct tp_ops *tp_find(const char *scheme);

/* All transports, NULL-terminated, for `ohm drivers`. */
const struct tp_ops *const *tp_all(void);

/* OHM_EURI "unknown transport 'SCHEME'" (a usage error), with the
 * nearest known scheme when there is one. */
int tp_unknown_scheme(const char *scheme, struct ohm_error *e);

/* Parse uri, find its transport and open it. opts may be NULL. */
int tp_open(const char *uri, const struct tp_opts *opts, struct tp **out,
            struct ohm_error *e);

/* Same, from an already parsed URI (copied); name is the text messages
 * show (NULL: built from scheme, host and port; never a password). */
int tp_open_uri(const struct ohm_uri *u, const char *name,
                const struct tp_opts *opts, struct tp **out,
                struct ohm_error *e);

/* Close and free; safe on NULL. */
void tp_free(struct tp *t);

/* Hand one trace event to t's tracer, if any; t0 is ohm_mono() when the
 * request went out (0 for the request itself). */
void tp_trace(const struct tp *t, char dir, const void *bytes, size_t n,
              const char *text, double t0);

/* Thin wrappers that check the kind and return OHM_ENOTSUP otherwise. */
int tp_read_regs(struct tp *t, int unit, int addr, int n, uint16_t *dst,
                 struct ohm_error *e);
int tp_write_reg(struct tp *t, int unit, int addr, uint16_t val,
                 struct ohm_error *e);
int tp_modbus(struct tp *t, int unit, int fc, int addr, int n, uint16_t *data,
              struct ohm_error *e);

/* Set by the shell's SIGINT handler; long waits in transports poll it and
 * return OHM_EINTR so Ctrl-C stops a call blocked on a slow device. */
extern volatile int tp_interrupted;

/* Async-signal-safe: set tp_interrupted and shutdown() every socket that an
 * open transport registered, so a call blocked inside a library that retries
 * select() on EINTR (libmodbus) wakes up and returns OHM_EINTR. The shell's
 * SIGINT handler calls this; the shell clears tp_interrupted before the next
 * command. An interrupted transport reconnects on its next call. */
void tp_interrupt(void);
/* Register a socket a transport blocks on; returns a slot (or -1 if the
 * table is full: the socket is then just not interruptible). Unregister
 * before closing the socket. (transports/intr.c) */
int tp_intr_register(int fd);
void tp_intr_unregister(int slot);

struct sockaddr;
/* Connect a TCP socket to sa (len: a socklen_t) within secs
 * (transports/tcp.c). The socket,
 * non-blocking, close-on-exec, with TCP_NODELAY; or -1 with errno
 * (ETIMEDOUT when secs passed, EINTR after tp_interrupt). */
int tp_tcp_dial(const struct sockaddr *sa, unsigned len, double secs);

#endif
