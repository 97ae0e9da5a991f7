/* The YD/T 1363.3 frame codec and reader (Pylontech, PACE, Seplos, EG4 BMS
 * on RS485/RS232; DESIGN.md "Drivers pylontech and pace"). No dialect
 * knowledge here: VER, addresses, commands and field layouts come from the
 * driver map (devices/frame_engine.c).
 *
 * A frame on the wire: '~', then ASCII hex of VER ADR CID1 CID2, LENGTH
 * (LCHKSUM nibble + 12-bit LENID = INFO characters), INFO, CHKSUM (4 hex),
 * '\r'. In a reply CID2 carries RTN. */
#ifndef OHM_DEVICES_FRAME_H
#define OHM_DEVICES_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "../util/err.h"

#define FRM_INFO_MAX 2048 /* INFO bytes (LENID is 12 bits: 4095 chars) */
#define FRM_WIRE_MAX (18 + 2 * FRM_INFO_MAX)

struct frm {
  uint8_t ver, adr, cid1, cid2; /* cid2 is RTN in a reply */
  uint8_t info[FRM_INFO_MAX];
  size_t ninfo; /* bytes */
};

/* LENGTH for LENID (INFO characters, 0..4095): LCHKSUM in the top nibble. */
unsigned frm_length(unsigned lenid);

/* CHKSUM of the n characters between SOI and CHKSUM. */
unsigned frm_chksum(const char *s, size_t n);

/* The wire text of f, NUL-terminated, '\r' included; its length, or 0 if
 * out is too small. */
size_t frm_encode(const struct frm *f, char *out, size_t outsz);

/* Decode one frame text from '~' to '\r' (both included) into f.
 * OHM_EPROTO with what is wrong (bad hex, LCHKSUM, length, CHKSUM). */
int frm_decode(const char *s, size_t n, struct frm *f, struct ohm_error *e);

/* The meaning of a reply's RTN code ("CHKSUM error"), or NULL if none
 * is known. 0 is "normal". */
const char *frm_rtn_text(unsigned rtn);

/* A tolerant reader: bytes go in as they come; junk before '~' and NULs
 * after '\r' are skipped. */
struct frm_reader {
  char buf[FRM_WIRE_MAX];
  size_t n;    /* bytes held, starting at '~' when n > 0 */
  size_t junk; /* bytes skipped so far */
};

void frm_reader_init(struct frm_reader *r);

/* Feed n bytes; returns how many were used (the rest stay for the next
 * call). *done is set to the frame's length (buf holds it) when a '\r'
 * closed a frame; the caller then decodes r->buf and calls
 * frm_reader_next. An overlong frame is dropped and counted as junk. */
size_t frm_reader_feed(struct frm_reader *r, const char *p, size_t n,
                       size_t *done);
void frm_reader_next(struct frm_reader *r);

/* Big-endian unsigned of nbytes (1..4) at p. */
uint32_t frm_be(const uint8_t *p, int nbytes);

#endif
