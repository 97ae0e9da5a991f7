/* Modbus TCP requests checked the whole way (DESIGN.md "What a read may
 * show"). libmodbus 3.1.6 checks a TCP reply's transaction id, function
 * and byte count, but not its unit id, not its protocol id (its test is
 * `rsp[2] != 0 && rsp[3] != 0`, so protocol id 1 passes), not the MBAP
 * length (it reads as many bytes as the function implies, so a longer
 * frame leaves bytes that answer the next request), and it fails on the
 * first reply of another transaction instead of discarding it. So over
 * TCP ohm frames the request itself on libmodbus's connected socket:
 * stale bytes are flushed before each request, replies of other
 * transactions (duplicates, strays) are read and discarded until the
 * deadline, and the one that answers is checked field by field. */
#ifndef OHM_TRANSPORTS_MODBUS_ADU_H
#define OHM_TRANSPORTS_MODBUS_ADU_H

#include <stddef.h>
#include <stdint.h>

#define MB_ADU_MAX 260 /* MBAP header (6) + unit + PDU (253) */
#define MB_ADU_STRAY 1 /* a reply to another transaction: discard it */

/* One request: read arg coils (01), discrete inputs (02), holding (03) or
 * input registers (04) at addr; write the value arg to one coil (05, 0 or
 * 0xFF00) or register (06); write arg coils (15) or registers (16) from
 * data (one uint16_t per coil, 0 or 1). */
struct mb_adu {
  uint16_t tid;
  uint8_t unit, fc;
  uint16_t addr;
  uint16_t arg;         /* 01-04, 15, 16: the count; 05, 06: the value */
  const uint16_t *data; /* 15, 16: what is written */
};

/* The request ADU for q into buf (MB_ADU_MAX bytes); its length. */
size_t mb_adu_encode(const struct mb_adu *q, uint8_t *buf);

/* The bytes still to read after the first 7 of a reply (MBAP header and
 * unit id), or -1 (why says) if its MBAP length is impossible. */
int mb_adu_rest(const uint8_t head[7], char *why, size_t whysz);

/* Check a whole reply of len bytes against q. 0: good (for reads the
 * registers, or bits as 0/1, are in dst[0..arg)); MB_ADU_STRAY: another
 * transaction's; else -1 with errno EMBBADDATA (why says what), EMBBADSLAVE, or
 * MODBUS_ENOBASE + the exception code. */
int mb_adu_check(const struct mb_adu *q, const uint8_t *rsp, size_t len,
                 uint16_t *dst, char *why, size_t whysz);

/* Flush fd, send q and wait up to timeout seconds for its reply,
 * discarding other transactions' replies. 0, or -1 with errno (as above,
 * ETIMEDOUT, ECONNRESET when the peer closed) and why for EMBBADDATA. */
int mb_adu_transact(int fd, const struct mb_adu *q, double timeout,
                    uint16_t *dst, char *why, size_t whysz);

#endif
