/* ohm drivers: the drivers (built-in maps, then the user's own in
 * $OHM_DRIVERS or ~/.config/ohm/drivers) and the transports this build
 * has, each with one line of description; --json for scripts, --names for
 * completion (driver names only, one a line). */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "output.h"
#include "shell.h"

#define DRIVERS_USAGE "drivers [--json|--csv] [--names] [--check FILE]"

/* The user's driver directory (caller frees), or NULL. */
static char *user_dir(void) {
  const char *env = getenv("OHM_DRIVERS"), *home = getenv("HOME");
  char *p = NULL;
  if (env && *env) return strdup(env);
  if (!home || !*home || asprintf(&p, "%s/.config/ohm/drivers", home) < 0)
    return NULL;
  return p;
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Names of the *.lua files in the user's directory, sorted; *n set. */
static char **user_drivers(size_t *n) {
  char *dir = user_dir();
  DIR *d = dir ? opendir(dir) : NULL;
  char **names = NULL;
  struct dirent *de;
  *n = 0;
  free(dir);
  if (!d) return NULL;
  while ((de = readdir(d))) {
    size_t len = strlen(de->d_name);
    if (len < 5 || de->d_name[0] == '.' ||
        strcmp(de->d_name + len - 4, ".lua") != 0)
      continue;
    char **nn = realloc(names, (*n + 1) * sizeof *nn);
    if (!nn || !(nn[*n] = strndup(de->d_name, len - 4))) {
      names = nn ? nn : names;
      break;
    }
    names = nn;
    (*n)++;
  }
  closedir(d);
  if (*n) qsort(names, *n, sizeof *names, cmp_str);
  return names;
}

/* A driver's row: name, where from, description (or why it is broken). */
static void driver_row(struct sh_cell *c, const char *name, const char *from,
                       char *err, size_t errsz) {
  const struct dev_map *m;
  struct ohm_error e;
  ohm_error_clear(&e);
  c[0] = (struct sh_cell){name, 0};
  c[1] = (struct sh_cell){"driver", 0};
  c[2] = (struct sh_cell){from, 0};
  if (dev_driver_find(name, &m, &e) == 0)
    c[3] = (struct sh_cell){m->desc ? m->desc : "", 0};
  else {
    snprintf(err, errsz, "(broken: %s)", ohm_error_text(&e));
    c[3] = (struct sh_cell){err, 0};
  }
}

static int drivers_print(const struct sh_opts *o, int names_only) {
  static const char *const cols[] = {"name", "kind", "from", "desc"};
  const char *const *bi = dev_driver_builtin();
  const struct tp_ops *const *tps = tp_all();
  size_t nb = 0, nu = 0, nt = 0, r = 0;
  char **user = user_drivers(&nu);
  while (bi && bi[nb])
    nb++;
  while (tps[nt])
    nt++;
  size_t rows = nb + nu + nt + 1;
  struct sh_cell *c = calloc(rows * 4 + 1, sizeof *c);
  char(*errs)[200] = calloc(nb + nu + 1, sizeof *errs);
  struct sh_out out;
  int ok = c && errs;
  for (size_t i = 0; c && errs && i < nb + nu; i++, r++)
    driver_row(&c[r * 4], i < nb ? bi[i] : user[i - nb],
               i < nb ? "built-in" : "user", errs[i], sizeof errs[i]);
  for (size_t i = 0; c && !names_only && i < nt; i++, r++) {
    c[r * 4] = (struct sh_cell){tps[i]->scheme, 0};
    c[r * 4 + 1] = (struct sh_cell){"transport", 0};
    c[r * 4 + 2] = (struct sh_cell){"built-in", 0};
    c[r * 4 + 3] = (struct sh_cell){tps[i]->desc ? tps[i]->desc : "", 0};
  }
  if (c && !names_only) {
    c[r * 4] = (struct sh_cell){"sim", 0};
    c[r * 4 + 1] = (struct sh_cell){"transport", 0};
    c[r * 4 + 2] = (struct sh_cell){"built-in", 0};
    c[r++ * 4 + 3] = (struct sh_cell){
        "sim:DRIVER, the built-in simulator over loopback Modbus TCP", 0};
  }
  sh_out_init(&out, o->mode, stdout);
  for (size_t i = 0; c && names_only == 1 && i < r; i++)
    printf("%s\n", c[i * 4].text);
  for (size_t i = 0; names_only == 2 && i < nt; i++) /* --schemes */
    printf("%s://%s\n", tps[i]->scheme, /* a device path: one more '/' */
           !strcmp(tps[i]->scheme, "serial") || strstr(tps[i]->scheme, "rtu")
               ? "/"
               : "");
  if (c && !names_only) sh_out_table(&out, cols, 4, c, r);
  for (size_t i = 0; i < nu; i++)
    free(user[i]);
  free(user);
  free(errs);
  free(c);
  return ok ? EXIT_OK : EXIT_FAIL;
}

static const char *const type_txt[] = {
    "u16",  "s16", "u32", "s32",     "float32", "energy8", "string",
    "enum", "u64", "s64", "float64", "bool",    "bits"};
static const char *const table_txt[] = {"holding", "input", "coil", "discrete"};
static const char *const order_txt[] = {"ABCD", "CDAB", "BADC", "DCBA"};

/* Where a var lives, every transport's location: "input 2-3 CDAB; oid
 * .1.3...; menu 1:load.1", or "fixed". */
static void var_location(const struct dev_var *v, char *buf, size_t n) {
  size_t k = 0;
  buf[0] = 0;
  if (v->text) {
    snprintf(buf, n, "fixed text");
    return;
  }
  if (v->reg >= 0 && v->nwords > 1)
    k += (size_t)snprintf(
        buf + k, n - k, "%s %d-%d%s%s", table_txt[v->table], v->reg,
        v->reg + v->nwords - 1,
        v->type == DT_STRING || v->type == DT_ENERGY8 ? "" : " ",
        v->type == DT_STRING || v->type == DT_ENERGY8 ? ""
                                                      : order_txt[v->order]);
  else if (v->reg >= 0)
    k += (size_t)snprintf(buf + k, n - k, "%s %d", table_txt[v->table], v->reg);
  if (v->oid && k < n)
    k += (size_t)snprintf(buf + k, n - k, "%soid %s", k ? "; " : "", v->oid);
  if (v->menu && k < n)
    snprintf(buf + k, n - k, "%smenu %s", k ? "; " : "", v->menu);
}

/* Read FILE whole (at most 1 MiB). */
static char *slurp(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  char *buf = f ? malloc((1 << 20) + 1) : NULL;
  *len = buf ? fread(buf, 1, 1 << 20, f) : 0;
  if (f) fclose(f);
  if (buf) buf[*len] = 0;
  return buf;
}

/* ohm drivers --check FILE: load it as ohm would and show each var's
 * location, type and access; the loader's one-line error if it is bad. */
static int drivers_check(const struct sh_opts *o, const char *path) {
  static const char *const cols[] = {"name", "location", "type", "access",
                                     "unit"};
  const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
  char name[128], (*loc)[200];
  size_t len, n;
  char *src = slurp(path, &len);
  struct dev_map *m = NULL;
  struct ohm_error e;
  struct sh_out out;
  struct sh_cell *c;
  snprintf(name, sizeof name, "%s", base);
  if ((n = strlen(name)) > 4 && strcmp(name + n - 4, ".lua") == 0)
    name[n - 4] = 0;
  if (!src) return sh_errorf(path, "%s", strerror(errno)), EXIT_FAIL;
  if (dev_map_load(src, len, name, &m, &e) < 0) {
    free(src);
    sh_error(path, &e);
    return EXIT_FAIL;
  }
  free(src);
  c = calloc(m->nvars * 5 + 1, sizeof *c);
  loc = calloc(m->nvars + 1, sizeof *loc);
  for (size_t i = 0; c && loc && i < m->nvars; i++) {
    const struct dev_var *v = &m->vars[i];
    var_location(v, loc[i], sizeof loc[i]);
    c[i * 5] = (struct sh_cell){v->name, 0};
    c[i * 5 + 1] = (struct sh_cell){loc[i], 0};
    c[i * 5 + 2] = (struct sh_cell){type_txt[v->type], 0};
    c[i * 5 + 3] = (struct sh_cell){v->access == DA_RW ? "rw" : "ro", 0};
    c[i * 5 + 4] = (struct sh_cell){v->unit, 0};
  }
  sh_out_init(&out, o->mode, stdout);
  if (c && loc) sh_out_table(&out, cols, 5, c, m->nvars);
  if (!o->quiet && o->mode == SH_TABLE)
    fprintf(stderr,
            "ohm: %s: map %s is valid (%zu variables, %zu read "
            "requests over Modbus)\n",
            path, m->name, m->nvars, m->nblocks);
  free(c);
  free(loc);
  dev_map_free(m);
  return EXIT_OK;
}

int cmd_drivers(int argc, char **argv) {
  struct sh_opts o;
  int names_only = 0, i, n = 1;
  const char *check = NULL;
  sh_opts_init(&o);
  for (i = 1; i < argc; i++) /* --names is ours: take it out */
    if (strcmp(argv[i], "--names") == 0)
      names_only = 1;
    else if (strcmp(argv[i], "--check") == 0 && i + 1 < argc)
      check = argv[++i];
    else if (strcmp(argv[i], "--schemes") == 0) /* for completion */
      names_only = 2;
    else
      argv[n++] = argv[i];
  argc = n;
  if ((i = sh_parse_common(argc, argv, &o, DRIVERS_USAGE)) < 0)
    return EXIT_USAGE;
  if (i < argc) {
    sh_errorf("drivers", "unexpected '%s'; usage: ohm %s", argv[i],
              DRIVERS_USAGE);
    return EXIT_USAGE;
  }
  return check ? drivers_check(&o, check) : drivers_print(&o, names_only);
}
