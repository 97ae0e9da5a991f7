/* Build-time tool: the built-in driver maps as C tables (issue 17).
 *   map2c devices/NAME/map.lua... > maps.c
 * Each map is loaded with the run-time loader (dev_map_load, the one user
 * maps go through) and its result written out as static initializers, so
 * `ohm get` finds a built-in map without parsing or running any Lua. The
 * map files stay the source; a map that does not load fails the build.
 *
 * Every field of the map structs is written here: a field added to
 * devices/map.h or devices/frame_map.h must be added below too, and the
 * size checks make the build say so instead of dropping it silently. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../devices/frame_map.h"
#include "../devices/map.h"

#if defined(__x86_64__) && defined(__LP64__)
#define NEW_FIELD(s) #s " changed: write its new field in scripts/map2c.c"
_Static_assert(sizeof(struct dev_var) == 232, NEW_FIELD(struct dev_var));
_Static_assert(sizeof(struct dev_map) == 288, NEW_FIELD(struct dev_map));
_Static_assert(sizeof(struct dev_cmd) == 88, NEW_FIELD(struct dev_cmd));
_Static_assert(sizeof(struct dev_frame) == 1432, NEW_FIELD(struct dev_frame));
_Static_assert(sizeof(struct dev_block) == 12, NEW_FIELD(struct dev_block));
#endif

/* A C string literal (octal escapes for anything unusual), or NULL. */
static void str(const char *s) {
  if (!s) {
    printf("NULL");
    return;
  }
  putchar('"');
  for (const unsigned char *p = (const unsigned char *)s; *p; p++)
    if (*p >= 0x20 && *p < 0x7f && *p != '"' && *p != '\\' && *p != '?')
      putchar(*p);
    else
      printf("\\%03o", *p);
  putchar('"');
}

/* A double, exactly (hex float), infinities and NaN by name. */
static void num(double d) {
  if (isnan(d))
    printf("NAN");
  else if (isinf(d))
    printf(d < 0 ? "-INFINITY" : "INFINITY");
  else
    printf("%a", d);
}

/* Assignments of the fields that are not zero (the storage is static,
 * so zero already): "  LHS = VALUE;". */
static void set_s(const char *lhs, const char *s) {
  if (!s) return;
  printf("  %s = ", lhs);
  str(s);
  printf(";\n");
}

static void set_i(const char *lhs, long long x) {
  if (x) printf("  %s = %lld;\n", lhs, x);
}

static void set_d(const char *lhs, double d) {
  if (d == 0 && !signbit(d)) return;
  printf("  %s = ", lhs);
  num(d);
  printf(";\n");
}

#define S(obj, f) set_s(obj #f, x->f)
#define I(obj, f) set_i(obj #f, (long long)x->f)
#define D(obj, f) set_d(obj #f, x->f)

static void var_arrays(int m, size_t i, const struct dev_var *x) {
  if (x->nenums) {
    printf("static struct dev_enum m%d_e%zu[%zu];\n", m, i, x->nenums);
  }
  if (x->ninvalid) {
    printf("static const uint64_t m%d_i%zu[] = {", m, i);
    for (size_t k = 0; k < x->ninvalid; k++)
      printf("UINT64_C(0x%llx),", (unsigned long long)x->invalid[k]);
    printf("};\n");
  }
}

static void var(int m, size_t i, const struct dev_var *x) {
  printf("  v = &m%d_vars[%zu];\n", m, i);
  S("v->", name), S("v->", unit), S("v->", desc), I("v->", type);
  D("v->", scale), I("v->", access), I("v->", has_min), I("v->", has_max);
  D("v->", min), D("v->", max), I("v->", word_swap), I("v->", order);
  I("v->", table), I("v->", write16), I("v->", nwords), I("v->", reg);
  S("v->", oid), D("v->", oid_scale), S("v->", menu), S("v->", text);
  I("v->", accept), I("v->", is_bits), S("v->", frame), I("v->", bit);
  I("v->", index[0]), I("v->", index[1]), I("v->", index[2]);
  I("v->", index[3]), I("v->", nindex), S("v->", entry), I("v->", column);
  I("v->", icol[0]), I("v->", icol[1]), I("v->", icol[2]), I("v->", icol[3]);
  I("v->", nicol);
  for (size_t k = 0; k < x->nenums; k++) {
    printf("  m%d_e%zu[%zu].raw = %d;\n  m%d_e%zu[%zu].text = ", m, i, k,
           x->enums[k].raw, m, i, k);
    str(x->enums[k].text);
    printf(";\n");
  }
  if (x->nenums)
    printf("  v->enums = m%d_e%zu;\n  v->nenums = %zu;\n", m, i, x->nenums);
  if (x->ninvalid)
    printf("  v->invalid = (uint64_t *)m%d_i%zu;\n  v->ninvalid = %zu;\n", m, i,
           x->ninvalid);
}

static void cmd(int m, size_t i, const struct dev_cmd *x) {
  printf("  c = &m%d_cmds[%zu];\n", m, i);
  S("c->", name), S("c->", desc), I("c->", dangerous), I("c->", reg);
  I("c->", value), S("c->", via), I("c->", cid2), S("c->", data);
  S("c->", oid), S("c->", wait_var), S("c->", wait_done), S("c->", wait_fail);
}

/* Never NULL, as the loader's (one zero block when there are none):
 * the engine copies it whatever the count. */
static void blocks(int m, const struct dev_map *map) {
  printf("static const struct dev_block m%d_blocks[] = {", m);
  for (size_t i = 0; i < map->nblocks; i++)
    printf("{%d, %d, %d},", map->blocks[i].first, map->blocks[i].count,
           (int)map->blocks[i].table);
  printf("%s};\n", map->nblocks ? "" : "{0, 0, 0}");
}

static void frame_extras(const struct dev_frame *f) {
  char lhs[64];
  for (int i = 0; i < FRAME_EXTRAS_MAX; i++) {
    const struct dev_frame_extras *x = &f->extras[i];
    snprintf(lhs, sizeof lhs, "f->extras[%d].p", i);
    set_i(lhs, x->p);
    snprintf(lhs, sizeof lhs, "f->extras[%d].nf", i);
    set_i(lhs, x->nf);
    for (int j = 0; j < FRAME_EXTRAS_MAX; j++) {
      snprintf(lhs, sizeof lhs, "f->extras[%d].f[%d].field", i, j);
      set_s(lhs, x->f[j].field);
      snprintf(lhs, sizeof lhs, "f->extras[%d].f[%d].bytes", i, j);
      set_i(lhs, x->f[j].bytes);
    }
  }
  for (int i = 0; i < FRAME_STATUS_MAX; i++) {
    snprintf(lhs, sizeof lhs, "f->status[%d]", i);
    set_s(lhs, f->status[i]);
  }
}

static void frame(int m, const struct dev_frame *x) {
  if (!x) return;
  printf("  f = &m%d_frame;\n", m);
  I("f->", ver), I("f->", cid1), I("f->", adr), I("f->", first);
  I("f->", last), I("f->", analog), I("f->", alarms), I("f->", firmware);
  I("f->", serial), I("f->", text_info), I("f->", info_adr);
  D("f->", cell_scale);
  D("f->", temp_offset), D("f->", temp_scale), D("f->", current_scale);
  D("f->", voltage_scale), D("f->", capacity_scale);
  I("f->", cell_temp_first), I("f->", cell_temp_last), I("f->", nextras);
  I("f->", alarm_states), I("f->", nstatus), I("f->", balance[0]);
  I("f->", balance[1]), I("f->", full_status), I("f->", full_bit);
  frame_extras(x);
  for (size_t i = 0; i < x->nwords; i++) {
    printf("  m%d_words[%zu].status = %d;\n  m%d_words[%zu].bit = %d;\n"
           "  m%d_words[%zu].word = ",
           m, i, x->words[i].status, m, i, x->words[i].bit, m, i);
    str(x->words[i].word);
    printf(";\n");
  }
  if (x->nwords)
    printf("  f->words = m%d_words;\n  f->nwords = %zu;\n", m, x->nwords);
  printf("  m%d.frame = f;\n", m);
}

static void map_head(int m, const struct dev_map *x) {
  char o[16];
  snprintf(o, sizeof o, "m%d.", m);
#define SO(f) set_s((snprintf(lhs, sizeof lhs, "%s" #f, o), lhs), x->f)
#define IO(f) set_i((snprintf(lhs, sizeof lhs, "%s" #f, o), lhs), x->f)
  char lhs[64];
  SO(name), SO(desc), SO(mfr), SO(model), SO(type), SO(upgrade);
  SO(version_var), SO(sig_oid), SO(sig_sysoid), SO(snmp_version);
  IO(max_read), IO(max_gap);
  IO(write16), IO(oid_unit_base), IO(oid_unit_max);
#undef SO
#undef IO
  printf("  m%d.blocks = (struct dev_block *)m%d_blocks;\n"
         "  m%d.nblocks = %zu;\n",
         m, m, m, x->nblocks);
  if (x->nvars)
    printf("  m%d.vars = m%d_vars;\n  m%d.nvars = %zu;\n", m, m, m, x->nvars);
  if (x->ncmds)
    printf("  m%d.cmds = m%d_cmds;\n  m%d.ncmds = %zu;\n", m, m, m, x->ncmds);
}

/* A NULL-terminated string list's length. */
static size_t strv_len(char **v) {
  size_t n = 0;
  while (v && v[n])
    n++;
  return n;
}

static void strv_array(int m, const char *tag, char **v) {
  if (v) printf("static char *m%d_%s[%zu];\n", m, tag, strv_len(v) + 1);
}

static void strv_fill(int m, const char *tag, const char *lhs, char **v) {
  char el[64];
  if (!v) return;
  for (size_t i = 0; v[i]; i++) {
    snprintf(el, sizeof el, "m%d_%s[%zu]", m, tag, i);
    set_s(el, v[i]);
  }
  printf("  m%d.%s = m%d_%s;\n", m, lhs, m, tag);
}

/* Storage for the map's traps and agent sections (NULL stays NULL). */
static void traps_agent_arrays(int m, const struct dev_map *x) {
  const struct dev_traps *t = &x->traps;
  const struct dev_agent *a = &x->agent;
  if (t->kinds)
    printf("static struct dev_trap_kind m%d_tk[%zu];\n", m,
           t->nkinds ? t->nkinds : 1);
  if (t->vbs)
    printf("static struct dev_trap_vb m%d_tv[%zu];\n", m,
           t->nvbs ? t->nvbs : 1);
  if (a->fixed)
    printf("static struct dev_agent_fixed m%d_af[%zu];\n", m,
           a->nfixed ? a->nfixed : 1);
  strv_array(m, "st", a->serve_types);
  strv_array(m, "sv", a->serve_vars);
  strv_array(m, "ag", a->gauges);
}

static void traps_agent(int m, const struct dev_map *x) {
  const struct dev_traps *t = &x->traps;
  const struct dev_agent *a = &x->agent;
  char lhs[64];
#define L(...) (snprintf(lhs, sizeof lhs, __VA_ARGS__), lhs)
  set_s(L("m%d.traps.oid", m), t->oid);
  for (size_t i = 0; i < t->nkinds; i++) {
    set_i(L("m%d_tk[%zu].n", m, i), t->kinds[i].n);
    set_s(L("m%d_tk[%zu].name", m, i), t->kinds[i].name);
  }
  if (t->kinds)
    printf("  m%d.traps.kinds = m%d_tk;\n  m%d.traps.nkinds = %zu;\n", m, m, m,
           t->nkinds);
  for (size_t i = 0; i < t->nvbs; i++) {
    set_s(L("m%d_tv[%zu].oid", m, i), t->vbs[i].oid);
    set_s(L("m%d_tv[%zu].name", m, i), t->vbs[i].name);
  }
  if (t->vbs)
    printf("  m%d.traps.vbs = m%d_tv;\n  m%d.traps.nvbs = %zu;\n", m, m, m,
           t->nvbs);
  set_i(L("m%d.agent.integers", m), a->integers);
  strv_fill(m, "st", "agent.serve_types", a->serve_types);
  strv_fill(m, "sv", "agent.serve_vars", a->serve_vars);
  strv_fill(m, "ag", "agent.gauges", a->gauges);
  for (size_t i = 0; i < a->nfixed; i++) {
    set_s(L("m%d_af[%zu].oid", m, i), a->fixed[i].oid);
    set_i(L("m%d_af[%zu].num", m, i), a->fixed[i].num);
  }
  if (a->fixed)
    printf("  m%d.agent.fixed = m%d_af;\n  m%d.agent.nfixed = %zu;\n", m, m, m,
           a->nfixed);
  set_s(L("m%d.agent.derive_var", m), a->derive_var);
  set_s(L("m%d.agent.derive_from", m), a->derive_from);
  set_s(L("m%d.agent.derive_flag", m), a->derive_flag);
  set_s(L("m%d.agent.derive_on", m), a->derive_on);
  set_s(L("m%d.agent.derive_off", m), a->derive_off);
#undef L
}

/* Static storage (zero, untouched until the map is asked for) and a
 * function that fills it from code: string addresses are PC-relative, so
 * the tables cost no relocations at start-up, and no page is touched for
 * maps a command does not use. */
static void map(int m, const struct dev_map *x) {
  printf("static struct dev_map m%d;\n", m);
  if (x->nvars) printf("static struct dev_var m%d_vars[%zu];\n", m, x->nvars);
  if (x->ncmds) printf("static struct dev_cmd m%d_cmds[%zu];\n", m, x->ncmds);
  if (x->frame) printf("static struct dev_frame m%d_frame;\n", m);
  if (x->frame && x->frame->nwords)
    printf("static struct dev_frame_alarm m%d_words[%zu];\n", m,
           x->frame->nwords);
  for (size_t i = 0; i < x->nvars; i++)
    var_arrays(m, i, &x->vars[i]);
  blocks(m, x);
  traps_agent_arrays(m, x);
  printf("static void m%d_fill(void) {\n  struct dev_var *v;\n"
         "  struct dev_cmd *c;\n  struct dev_frame *f;\n"
         "  (void)v, (void)c, (void)f;\n",
         m);
  map_head(m, x);
  for (size_t i = 0; i < x->nvars; i++)
    var(m, i, &x->vars[i]);
  for (size_t i = 0; i < x->ncmds; i++)
    cmd(m, i, &x->cmds[i]);
  frame(m, x->frame);
  traps_agent(m, x);
  printf("}\n\nstatic struct dev_map *m%d_get(void) {\n"
         "  static pthread_once_t once = PTHREAD_ONCE_INIT;\n"
         "  pthread_once(&once, m%d_fill);\n  return &m%d;\n}\n\n",
         m, m, m);
}

/* "devices/NAME/map.lua" -> NAME (static buffer), or NULL. */
static const char *driver_name(const char *path) {
  static char name[128];
  const char *p = strstr(path, "devices/"), *e;
  if (!p) return NULL;
  p += 8;
  if (!(e = strchr(p, '/')) || strcmp(e, "/map.lua") != 0 ||
      (size_t)(e - p) >= sizeof name)
    return NULL;
  memcpy(name, p, (size_t)(e - p));
  name[e - p] = 0;
  return name;
}

static char *slurp(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  char *buf = malloc(1u << 20);
  *len = f && buf ? fread(buf, 1, (1u << 20) - 1, f) : 0;
  if (f) fclose(f);
  if (!f || !buf || !*len) {
    free(buf);
    return NULL;
  }
  buf[*len] = 0;
  return buf;
}

static int one(int m, const char *path, const char **names) {
  struct ohm_error e = {0};
  struct dev_map *dm = NULL;
  const char *name = driver_name(path);
  size_t len;
  char *src = name ? slurp(path, &len) : NULL;
  if (!src || dev_map_load(src, len, name, &dm, &e) < 0) {
    fprintf(stderr, "map2c: %s: %s\n", path, src ? e.msg : "cannot read");
    free(src);
    return -1;
  }
  free(src);
  if (strcmp(dm->name, name) != 0) {
    fprintf(stderr, "map2c: %s: names itself '%s'\n", path, dm->name);
    dev_map_free(dm);
    return -1;
  }
  map(m, dm);
  names[m] = strdup(name);
  dev_map_free(dm);
  return 0;
}

int main(int argc, char **argv) {
  const char **names = calloc((size_t)argc, sizeof *names);
  int rc = 0;
  printf("/* generated by scripts/map2c.c from the driver maps: do not edit "
         "*/\n#include <math.h>\n#include <pthread.h>\n#include <stddef.h>\n"
         "#include <stdint.h>\n"
         "#include \"devices/frame_map.h\"\n#include \"devices/map.h\"\n"
         "#include \"util/embedded.h\"\n\n");
  for (int i = 1; i < argc && rc == 0; i++)
    rc = one(i - 1, argv[i], names);
  printf("const struct ohm_builtin_map ohm_builtin_maps[] = {\n");
  for (int i = 1; i < argc && rc == 0; i++) {
    printf("  {");
    str(names[i - 1]);
    printf(", m%d_get},\n", i - 1);
  }
  printf("  {NULL, NULL}};\n");
  for (int i = 0; i < argc; i++)
    free((void *)names[i]);
  free(names);
  return rc ? 1 : 0;
}
