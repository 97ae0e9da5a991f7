/* ohm help [COMMAND] and every `ohm COMMAND --help`: for each command one
 * page from the tables below (usage, one-line description, the URI forms
 * it takes, two examples, the options it honours). Hidden, for
 * completions/ohm.bash: `ohm help --commands` (names, one a line) and
 * `ohm help --devices [--config FILE]` (inventory names). */
#include <stdio.h>
#include <string.h>

#include "shell.h"
#include "suggest.h"

/* The common options, by key, as the pages list them. */
static const struct {
  const char *key, *text;
} common_opts[] = {
    {"d", "-d, --driver NAME      the device's driver map (see ohm drivers)"},
    {"timeout",
     "--timeout SECONDS      per request (default: the transport's)"},
    {"retries", "--retries N            retries after a timeout"},
    {"json", "--json                 JSON output"},
    {"csv", "--csv                  CSV output with a header line"},
    {"config", "--config FILE          the inventory (default $OHM_CONFIG, "
               "~/.config/ohm/config.lua)"},
    {"v", "-v, --verbose          trace requests and replies (-vv more)"},
    {"q", "-q, --quiet            say less"},
    {"yes", "--yes                  do it without asking"},
    {NULL, NULL}};

#define DEVICE_URIS                                                            \
  "DEVICE: an inventory name or a URI: modbus-tcp://HOST[:PORT][?unit=N],\n"   \
  "  modbus-rtu://TTY[?baud=N&unit=N], snmp://[COMMUNITY@]HOST[:PORT],\n"      \
  "  telnet://[USER@]HOST[:PORT], serial://TTY, tcp://HOST:PORT, sim:DRIVER"
#define TARGET_URIS                                                            \
  "TARGET: an inventory name, tftp://HOST[:PORT] or ftp://USER@HOST[:PORT]"

struct help_page {
  const char *name;
  const char *uris;   /* the URI forms it takes, or NULL */
  const char *ex[2];  /* two examples, without "ohm " */
  const char *common; /* keys of the common options it honours */
  const char *own;    /* its own options, one a line, or NULL */
};

static const struct help_page pages[] = {
    {"get",
     DEVICE_URIS,
     {"get sim:bps2000v2 input.L1.current input.L1.energy",
      "get --json -d bps2000v2 modbus-tcp://10.0.0.5?unit=2"},
     "d timeout retries json csv config v",
     NULL},
    {"set",
     DEVICE_URIS,
     {"set sim:bps2000v2 input.L1.current.high.critical=25",
      "set pdu1 input.L1.current.high.critical=25 "
      "input.L2.current.high.critical=25"},
     "d timeout retries config v",
     NULL},
    {"cmd",
     DEVICE_URIS,
     {"cmd --yes sim:bps2000v2 reset.energy.L1",
      "cmd --wait sim:cps-bm100 battery.resistance.measure"},
     "d timeout retries config v yes",
     "--wait[=S]             poll the command's result until done (exit 0),\n"
     "                       failed or S seconds (default 600) pass (exit 1)"},
    {"list",
     DEVICE_URIS,
     {"list sim:bps2000v2", "list --all --csv pdu1"},
     "d timeout retries json csv config",
     "--all                  also variables this transport cannot carry"},
    {"drivers",
     NULL,
     {"drivers", "drivers --json"},
     "json csv",
     "--names                driver names only, one a line\n"
     "--check FILE           validate a map (ohm-maps(5)) and show where "
     "each variable lives"},
    {"help", NULL, {"help", "help get"}, "", NULL},
    {"modbus",
     "DEVICE: modbus-tcp://HOST[:PORT][?unit=N], "
     "modbus-rtu://TTY[?baud=N&unit=N],\n  or an inventory name of one; "
     "ADDR and COUNT decimal or 0x hex",
     {"modbus read --type float32 --order CDAB modbus-tcp://127.0.0.1:1502 "
      "0 2",
      "modbus write --yes --function 16 meter1 0x10 230 231"},
     "timeout retries json csv config v yes",
     "--function N           1-4 to read (default 3), 5, 6, 15, 16 to write\n"
     "--type T               u16 s16 u32 s32 u64 s64 float32 float64 bool "
     "string\n"
     "--order O              ABCD (default) CDAB BADC DCBA\n"
     "--unit N               the unit id (default the URI's)\n"
     "--watch N              read again every N seconds"},
    {"snmp",
     "DEVICE: snmp://[COMMUNITY@]HOST[:PORT][?version=1|2c], "
     "snmp://USER@HOST?version=3&...,\n  or an inventory name of one; "
     "TYPE: snmpset's letter (i u t a o s x d n c C U I F D)",
     {"snmp get snmp://public@127.0.0.1:1161 .1.3.6.1.2.1.1.1.0",
      "snmp set --yes pdu1 .1.3.6.1.4.1.47394.1.1.2.0 s rack-7"},
     "timeout retries json csv config v yes",
     NULL},
    {"scan",
     "URI: modbus-rtu://TTY[?baud=N], modbus-tcp://HOST[:PORT], "
     "snmp://[COMMUNITY@]HOST[:PORT],\n  or snmp://[COMMUNITY@]NET/PREFIX"
     "[:PORT] for a range (prefix 20..32)",
     {"scan --units 1-10 'modbus-rtu:///dev/ttyUSB0?baud=9600'",
      "scan --json snmp://public@10.0.0.0/28"},
     "d timeout retries json config v",
     "--units LIST           Modbus units to probe: 1-50, 1,7,42 (default "
     "1-247)\n"
     "--port N               SNMP port for every address\n"
     "--jobs N               probes at once (SNMP 32, Modbus TCP 8)"},
    {"walk",
     "DEVICE: snmp://[COMMUNITY@]HOST[:PORT][?version=1|2c], "
     "snmp://USER@HOST?version=3&...,\n  or an inventory name of one",
     {"walk snmp://public@127.0.0.1:1161 .1.3.6.1.2.1.33",
      "walk --json ups1 .1.3.6.1.2.1.1"},
     "timeout retries json csv config v",
     NULL},
    {"sim",
     "ADDR: HOST:PORT to listen on (loopback, e.g. 127.0.0.1:1502); "
     "TTY: a serial device",
     {"sim bps2000v2 --modbus-tcp 127.0.0.1:1502",
      "sim bps2000v2 --modbus-tcp 127.0.0.1:1502 --units 3"},
     "q v",
     "--modbus-tcp ADDR      serve Modbus TCP on ADDR (default "
     "127.0.0.1:1502)\n"
     "--modbus-rtu TTY       serve Modbus RTU on TTY\n"
     "--telnet ADDR          serve the menu console on ADDR\n"
     "--snmp ADDR            serve the map's OIDs over SNMP (UDP, "
     "community public)\n"
     "--units N              units 1..N (default 1)\n"
     "--serial TTY           a battery bank (pace, pylontech) on TTY\n"
     "--tcp ADDR             a battery bank on a TCP listener\n"
     "--packs N              packs of the bank (default 3)\n"
     "--runaway CELL         that cell of the first pack climbs past its "
     "limit\n"
     "--strings N, --blocks N  with --snmp, a battery monitor (cps-bm100) of "
     "N strings\n"
     "                       (1-4, default 2) of N blocks (1-40, default 8)"},
    {"scan",
     "URI: serial://TTY[?baud=N] or tcp://HOST:PORT of a battery bank, with "
     "-d pace\n  or -d pylontech (or driver= in the URI)",
     {"scan -d pace serial:///dev/ttyUSB0",
      "scan --json 'tcp://192.0.2.7:8899?driver=pylontech'"},
     "d timeout retries json config v",
     NULL},
    {"serve",
     DEVICE_URIS "\nADDR: HOST:PORT to listen on",
     {"serve --nut 127.0.0.1:3493 pdu1 ups1",
      "serve --prometheus 127.0.0.1:9129 --interval 30"},
     "d timeout retries config v q",
     "--nut ADDR             NUT protocol for upsc/upsmon (one listener "
     "needed)\n"
     "--prometheus ADDR      Prometheus /metrics\n"
     "--mqtt URI             publish to an MQTT broker, Home Assistant "
     "discovery\n"
     "--snmp ADDR            SNMP agent: UPS-MIB, BKT OIDs (UDP)\n"
     "--agentx SOCKET        the same as a subagent of snmpd\n"
     "--telnet ADDR          the menu console (with --user and "
     "--password-file)\n"
     "--user NAME            console account\n"
     "--password-file FILE   its password, first line\n"
     "--idle-timeout SECONDS console sessions end when idle\n"
     "--max-sessions N       console sessions at once\n"
     "--interval SECONDS     read every device this often (default 10)\n"
     "--jobs N               devices read at once\n"
     "--shard K/N            serve the K-th of N slices of the inventory\n"
     "--syslog               log to syslog\n"
     "--rules FILE           run these rules over what is read\n"
     "--check                print what the rules would do and exit\n"
     "--traps ADDR           receive SNMP traps and informs for the rules\n"
     "--events-log FILE      the event log (default "
     "~/.local/state/ohm/...)"},
    {"poll",
     DEVICE_URIS " (default: the whole inventory)",
     {"poll --csv", "poll --json pdu1 pdu2"},
     "d timeout retries json csv config v",
     "--jobs N               threads for devices off the event loop\n"
     "--shard K/N            the K-th of N slices of the inventory"},
    {"record",
     DEVICE_URIS " (default: the whole inventory)",
     {"record --every 1m --out /var/lib/ohm",
      "record --every 10s --out data --count 6 pdu1"},
     "d timeout retries config v",
     "--every INTERVAL       one sample per INTERVAL (10s, 1m, 1h)\n"
     "--out DIR              the CSV files' directory\n"
     "--keep-days N          delete files older than N days\n"
     "--max-size SIZE        start a new file past SIZE (e.g. 10M)\n"
     "--count N              stop after N samples\n"
     "--jobs N               devices read at once"},
    {"watch",
     DEVICE_URIS " (default: the whole inventory)",
     {"watch sim:bps2000v2 input.L1.current input.L2.current",
      "watch --every 5 --count 3 pdu1"},
     "d timeout retries config v",
     "--every SECONDS        refresh period (default 2)\n"
     "--count N              stop after N refreshes"},
    {"upgrade",
     TARGET_URIS,
     {"upgrade --file fw.bin --dry-run pdu1 pdu2",
      "upgrade --file fw.bin --yes --jobs 4 tftp://10.0.0.5"},
     "timeout retries json config v yes",
     "--file FILE            the firmware (repeat for several files)\n"
     "--jobs N               targets at once\n"
     "--dry-run              check targets and files, send nothing\n"
     "--wait SECONDS         how long a unit may take to come back\n"
     "--settle SECONDS       pause before checking it again\n"
     "--remote-name NAME     the file's name on the target\n"
     "--blksize N            TFTP block size"},
    {"push",
     TARGET_URIS,
     {"push --file pdu.cfg --dry-run pdu1 pdu2",
      "push --file pdu.cfg --yes ftp://admin@10.0.0.5"},
     "timeout retries json config v yes",
     "--file CONFIG          the configuration file\n"
     "--jobs N               targets at once\n"
     "--dry-run              check targets and the file, send nothing\n"
     "--wait SECONDS         how long a unit may take to come back\n"
     "--remote-name NAME     the file's name on the target"},
    {"events",
     "FILE: the event log (default $XDG_STATE_HOME/ohm/events.jsonl; the\n"
     "inventory's events = { log = FILE }); DEVICE: a name, URI or pattern",
     {"events --since 1h --device 'ups*'", "events --follow --json"},
     "json csv config",
     "--since T              from T: 2026-11-30[ 22:00], @UNIXTIME, 10m, 2h\n"
     "--device D             one device, or a pattern (ups*)\n"
     "--follow               keep printing new lines\n"
     "--events-log FILE      another log file"},
    {"rules",
     "FILE: a rules file (on, when, every; see man ohm, EVENTS AND JOBS);\n"
     "DEVICE: an inventory name or a URI (read first), or any name",
     {"rules test --dry-run rules.lua ONBATT ups1",
      "rules test rules.lua LOWBATT ups1"},
     "config v",
     "--dry-run              print the jobs, run nothing\n"
     "--events-log FILE      the event log to write"},
    {"config",
     "FILE: a Lua file of `ohm config save` (returns a table: driver,\n"
     "model, firmware, time, values); " DEVICE_URIS,
     {"config save pdu1 -o pdu1.lua",
      "config apply --yes --jobs 8 pdu1.lua pdu1 pdu2 pdu3"},
     "d timeout retries json config v q yes",
     "-o, --output FILE      save: write FILE atomically (default stdout)\n"
     "--dry-run              apply: validate and show the plan, write nothing\n"
     "--jobs N               devices at once (default 8)\n"
     "--only VAR,...         compare and apply these variables only"},
    {NULL, NULL, {NULL, NULL}, NULL, NULL}};

/* Whether key is a word of the space-separated keys. */
static int has_key(const char *keys, const char *key) {
  size_t n = strlen(key);
  for (const char *p = keys; p && *p; p += strcspn(p, " "), p += *p == ' ')
    if (strncmp(p, key, n) == 0 && (p[n] == ' ' || p[n] == '\0')) return 1;
  return 0;
}

static void print_own(const char *own) {
  while (own && *own) {
    size_t n = strcspn(own, "\n");
    printf("  %.*s\n", (int)n, own);
    own += n + (own[n] == '\n');
  }
}

int sh_help_print(const char *name) {
  const struct sh_command *c = sh_commands;
  const struct help_page *p = pages;
  while (c->name && strcmp(c->name, name) != 0)
    c++;
  while (p->name && strcmp(p->name, name) != 0)
    p++;
  if (!c->name) return 0;
  printf("usage: ohm %s\n%s\n", c->usage, c->help);
  if (!p->name) return 1;
  if (p->uris) printf("%s\n", p->uris);
  printf("examples:\n  ohm %s\n  ohm %s\n", p->ex[0], p->ex[1]);
  printf("options:\n");
  print_own(p->own);
  for (int i = 0; common_opts[i].key; i++)
    if (has_key(p->common, common_opts[i].key))
      printf("  %s\n", common_opts[i].text);
  printf("  -h, --help             this help\n");
  return 1;
}

static void list_commands(int names_only) {
  if (!names_only)
    printf("usage: ohm COMMAND [OPTS] ...   (or ohm [SCRIPT [ARG...]], "
           "ohm -e CHUNK, ohm -)\ncommands:\n");
  for (const struct sh_command *c = sh_commands; c->name; c++) {
    if (!c->run) continue; /* not in this build */
    if (names_only)
      printf("%s\n", c->name);
    else
      printf("  %-8s %s\n", c->name, c->help);
  }
  if (!names_only)
    printf("common OPTS: -d/--driver NAME  --timeout SECONDS  --retries N  "
           "--json  --csv\n             --config FILE  -v  -q  --yes\n"
           "See `ohm COMMAND --help` and ohm(1).\n");
}

static int list_devices(int argc, char **argv) {
  struct sh_opts o;
  struct ohm_error e;
  struct inventory *inv;
  sh_opts_init(&o);
  ohm_error_clear(&e);
  if (sh_parse_common(argc, argv, &o, "help --devices [--config FILE]") < 0)
    return EXIT_USAGE;
  if (!(inv = sh_inventory(&o, &e))) {
    sh_error(NULL, &e);
    return EXIT_FAIL;
  }
  for (size_t i = 0; i < inv->ndevs; i++)
    printf("%s\n", inv->devs[i].name);
  return EXIT_OK;
}

int cmd_help(int argc, char **argv) {
  if (argc < 2) {
    list_commands(0);
    return EXIT_OK;
  }
  if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)
    argv[1] = "help";
  if (strcmp(argv[1], "--commands") == 0) {
    list_commands(1);
    return EXIT_OK;
  }
  if (strcmp(argv[1], "--devices") == 0) {
    argv[1] = argv[0];
    return list_devices(argc - 1, argv + 1);
  }
  if (sh_help_print(argv[1])) return EXIT_OK;
  const char *best = sh_suggest_command(argv[1]);
  sh_errorf(NULL, "help: no command '%s'%s%s%s (see ohm help)", argv[1],
            best ? ", did you mean " : "", best ? best : "", best ? "?" : "");
  return EXIT_USAGE;
}
