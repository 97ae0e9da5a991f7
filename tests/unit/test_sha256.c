/* SHA-256 against FIPS 180-4 / NIST example vectors and sha256sum. */
#include <stdlib.h>
#include <string.h>

#include "t.h"
#include "util/sha256.h"

static void check(const char *name, const void *d, size_t n, const char *want) {
  char hex[65];
  sha256_hex(d, n, hex);
  CHECK_STR(hex, want, name);
}

int main(void) {
  check("empty", "", 0,
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  check("abc", "abc", 3,
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
  check("two blocks", two, strlen(two),
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  char *m = malloc(1000000);
  memset(m, 'a', 1000000);
  check("million a", m, 1000000,
        "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  struct sha256 s;
  unsigned char d1[32], d2[32];
  sha256_init(&s); /* split updates give the same digest */
  for (size_t i = 0; i < 1000000; i += 777)
    sha256_update(&s, m + i, i + 777 > 1000000 ? 1000000 - i : 777);
  sha256_final(&s, d1);
  sha256_init(&s);
  sha256_update(&s, m, 1000000);
  sha256_final(&s, d2);
  CHECK(memcmp(d1, d2, 32) == 0, "split updates");
  free(m);
  T_DONE();
}
