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
_Static_assert(sizeof(struct dev_var) == 200, NEW_FIELD(struct dev_var));
_Static_assert(sizeof(struct dev_map) == 152, NEW_FIELD(struct dev_map));
_Static_assert(sizeof(struct dev_cmd) == 56, NEW_FIELD(struct dev_cmd));
_Static_assert(sizeof(struct dev_frame) == 592, NEW_FIELD(struct dev_frame));
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

/* "&m3_frame", "m3_vars" ... or NULL when the map has none. */
static void ref(size_t present, const char *amp, int m, const char *what) {
  if (present)
    printf("%sm%d%s", amp, m, what);
  else
    printf("NULL");
}

static void var_arrays(int m, size_t i, const struct dev_var *v) {
  if (v->nenums) {
    printf("static struct dev_enum m%d_e%zu[] = {", m, i);
    for (size_t k = 0; k < v->nenums; k++) {
      printf("{%d, ", v->enums[k].raw);
      str(v->enums[k].text);
      printf("},");
    }
    printf("};\n");
  }
  if (v->ninvalid) {
    printf("static uint64_t m%d_i%zu[] = {", m, i);
    for (size_t k = 0; k < v->ninvalid; k++)
      printf("UINT64_C(0x%llx),", (unsigned long long)v->invalid[k]);
    printf("};\n");
  }
}

static void var(int m, size_t i, const struct dev_var *v) {
  printf("{.name = ");
  str(v->name);
  printf(", .unit = ");
  str(v->unit);
  printf(", .desc = ");
  str(v->desc);
  printf(",\n .type = %d, .scale = ", (int)v->type);
  num(v->scale);
  printf(", .access = %d, .has_min = %d, .has_max = %d, .min = ",
         (int)v->access, v->has_min, v->has_max);
  num(v->min);
  printf(", .max = ");
  num(v->max);
  printf(",\n .word_swap = %d, .order = %d, .table = %d, .write16 = %d, "
         ".nwords = %d, .reg = %d, .oid = ",
         v->word_swap, (int)v->order, (int)v->table, v->write16, v->nwords,
         v->reg);
  str(v->oid);
  printf(", .oid_scale = ");
  num(v->oid_scale);
  printf(", .menu = ");
  str(v->menu);
  printf(", .text = ");
  str(v->text);
  printf(",\n .enums = ");
  if (v->nenums)
    printf("m%d_e%zu", m, i);
  else
    printf("NULL");
  printf(", .nenums = %zu, .invalid = ", v->nenums);
  if (v->ninvalid)
    printf("m%d_i%zu", m, i);
  else
    printf("NULL");
  printf(", .ninvalid = %zu, .accept = %uu, .is_bits = %d, .frame = ",
         v->ninvalid, v->accept, v->is_bits);
  str(v->frame);
  printf(", .bit = %d, .index = {%d, %d, %d, %d}, .nindex = %d},\n", v->bit,
         v->index[0], v->index[1], v->index[2], v->index[3], v->nindex);
}

static void cmds(int m, const struct dev_map *map) {
  if (!map->ncmds) return;
  printf("static struct dev_cmd m%d_cmds[] = {\n", m);
  for (size_t i = 0; i < map->ncmds; i++) {
    const struct dev_cmd *c = &map->cmds[i];
    printf("{.name = ");
    str(c->name);
    printf(", .desc = ");
    str(c->desc);
    printf(", .dangerous = %d, .reg = %d, .value = %d, .via = ", c->dangerous,
           c->reg, c->value);
    str(c->via);
    printf(", .cid2 = %d, .data = ", c->cid2);
    str(c->data);
    printf("},\n");
  }
  printf("};\n");
}

static void blocks(int m, const struct dev_map *map) {
  if (!map->nblocks) return;
  printf("static struct dev_block m%d_blocks[] = {", m);
  for (size_t i = 0; i < map->nblocks; i++)
    printf("{%d, %d, %d},", map->blocks[i].first, map->blocks[i].count,
           (int)map->blocks[i].table);
  printf("};\n");
}

static void frame_extras(const struct dev_frame *f) {
  printf(" .extras = {");
  for (int i = 0; i < FRAME_EXTRAS_MAX; i++) {
    const struct dev_frame_extras *x = &f->extras[i];
    printf("{.p = %d, .nf = %d, .f = {", x->p, x->nf);
    for (int j = 0; j < FRAME_EXTRAS_MAX; j++) {
      printf("{");
      str(x->f[j].field);
      printf(", %d},", x->f[j].bytes);
    }
    printf("}},");
  }
  printf("}, .nextras = %d,\n .status = {", f->nextras);
  for (int i = 0; i < FRAME_STATUS_MAX; i++) {
    str(f->status[i]);
    printf(",");
  }
  printf("}, .nstatus = %d,\n", f->nstatus);
}

static void frame(int m, const struct dev_frame *f) {
  if (!f) return;
  if (f->nwords) {
    printf("static struct dev_frame_alarm m%d_words[] = {", m);
    for (size_t i = 0; i < f->nwords; i++) {
      printf("{%d, %d, ", f->words[i].status, f->words[i].bit);
      str(f->words[i].word);
      printf("},");
    }
    printf("};\n");
  }
  printf("static struct dev_frame m%d_frame = {.ver = %d, .cid1 = %d, "
         ".adr = %d, .first = %d, .last = %d, .analog = %d, .alarms = %d, "
         ".firmware = %d, .serial = %d, .text_info = %d,\n",
         m, f->ver, f->cid1, f->adr, f->first, f->last, f->analog, f->alarms,
         f->firmware, f->serial, f->text_info);
  const double d[] = {f->cell_scale,    f->temp_offset,   f->temp_scale,
                      f->current_scale, f->voltage_scale, f->capacity_scale};
  const char *dn[] = {"cell_scale",    "temp_offset",   "temp_scale",
                      "current_scale", "voltage_scale", "capacity_scale"};
  for (int i = 0; i < 6; i++) {
    printf(" .%s = ", dn[i]);
    num(d[i]);
    printf(",");
  }
  printf("\n .cell_temp_first = %d, .cell_temp_last = %d,\n",
         f->cell_temp_first, f->cell_temp_last);
  frame_extras(f);
  printf(" .alarm_states = %d, .balance = {%d, %d}, .full_status = %d, "
         ".full_bit = %d,\n .words = ",
         f->alarm_states, f->balance[0], f->balance[1], f->full_status,
         f->full_bit);
  ref(f->nwords, "", m, "_words");
  printf(", .nwords = %zu};\n", f->nwords);
}

static void map_head(const struct dev_map *map) {
  const char *const s[] = {map->name,        map->desc,    map->mfr,
                           map->model,       map->type,    map->upgrade,
                           map->version_var, map->sig_oid, map->sig_sysoid};
  const char *const sn[] = {"name",        "desc",    "mfr",
                            "model",       "type",    "upgrade",
                            "version_var", "sig_oid", "sig_sysoid"};
  for (int i = 0; i < 9; i++) {
    printf(" .%s = ", sn[i]);
    str(s[i]);
    printf(",\n");
  }
  printf(" .max_read = %d, .max_gap = %d, .write16 = %d, .oid_unit_base = "
         "%d, .oid_unit_max = %d,\n",
         map->max_read, map->max_gap, map->write16, map->oid_unit_base,
         map->oid_unit_max);
}

static void map(int m, const struct dev_map *map) {
  for (size_t i = 0; i < map->nvars; i++)
    var_arrays(m, i, &map->vars[i]);
  if (map->nvars) {
    printf("static struct dev_var m%d_vars[] = {\n", m);
    for (size_t i = 0; i < map->nvars; i++)
      var(m, i, &map->vars[i]);
    printf("};\n");
  }
  cmds(m, map);
  blocks(m, map);
  frame(m, map->frame);
  printf("static struct dev_map m%d = {\n", m);
  map_head(map);
  printf(" .blocks = ");
  ref(map->nblocks, "", m, "_blocks");
  printf(", .nblocks = %zu,\n .vars = ", map->nblocks);
  ref(map->nvars, "", m, "_vars");
  printf(", .nvars = %zu,\n .cmds = ", map->nvars);
  ref(map->ncmds, "", m, "_cmds");
  printf(", .ncmds = %zu,\n .frame = ", map->ncmds);
  ref(map->frame != NULL, "&", m, "_frame");
  printf("};\n\n");
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
         "*/\n#include <math.h>\n#include <stddef.h>\n#include <stdint.h>\n"
         "#include \"devices/frame_map.h\"\n#include \"devices/map.h\"\n"
         "#include \"util/embedded.h\"\n\n");
  for (int i = 1; i < argc && rc == 0; i++)
    rc = one(i - 1, argv[i], names);
  printf("const struct ohm_builtin_map ohm_builtin_maps[] = {\n");
  for (int i = 1; i < argc && rc == 0; i++) {
    printf("  {");
    str(names[i - 1]);
    printf(", &m%d},\n", i - 1);
  }
  printf("  {NULL, NULL}};\n");
  for (int i = 0; i < argc; i++)
    free((void *)names[i]);
  free(names);
  return rc ? 1 : 0;
}
