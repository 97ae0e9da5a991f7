/* Modbus TCP request/reply framing and checks; see modbus_adu.h. */
#include "modbus_adu.h"

#include <errno.h>
#include <modbus.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "../util/clock.h"

#define STRAYS_MAX 32 /* replies of other transactions read per request */

static uint16_t be16(const uint8_t *p) {
  return (uint16_t)(p[0] << 8 | p[1]);
}

static void put16(uint8_t *p, uint16_t x) {
  p[0] = (uint8_t)(x >> 8);
  p[1] = (uint8_t)(x & 0xff);
}

/* Bytes that n coils (15) or registers (16) take. */
static size_t data_bytes(uint8_t fc, unsigned n) {
  return fc == 15 ? (n + 7) / 8 : fc == 16 ? 2 * (size_t)n : 0;
}

size_t mb_adu_encode(const struct mb_adu *q, uint8_t *buf) {
  size_t n = 12, nb = data_bytes(q->fc, q->arg);
  put16(buf, q->tid);
  put16(buf + 2, 0);
  buf[6] = q->unit;
  buf[7] = q->fc;
  put16(buf + 8, q->addr);
  put16(buf + 10, q->arg);
  if (q->fc == 15 || q->fc == 16) {
    buf[n++] = (uint8_t)nb;
    memset(buf + n, 0, nb);
    for (unsigned i = 0; i < q->arg; i++)
      if (q->fc == 16)
        put16(buf + n + 2 * i, q->data[i]);
      else if (q->data[i])
        buf[n + i / 8] |= (uint8_t)(1u << (i % 8));
    n += nb;
  }
  put16(buf + 4, (uint16_t)(n - 6));
  return n;
}

int mb_adu_rest(const uint8_t head[7], char *why, size_t whysz) {
  uint16_t len = be16(head + 4);
  if (len < 3 || len > MB_ADU_MAX - 6) {
    snprintf(why, whysz, "MBAP length %u, want 3..254", len);
    return -1;
  }
  return len - 1;
}

static int bad(char *why, size_t whysz, const char *what, unsigned got,
               unsigned want) {
  snprintf(why, whysz, "%s %u, want %u", what, got, want);
  errno = EMBBADDATA;
  return -1;
}

/* The PDU after the unit id: function, then data. */
static int check_pdu(const struct mb_adu *q, const uint8_t *p, size_t n,
                     uint16_t *dst, char *why, size_t whysz) {
  if (p[0] == (q->fc | 0x80)) {
    if (n != 2) return bad(why, whysz, "exception reply of length", n, 2);
    if (p[1] == 0 || p[1] > 11) { /* past 11, MODBUS_ENOBASE + code is */
      snprintf(why, whysz,        /* another error (12: bad CRC) */
               "exception code %u, which Modbus does not define", p[1]);
      errno = EMBBADDATA;
      return -1;
    }
    errno = MODBUS_ENOBASE + p[1];
    return -1;
  }
  if (p[0] != q->fc) return bad(why, whysz, "function", p[0], q->fc);
  if (q->fc >= 5) { /* 05, 06, 15, 16 echo the address and value/count */
    if (n != 5) return bad(why, whysz, "write reply of length", n, 5);
    if (be16(p + 1) != q->addr || be16(p + 3) != q->arg)
      return bad(why, whysz, "write echo of address", be16(p + 1), q->addr);
    return 0;
  }
  unsigned want = q->fc <= 2 ? (q->arg + 7u) / 8 : 2u * q->arg;
  if (n < 2 || p[1] != want)
    return bad(why, whysz, "byte count", n < 2 ? 0 : p[1], want);
  if (n != 2 + (size_t)want)
    return bad(why, whysz, "MBAP length", (unsigned)n + 1, 3u + want);
  for (unsigned i = 0; i < q->arg; i++)
    dst[i] = q->fc <= 2 ? (p[2 + i / 8] >> (i % 8)) & 1 : be16(p + 2 + 2 * i);
  return 0;
}

int mb_adu_check(const struct mb_adu *q, const uint8_t *rsp, size_t len,
                 uint16_t *dst, char *why, size_t whysz) {
  if (len < 9 || len > MB_ADU_MAX || be16(rsp + 4) != len - 6)
    return bad(why, whysz, "frame of length", (unsigned)len,
               len >= 6 ? be16(rsp + 4) + 6u : 9u);
  if (be16(rsp) != q->tid) return MB_ADU_STRAY;
  if (be16(rsp + 2) != 0)
    return bad(why, whysz, "protocol id", be16(rsp + 2), 0);
  if (rsp[6] != q->unit) {
    snprintf(why, whysz, "reply from unit %u, asked %u", rsp[6], q->unit);
    errno = EMBBADSLAVE;
    return -1;
  }
  return check_pdu(q, rsp + 7, len - 7, dst, why, whysz);
}

/* Discard whatever has already arrived (late and duplicate replies). */
static void flush_fd(int fd) {
  uint8_t junk[256];
  while (recv(fd, junk, sizeof junk, MSG_DONTWAIT) > 0)
    ;
}

/* Receive into buf[*have..cap) until *have >= n, by the deadline: each
 * recv takes whatever has arrived, so a whole reply costs one poll and one
 * recv, not two of each (header, then the rest). Bytes past the reply are
 * what the next request's flush would drop. -1 with errno on failure. */
static int read_atleast(int fd, uint8_t *buf, size_t *have, size_t n,
                        size_t cap, double deadline) {
  while (*have < n) {
    struct pollfd p = {.fd = fd, .events = POLLIN};
    double left = deadline - ohm_mono();
    ssize_t r;
    if (left <= 0) return errno = ETIMEDOUT, -1;
    r = poll(&p, 1, (int)(left * 1000) + 1);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return -1;
    if (r == 0) continue; /* the loop's deadline check ends it */
    r = recv(fd, buf + *have, cap - *have, 0);
    if (r == 0) return errno = ECONNRESET, -1;
    if (r < 0 && errno != EINTR && errno != EAGAIN) return -1;
    if (r > 0) *have += (size_t)r;
  }
  return 0;
}

static int send_all(int fd, const uint8_t *buf, size_t n) {
  while (n > 0) {
    ssize_t w = send(fd, buf, n, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return -1;
    buf += w;
    n -= (size_t)w;
  }
  return 0;
}

int mb_adu_transact(int fd, const struct mb_adu *q, double timeout,
                    uint16_t *dst, char *why, size_t whysz) {
  uint8_t buf[2 * MB_ADU_MAX]; /* a reply, and what came after it */
  double deadline = ohm_mono() + timeout;
  size_t n = mb_adu_encode(q, buf), have = 0;
  flush_fd(fd);
  if (send_all(fd, buf, n) < 0) return -1;
  for (int i = 0; i <= STRAYS_MAX; i++) {
    int rest, rc;
    if (read_atleast(fd, buf, &have, 7, sizeof buf, deadline) < 0) return -1;
    if ((rest = mb_adu_rest(buf, why, whysz)) < 0)
      return errno = EMBBADDATA, -1;
    n = 7 + (size_t)rest;
    if (read_atleast(fd, buf, &have, n, sizeof buf, deadline) < 0) return -1;
    rc = mb_adu_check(q, buf, n, dst, why, whysz);
    if (rc != MB_ADU_STRAY) return rc;
    memmove(buf, buf + n, have - n); /* the next reply's first bytes */
    have -= n;
  }
  snprintf(why, whysz, "more than %d replies of other transactions",
           STRAYS_MAX);
  return errno = EMBBADDATA, -1;
}
