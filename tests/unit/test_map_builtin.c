/* The built-in maps are C tables compiled at build time (scripts/map2c.c,
 * issue 17): each must equal, field by field, the same map file loaded at
 * run time by the loader user maps go through; and finding a built-in
 * driver must hand out that table, not load anything. Run from the source
 * tree's top (tests/run.sh). */
#include <stdlib.h>

#include "devices/device.h"
#include "devices/frame_map.h"
#include "devices/map.h"
#include "t.h"
#include "util/embedded.h"

static int diffs;

static void same_str(const char *a, const char *b, const char *what,
                     const char *var) {
  if ((!a && !b) || (a && b && strcmp(a, b) == 0)) return;
  if (diffs++ < 10)
    printf("    %s %s: '%s' != '%s'\n", var, what, a ? a : "(null)",
           b ? b : "(null)");
}

static void same_num(double a, double b, const char *what, const char *var) {
  if (a == b || (a != a && b != b)) return;
  if (diffs++ < 10) printf("    %s %s: %g != %g\n", var, what, a, b);
}

static void same_var(const struct dev_var *a, const struct dev_var *b) {
  const char *n = a->name;
  same_str(a->name, b->name, "name", n);
  same_str(a->unit, b->unit, "unit", n);
  same_str(a->desc, b->desc, "desc", n);
  same_str(a->oid, b->oid, "oid", n);
  same_str(a->menu, b->menu, "menu", n);
  same_str(a->text, b->text, "text", n);
  same_str(a->frame, b->frame, "frame", n);
  same_str(a->entry, b->entry, "entry", n);
  same_num(a->column, b->column, "column", n);
  same_num(a->nicol, b->nicol, "nicol", n);
  for (int i = 0; i < 4; i++)
    same_num(a->icol[i], b->icol[i], "icol", n);
  const double x[] = {a->type,     a->scale,     a->access,   a->has_min,
                      a->has_max,  a->min,       a->max,      a->word_swap,
                      a->order,    a->table,     a->write16,  a->nwords,
                      a->reg,      a->oid_scale, a->nenums,   a->ninvalid,
                      a->accept,   a->is_bits,   a->bit,      a->nindex,
                      a->index[0], a->index[1],  a->index[2], a->index[3]};
  const double y[] = {b->type,     b->scale,     b->access,   b->has_min,
                      b->has_max,  b->min,       b->max,      b->word_swap,
                      b->order,    b->table,     b->write16,  b->nwords,
                      b->reg,      b->oid_scale, b->nenums,   b->ninvalid,
                      b->accept,   b->is_bits,   b->bit,      b->nindex,
                      b->index[0], b->index[1],  b->index[2], b->index[3]};
  for (size_t i = 0; i < sizeof x / sizeof *x; i++)
    same_num(x[i], y[i], "field", n);
  for (size_t i = 0; i < a->nenums && i < b->nenums; i++) {
    same_num(a->enums[i].raw, b->enums[i].raw, "enum raw", n);
    same_str(a->enums[i].text, b->enums[i].text, "enum text", n);
  }
  for (size_t i = 0; i < a->ninvalid && i < b->ninvalid; i++)
    same_num(a->invalid[i] != b->invalid[i], 0, "invalid", n);
}

static void same_cmd(const struct dev_cmd *a, const struct dev_cmd *b) {
  same_str(a->name, b->name, "cmd name", a->name);
  same_str(a->desc, b->desc, "cmd desc", a->name);
  same_str(a->via, b->via, "cmd via", a->name);
  same_str(a->data, b->data, "cmd data", a->name);
  same_str(a->oid, b->oid, "cmd oid", a->name);
  same_str(a->wait_var, b->wait_var, "cmd wait var", a->name);
  same_str(a->wait_done, b->wait_done, "cmd wait done", a->name);
  same_str(a->wait_fail, b->wait_fail, "cmd wait fail", a->name);
  same_num(a->dangerous, b->dangerous, "cmd dangerous", a->name);
  same_num(a->reg, b->reg, "cmd reg", a->name);
  same_num(a->value, b->value, "cmd value", a->name);
  same_num(a->cid2, b->cid2, "cmd cid2", a->name);
}

static void same_frame(const struct dev_frame *a, const struct dev_frame *b) {
  if (!a || !b) {
    same_num(!a, !b, "frame presence", "map");
    return;
  }
  /* Scalars compared as the raw bytes up to the first pointer field. */
  same_num(memcmp(a, b, offsetof(struct dev_frame, extras)), 0, "frame numbers",
           "map");
  same_num(a->nextras, b->nextras, "nextras", "frame");
  for (int i = 0; i < FRAME_EXTRAS_MAX; i++) {
    same_num(a->extras[i].p, b->extras[i].p, "extras p", "frame");
    same_num(a->extras[i].nf, b->extras[i].nf, "extras nf", "frame");
    for (int j = 0; j < FRAME_EXTRAS_MAX; j++) {
      same_str(a->extras[i].f[j].field, b->extras[i].f[j].field, "extra",
               "frame");
      same_num(a->extras[i].f[j].bytes, b->extras[i].f[j].bytes, "bytes",
               "frame");
    }
  }
  same_num(a->nstatus, b->nstatus, "nstatus", "frame");
  for (int i = 0; i < FRAME_STATUS_MAX; i++)
    same_str(a->status[i], b->status[i], "status", "frame");
  same_num(a->alarm_states, b->alarm_states, "alarm_states", "frame");
  same_num(a->balance[0], b->balance[0], "balance", "frame");
  same_num(a->balance[1], b->balance[1], "balance", "frame");
  same_num(a->full_status, b->full_status, "full_status", "frame");
  same_num(a->full_bit, b->full_bit, "full_bit", "frame");
  same_num(a->nwords, b->nwords, "nwords", "frame");
  for (size_t i = 0; i < a->nwords && i < b->nwords; i++) {
    same_str(a->words[i].word, b->words[i].word, "word", "frame");
    same_num(a->words[i].status, b->words[i].status, "word status", "frame");
    same_num(a->words[i].bit, b->words[i].bit, "word bit", "frame");
  }
}

static void same_strv(char **a, char **b, const char *what) {
  same_num(!a, !b, what, "agent NULL");
  for (size_t i = 0; a && b && (a[i] || b[i]); i++)
    same_str(a[i], b[i], what, "agent");
}

static void same_traps_agent(const struct dev_map *a, const struct dev_map *b) {
  const struct dev_traps *ta = &a->traps, *tb = &b->traps;
  const struct dev_agent *aa = &a->agent, *ab = &b->agent;
  same_str(ta->oid, tb->oid, "traps oid", a->name);
  same_num(ta->nkinds, tb->nkinds, "traps nkinds", a->name);
  same_num(ta->nvbs, tb->nvbs, "traps nvbs", a->name);
  for (size_t i = 0; i < ta->nkinds && i < tb->nkinds; i++) {
    same_num(ta->kinds[i].n, tb->kinds[i].n, "trap n", a->name);
    same_str(ta->kinds[i].name, tb->kinds[i].name, "trap name", a->name);
  }
  for (size_t i = 0; i < ta->nvbs && i < tb->nvbs; i++) {
    same_str(ta->vbs[i].oid, tb->vbs[i].oid, "trap vb oid", a->name);
    same_str(ta->vbs[i].name, tb->vbs[i].name, "trap vb name", a->name);
  }
  same_num(aa->integers, ab->integers, "agent integers", a->name);
  same_strv(aa->serve_types, ab->serve_types, "agent serve types");
  same_strv(aa->serve_vars, ab->serve_vars, "agent serve vars");
  same_strv(aa->gauges, ab->gauges, "agent gauges");
  same_num(aa->nfixed, ab->nfixed, "agent nfixed", a->name);
  for (size_t i = 0; i < aa->nfixed && i < ab->nfixed; i++) {
    same_str(aa->fixed[i].oid, ab->fixed[i].oid, "agent fixed oid", a->name);
    same_num(aa->fixed[i].num, ab->fixed[i].num, "agent fixed num", a->name);
  }
  const char *const da[] = {aa->derive_var, aa->derive_from, aa->derive_flag,
                            aa->derive_on, aa->derive_off};
  const char *const db[] = {ab->derive_var, ab->derive_from, ab->derive_flag,
                            ab->derive_on, ab->derive_off};
  for (int i = 0; i < 5; i++)
    same_str(da[i], db[i], "agent derive", a->name);
}

static void same_map(const struct dev_map *a, const struct dev_map *b) {
  const char *const sa[] = {
      a->name,    a->desc,        a->mfr,     a->model,      a->type,
      a->upgrade, a->version_var, a->sig_oid, a->sig_sysoid, a->snmp_version};
  const char *const sb[] = {
      b->name,    b->desc,        b->mfr,     b->model,      b->type,
      b->upgrade, b->version_var, b->sig_oid, b->sig_sysoid, b->snmp_version};
  for (int i = 0; i < 10; i++)
    same_str(sa[i], sb[i], "map string", a->name);
  const double x[] = {a->max_read,     a->max_gap, a->write16, a->oid_unit_base,
                      a->oid_unit_max, a->nblocks, a->nvars,   a->ncmds};
  const double y[] = {b->max_read,     b->max_gap, b->write16, b->oid_unit_base,
                      b->oid_unit_max, b->nblocks, b->nvars,   b->ncmds};
  for (size_t i = 0; i < sizeof x / sizeof *x; i++)
    same_num(x[i], y[i], "map field", a->name);
  /* The same NULL-ness as the loader's (the engine copies blocks even
   * when there are none). */
  same_num(!a->blocks, !b->blocks, "blocks NULL", a->name);
  same_num(!a->vars, !b->vars, "vars NULL", a->name);
  same_num(!a->cmds, !b->cmds, "cmds NULL", a->name);
  for (size_t i = 0; i < a->nblocks && i < b->nblocks; i++)
    same_num(memcmp(&a->blocks[i], &b->blocks[i], sizeof *a->blocks), 0,
             "block", a->name);
  for (size_t i = 0; i < a->nvars && i < b->nvars; i++)
    same_var(&a->vars[i], &b->vars[i]);
  for (size_t i = 0; i < a->ncmds && i < b->ncmds; i++)
    same_cmd(&a->cmds[i], &b->cmds[i]);
  same_frame(a->frame, b->frame);
  same_traps_agent(a, b);
}

static char *slurp(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  char *buf = malloc(1u << 20);
  *len = f && buf ? fread(buf, 1, (1u << 20) - 1, f) : 0;
  if (f) fclose(f);
  if (buf) buf[*len] = 0;
  return buf;
}

static void test_same(const struct ohm_builtin_map *b) {
  char path[256], name[300];
  size_t len;
  struct dev_map *m = NULL;
  struct ohm_error e = {0};
  snprintf(path, sizeof path, "devices/%s/map.lua", b->name);
  char *src = slurp(path, &len);
  int rc = src && len ? dev_map_load(src, len, b->name, &m, &e) : -1;
  snprintf(name, sizeof name, "%s: the map file loads at run time", b->name);
  CHECK(rc == 0, name);
  if (rc == 0) {
    diffs = 0;
    same_map(b->get(), m);
    snprintf(name, sizeof name,
             "%s: built-in table == the file through the run-time loader "
             "(names, locations, limits, commands, frame)",
             b->name);
    CHECK(diffs == 0, name);
  } else
    printf("    %s\n", e.msg);
  dev_map_free(m);
  free(src);
}

/* Finding a built-in driver hands out the compiled table. */
static void test_find(void) {
  const struct dev_map *m = NULL;
  struct ohm_error e = {0};
  setenv("OHM_DRIVERS", "/nonexistent/ohm-test-drivers", 1);
  CHECK(ohm_builtin_maps[0].name != NULL, "there are built-in maps");
  int rc = dev_driver_find("bps2000v2", &m, &e);
  const struct ohm_builtin_map *b = ohm_builtin_maps;
  while (b->name && strcmp(b->name, "bps2000v2") != 0)
    b++;
  CHECK(rc == 0 && b->name && m == b->get(),
        "dev_driver_find(bps2000v2) is the compiled table (no load)");
  CHECK(rc == 0 && m && dev_map_var(m, "input.L1.current") &&
            dev_map_var(m, "input.L1.current")->reg >= 0,
        "the compiled table answers dev_map_var");
}

int main(void) {
  test_find();
  for (const struct ohm_builtin_map *b = ohm_builtin_maps; b->name; b++)
    test_same(b);
  T_DONE();
}
