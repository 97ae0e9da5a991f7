/* libFuzzer target for the inventory loader (lua/inventory.c): any text as
 * the config file, run in the sandbox, then a later call into it as serve
 * makes (inv_call reading `nut`). Invariants (abort on failure): loading
 * either fails with a message naming the file or gives devices
 * that each have a name and a URI, sorted by name; no call hangs (the
 * step limit; libFuzzer's -timeout catches one), crashes or leaks. */
#include <lua.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lua/inventory.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char path[64];

static int read_nut(lua_State *L, void *ud) {
  (void)ud;
  if (lua_getglobal(L, "nut") == LUA_TTABLE) lua_getfield(L, -1, "users");
  return 0;
}

static void check(const struct inventory *inv) {
  struct ohm_error e;
  for (size_t i = 0; i < inv->ndevs; i++) {
    const struct inv_device *d = &inv->devs[i];
    if (!d->name || !d->uri) abort();
    if (i && strcmp(inv->devs[i - 1].name, d->name) > 0) abort();
    if (inv_find(inv, d->name) == NULL) abort();
    free(inv_redact(d->uri));
  }
  ohm_error_clear(&e);
  if (inv_call(inv, read_nut, NULL, &e) < 0 && !e.msg[0]) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  struct inventory *inv = NULL;
  struct ohm_error e;
  if (!path[0])
    snprintf(path, sizeof path, "/tmp/ohm-fuzz-inv-%d.lua", (int)getpid());
  FILE *f = fopen(path, "wb");
  if (!f) return 0;
  fwrite(data, 1, size, f);
  fclose(f);
  ohm_error_clear(&e);
  if (inv_load(path, &inv, &e) == 0)
    check(inv);
  else if (inv || !e.msg[0] || !strstr(e.msg, path))
    abort();
  inv_free(inv);
  return 0;
}
