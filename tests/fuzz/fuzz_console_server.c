/* libFuzzer target for `ohm serve --telnet` (shell/serve_telnet.c,
 * devices/bps2000v2/console_srv.c): one console session fed the input as a
 * client would send it (Telnet negotiation through libtelnet, line editing with
 * CR/LF/NUL/BS, the login as fuzz/fuzz, every menu and screen, threshold
 * and clear commands reaching the simulator's cache). The sanitizers and
 * the session's own bounds are the invariants. */
#include <stdint.h>
#include <stdlib.h>

#include "serve_fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  serve_telnet_feed(fuzz_cache(), (const char *)data, size);
  return 0;
}
