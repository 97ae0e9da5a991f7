/* libFuzzer target for the map decoder: the first byte picks the mode.
 *   even: the rest is a map's Lua source for dev_map_load (sandboxed,
 *         bounded in memory and steps; must never crash or leak);
 *   odd:  the rest is registers (big-endian pairs) that dev_decode reads
 *         for a var of every type, and text that dev_encode validates.
 * Builds standalone: clang -fsanitize=fuzzer,address -I. fuzz_map.c plus
 * the library objects (tests/fuzz/run.sh). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../devices/map.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char types_src[] =
    "return { vars = {\n"
    " {name='u', reg=0, scale=0.1, access='rw', min=0, max=300},\n"
    " {name='s', reg=0, type='s16', scale=0.01, access='rw'},\n"
    " {name='uh', reg=0, type='u32', access='rw'},\n"
    " {name='sl', reg=0, type='s32', word_order='low', access='rw'},\n"
    " {name='f', reg=0, type='float32', access='rw', scale=0.5},\n"
    " {name='e', reg=0, type='energy8'},\n"
    " {name='str', reg=0, type='string', words=8},\n"
    " {name='en', reg=0, access='rw', enum={[0]='good',[1]='bad'}},\n"
    " {name='t', text='fixed'},\n"
    "}}";

static struct dev_map *types_map(void) {
  static struct dev_map *m;
  struct ohm_error e;
  if (!m && dev_map_load(types_src, strlen(types_src), "fuzz", &m, &e) < 0)
    abort(); /* the harness itself is wrong */
  return m;
}

static void fuzz_decode(const uint8_t *d, size_t n) {
  const struct dev_map *m = types_map();
  uint16_t regs[8] = {0}, out[4];
  char str[64], text[32];
  double x;
  struct ohm_error e;
  size_t k = n < 16 ? n : 16;
  for (size_t i = 0; i + 1 < k; i += 2)
    regs[i / 2] = (uint16_t)(d[i] << 8 | d[i + 1]);
  snprintf(text, sizeof text, "%.*s", (int)(n - k < 31 ? n - k : 31),
           (const char *)d + k);
  for (size_t i = 0; i < m->nvars; i++) {
    dev_decode(&m->vars[i], regs, &x, str, sizeof str, &e);
    dev_encode(&m->vars[i], text, out, &e);
  }
  struct dev_block b[4];
  dev_map_blocks(m, b, 4);
  int bad;
  dev_energy8(regs, &x, &bad);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  struct dev_map *m = NULL;
  struct ohm_error e;
  if (size < 1) return 0;
  if (data[0] & 1) {
    fuzz_decode(data + 1, size - 1);
    return 0;
  }
  if (dev_map_load((const char *)data + 1, size - 1, "fuzz", &m, &e) == 0) {
    struct dev_block b[8];
    dev_map_blocks(m, b, 8);
    for (size_t i = 1; i < m->nvars; i++) /* sorted, no duplicates */
      if (strcmp(m->vars[i - 1].name, m->vars[i].name) >= 0) abort();
    dev_map_free(m);
  }
  return 0;
}
