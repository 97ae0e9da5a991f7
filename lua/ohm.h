/* The `ohm` Lua module (DESIGN.md "Lua API"): device objects, raw
 * transport objects and decode helpers. The shell preloads it; its context
 * (the inventory file, default options) lives in the Lua registry, never in
 * globals. Library code: errors go back to Lua, nothing is printed. */
#ifndef OHM_LUA_OHM_H
#define OHM_LUA_OHM_H

#include <lua.h>

#include "../devices/device.h"

#ifndef OHM_VERSION
#define OHM_VERSION "0.1.0"
#endif

#define L_DEVICE_MT "ohm.device"
#define L_PATH_MT "ohm.path"
#define L_RAW_MT "ohm.transport"
#define L_VALUES_MT "ohm.values"

/* luaL_requiref-compatible opener: pushes the module table. */
int luaopen_ohm(lua_State *L);

/* Inventory file for ohm.open(NAME) and ohm.devices() (NULL: $OHM_CONFIG,
 * else ~/.config/ohm/config.lua). Copied; call before the first open. */
void l_ohm_set_config(lua_State *L, const char *path);

/* Default transport options for ohm.open/ohm.connect (their options
 * table overrides each field): the command line's --timeout/--retries. */
void l_ohm_set_defaults(lua_State *L, const struct tp_opts *o);

/* The open device at idx, or NULL if idx is not a device or it is closed.
 * Borrowed: valid while the Lua object is alive and open. */
struct dev *l_device_test(lua_State *L, int idx);

/* The device at idx's name as messages show it (redacted), or NULL. */
const char *l_device_name(lua_State *L, int idx);

/* The path proxy at idx (pdu.input.L1): its device (NULL if closed) and
 * prefix ("input.L1"); returns 0 if idx is not a path proxy. */
int l_path_test(lua_State *L, int idx, struct dev **d, const char **prefix);

/* Internal to lua/: the module's parts register into the module table. */
void l_device_register(lua_State *L);
void l_raw_register(lua_State *L);
/* The open transport of the raw object at idx (raises if closed), for
 * methods other files add; l_snmp_methods adds s:get/walk/set to the
 * methods table on top (lua/l_snmp.c; weak: absent in a build without). */
struct tp *l_raw_tp(lua_State *L, int idx);
void l_snmp_methods(lua_State *L) __attribute__((weak));
void l_upgrade_register(lua_State *L); /* ohm.upgrade, lua/l_upgrade.c */
void l_poll_register(lua_State *L);    /* ohm.poll, lua/l_poll.c */
void l_config_register(lua_State *L);  /* ohm.config, lua/l_config.c */
struct inventory *l_ohm_inventory(lua_State *L, struct ohm_error *e);
int l_push_error(lua_State *L, const struct ohm_error *e);
void l_opts_from_table(lua_State *L, int idx, struct tp_opts *o,
                       const char **driver, const char *extra);

#endif
