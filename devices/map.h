/* Drivers as data (DESIGN.md "Drivers as data"): a driver is a declarative
 * map read from a Lua file, the same format for built-in maps (embedded in
 * the binary from devices/<driver>/map.lua) and a user's own maps
 * (~/.config/ohm/drivers/<name>.lua). One loader (map.c) reads both.
 *
 * One map per device serves every transport: a var carries a register
 * (`reg=`), an OID (`oid=`) and/or a console location (`menu=`); a var with
 * no location for the transport in use is simply absent there.
 *
 * The map is the only place a register, OID or menu line is written: the
 * driver engine, the simulator, `ohm list`, the man page table and the
 * completions all read it. */
#ifndef OHM_DEVICES_MAP_H
#define OHM_DEVICES_MAP_H

#include <stddef.h>
#include <stdint.h>

#include "../util/err.h"

enum dev_type {
  DT_U16,
  DT_S16,
  DT_U32,     /* two registers */
  DT_S32,     /* two registers */
  DT_FLOAT32, /* two registers, IEEE 754 */
  DT_ENERGY8, /* four registers of one byte each (BPS2000v2 manual 12.1) */
  DT_STRING,  /* fixed text (`text=`) or registers of two chars each */
  DT_ENUM,    /* u16 raw value mapped to a state string */
  DT_U64,     /* four registers */
  DT_S64,     /* four registers */
  DT_FLOAT64, /* four registers, IEEE 754 */
  DT_BOOL,    /* a coil or discrete input, or a register's 0 / non-zero */
  DT_BITS,    /* a u16 (or `words=2` u32) of named flags (`bits=`) */
};

/* Modbus tables (`table=`): which read and write functions reach a var. */
enum dev_table {
  DTAB_HOLDING = 0, /* read 03, written 06 (or 16) */
  DTAB_INPUT,       /* read 04, read-only */
  DTAB_COIL,        /* read 01, written 05 (or 15) */
  DTAB_DISCRETE,    /* read 02, read-only */
};

/* Byte order of multi-register values (`word_order=`), A the most
 * significant byte: ABCD big-endian, CDAB low word first, BADC bytes
 * swapped in each word, DCBA little-endian. "high"/"low" = ABCD/CDAB. */
enum dev_order { DO_ABCD = 0, DO_CDAB, DO_BADC, DO_DCBA };

enum dev_access { DA_RO = 0, DA_RW = 1 };

struct dev_enum {
  int raw;
  char *text;
};

struct dev_var {
  char *name; /* NUT name, e.g. "input.L1.current" */
  char *unit; /* "A", "V", "kWh", "" if none */
  char *desc; /* one line */
  enum dev_type type;
  double scale; /* value = raw * scale (1 if absent) */
  enum dev_access access;
  int has_min, has_max; /* write limits in scaled units */
  double min, max;
  int word_swap;        /* 1 = low word first (CDAB, DCBA); kept for the sim */
  enum dev_order order; /* multi-register values; default ABCD */
  enum dev_table table; /* Modbus table; default holding registers */
  int write16;          /* `write = 16`: single registers with 16, not 06 */
  int nwords;       /* registers it spans (derived from type, or `words=`) */
  int reg;          /* first register, -1 if this map has none */
  char *oid;        /* SNMP location, NULL if none ("%d" = chain subtree) */
  double oid_scale; /* scale for INTEGER values over SNMP; 0 = `scale` */
  char *menu;       /* console location, NULL if none */
  char *text;       /* fixed value (device.mfr ...), NULL if read */
  struct dev_enum *enums;
  size_t nenums;
  uint64_t *invalid; /* raw sentinels meaning "not available" (`invalid=`) */
  size_t ninvalid;
  unsigned accept; /* SNMP types taken (DEV_ACCEPT_*); 0 = by type */
  int is_bits;     /* enums name bits (`bits=`), type bits */
  /* Frame (YD/T 1363.3) location: the field of a pack's reply
   * (devices/frame_engine.c), NULL if none; bit of a status byte or -1. */
  char *frame;
  int bit;
  /* Repeated groups (`each`, ohm-maps(5)): this instance's numbers in the
   * order of the group's letters (pack, cell ...); nindex 0 if none. */
  int index[4];
  int nindex;
  /* SNMP table (`entry`, `column`, `index_columns`, ohm-maps(5)): the
   * row's column `column` under the table entry OID `entry`; the row that
   * holds this instance is the one whose index columns icol[k] hold
   * index[k]. oid is then "entry.column". NULL entry if none. */
  char *entry;
  int column;
  int icol[4];
  int nicol;
};

/* SNMP varbind types a var accepts (`accept = { "integer", "string" }`).
 * Default: the INTEGER family for numbers and enums, OCTET STRING for
 * text; "string" on a number means decimal text in the var's unit. */
enum {
  DEV_ACCEPT_INTEGER = 1 << 0,
  DEV_ACCEPT_GAUGE32 = 1 << 1, /* and Unsigned32 */
  DEV_ACCEPT_COUNTER32 = 1 << 2,
  DEV_ACCEPT_COUNTER64 = 1 << 3,
  DEV_ACCEPT_TIMETICKS = 1 << 4,
  DEV_ACCEPT_STRING = 1 << 5,
  DEV_ACCEPT_NUMBERS = 0x1f,
};

struct dev_cmd {
  char *name; /* "reset.energy.L1" */
  char *desc;
  int dangerous; /* needs confirmation or --yes */
  int reg;       /* register to write, -1 if the register map has none */
  int value;     /* value written to reg */
  char *via;     /* transports that can carry it ("telnet"), NULL = map's */
  int cid2;      /* frame command (YD/T 1363.3), 0 if none */
  char *data;    /* hex INFO bytes after the pack address, or NULL */
  char *oid;     /* SNMP object set to value (INTEGER), or NULL */
  /* `wait = { var, done, fail }`: what `cmd --wait` polls until var
   * reads done (or fail: an error); NULL if the command has none */
  char *wait_var, *wait_done, *wait_fail;
};

struct dev_frame; /* a YD/T 1363.3 dialect (devices/frame_map.h) */
struct dev_block {
  int first, count;
  enum dev_table table;
};

/* `traps = { oid, kinds, varbinds }`: the device's traps (map_traps.c). */
struct dev_trap_kind {
  long n;     /* trap number: OID oid.N */
  char *name; /* "probe alarm" */
};
struct dev_trap_vb {
  char *oid, *name; /* a varbind OID prefix and the trap field it fills */
};
struct dev_traps {
  char *oid; /* the traps' OID prefix (v2 form, enterprise.0), or NULL */
  struct dev_trap_kind *kinds;
  size_t nkinds;
  struct dev_trap_vb *vbs;
  size_t nvbs;
};

/* `agent = {...}`: how the SNMP agent serves the map (map_agent.c). */
struct dev_agent_fixed {
  char *oid;
  long num;
};
struct dev_agent {
  int integers; /* numbers = "integer" (else decimal text, as BKT's) */
  char **serve_types, **serve_vars; /* serves = {...}; NULL-terminated */
  char **gauges;                    /* vars served as Gauge32 */
  struct dev_agent_fixed *fixed;    /* objects always served */
  size_t nfixed;
  /* derive = { var, from, flag, on, off }, all NULL if none */
  char *derive_var, *derive_from, *derive_flag, *derive_on, *derive_off;
};

struct dev_map {
  char *name; /* driver name, "bps2000v2" */
  char *desc;
  char *mfr, *model, *type; /* device.mfr / device.model / device.type */
  char *upgrade;            /* "tftp" or "ftp": how firmware goes up; NULL */
  char *version_var;        /* var holding the firmware version, or NULL */
  int max_read;             /* registers per read request, <= 125 */
  int max_gap;              /* unused registers a read may bridge (8) */
  int write16;              /* map-wide `write = 16` */
  int oid_unit_base;        /* `oid_unit`: "%d" in an OID = unit + base */
  int oid_unit_max;         /* units 0..max (0: no chain) */
  char *sig_oid;            /* signature: an OID that answers, or NULL */
  char *sig_sysoid;         /* and a sysObjectID prefix, or NULL */
  char *snmp_version;       /* `snmp_version`: "1" when the URI says none */
  struct dev_block *blocks; /* read plan, computed once at load */
  size_t nblocks;
  struct dev_var *vars; /* sorted by name */
  size_t nvars;
  struct dev_cmd *cmds;
  size_t ncmds;
  struct dev_frame *frame; /* `frame = {...}`, NULL if none */
  struct dev_traps traps;  /* `traps = {...}`; traps.oid NULL if none */
  struct dev_agent agent;  /* `agent = {...}`; zeros if none */
};

/* Load a map from Lua source (name used in messages). Caller frees with
 * dev_map_free. On error e says which entry and field are wrong. */
int dev_map_load(const char *src, size_t len, const char *name,
                 struct dev_map **out, struct ohm_error *e);

void dev_map_free(struct dev_map *m);

const struct dev_var *dev_map_var(const struct dev_map *m, const char *name);
const struct dev_cmd *dev_map_cmd(const struct dev_map *m, const char *name);

/* Whether map m's agent.serves takes a device of map dm (its type or
 * one of its vars named there). */
int dev_map_agent_serves(const struct dev_map *m, const struct dev_map *dm);
/* Whether var is one of m's agent.gauges. */
int dev_map_agent_gauge(const struct dev_map *m, const char *var);

/* Whether oid begins with prefix at an arc boundary (leading dots
 * ignored); the rest after the prefix (and its dot) in *rest if rest. */
int dev_oid_prefix(const char *oid, const char *prefix, const char **rest);
/* The trap number N when oid is the map's traps.oid.N (1), else 0. */
int dev_map_trap_number(const struct dev_map *m, const char *oid, long *n);
/* The name of trap number n, or NULL. */
const char *dev_map_trap_kind(const struct dev_map *m, long n);
/* The trap field a varbind of this OID fills, or NULL; borrowed. */
const char *dev_map_trap_varbind(const struct dev_map *m, const char *oid);

/* Registers a var occupies (1, 2 or 4); 0 for fixed-text vars. */
int dev_var_nregs(const struct dev_var *v);

/* Decode a var from its registers (regs points at v->reg; unused for a
 * fixed-text var). Returns 0 for a number (*num, scaled), 1 for text in str
 * (string, enum state, fixed text; *num then holds an enum's raw code),
 * DEV_ABSENT when the registers hold one of the var's `invalid` sentinels.
 * A value that the type cannot hold (energy8 byte above 255) is OHM_ERANGE
 * naming the register, never a silently wrong number. */
#define DEV_ABSENT 2
int dev_decode(const struct dev_var *v, const uint16_t *regs, double *num,
               char *str, size_t strsz, struct ohm_error *e);

/* Whether raw (the var's raw bits; signed values two's complement) is one
 * of the var's `invalid` sentinels, compared over the var's width. */
int dev_var_invalid(const struct dev_var *v, uint64_t raw);

/* The var's raw range over SNMP INTEGERs by type (s16 -32768..32767, u16
 * and enum 0..65535, u32/energy8 0..4294967295, s32); 0 if unbounded. */
int dev_var_range(const struct dev_var *v, double *lo, double *hi);

/* Encode a user's text value for writing: checks access, type, limits and
 * that the scaled value fits the register, before anything is sent. */
int dev_encode(const struct dev_var *v, const char *text, uint16_t *regs,
               struct ohm_error *e);

/* energy8 as the manual's formula: (r1*256^3 + r2*256^2 + r3*256 + r4) /
 * 1000. OHM_ERANGE if any r > 255 (index of the bad one in *bad). */
int dev_energy8(const uint16_t r[4], double *kwh, int *bad);

/* Coalesce the map's register vars into the fewest read blocks per table,
 * each at most max_read registers (2000 bits), bridging gaps of max_gap.
 * blocks[i] = {first, count, table}. Returns the number of blocks needed (like
 * snprintf, only the first max are stored). */
size_t dev_map_blocks(const struct dev_map *m, struct dev_block *blocks,
                      size_t max);

/* The Modbus read function of a table (01-04). */
int dev_table_fc(enum dev_table t);

#endif
