/* util/strbuf.c: the growing string of lua/config.c's rendered file and
 * the event log's JSON lines. */
#include <stdlib.h>

#include "t.h"
#include "util/strbuf.h"

int main(void) {
  struct ohm_strbuf b = {0};
  ohm_strbuf_add(&b, "ab", 2);
  ohm_strbuf_printf(&b, "-%d-%s", 42, "x");
  CHECK_STR(b.s, "ab-42-x", "add then printf append");
  CHECK(b.n == 7 && b.s[7] == 0, "length kept, NUL-terminated");

  char big[3000];
  memset(big, 'y', sizeof big - 1);
  big[sizeof big - 1] = 0;
  ohm_strbuf_printf(&b, "[%s]", big);
  CHECK(b.n == 7 + 2 + sizeof big - 1, "a long printf is whole, not cut");
  CHECK(b.s[b.n - 1] == ']' && b.s[b.n] == 0, "its end is there");
  for (int i = 0; i < 1000; i++)
    ohm_strbuf_add(&b, "0123456789", 10);
  CHECK(b.n == 7 + 3001 + 10000 && !b.oom, "grows over many appends");
  ohm_strbuf_free(&b);
  CHECK(!b.s && !b.n && !b.cap, "free empties it");

  struct ohm_strbuf o = {.oom = 1};
  ohm_strbuf_add(&o, "a", 1);
  ohm_strbuf_printf(&o, "%s", "b");
  CHECK(!o.s && !o.n, "after out of memory, calls do nothing");
  T_DONE();
}
