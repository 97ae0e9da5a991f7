/* ohm drivers: the drivers (built-in maps, then the user's own in
 * $OHM_DRIVERS or ~/.config/ohm/drivers) and the transports this build
 * has, each with one line of description; --json for scripts, --names for
 * completion (driver names only, one a line). */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>

#include "output.h"
#include "shell.h"

#define DRIVERS_USAGE "drivers [--json|--csv] [--names]"

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
    printf("%s://%s\n", tps[i]->scheme,
           tps[i]->kind == TP_STREAM || strstr(tps[i]->scheme, "rtu") ? "/"
                                                                      : "");
  if (c && !names_only) sh_out_table(&out, cols, 4, c, r);
  for (size_t i = 0; i < nu; i++)
    free(user[i]);
  free(user);
  free(errs);
  free(c);
  return ok ? EXIT_OK : EXIT_FAIL;
}

int cmd_drivers(int argc, char **argv) {
  struct sh_opts o;
  int names_only = 0, i, n = 1;
  sh_opts_init(&o);
  for (i = 1; i < argc; i++) /* --names is ours: take it out */
    if (strcmp(argv[i], "--names") == 0)
      names_only = 1;
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
  return drivers_print(&o, names_only);
}
