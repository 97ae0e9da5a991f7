/* The inventory's device fields: which exist (a misspelt one is an error
 * that names the nearest), what values they take, and the per-device
 * transport options (timeout, retries) they give. */
#ifndef OHM_LUA_INV_FIELDS_H
#define OHM_LUA_INV_FIELDS_H

#include "../transports/transport.h"
#include "inventory.h"

/* Check field key = val of a device entry: 0, or OHM_ECONFIG with e
 * saying "unknown field 'drvier' (did you mean driver?)" or what value
 * the field takes. */
int inv_field_check(const char *key, const char *val, struct ohm_error *e);

/* o (the caller's: command line) with d's timeout/retries where o leaves
 * the transport default, into *out. */
void inv_field_opts(const struct inv_device *d, const struct tp_opts *o,
                    struct tp_opts *out);

#endif
