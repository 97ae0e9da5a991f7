#include "lazy.h"

#include <dlfcn.h>

int lazy_open(const char *soname, void **handle, struct ohm_error *e) {
  if (*handle)
    return 0;
  *handle = dlopen(soname, RTLD_NOW | RTLD_GLOBAL);
  if (!*handle)
    return ohm_error_set(e, OHM_ENOTSUP, "cannot load %s (%s)", soname,
                         dlerror());
  return 0;
}

void *lazy_sym(void *handle, const char *soname, const char *name,
               struct ohm_error *e) {
  void *p = dlsym(handle, name);
  if (!p)
    ohm_error_set(e, OHM_ENOTSUP, "%s has no symbol %s", soname, name);
  return p;
}
