#include "embedded.h"

#include <string.h>

const struct ohm_embedded *ohm_embedded_find(const char *path) {
  for (const struct ohm_embedded *f = ohm_embedded; f->path; f++)
    if (strcmp(f->path, path) == 0) return f;
  return NULL;
}
