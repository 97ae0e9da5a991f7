/* The inventory (DESIGN.md "Inventory"): --config FILE, else $OHM_CONFIG,
 * else ~/.config/ohm/config.lua; a Lua file with a `devices` table, and
 * other sections (e.g. `console` accounts) read by the code that needs them.
 * A missing default file is an empty inventory, not an error. */
#ifndef OHM_LUA_INVENTORY_H
#define OHM_LUA_INVENTORY_H

#include "../util/err.h"
#include "../transports/uri.h"

struct inv_device {
  char *name;            /* "pdu1" */
  char *uri;             /* as written */
  char *driver;          /* NULL if not given */
  struct ohm_kv *fields; /* every other string/number field, e.g. password,
                            auth_pass, interval; values as text */
  size_t nfields;
  char *error; /* a bad entry ("unknown field ..."): opening it fails with
                  this, the other devices still work; NULL if good */
};

struct inventory {
  char *path;              /* file read, NULL if none */
  struct inv_device *devs; /* sorted by name */
  size_t ndevs;
  void *L; /* the lua_State the file ran in, kept for other sections */
};

/* path NULL: $OHM_CONFIG, else ~/.config/ohm/config.lua. */
int inv_load(const char *path, struct inventory **out, struct ohm_error *e);
void inv_free(struct inventory *inv);
const struct inv_device *inv_find(const struct inventory *inv,
                                  const char *name);
/* OHM_ECONFIG with e set to d's entry error, or 0 for a good entry. */
int inv_entry_error(const struct inv_device *d, struct ohm_error *e);
/* A device's extra field, or NULL. */
const char *inv_field(const struct inv_device *d, const char *key);

/* Open an inventory name or a URI (inv may be NULL). An inventory device's
 * secrets (password, auth_pass, priv_pass fields) are added to the parsed
 * URI (password, or query parameters auth_pass / priv_pass) and never to
 * any text. driver overrides the inventory's and the URI's. */
struct dev;
struct tp_opts;
int inv_open(const struct inventory *inv, const char *name_or_uri,
             const char *driver, const struct tp_opts *o, struct dev **out,
             struct ohm_error *e);

/* Call f(L, ud) on the inventory's Lua state (for sections other than
 * `devices`, e.g. `nut`, `console`) under lua_pcall, with the sandbox's
 * step and memory limits fresh for this call: a hostile metatable or a
 * runaway config raises instead of hanging or aborting. f may raise; its
 * stack is reset afterwards. Returns f's result, 0 without an inventory
 * state, or OHM_ECONFIG with e = "FILE: what went wrong". */
struct lua_State;
int inv_call(const struct inventory *inv,
             int (*f)(struct lua_State *L, void *ud), void *ud,
             struct ohm_error *e);

/* Run the Lua file path in a fresh sandbox like the inventory's (no io,
 * step and memory limits) and call f(L, ud) with the chunk's first result
 * on top of the stack (config files that return a table); the state is
 * closed afterwards. Returns f's result, or OHM_ECONFIG with e = "FILE:
 * what went wrong". */
int inv_load_value(const char *path, int (*f)(struct lua_State *L, void *ud),
                   void *ud, struct ohm_error *e);

/* A copy of a device name or URI safe to show: the user-info password and
 * the values of query parameters whose name contains "pass" become "***".
 * Caller frees; NULL only when out of memory. */
char *inv_redact(const char *name_or_uri);

#endif
