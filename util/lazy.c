#include "lazy.h"

#include <dlfcn.h>
#include <pthread.h>

/* One lock for every library: loads are rare and short. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

/* The loaders that succeeded (two libraries today). */
static int (*done[8])(struct ohm_error *);

int lazy_once(int (*load)(struct ohm_error *e), struct ohm_error *e) {
  int rc = 0;
  size_t i;
  pthread_mutex_lock(&lock);
  for (i = 0; i < 8 && done[i] && done[i] != load; i++)
    ;
  if (i < 8 && !done[i] && (rc = load(e)) == 0) done[i] = load;
  pthread_mutex_unlock(&lock);
  return rc;
}

int lazy_open(const char *soname, void **handle, struct ohm_error *e) {
  if (*handle) return 0;
  *handle = dlopen(soname, RTLD_NOW | RTLD_GLOBAL);
  if (!*handle)
    return ohm_error_set(e, OHM_ENOTSUP, "cannot load %s (%s)", soname,
                         dlerror());
  return 0;
}

void *lazy_sym(void *handle, const char *soname, const char *name,
               struct ohm_error *e) {
  void *p = dlsym(handle, name);
  if (!p) ohm_error_set(e, OHM_ENOTSUP, "%s has no symbol %s", soname, name);
  return p;
}
