#include "lazy.h"

#include <dlfcn.h>
#include <pthread.h>
#include <string.h>

/* One lock for every library: loads are rare and short. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

/* The loaders that succeeded (six libraries today). */
static int (*done[16])(struct ohm_error *);

int lazy_once(int (*load)(struct ohm_error *e), struct ohm_error *e) {
  int rc = 0;
  size_t i;
  pthread_mutex_lock(&lock);
  for (i = 0; i < 16 && done[i] && done[i] != load; i++)
    ;
  if (i < 16 && !done[i] && (rc = load(e)) == 0) done[i] = load;
  pthread_mutex_unlock(&lock);
  return rc;
}

/* The Debian package that ships each library, for the error message. */
static const char *package(const char *soname) {
  static const char *const pkgs[][2] = {
      {"libcurl.so.4", "libcurl4"},
      {"libmodbus.so.5", "libmodbus5"},
      {"libnetsnmp.so.40", "libsnmp40"},
      {"libnetsnmpagent.so.40", "libsnmp40"},
      {"libmosquitto.so.1", "libmosquitto1"},
      {"libreadline.so.8", "libreadline8"},
      {"libserialport.so.0", "libserialport0"},
      {"libtelnet.so.2", "libtelnet2"},
  };
  for (size_t i = 0; i < sizeof pkgs / sizeof *pkgs; i++)
    if (strcmp(pkgs[i][0], soname) == 0) return pkgs[i][1];
  return NULL;
}

int lazy_open(const char *soname, void **handle, struct ohm_error *e) {
  const char *pkg = package(soname), *why;
  if (*handle) return 0;
  if ((*handle = dlopen(soname, RTLD_NOW | RTLD_GLOBAL))) return 0;
  why = dlerror();
  return ohm_error_set(e, OHM_ENOTSUP, "cannot load %s%s%s (%s)", soname,
                       pkg ? ", install the package " : "", pkg ? pkg : "",
                       why ? why : "not found");
}

void *lazy_sym(void *handle, const char *soname, const char *name,
               struct ohm_error *e) {
  void *p = dlsym(handle, name);
  if (!p) ohm_error_set(e, OHM_ENOTSUP, "%s has no symbol %s", soname, name);
  return p;
}
