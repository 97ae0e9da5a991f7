/* libFuzzer target for Modbus TCP reply handling (transports/modbus_adu.c):
 * bytes 0..3 pick the request (function 03 or 06, unit, register count),
 * the rest is the reply as it came off the wire. Beyond "no crash", a
 * reply taken as good must be the answer to that request: same
 * transaction id, protocol id 0, same unit and function, an MBAP length
 * that is the frame's, a byte count of exactly the registers asked. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../transports/modbus_adu.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  struct mb_adu q;
  uint16_t regs[128];
  uint8_t req[12];
  char why[96];
  const uint8_t *r;
  size_t n;
  int rest, rc;
  if (size < 4) return 0;
  q.tid = 0x1234;
  q.fc = data[0] & 1 ? 6 : 3;
  q.unit = data[1];
  q.addr = 7;
  q.arg = q.fc == 3 ? (uint16_t)(data[2] % 125 + 1) : data[3];
  mb_adu_encode(&q, req);
  r = data + 4;
  n = size - 4;
  if (n < 7) return 0;
  rest = mb_adu_rest(r, why, sizeof why);
  if (rest < 0) return 0;
  if (n > 7 + (size_t)rest) n = 7 + (size_t)rest; /* what a read takes */
  rc = mb_adu_check(&q, r, n, regs, why, sizeof why);
  if (rc == 0) {
    if (r[0] != 0x12 || r[1] != 0x34 || r[2] || r[3] || r[6] != q.unit ||
        r[7] != q.fc || (size_t)(r[4] << 8 | r[5]) != n - 6)
      abort();
    if (q.fc == 3 && (r[8] != 2 * q.arg || n != 9 + 2u * q.arg)) abort();
    if (q.fc == 6 && memcmp(r + 7, req + 7, 5) != 0) abort();
  } else if (rc != MB_ADU_STRAY && rc != -1) {
    abort();
  }
  return 0;
}
