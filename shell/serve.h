/* `ohm serve`: a polling cache and the listeners that read it (NUT,
 * Prometheus, the Telnet console). The cache polls the inventory's devices
 * on an interval (devices/poll.h) and keeps each device's latest values with
 * their timestamps and a state:
 *
 *   SV_NONE    not read yet (just started or reloaded)
 *   SV_OK      the last poll succeeded; values are current
 *   SV_STALE   the last poll failed; the values shown are the last good
 *              ones, younger than 3 intervals (NUT answers ERR DATA-STALE)
 *   SV_FAILED  no good read within 3 intervals: values are dropped, never
 *              presented as good
 *
 * Threads: the cache runs its own poller thread; listeners run on theirs
 * and may call every sv_cache_* function concurrently. Devices are named by
 * their inventory (or URI) names; an index i is valid until the next
 * reload (SIGHUP), so long-lived listeners look devices up by name.
 *
 * Writes (sv_cache_set / sv_cache_cmd) go to the device at once, serialised
 * with the poller on the same device or RS485 line, and trigger a re-read. */
#ifndef OHM_SHELL_SERVE_H
#define OHM_SHELL_SERVE_H

#include <stddef.h>

#include "../devices/device.h"
#include "shell.h"

enum sv_state { SV_NONE = 0, SV_OK, SV_STALE, SV_FAILED };

/* "none", "ok", "stale", "failed". */
const char *sv_state_name(enum sv_state s);

struct sv_cache;

/* One device's copy of the cache, taken under the cache's lock: the caller
 * owns it and frees it with sv_snap_free. */
struct sv_snap {
  char *name;                /* inventory name or URI as given */
  const struct dev_map *map; /* borrowed; NULL until the first open */
  struct dev_value *vals;    /* map->nvars values; NULL unless OK/STALE */
  unsigned char *cmds;       /* map->ncmds: 1 if the device carries that command
                                over its transport; NULL until it has opened */
  enum sv_state state;
  double updated;  /* unix time of vals (last good read); 0 if none */
  double polled;   /* unix time of the last attempt; 0 if none */
  double duration; /* seconds the last attempt took */
  double interval; /* this device's polling interval, seconds */
  char scheme[16]; /* transport of the last open ("modbus-tcp"), or "" */
  char error[512]; /* last failure ("" when OK), never a secret */
};

void sv_snap_free(struct sv_snap *s);

/* Devices in the cache (changes only on reload). */
size_t sv_cache_count(struct sv_cache *c);

/* A number that changes whenever the cached values may have: after each
 * poll round, a write's read-back and a reload (what a listener that
 * renders everything once per round compares). */
unsigned long sv_cache_gen(struct sv_cache *c);

/* Copy device i (0 <= i < count) or the device called name. OHM_ENOENT if
 * there is none. */
int sv_cache_snap(struct sv_cache *c, size_t i, struct sv_snap *out);
int sv_cache_snap_name(struct sv_cache *c, const char *name,
                       struct sv_snap *out);

/* Write var = text (validated by the driver map) / run a command on the
 * named device, then read back (the var written; every var after a
 * command) into the cache before returning, so a read right after shows
 * the new values; the poller re-reads too. Blocks up to the device's
 * timeout; errors as dev_set / dev_cmd, OHM_ENOENT for an unknown device
 * (a failed read-back is not an error: the write happened). */
int sv_cache_set(struct sv_cache *c, const char *name, const char *var,
                 const char *text, struct ohm_error *e);
int sv_cache_cmd(struct sv_cache *c, const char *name, const char *cmd,
                 struct ohm_error *e);
/* Run fn on device name, serialised with the poller (no re-read). */
int sv_cache_with_dev(struct sv_cache *c, const char *name,
                      int (*fn)(struct dev *d, void *arg, struct ohm_error *e),
                      void *arg, struct ohm_error *e);

/* ---- lifecycle, used by shell/cmd_serve.c ---- */

struct sv_config {
  const struct sh_opts *opts; /* driver, timeout, retries; borrowed */
  double interval;            /* default seconds between polls */
  int jobs;                   /* poller threads */
  int shard_k, shard_n;       /* --shard K/N; shard_n 0: all */
  /* Called after every poll of a device (from the poller, serialised):
   * its name, map and values (NULL unless ok); must not block. */
  void (*on_read)(void *ctx, const char *name, const struct dev_map *m,
                  const struct dev_value *vals, int ok);
  void *on_read_ctx;
};

/* One log line to stderr, or syslog after serve_log_syslog(1): serve_log
 * for problems (always), serve_info for progress (a device answering, a
 * command done), which -q silences through serve_log_quiet(1). */
void serve_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void serve_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void serve_log_syslog(int on);
void serve_log_quiet(int on);

/* A cache over names (inventory names or URIs; n == 0: the whole
 * inventory). Per-device `interval` fields of the inventory override
 * cfg->interval. Starts the poller thread. Caller frees with
 * sv_cache_free (stops the poller, closes devices). */
int sv_cache_new(const struct sv_config *cfg, struct inventory *inv,
                 char **names, size_t n, struct sv_cache **out,
                 struct ohm_error *e);
void sv_cache_free(struct sv_cache *c);

/* Replace the device list (SIGHUP): inv is the reloaded inventory
 * (borrowed; must outlive the cache or the next reload). */
int sv_cache_reload(struct sv_cache *c, struct inventory *inv,
                    struct ohm_error *e);

/* Block until every device has been attempted once, or `seconds` pass. */
void sv_cache_wait_first(struct sv_cache *c, double seconds);

/* ---- listeners: start on their own threads, stop on SIGTERM ---- */

/* ADDR is HOST:PORT, [V6]:PORT, PORT or :PORT (127.0.0.1): a wildcard
 * must be written out (serve/listen.h). Each start returns
 * once the socket listens (so tests can connect at once) or fails with e
 * set. stop closes the listener and its clients; safe if not started. */
int serve_nut_start(struct sv_cache *c, const char *addr,
                    const struct sh_opts *o, struct ohm_error *e);
void serve_nut_stop(void);
/* SIGHUP: take the NUT users from the reloaded inventory (borrowed only
 * during the call). */
void serve_nut_reload(struct inventory *inv);
/* Tests and fuzzing: the NUT session over cache c on raw bytes in[0..n)
 * (changed) as from one client, without a socket. The replies go to
 * *reply (caller frees; NULL if none); returns their length. */
size_t serve_nut_feed(struct sv_cache *c, char *in, size_t n, char **reply);
/* Tests and fuzzing: the answer to one HTTP request head req[0..n)
 * (NUL-terminated), status line to body, in *reply (caller frees). */
size_t serve_prom_answer(struct sv_cache *c, char *req, size_t n, char **reply);
int serve_prom_start(struct sv_cache *c, const char *addr, struct ohm_error *e);
/* The SNMP agent (shell/serve/snmp_serve.c): its own on UDP addr, or a
 * subagent of the snmpd at AgentX socket agentx (one of the two); inv
 * (borrowed during the call) gives the `agent` section. */
int serve_snmp_start(struct sv_cache *c, const char *addr, const char *agentx,
                     struct inventory *inv, struct ohm_error *e);
void serve_snmp_stop(void);
/* SIGHUP, after the cache's reload: serve the new device list. */
void serve_snmp_reload(struct sv_cache *c);
/* MQTT (shell/serve/mqtt.c): --mqtt mqtt://[USER@]BROKER[:PORT][?...];
 * inv (borrowed during the call) gives the `mqtt` section. */
int serve_mqtt_start(struct sv_cache *c, const char *uri, struct inventory *inv,
                     struct ohm_error *e);
void serve_mqtt_stop(void);
/* SIGHUP, after the cache's reload: the new device list (inv borrowed
 * during the call); devices gone are published offline. */
void serve_mqtt_reload(struct inventory *inv);
void serve_prom_stop(void);

/* The BPS2000v2 console (shell/serve_telnet.c, the telnet helper's): reads
 * the same cache, writes through sv_cache_set / sv_cache_cmd, finds console
 * accounts through sh_inventory(o). Weak: a build without it says so. */
int serve_telnet_start(struct sv_cache *c, const char *addr,
                       const struct sh_opts *o, struct ohm_error *e)
    __attribute__((weak));
void serve_telnet_stop(void) __attribute__((weak));

/* The console's own options, which cmd_serve.c (and cmd_sim.c) parse and
 * hand over before serve_telnet_start: --user NAME --password-file FILE
 * (an administrator account besides the inventory's `console` section),
 * --idle-timeout SECONDS (default 300), --max-sessions N (default 8).
 * Strings are borrowed until serve_telnet_stop. */
struct serve_telnet_opts {
  const char *user;
  const char *password_file;
  double idle_timeout;
  int max_sessions;
};
void serve_telnet_set_opts(const struct serve_telnet_opts *t)
    __attribute__((weak));
/* SIGHUP: take the console accounts again (inv, the reloaded inventory,
 * borrowed during the call; --password-file read again); sessions of
 * accounts that are gone are ended. On error the old ones stay. */
void serve_telnet_reload(struct inventory *inv) __attribute__((weak));
/* Load the console's accounts as serve_telnet_start would (after
 * serve_telnet_set_opts), and say what is wrong without listening. */
int serve_telnet_accounts_check(const struct sh_opts *o, struct ohm_error *e)
    __attribute__((weak));
/* Tests and fuzzing: one console session over cache c, fed data[0..n) as
 * from a client (telnet protocol, line editing, login as fuzz/fuzz, menus),
 * its output dropped. (Fuzzers call lg_no_delays(1) first.) */
void serve_telnet_feed(struct sv_cache *c, const char *data, size_t n)
    __attribute__((weak));
/* getopt_long entries for the four options above (values 0x7401..0x7404)
 * and their handler: returns 1 if opt was one of them, -1 if its value is
 * bad (--idle-timeout 0.1..86400 s, --max-sessions 1..1000), else 0. */
#define SERVE_TELNET_LONG_OPTS                                                 \
  {"user", required_argument, NULL, 0x7401},                                   \
      {"password-file", required_argument, NULL, 0x7402},                      \
      {"idle-timeout", required_argument, NULL, 0x7403}, {                     \
    "max-sessions", required_argument, NULL, 0x7404                            \
  }
int serve_telnet_opt(struct serve_telnet_opts *t, int opt, const char *arg)
    __attribute__((weak));

/* ---- shared by poll, record, watch and serve (shell/cmd_poll.c) ---- */

struct poll_target;

/* The devices a fleet command works on: DEVICE arguments (names or URIs),
 * else the whole inventory; --shard K/N keeps a stable subset. */
struct fleet {
  const struct sh_opts *o; /* borrowed */
  struct inventory *inv;   /* borrowed (sh_inventory) */
  char **names;            /* n names as shown (inv_redact), owned */
  char **opens;            /* n names as given, to open; never print */
  char **buses;            /* n RS485 lines or NULL, owned */
  struct poll_target *t;   /* n targets over names/buses, owned */
  size_t n;
  char **pats;        /* VAR patterns (fnmatch), borrowed strings; owned */
  size_t npats;       /* 0: every variable */
  unsigned char *hit; /* per pattern: matched a var of a map seen */
};

/* Fill f; shard_n 0 means no sharding. Prints nothing; e says what is
 * wrong (bad shard, empty inventory). Also loads the built-in drivers once
 * here, so worker threads only ever look them up. */
int fleet_init(struct fleet *f, const struct sh_opts *o, char **args,
               size_t nargs, int shard_k, int shard_n, struct ohm_error *e);
/* Same over a given inventory (borrowed), for serve's reload. */
int fleet_init_inv(struct fleet *f, const struct sh_opts *o,
                   struct inventory *inv, char **args, size_t nargs,
                   int shard_k, int shard_n, struct ohm_error *e);
/* fleet_init over args that mix devices (inventory names, URIs) and VAR
 * patterns ("input.*.current"), as poll, record and watch take them. */
int fleet_init_vars(struct fleet *f, const struct sh_opts *o, char **args,
                    size_t nargs, int shard_k, int shard_n,
                    struct ohm_error *e);
/* Whether var name is selected by f's patterns (all when none). */
int fleet_wanted(const struct fleet *f, const char *name);
/* Note the vars of a map read (thread-safe only under the poller's done
 * serialisation); fleet_unmatched: the first pattern that matched no var
 * of any map noted, or NULL. */
void fleet_note_map(struct fleet *f, const struct dev_map *m);
const char *fleet_unmatched(const struct fleet *f);
void fleet_free(struct fleet *f);
/* poll_open_fn over a struct fleet (ctx): inv_open with the options. */
int fleet_open(void *ctx, size_t i, struct dev **out, struct ohm_error *e);

/* getopt_long over a command's own options (returned to handle(), which
 * returns 0 or -1 after printing) plus the common ones; returns optind or
 * -1 (usage error printed). --help prints usage and exits 0. */
int fleet_getopt(int argc, char **argv, struct sh_opts *o,
                 const struct option *own, const char *own_short,
                 int (*handle)(void *ctx, int opt, const char *arg), void *ctx,
                 const char *usage);

/* `ohm record`'s --every ("90", "30s", "20m", "1h", "1d", "500ms" ->
 * seconds, at most a year) and --max-size ("100M", "5G", "4096" -> bytes,
 * at least 1, at most 2^50): decimal only; -1 if malformed or out of
 * range. */
#define RECORD_EVERY_MAX (366 * 86400.0)
#define RECORD_SIZE_MAX 1125899906842624.0
double record_parse_duration(const char *s);
long long record_parse_size(const char *s);

/* "K/N" with 1 <= K <= N; -1 if malformed. */
int fleet_parse_shard(const char *s, int *k, int *n);

#endif
