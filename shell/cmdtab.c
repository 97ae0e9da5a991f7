/* The subcommand table: main.c dispatches on it, `ohm --help` and the
 * completions read it. A command not linked into this build is NULL here
 * (weak symbol) and says so. */
#include "shell.h"

const struct sh_command sh_commands[] = {
    {"get", cmd_get, "get [OPTS] DEVICE [VAR...]",
     "read variables; prints `name: value` sorted by name"},
    {"set", cmd_set, "set [OPTS] [--force] DEVICE VAR=VALUE...",
     "write writable variables"},
    {"cmd", cmd_cmd, "cmd [OPTS] [--yes] [--wait[=S]] DEVICE [COMMAND]",
     "run an instant command"},
    {"list", cmd_list, "list [OPTS] [--all] DEVICE",
     "variables with unit, access and description"},
    {"drivers", cmd_drivers, "drivers [--json|--csv] [--names] [--check FILE]",
     "drivers and transports this build has"},
    {"help", cmd_help, "help [COMMAND]", "the commands, or one's usage"},
    {"walk", cmd_walk, "walk [OPTS] DEVICE OID", "SNMP walk, numeric OIDs"},
    {"modbus", cmd_modbus,
     "modbus read|write [OPTS] [--function N] [--type T] [--order O] "
     "[--unit N] [--watch N] DEVICE ADDR [COUNT | VALUE...]",
     "raw Modbus requests, decoded (like mbpoll)"},
    {"snmp", cmd_snmp, "snmp get|set [OPTS] DEVICE OID... | OID TYPE VALUE...",
     "raw SNMP GET and SET, as snmpget/snmpset -On"},
    {"scan", cmd_scan,
     "scan [OPTS] [--units LIST] [--port N] [--jobs N] "
     "URI|snmp://[COMMUNITY@]NET/PREFIX",
     "find units and agents; print an inventory snippet"},
    {"sim", cmd_sim,
     "sim DRIVER [--modbus-tcp ADDR] [--modbus-rtu TTY] [--telnet ADDR] "
     "[--units N] [--serial TTY] [--tcp ADDR] [--packs N] [--runaway CELL] "
     "[-q] [--user NAME --password-file FILE]",
     "run the built-in simulator"},
    {"scan", cmd_scan, "scan [OPTS] [--json] URI",
     "find the packs of a battery bank; print an inventory entry"},
    {"serve", cmd_serve,
     "serve [OPTS] [--nut ADDR] [--prometheus ADDR] [--telnet ADDR] "
     "[--interval SECONDS] [--jobs N] [--shard K/N] [--syslog] "
     "[--user NAME --password-file FILE] [--idle-timeout SECONDS] "
     "[--max-sessions N] [--rules FILE [--check]] [--events-log FILE] "
     "[--traps ADDR] [DEVICE...]",
     "serve devices to Telnet, NUT and Prometheus clients"},
    {"poll", cmd_poll,
     "poll [OPTS] [--json|--csv] [--jobs N] [--shard K/N] [DEVICE...] [VAR...]",
     "read many devices in parallel"},
    {"record", cmd_record,
     "record --every INTERVAL --out DIR [--keep-days N] "
     "[--max-size SIZE] [--count N] [--jobs N] [DEVICE...] [VAR...]",
     "append readings to CSV files"},
    {"watch", cmd_watch,
     "watch [OPTS] [--every SECONDS] [--count N] [DEVICE...] [VAR...]",
     "live table"},
    {"upgrade", cmd_upgrade,
     "upgrade --file FILE [--file FILE...] [--jobs N] [--yes] [--dry-run] "
     "[--wait SECONDS] [--settle SECONDS] [--remote-name NAME] [--blksize N] "
     "[--json] TARGET...",
     "batch firmware upgrade over TFTP/FTP"},
    {"push", cmd_push,
     "push --file CONFIG [--jobs N] [--yes] [--dry-run] [--wait SECONDS] "
     "[--remote-name NAME] [--json] TARGET...",
     "upload a configuration file to many units by FTP"},
    {"events", cmd_events,
     "events [--since T] [--device D] [--follow] [--json|--csv] "
     "[--events-log FILE]",
     "read the event log"},
    {"config", cmd_config,
     "config save DEVICE [-o FILE] | diff [--json] FILE DEVICE... | apply "
     "[--dry-run] [--yes] [--jobs N] [--only VAR,...] [--json] FILE DEVICE...",
     "save, compare and apply the writable variables of a fleet"},
    {"rules", cmd_rules, "rules test [--dry-run] FILE EVENT DEVICE",
     "fire one event through a rules file"},
    {NULL, NULL, NULL, NULL}};
