/* Files embedded at build time by scripts/embed.sh: driver maps
 * (devices/<name>/map.lua) and Lua library files (lua/NAME.lua). */
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

#endif
