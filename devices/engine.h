/* How a device reads, writes and runs commands over one kind of transport.
 * engine.c holds the register (Modbus) engine; the SNMP and console
 * engines live beside their transports' drivers and are found here by
 * weak symbols, so a build without one still links. */
#ifndef OHM_DEVICES_ENGINE_H
#define OHM_DEVICES_ENGINE_H

#include "device.h"

struct dev_engine {
  enum tp_kind kind;
  /* optional: after the transport opened (e.g. console login) */
  int (*open)(struct dev *d, struct ohm_error *e);
  /* read every available var into vals (indexed like d->map->vars);
   * dev_read_all has zeroed vals (fixed-text vars come after: skip them) */
  int (*read_all)(struct dev *d, struct dev_value *vals, struct ohm_error *e);
  /* write one validated var; text already checked by dev_set */
  int (*set)(struct dev *d, const struct dev_var *v, const char *text,
             struct ohm_error *e);
  int (*cmd)(struct dev *d, const struct dev_cmd *c, struct ohm_error *e);
  /* optional: read only what holds the vars marked in want (indexed like
   * d->map->vars; vals as for read_all) */
  int (*read_some)(struct dev *d, const unsigned char *want,
                   struct dev_value *vals, struct ohm_error *e);
  /* optional: free engine state in d->priv-like fields */
  void (*close)(struct dev *d);
};

extern const struct dev_engine dev_engine_regs;
extern const struct dev_engine dev_engine_snmp __attribute__((weak));
extern const struct dev_engine dev_engine_console __attribute__((weak));

/* After an engine's read (rc its result): a read in which no var of the
 * map answered is an error ("no BPS2000v2 objects at this agent: wrong
 * driver?"); fixed texts are filled in only when something answered, and
 * on any error every value is cleared. Then the driver's post_read hook.
 * Every reading path goes through here. */
int dev_read_answered(struct dev *d, struct dev_value *vals, int rc,
                      struct ohm_error *e);

/* The engine for a transport kind, or NULL. */
const struct dev_engine *dev_engine_for(enum tp_kind kind);

/* Driver hooks: what no table can say (ups.status from two OIDs, menu
 * scraping). Found by driver name; all members optional. */
struct dev_hooks {
  const char *driver;
  /* after read_all: derive vars from others (vals indexed like vars) */
  int (*post_read)(struct dev *d, struct dev_value *vals, struct ohm_error *e);
};
const struct dev_hooks *dev_hooks_find(const char *driver);

#endif
