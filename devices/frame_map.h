/* A YD/T 1363.3 dialect as map data: the `frame = {...}` table of a driver
 * map (ohm-maps(5) "FRAME DIALECTS"). The frame engine reads only this;
 * pylontech, pace, or a user's Seplos map differ only here. */
#ifndef OHM_DEVICES_FRAME_MAP_H
#define OHM_DEVICES_FRAME_MAP_H

#include <lua.h>
#include <stddef.h>

#define FRAME_STATUS_MAX 16
#define FRAME_EXTRAS_MAX 8

struct dev_frame_field {
  char *field; /* "capacity.design" */
  int bytes;   /* 1..4, big-endian */
};

struct dev_frame_extras { /* fields after cycles when the reply's P = p */
  int p;
  struct dev_frame_field f[FRAME_EXTRAS_MAX];
  int nf;
};

struct dev_frame_alarm { /* one alarm word: a bit of a status byte */
  int status, bit;
  char *word;
};

struct dev_frame {
  int ver, cid1;
  int adr;         /* header ADR: -1 = the pack's own address */
  int first, last; /* the bank's address range */
  int analog, alarms, firmware, serial; /* CID2s; 0 if the dialect has none */
  int text_info; /* firmware/serial requests carry the address in INFO */
  int info_adr;  /* analog/alarm replies name their pack in INFO[1] */
  double cell_scale, temp_offset, temp_scale, current_scale, voltage_scale,
      capacity_scale;
  int cell_temp_first, cell_temp_last; /* sensors that are cells' (1-based) */
  struct dev_frame_extras extras[FRAME_EXTRAS_MAX];
  int nextras;
  int alarm_states; /* state bytes after the temperatures' (0x44) */
  char *status[FRAME_STATUS_MAX]; /* status bytes of 0x44, in order */
  int nstatus;
  int balance[2]; /* status indexes of cells 1-8 and 9-16, -1 if none */
  int full_status, full_bit; /* "fully charged" flag, -1 if none */
  struct dev_frame_alarm *words;
  size_t nwords;
};

/* Read the table at the top of L's stack; msg says what is wrong. */
int dev_frame_load(lua_State *L, struct dev_frame **out, char *msg, size_t n);
void dev_frame_free(struct dev_frame *f);

/* Index of a status byte by name, or -1. */
int dev_frame_status(const struct dev_frame *f, const char *name);

/* Repeated groups: replace each var with `each = { {"P", 0, 15}, ... }`
 * in the vars table at the top of L's stack by one var per combination,
 * "{P}" replaced in its strings and index = {p, ...} set (devices/map.c
 * calls this before reading vars). 0, or -1 with msg. */
int dev_map_expand_each(lua_State *L, size_t max, char *msg, size_t n);

#endif
