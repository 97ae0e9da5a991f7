/* Shared by the shell's commands: common options, device opening by
 * inventory name or URI, one-line errors and output modes. Only shell/
 * prints. */
#ifndef OHM_SHELL_SHELL_H
#define OHM_SHELL_SHELL_H

#include <getopt.h>
#include <stdio.h>

#include "../devices/device.h"
#include "../lua/inventory.h"

enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2, EXIT_PARTIAL = 3 };
enum sh_mode { SH_TABLE, SH_JSON, SH_CSV, SH_LUA };

struct sh_opts {
  const char *driver; /* -d/--driver */
  const char *config; /* --config */
  struct tp_opts tp;  /* --timeout, --retries, -v */
  enum sh_mode mode;  /* --json / --csv */
  int quiet;          /* -q */
  int yes;            /* --yes */
};

/* -v/--verbose given N times (-vv is 2), on a command's line or before
 * its name, and on the Lua side (ohm -v SCRIPT): the tracing level that
 * every layer above the transports reads. --version alone prints the
 * version. */
extern int sh_verbose;

/* The common options as getopt_long entries, to splice into a command's
 * own table: -d --driver --timeout --retries --json --csv --config -v -q
 * --yes. sh_common_opt returns 1 if it handled opt, 0 if not, -1 on a bad
 * value (message already printed). */
#define SH_COMMON_SHORT "d:vqh"
extern const struct option sh_common_long[];
void sh_opts_init(struct sh_opts *o);
int sh_common_opt(struct sh_opts *o, int opt, const char *arg);

/* getopt_long over the common options only; returns optind or -1 after
 * printing a usage error. */
int sh_parse_common(int argc, char **argv, struct sh_opts *o,
                    const char *usage);

/* A command's own options, parsed with the common ones by sh_parse_own:
 * opt(ctx, opt, arg) returns 0 if it took opt, 1 if opt is not its own,
 * -1 on a bad value (message printed). name is the command's in its
 * messages and --help. */
struct sh_own_opts {
  const char *name, *usage;
  const struct option *longopts; /* {0}-terminated */
  const char *shortopts;         /* getopt's, without the leading ':' */
  int (*opt)(void *ctx, int opt, const char *arg);
  void *ctx;
};
/* getopt_long over own's options and the common ones (into o); returns
 * optind or -1 after printing a usage error. */
int sh_parse_own(int argc, char **argv, const struct sh_own_opts *own,
                 struct sh_opts *o);

/* The inventory for o->config (loaded once, cached). */
struct inventory *sh_inventory(const struct sh_opts *o, struct ohm_error *e);

/* Open DEVICE: an inventory name or a URI; -d overrides the driver. */
int sh_open(const char *device, const struct sh_opts *o, struct dev **out,
            struct ohm_error *e);

/* The start of a command on one device: o initialised, the common
 * options parsed, then its first argument (a DEVICE or a URI: what, for
 * "missing WHAT") and at most max - 1 more (max 0: any; too_many is the
 * message for more), the first opened into *d. Returns its index, or
 * -(exit status) after printing why. */
int sh_open_args(int argc, char **argv, struct sh_opts *o, const char *usage,
                 const char *what, int max, const char *too_many,
                 struct dev **d);

/* On a terminal, ask for a secret DEVICE's URI needs and nothing gives
 * (shell/secret.c); it goes into OHM_PASSWORD / OHM_SNMP_*PASS. */
void sh_ask_secrets(const struct inventory *inv, const char *name_or_uri);
/* Open DEVICE's transport alone (no driver): an inventory name (its
 * options and secrets applied) or a URI. For raw commands (walk, modbus). */
int sh_open_tp(const char *device, const struct sh_opts *o, struct tp **t,
               struct ohm_error *e);

/* "ohm: DEVICE: message" on stderr (DEVICE may be NULL). */
void sh_error(const char *device, const struct ohm_error *e);
void sh_errorf(const char *device, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int sh_usage(const char *usage); /* prints "usage: ...", returns 2 */

/* -v tracing (shell/trace.c): the tracer that -v puts in struct tp_opts;
 * prints each event on one stderr line, more of it at sh_verbose 2 (-vv). */
void sh_trace(void *ctx, const struct tp_trace_ev *ev);

/* Exit status for an OHM_E* code: 0, 1 or 2 (EINVAL/EURI -> 2). */
int sh_exit_code(int code);

/* Ask "PROMPT: proceed? [y/N]" on the terminal; without a terminal,
 * refuse unless o->yes ("ohm: PROMPT: refused: ... (add --yes ...)").
 * PROMPT is e.g. "pdu1: device.restart". Returns 1 to proceed. -h/--help
 * in sh_parse_common prints the usage on stdout and exits 0. */
int sh_confirm(const struct sh_opts *o, const char *prompt);

/* Commands: int cmd_NAME(int argc, char **argv), argv[0] = "NAME". */
struct sh_command {
  const char *name;
  int (*run)(int argc, char **argv);
  const char *usage;
  const char *help;
};
extern const struct sh_command sh_commands[]; /* NULL-terminated */

/* `ohm NAME --help` on stdout (shell/cmd_help.c): usage, description, the
 * URI forms, two examples, the options NAME honours. 0 if no such
 * command. */
int sh_help_print(const char *name);

/* Each command lives in shell/cmd_NAME.c (or its issue's file); weak so a
 * build without one still links and says so. */
#define SH_CMD(n) int cmd_##n(int argc, char **argv) __attribute__((weak))
SH_CMD(get);
SH_CMD(set);
SH_CMD(cmd);
SH_CMD(list);
SH_CMD(drivers);
SH_CMD(sim);
SH_CMD(serve);
SH_CMD(upgrade);
SH_CMD(push);
SH_CMD(walk);
SH_CMD(poll);
SH_CMD(record);
SH_CMD(watch);
SH_CMD(modbus);
SH_CMD(scan);
/* ohm scan of a battery bank (shell/scan_bank.c), from cmd_scan. */
int sh_scan_bank(int argc, char **argv);
SH_CMD(snmp);
SH_CMD(help);
SH_CMD(events);
SH_CMD(rules);
SH_CMD(config);
#undef SH_CMD

/* `ohm sim --telnet ADDR`: the BPS2000v2 Telnet console on the simulated
 * device (the telnet helper's; weak, so a build without it says "telnet
 * console not in this build"). device_uri is the simulator's own
 * modbus-tcp URI (loopback) that the console reads and writes through;
 * driver its map. Returns once ADDR listens; stop closes it. */
int sim_telnet_start(const char *addr, const char *device_uri,
                     const char *driver, const struct sh_opts *o,
                     struct ohm_error *e) __attribute__((weak));
void sim_telnet_stop(void) __attribute__((weak));
/* SIGHUP: read the inventory again for the console's accounts. */
void sim_telnet_reload(void) __attribute__((weak));

/* The Lua side of main: script, -e, -, or the REPL (shell/lua_main.c). */
int sh_lua_main(int argc, char **argv) __attribute__((weak));

#endif
