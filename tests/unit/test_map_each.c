/* Unit tests of repeated groups (`each`) and frame dialects in driver maps
 * (devices/map.c, devices/frame_map.c; ohm-maps(5)). */
#include "devices/frame_map.h"
#include "devices/map.h"
#include "t.h"

static int load(const char *src, struct dev_map **m, struct ohm_error *e) {
  return dev_map_load(src, strlen(src), "t", m, e);
}

static void test_expand(void) {
  struct dev_map *m;
  struct ohm_error e;
  const struct dev_var *v;
  int rc = load("return { name = 't', vars = {"
                "{ name = 'b.pack.{P}.cell.{C}.v', frame = 'cell.voltage',"
                "  desc = 'cell {C} of {P}',"
                "  each = { {'P', 2, 4}, {'C', 1, 16} } },"
                "{ name = 'b.packs', frame = 'bank.packs' } } }",
                &m, &e);
  CHECK(rc == 0, "a map with each loads");
  if (rc) {
    printf("    %s\n", e.msg);
    return;
  }
  CHECK(m->nvars == 3 * 16 + 1, "each gives one var per combination");
  v = dev_map_var(m, "b.pack.3.cell.16.v");
  CHECK(v && v->nindex == 2 && v->index[0] == 3 && v->index[1] == 16,
        "index holds the numbers in the order of the groups");
  CHECK_STR(v ? v->desc : NULL, "cell 16 of 3", "letters replaced in desc");
  CHECK(v && v->frame && strcmp(v->frame, "cell.voltage") == 0 && v->bit == -1,
        "frame field kept, no bit");
  CHECK(dev_map_var(m, "b.pack.1.cell.1.v") == NULL, "nothing outside");
  dev_map_free(m);
}

static void test_bad(void) {
  struct dev_map *m;
  struct ohm_error e;
  CHECK(load("return { vars = { { name = 'x{P}', frame = 'voltage', "
             "each = { {'P', 3, 1} } } } }",
             &m, &e) == OHM_ECONFIG &&
            strstr(e.msg, "each[1] must be {LETTER, first, last}"),
        "first above last refused, naming the entry");
  CHECK(load("return { vars = { { name = 'x{P}{C}', frame = 'voltage', "
             "each = { {'P', 1, 100}, {'C', 1, 100} } } } }",
             &m, &e) == OHM_ECONFIG &&
            strstr(e.msg, "more than 4096"),
        "an expansion over the limit refused");
  CHECK(load("return { vars = { { name = 'x', frame = 'voltage' } }, "
             "frame = { cid1 = 0x46 } }",
             &m, &e) == OHM_ECONFIG &&
            strstr(e.msg, "frame.ver missing"),
        "a frame dialect without VER refused");
  CHECK(load("return { vars = { { name = 'x', frame = 'voltage' } }, "
             "frame = { ver = 0x25, addresses = { 9, 3 } } }",
             &m, &e) == OHM_ECONFIG &&
            strstr(e.msg, "first is above last"),
        "a backwards address range refused");
}

static void test_dialect(void) {
  struct dev_map *m;
  struct ohm_error e;
  int rc =
      load("return { vars = { { name = 'x', frame = 'status:a', bit = 2 } },"
           "frame = { ver = 0x25, addresses = { 0, 15 }, status = { 'a', 'b' },"
           "  full = { 'b', 7 }, balance = { 'a', 'b' },"
           "  extras = { [3] = { { 'capacity.design', 2 } } },"
           "  alarm_words = { { 'a', 0, 'cell-overvoltage' } } },"
           "commands = { { name = 'mos.off', cid2 = 0x9A, data = '00' } } }",
           &m, &e);
  CHECK(rc == 0, "a frame dialect loads");
  if (rc) {
    printf("    %s\n", e.msg);
    return;
  }
  const struct dev_frame *f = m->frame;
  CHECK(f->ver == 0x25 && f->first == 0 && f->last == 15 && f->adr == -1,
        "VER, range, ADR = the pack's");
  CHECK(f->nstatus == 2 && f->full_status == 1 && f->full_bit == 7 &&
            f->balance[0] == 0 && f->balance[1] == 1,
        "status bytes by name");
  CHECK(f->nextras == 1 && f->extras[0].p == 3 && f->extras[0].nf == 1 &&
            f->extras[0].f[0].bytes == 2,
        "extras by user item count");
  CHECK(f->nwords == 1 && f->words[0].bit == 0, "alarm words");
  CHECK(m->ncmds == 1 && m->cmds[0].cid2 == 0x9A, "a frame command");
  CHECK(dev_map_var(m, "x")->bit == 2, "bit of a status byte");
  dev_map_free(m);
}

int main(void) {
  test_expand();
  test_bad();
  test_dialect();
  T_DONE();
}
