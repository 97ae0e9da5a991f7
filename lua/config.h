/* Configuration across a fleet (`ohm config save/diff/apply`,
 * ohm.config): a device's writable variables saved as a Lua file that
 * returns a table, read back in the inventory's sandbox, compared with
 * devices and applied to them. The core of both the shell command and the
 * Lua module; it never prints and never opens devices (callers do). */
#ifndef OHM_LUA_CONFIG_H
#define OHM_LUA_CONFIG_H

#include <stddef.h>

#include "../devices/device.h"

/* One saved value: a number, or text (enum states, strings). */
struct cfg_val {
  char *name;
  int is_str;
  double num;
  char *str;
};

/* A saved configuration: the header fields (NULL when absent; device is
 * the redacted name or URI) and the values, sorted by name. */
struct cfg_file {
  char *device, *driver, *model, *firmware, *time;
  struct cfg_val *vals;
  size_t n;
  char **skipped; /* snapshot: "NAME: why" of writable variables not saved
                     (not over this transport, absent, failed to read) */
  size_t nskipped;
};

void cfg_free(struct cfg_file *f);

/* Read every writable variable of d that its transport reaches (one read
 * of the whole map). shown names the device in the header (redacted here).
 * Caller frees *out with cfg_free. */
int cfg_snapshot(struct dev *d, const char *shown, struct cfg_file **out,
                 struct ohm_error *e);

/* f as Lua source (header comment, then `return { ... }`). Caller frees. */
char *cfg_render(const struct cfg_file *f, const struct dev_map *m);

/* Write text to path atomically (a temporary file beside it, fsync,
 * rename, fsync of the directory): a reader never sees half a file. The
 * file is mkstemp's 0600: a fleet's settings are for its admins. */
int cfg_write_file(const char *path, const char *text, struct ohm_error *e);

/* Load a saved file in the inventory's sandbox (no io, bounded steps and
 * memory; lua/inventory.c). e says which field is wrong. */
int cfg_load(const char *path, struct cfg_file **out, struct ohm_error *e);

/* The saved table on top of L (as a file returns it) into f, which the
 * caller allocated zeroed and frees with cfg_free even on error; raises a
 * Lua error naming the bad field. */
struct lua_State;
int cfg_table_read(struct lua_State *L, struct cfg_file *f);

/* A variable of the file whose value differs from the device's. */
enum cfg_state {
  CFG_DIFFERS = 0, /* found by diff or planned by apply */
  CFG_WRITTEN,     /* written and read back equal */
  CFG_MISMATCH,    /* written, but the read-back value differs */
  CFG_FAILED,      /* the write failed (msg says why) */
  CFG_NOT_SENT,    /* not written: an earlier write of the device failed */
};

struct cfg_change {
  const struct dev_var *var; /* borrowed from the device's map */
  char dev_text[160];        /* the device's value before, "" if absent */
  char file_text[160];       /* the file's value */
  char back_text[160];       /* read back after the write */
  enum cfg_state state;
  char msg[400];
};

/* Per device: what differs, in the order apply writes it. */
struct cfg_plan {
  struct cfg_change *ch;
  size_t n;
  size_t nvals; /* values of the file compared (after --only) */
  int refused;  /* cfg_plan failed on the file's values, not the device */
};

void cfg_plan_free(struct cfg_plan *p);

/* Compare d with f (only: comma-separated names, NULL = all). A file from
 * another driver, a name the map lacks, or (validate) a value the map or
 * the threshold order refuses is an error with e saying which and
 * out->refused set; a device failure is returned as it comes (refused 0).
 * Changes come in a safe order: a threshold is written only where it keeps its
 * quantity's low <= high order with the values already on the device (raising a
 * pair writes high first, lowering low first). */
int cfg_plan(struct dev *d, const struct cfg_file *f, const char *only,
             int validate, struct cfg_plan *out, struct ohm_error *e);

/* Write p's changes in order, stop at the first failure (the rest
 * CFG_NOT_SENT), then read everything back. Returns 0 when every change
 * reads back as written; else OHM_EDEVICE (a write failed or a read-back
 * differs) or the read-back's failure, with e saying which. */
int cfg_apply(struct dev *d, struct cfg_plan *p, struct ohm_error *e);

/* Run fn(ctx, i) for i in [0, n) on up to jobs threads (jobs <= 1: in
 * this thread, in order). done(ctx, i) follows each, never two at once.
 * Items whose bus(ctx, i) is the same line (a tty path; NULL: none, or
 * bus itself NULL) run one after another on one thread, in order. */
void cfg_parallel(size_t n, int jobs, const char *(*bus)(void *ctx, size_t i),
                  void (*fn)(void *ctx, size_t i),
                  void (*done)(void *ctx, size_t i), void *ctx);

#endif
