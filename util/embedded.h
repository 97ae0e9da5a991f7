/* Data built into the binary: Lua library files (lua/NAME.lua) embedded
 * by scripts/embed.sh, and the driver maps (devices/<name>/map.lua)
 * compiled to C tables by scripts/map2c.c, so that start-up parses no
 * Lua. */
#ifndef OHM_UTIL_EMBEDDED_H
#define OHM_UTIL_EMBEDDED_H

#include <stddef.h>

struct ohm_embedded {
  const char *path; /* as in the source tree, "devices/bps2000v2/map.lua" */
  const char *data; /* NUL-terminated */
  size_t size;
};

/* Terminated by an entry whose path is NULL. */
extern const struct ohm_embedded ohm_embedded[];

/* The embedded file at path, or NULL. */
const struct ohm_embedded *ohm_embedded_find(const char *path);

/* The built-in driver maps, loaded at build time by the run-time loader
 * (devices/map.c) and written out as C code filling static tables: get()
 * fills them on its first call (thread-safe) and returns them, never to be
 * freed. Sorted as the map files are; terminated by a NULL name. */
struct dev_map;
struct ohm_builtin_map {
  const char *name; /* "bps2000v2" */
  struct dev_map *(*get)(void);
};
extern const struct ohm_builtin_map ohm_builtin_maps[];

#endif
