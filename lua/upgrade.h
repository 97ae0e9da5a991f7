/* A batch firmware upgrade or configuration push (issue 5), shared by
 * `ohm upgrade` / `ohm push` and the Lua `ohm.upgrade{}`: targets resolved
 * from the inventory or URIs, checks before, transfers (transports/xfer.h),
 * checks after. Library code: nothing printed; callers read the results and
 * get events through the xfer callbacks. */
#ifndef OHM_LUA_UPGRADE_H
#define OHM_LUA_UPGRADE_H

#include "../transports/xfer.h"
#include "inventory.h"

struct tp_opts;

/* Files one batch sends (--file / file=, files=): the CLI and Lua refuse
 * more, saying so. Targets have no fixed limit. */
#define UPG_MAX_FILES 16

struct upg_target {
  char *arg;    /* as given, redacted */
  char *device; /* inventory name or device URI to check, or NULL */
  char *driver; /* driver for device (NULL: inventory's / URI's) */
  int probe;    /* xfer_probe result */
  char ver_before[64], ver_after[64]; /* "" when unknown */
  double wait_s; /* seconds until the unit answered again, -1 if not */
};

struct upg_opts {
  int push;                 /* configuration push: FTP only */
  int dry_run;              /* checks only */
  double wait;              /* seconds a unit may take to answer again */
  double settle;            /* seconds after a transfer before expecting it */
  const char *remote;       /* remote name for a single file, or NULL */
  const char *driver;       /* -d: driver for device targets */
  const struct tp_opts *tp; /* management transport options */
  struct xfer_opts x;       /* transfer options and callbacks */
};

/* ts[i] and xs[i] describe the same target (xfer_run wants an array). */
struct upg_batch {
  struct upg_target *ts;
  struct xfer_target *xs;
  size_t n;
  struct xfer_file *files;
  size_t nfiles;
  struct upg_opts o;
  const struct inventory *inv; /* borrowed, may be NULL */
  double seconds;              /* wall time of the transfers */
};

/* Resolve targets (inventory names, device URIs, tftp:// or ftp:// URIs)
 * and read the files once. Any bad target or file fails the whole batch
 * before anything is sent (e says which). Free with upg_free. */
int upg_prepare(struct upg_batch *b, const struct inventory *inv,
                char *const *targets, size_t ntargets, char *const *files,
                size_t nfiles, const struct upg_opts *o, struct ohm_error *e);
void upg_free(struct upg_batch *b);

/* Before: probe every target, read versions of managed units; a target
 * that refuses or whose management transport fails is marked failed. */
void upg_check(struct upg_batch *b);

/* Transfer to the targets still pending, then wait for managed units to
 * answer again and read their versions. OHM_EINTR when interrupted. */
int upg_run(struct upg_batch *b, struct ohm_error *e);

/* Counts by final state; returns the exit status (0 all ok, 3 some
 * failed, 1 none did). */
int upg_summary(const struct upg_batch *b, size_t *ok, size_t *failed);

#endif
