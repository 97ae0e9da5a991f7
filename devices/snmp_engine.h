/* The SNMP device engine (dev_engine_snmp, found by engine.h's weak
 * symbol) and a many-devices read for the fleet poller: every device's
 * whole map in one GET PDU, all devices in flight at once from one thread
 * (transports/snmp.h's multi API). */
#ifndef OHM_DEVICES_SNMP_ENGINE_H
#define OHM_DEVICES_SNMP_ENGINE_H

#include <stddef.h>

#include "../transports/snmp.h"
#include "device.h"

/* One var's value from the agent's object s: only of a type the map
 * accepts for it (never converted from another), within its type's range,
 * a sentinel absent (DV_NONE), an object the agent lacks DV_NONE, and
 * anything else this var's DV_ERR naming the OID. */
void dev_snmp_decode(const struct dev_var *v, const struct tp_snmp_val *s,
                     struct dev_value *out);

/* Read every available var of devs[0..n) (each opened on an snmp://
 * transport) at once: one request per device. vals[i] has
 * devs[i]->map->nvars entries (filled as dev_read_all does, driver hooks
 * included); rcs[i] is 0 or the device's OHM_E* code, errs[i] its detail
 * (errs may be NULL). Returns 0, or OHM_EINTR / OHM_ENOMEM / OHM_EINVAL
 * when the batch as a whole could not run (a device that is not on an
 * snmp transport is that device's OHM_ENOTSUP, not the batch's). */
int dev_snmp_read_many(struct dev *const *devs, size_t n,
                       struct dev_value *const *vals, int *rcs,
                       struct ohm_error *errs, struct ohm_error *e);

/* The same for a stream of devices with at most window requests in
 * flight: next hands the next device (1; 0 when there is none left, it is
 * not called again) and its caller's id; done gets each device back with
 * its values (NULL unless rc is 0, valid only during the call) once read.
 * The caller opens in next and closes in done, so only window devices are
 * open at once. Returns 0, or OHM_EINTR (Ctrl-C: no more devices taken, the
 * ones in flight done with that code) / OHM_ENOMEM. */
typedef int (*dev_snmp_next_fn)(void *ctx, struct dev **d, size_t *id);
typedef void (*dev_snmp_done_fn)(void *ctx, size_t id, struct dev *d,
                                 const struct dev_value *vals, int rc,
                                 const struct ohm_error *err);
int dev_snmp_read_window(size_t window, dev_snmp_next_fn next,
                         dev_snmp_done_fn done, void *ctx, struct ohm_error *e);

#endif
