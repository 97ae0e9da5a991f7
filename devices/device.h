/* A device: a driver map bound to an open transport. The engine reads the
 * whole map in the fewest requests (one for the BPS2000v2 over Modbus),
 * validates writes against the map before sending, and runs commands.
 *
 * Drivers are found by name in devices/registry.c (built-in maps embedded
 * from devices/<name>/map.lua, then ~/.config/ohm/drivers/<name>.lua). */
#ifndef OHM_DEVICES_DEVICE_H
#define OHM_DEVICES_DEVICE_H

#include "../transports/transport.h"
#include "map.h"

enum dev_vkind {
  DV_NONE = 0, /* not available over this transport / absent on agent */
  DV_NUM,
  DV_STR,
  DV_ERR, /* this var failed; err holds the code and str the one-line
             message; the others may be fine */
};

struct dev_value {
  enum dev_vkind kind;
  double num;
  char str[128];
  int err;
};

struct dev {
  const struct dev_map *map;       /* borrowed from the driver registry */
  struct tp *tp;                   /* owned */
  int unit;                        /* Modbus slave address or chain position */
  const struct dev_engine *engine; /* chosen by the transport's kind */
  void *sim;               /* simulator handle for sim:DRIVER, or NULL */
  struct sim_bms *sim_bms; /* the BMS simulator of sim:DRIVER, or NULL */
  void *priv;              /* engine state (e.g. console session) */
};

/* Driver maps by name: built-in first, then the user's directory
 * ($OHM_DRIVERS or ~/.config/ohm/drivers); a name with a '/' is a map file
 * ("./seplos.lua", named by the file). Maps are loaded once and kept for
 * the process's life. */
int dev_driver_find(const char *name, const struct dev_map **out,
                    struct ohm_error *e);

/* The user's drivers: names of the *.lua maps in $OHM_DRIVERS (else
 * ~/.config/ohm/drivers), sorted, NULL-terminated (NULL when there are
 * none; *n their count). Free with dev_driver_user_free. */
char **dev_driver_user(size_t *n);

/* Where the registry's notes go ("the user map X.lua replaces the
 * built-in driver X"): the shell prints them; NULL (default) drops them. */
void dev_set_note(void (*fn)(const char *msg));
void dev_driver_user_free(char **names);
/* Names of the built-in drivers, NULL-terminated. */
const char *const *dev_driver_builtin(void);

/* Open uri (a device URI, or sim:DRIVER which starts the simulator in
 * process on a loopback port) with driver (NULL: the URI's driver=, else
 * the only driver that fits). Caller frees with dev_close. */
int dev_open(const char *uri, const char *driver, const struct tp_opts *o,
             struct dev **out, struct ohm_error *e);

/* Same from a parsed URI (copied), as the inventory opens devices with
 * secrets that never appear in text; name is what messages show. */
int dev_open_uri(const struct ohm_uri *u, const char *name, const char *driver,
                 const struct tp_opts *o, struct dev **out,
                 struct ohm_error *e);

void dev_close(struct dev *d);

/* Whether var v can be read over d's transport (has a location for it). */
int dev_var_available(const struct dev *d, const struct dev_var *v);
/* The same by transport scheme ("modbus-tcp"), for code that holds no
 * device (serve's listeners); 1 for an unknown scheme. */
int dev_var_over(const char *scheme, const struct dev_var *v);
/* Whether v has a location over transports of kind (fixed text: always). */
int dev_var_has(enum tp_kind kind, const struct dev_var *v);

/* Read every var of the map available over this transport into vals
 * (indexed like d->map->vars). Returns 0 when the request(s) succeeded,
 * even if single vars decoded to DV_ERR; a transport failure is returned
 * and no value is presented as good. */
int dev_read_all(struct dev *d, struct dev_value *vals, struct ohm_error *e);

/* Read one var by name. */
/* The driver whose map's `signature` answers at the SNMP agent t (user
 * maps first, then built-in), or OHM_ENOENT; OHM_ENOTSUP over other
 * transports (devices/detect.c). */
int dev_driver_detect(struct tp *t, const struct dev_map **out,
                      struct ohm_error *e);

/* The agent's sysObjectID and sysDescr (one line), "" when absent. */
int dev_snmp_ident(struct tp *t, char *objid, size_t objsz, char *descr,
                   size_t descrsz, struct ohm_error *e);

/* Like dev_read_all, but reading over the wire only the requests that
 * hold the vars marked in want (indexed like d->map->vars; NULL: all);
 * the others are left absent. */
int dev_read_some(struct dev *d, const unsigned char *want,
                  struct dev_value *vals, struct ohm_error *e);

int dev_get(struct dev *d, const char *name, struct dev_value *val,
            struct ohm_error *e);

/* Validate text against the map and write it (Modbus function 06). */
int dev_set(struct dev *d, const char *name, const char *text,
            struct ohm_error *e);

/* Run an instant command; OHM_ENOTSUP with a clear message when the
 * transport cannot carry it ("not supported over modbus"). */
/* Write n vars in one go where the device takes them all or none (SNMP:
 * one SET PDU): each value checked as dev_set does before anything is
 * sent. Returns 0, or an error with *bad the 1-based index of the var it
 * is about (0 if none); OHM_ENOTSUP (nothing sent) where the transport
 * has no such write: use dev_set one by one. */
int dev_set_many(struct dev *d, const char *const *names,
                 const char *const *texts, size_t n, size_t *bad,
                 struct ohm_error *e);
int dev_cmd(struct dev *d, const char *name, struct ohm_error *e);
/* Whether dev_cmd can run c over d's transport (the simulator's own
 * commands included), without running it. */
int dev_cmd_available(const struct dev *d, const struct dev_cmd *c);

/* Format a value the way `ohm get` prints it (no unit); buf >= 64. */
void dev_value_format(const struct dev_var *v, const struct dev_value *val,
                      char *buf, size_t n);

#endif
