/* Lazy loading of the libraries only some commands need (libcurl,
 * net-snmp and its agent library, libmosquitto, readline, libserialport,
 * libtelnet). Linked normally they cost ohm's start-up their dynamic
 * loading and symbol binding (readline and libtinfo alone bind about 560
 * symbols), paid by every `ohm get` even over Modbus; loaded with dlopen on
 * first use they cost only the commands that need them. A missing one is
 * an error naming its Debian package.
 *
 * A generated header (util/lazy_LIB.h, by scripts/gen-lazy.sh) lists
 * the library's symbols that ohm uses and redefines each name as a call
 * through a pointer table, so the code that uses the library is written as
 * usual: include the library's headers, then the lazy header, and call
 * lazy_LIB_load() once before the first use (safe to call again). */
#ifndef OHM_UTIL_LAZY_H
#define OHM_UTIL_LAZY_H

#include "err.h"

#define LAZY_FIELD(s) __typeof__(s) *p_##s;

/* Run load(e) once per process, under a lock: the fleet poller may ask
 * from several threads. Later calls return 0 once a load succeeded; a
 * failed load is tried again next time. */
int lazy_once(int (*load)(struct ohm_error *e), struct ohm_error *e);

/* dlopen soname (RTLD_GLOBAL) into *handle unless already open. */
int lazy_open(const char *soname, void **handle, struct ohm_error *e);
/* dlsym, with an error naming the library and symbol on failure. */
void *lazy_sym(void *handle, const char *soname, const char *name,
               struct ohm_error *e);

#endif
