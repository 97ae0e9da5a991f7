/* Unit tests of the YD/T 1363.3 codec and reader (devices/frame.c) against
 * DESIGN.md's checksum-verified frames. */
#include "devices/frame.h"
#include "t.h"

static struct frm req(unsigned ver, unsigned adr, unsigned cid2,
                      const uint8_t *info, size_t n) {
  struct frm f = {.ver = (uint8_t)ver,
                  .adr = (uint8_t)adr,
                  .cid1 = 0x46,
                  .cid2 = (uint8_t)cid2,
                  .ninfo = n};
  for (size_t i = 0; i < n; i++)
    f.info[i] = info[i];
  return f;
}

static void test_encode(void) {
  char out[64];
  struct frm f;
  f = req(0x20, 0x02, 0x42, (const uint8_t[]){0x02}, 1);
  frm_encode(&f, out, sizeof out);
  CHECK_STR(out, "~20024642E00202FD33\r", "pylon 0x42 ADR 2");
  f = req(0x25, 0x00, 0x42, (const uint8_t[]){0x01}, 1);
  frm_encode(&f, out, sizeof out);
  CHECK_STR(out, "~25004642E00201FD31\r", "pace 0x42 pack 1");
  f = req(0x25, 0x00, 0x42, (const uint8_t[]){0xFF}, 1);
  frm_encode(&f, out, sizeof out);
  CHECK_STR(out, "~25004642E002FFFD06\r", "pace 0x42 all packs");
  f = req(0x25, 0x01, 0xC1, NULL, 0);
  frm_encode(&f, out, sizeof out);
  CHECK_STR(out, "~250146C10000FD9A\r", "pace software version");
  CHECK(frm_encode(&f, out, 10) == 0, "too small a buffer refused");
}

static void test_checksums(void) {
  CHECK(frm_length(18) == 0xD012, "LENID 18 gives D012");
  CHECK(frm_length(0) == 0x0000, "LENID 0 gives 0000");
  CHECK(frm_chksum("1203400456ABCEFEFC72", 16) == 0xFC71,
        "vendors' printed example sums to FC71, not FC72");
}

static void test_decode(void) {
  struct frm f;
  struct ohm_error e;
  const char *ok = "~20024642E00202FD33\r";
  CHECK(frm_decode(ok, 20, &f, &e) == 0 && f.ver == 0x20 && f.adr == 2 &&
            f.cid2 == 0x42 && f.ninfo == 1 && f.info[0] == 2,
        "decode verified frame");
  CHECK(frm_decode("~20024642E00202FD34\r", 20, &f, &e) == OHM_EPROTO &&
            strstr(e.msg, "CHKSUM error"),
        "CHKSUM error detected");
  CHECK(frm_decode("~20024642F00202FD23\r", 20, &f, &e) == OHM_EPROTO &&
            strstr(e.msg, "LCHKSUM error"),
        "LCHKSUM error detected");
  CHECK(frm_decode("~20024642E00202FD3\r", 19, &f, &e) == OHM_EPROTO,
        "truncated frame refused");
  CHECK(frm_decode("~2002464ZE00202FD33\r", 20, &f, &e) == OHM_EPROTO,
        "bad hex refused");
  CHECK(frm_decode("~1203400456ABCEFEFC72\r", 22, &f, &e) == OHM_EPROTO,
        "vendors' wrong example refused");
  CHECK_STR(frm_rtn_text(0x02), "CHKSUM error", "RTN 02 named");
  CHECK_STR(frm_rtn_text(0x90), "ADR error", "RTN 90 named");
  CHECK(frm_rtn_text(0x77) == NULL, "unknown RTN is NULL");
}

static void test_reader(void) {
  struct frm_reader r;
  size_t done = 0, used;
  const char *in = "\x01junk~20024642E00202FD33\r\0\0~2002";
  frm_reader_init(&r);
  used = frm_reader_feed(&r, in, 11, &done);
  CHECK(done == 0 && used == 11 && r.junk == 5, "junk before ~ skipped");
  used = frm_reader_feed(&r, in + 11, 30, &done);
  CHECK(done == 20 && memcmp(r.buf, "~20024642E00202FD33\r", 20) == 0,
        "frame split over two reads joined");
  CHECK(used == 14, "feed stops after the CR");
  frm_reader_next(&r);
  used = frm_reader_feed(&r, in + 25, 7, &done);
  CHECK(done == 0 && used == 7 && r.n == 5 && r.junk == 7,
        "NULs after CR skipped");
  used = frm_reader_feed(&r, "~25", 3, &done);
  CHECK(r.n == 3 && r.junk == 12, "a new ~ restarts the frame");
}

int main(void) {
  test_encode();
  test_checksums();
  test_decode();
  test_reader();
  T_DONE();
}
