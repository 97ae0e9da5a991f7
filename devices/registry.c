/* Drivers by name: the built-in maps from devices/<name>/map.lua (loaded
 * at build time by the same loader and compiled to C tables, so finding one
 * costs nothing), then the user's own maps in $OHM_DRIVERS or
 * ~/.config/ohm/drivers, loaded once and kept for the process's life, so
 * the struct dev_map pointers handed out stay valid. Also the engine per
 * transport kind and the driver hooks, from the generated registries. */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../util/embedded.h"
#include "../util/suggest.h"
#include "console.h"
#include "engine.h"

#define MAP_FILE_MAX (1u << 20)

struct loaded {
  struct dev_map *map;
  char *path; /* a map given by its file (-d ./NAME.lua), else NULL */
  struct loaded *next;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct loaded *cache;
static const char **builtin; /* NULL-terminated, built once */

static void builtin_init(void) {
  size_t n = 0;
  while (ohm_builtin_maps[n].name)
    n++;
  if (!(builtin = calloc(n + 1, sizeof *builtin))) return;
  for (size_t i = 0; i < n; i++)
    builtin[i] = ohm_builtin_maps[i].name;
}

const char *const *dev_driver_builtin(void) {
  static const char *none[] = {NULL};
  static pthread_once_t once = PTHREAD_ONCE_INIT;
  pthread_once(&once, builtin_init);
  return builtin ? builtin : none;
}

static struct dev_map *builtin_find(const char *name) {
  for (const struct ohm_builtin_map *b = ohm_builtin_maps; b->name; b++)
    if (strcmp(b->name, name) == 0) return b->get();
  return NULL;
}

/* Letters, digits, '-', '_' and '.': a name never walks out of the
 * drivers directory. */
static int valid_name(const char *s) {
  if (!*s || *s == '.' || strlen(s) > 64) return 0;
  for (; *s; s++)
    if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
          (*s >= '0' && *s <= '9') || *s == '-' || *s == '_' || *s == '.'))
      return 0;
  return 1;
}

/* The user's drivers directory, or NULL when there is no HOME. Caller
 * frees. */
static char *user_dir(void) {
  const char *d = getenv("OHM_DRIVERS"), *home = getenv("HOME");
  char *s = NULL;
  if (d && *d) return strdup(d);
  if (home && *home && asprintf(&s, "%s/.config/ohm/drivers", home) < 0)
    return NULL;
  return s;
}

/* Read a whole file; 1 if it does not exist, negative on other errors. */
static int read_file(const char *path, char **buf, size_t *len,
                     struct ohm_error *e) {
  FILE *f = fopen(path, "rb");
  size_t n;
  if (!f)
    return errno == ENOENT || errno == ENOTDIR
               ? 1
               : ohm_error_set(e, OHM_ECONFIG, "%s: %s", path, strerror(errno));
  *buf = malloc(MAP_FILE_MAX + 1);
  n = *buf ? fread(*buf, 1, MAP_FILE_MAX + 1, f) : 0;
  fclose(f);
  if (!*buf) return ohm_error_set(e, OHM_ENOMEM, "out of memory");
  if (n > MAP_FILE_MAX) {
    free(*buf);
    return ohm_error_set(e, OHM_ECONFIG, "%s: larger than 1 MiB", path);
  }
  (*buf)[n] = 0;
  *len = n;
  return 0;
}

static int cmp_name(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

char **dev_driver_user(size_t *n) {
  char *dir = user_dir(), **names = NULL;
  DIR *d = dir ? opendir(dir) : NULL;
  struct dirent *de;
  *n = 0;
  free(dir);
  while (d && (de = readdir(d))) {
    size_t len = strlen(de->d_name);
    if (len < 5 || de->d_name[0] == '.' ||
        strcmp(de->d_name + len - 4, ".lua") != 0)
      continue;
    char **nn = realloc(names, (*n + 2) * sizeof *nn);
    if (!nn) break;
    names = nn;
    if (!(names[*n] = strndup(de->d_name, len - 4))) break;
    names[++*n] = NULL;
  }
  if (d) closedir(d);
  if (*n) qsort(names, *n, sizeof *names, cmp_name);
  return names;
}

void dev_driver_user_free(char **names) {
  for (size_t i = 0; names && names[i]; i++)
    free(names[i]);
  free(names);
}

/* "unknown driver 'NAME'", with the nearest built-in or user driver. */
static int unknown_driver(const char *name, const char *dir,
                          struct ohm_error *e) {
  const char *const *b = dev_driver_builtin();
  size_t nu;
  char **user = dev_driver_user(&nu);
  struct ohm_suggest s;
  ohm_suggest_init(&s, name);
  for (size_t i = 0; b && b[i]; i++)
    ohm_suggest_add(&s, b[i]);
  for (size_t i = 0; i < nu; i++)
    ohm_suggest_add(&s, user[i]);
  int rc = ohm_error_set(e, OHM_ENOENT,
                         "unknown driver '%s'%s%s%s (built-in: %s%s; "
                         "user maps in %s)",
                         name, s.best ? ", did you mean " : "",
                         s.best ? s.best : "", s.best ? "?" : "",
                         b[0] ? b[0] : "none", b[0] && b[1] ? ", ..." : "",
                         dir ? dir : "~/.config/ohm/drivers");
  dev_driver_user_free(user);
  return rc;
}

static int load_user(const char *name, struct dev_map **m,
                     struct ohm_error *e) {
  char *dir = user_dir(), *path = NULL, *src = NULL;
  size_t len = 0;
  int rc = 1;
  if (dir && asprintf(&path, "%s/%s.lua", dir, name) >= 0) {
    rc = read_file(path, &src, &len, e);
    if (rc == 0) {
      rc = dev_map_load(src, len, name, m, e);
      free(src);
      if (rc < 0) { /* a broken user map: say which file */
        char msg[sizeof e->msg];
        snprintf(msg, sizeof msg, "%s", e->msg);
        ohm_error_set(e, rc, "%s: %s", path, msg);
      }
    }
  }
  if (rc > 0) rc = unknown_driver(name, dir, e);
  free(path);
  free(dir);
  return rc;
}

static void (*note_fn)(const char *msg);

void dev_set_note(void (*fn)(const char *msg)) {
  note_fn = fn;
}

/* Whether the user's directory holds NAME.lua. */
static int user_has(const char *name) {
  char *dir = user_dir(), *path = NULL;
  int has = dir && asprintf(&path, "%s/%s.lua", dir, name) >= 0 &&
            access(path, F_OK) == 0;
  free(path);
  free(dir);
  return has;
}

/* The user's map NAME.lua; one named like a built-in replaces it (said
 * once: maps load once per process). */
static int load_driver(const char *name, int replaces, struct dev_map **m,
                       struct ohm_error *e) {
  char msg[200];
  int rc;
  snprintf(msg, sizeof msg,
           "the user map %s.lua replaces the built-in driver %s", name, name);
  if (replaces && note_fn) note_fn(msg);
  rc = load_user(name, m, e);
  if (rc == 0 && strcmp((*m)->name, name) != 0) {
    rc = ohm_error_set(e, OHM_ECONFIG, "map %s: names itself '%s'", name,
                       (*m)->name);
    dev_map_free(*m);
  }
  return rc;
}

/* A map file given by its path (-d ./seplos.lua): named by the file,
 * which the map's own name must match, as in the drivers directory. */
static int load_path(const char *path, struct dev_map **m,
                     struct ohm_error *e) {
  const char *base = strrchr(path, '/') + 1;
  size_t n = strlen(base), len;
  char name[72], *src = NULL;
  int rc;
  if (n > 4 && strcmp(base + n - 4, ".lua") == 0) n -= 4;
  if (n == 0 || n >= sizeof name)
    return ohm_error_set(e, OHM_ENOENT, "bad driver file '%.200s'", path);
  snprintf(name, sizeof name, "%.*s", (int)n, base);
  if ((rc = read_file(path, &src, &len, e)) > 0)
    return ohm_error_set(e, OHM_ENOENT, "driver file %.200s: no such file",
                         path);
  if (rc == 0) rc = dev_map_load(src, len, name, m, e);
  free(src);
  if (rc < 0) {
    char msg[sizeof e->msg];
    snprintf(msg, sizeof msg, "%s", e->msg);
    return ohm_error_set(e, rc, "%.200s: %s", path, msg);
  }
  if (strcmp((*m)->name, name) != 0) {
    rc = ohm_error_set(e, OHM_ECONFIG, "%.200s: the map names itself '%s'",
                       path, (*m)->name);
    dev_map_free(*m);
  }
  return rc;
}

/* The cached map for a path, else loaded and cached. lock held. */
static int find_path(const char *path, const struct dev_map **out,
                     struct ohm_error *e) {
  struct loaded *l;
  struct dev_map *m = NULL;
  int rc;
  for (l = cache; l; l = l->next)
    if (l->path && strcmp(l->path, path) == 0) return *out = l->map, 0;
  if ((rc = load_path(path, &m, e)) < 0) return rc;
  if (!(l = malloc(sizeof *l)) || !(l->path = strdup(path))) {
    free(l);
    dev_map_free(m);
    return ohm_error_set(e, OHM_ENOMEM, "out of memory");
  }
  l->map = m;
  l->next = cache;
  cache = l;
  *out = m;
  return 0;
}

/* From the cache, else the built-in map unless the user's directory holds
 * one of that name, else the user's map; the choice is cached (a built-in
 * is never freed). */
static int find_locked(const char *name, const struct dev_map **out,
                       struct ohm_error *e) {
  struct loaded *l;
  struct dev_map *m;
  int rc = 0;
  for (l = cache; l; l = l->next)
    if (!l->path && strcmp(l->map->name, name) == 0) break;
  if (l) {
    *out = l->map;
    return 0;
  }
  m = builtin_find(name);
  if (!m || user_has(name)) rc = load_driver(name, m != NULL, &m, e);
  if (rc < 0) return rc;
  if (!(l = malloc(sizeof *l))) {
    if (m != builtin_find(name)) dev_map_free(m);
    return ohm_error_set(e, OHM_ENOMEM, "out of memory");
  }
  *l = (struct loaded){m, NULL, cache};
  cache = l;
  *out = m;
  return 0;
}

int dev_driver_find(const char *name, const struct dev_map **out,
                    struct ohm_error *e) {
  int rc;
  *out = NULL;
  if (name && strchr(name, '/')) {
    pthread_mutex_lock(&lock);
    rc = find_path(name, out, e);
    pthread_mutex_unlock(&lock);
    return rc;
  }
  if (!name || !valid_name(name))
    return ohm_error_set(e, OHM_ENOENT, "bad driver name '%.64s'",
                         name ? name : "");
  pthread_mutex_lock(&lock);
  rc = find_locked(name, out, e);
  pthread_mutex_unlock(&lock);
  return rc;
}

const struct dev_engine *dev_engine_for(enum tp_kind kind) {
  for (const struct dev_engine *const *g = dev_engine_registry; *g; g++)
    if ((*g)->kind == kind) return *g;
  return NULL;
}

/* Hooks live beside their drivers (devices/<driver>/hooks.c), found in the
 * generated registry by the driver name they declare. */
const struct dev_hooks *dev_hooks_find(const char *driver) {
  for (const struct dev_hooks *const *h = dev_hooks_registry; *h; h++)
    if ((*h)->driver && driver && strcmp((*h)->driver, driver) == 0) return *h;
  return NULL;
}

const struct dev_console *dev_console_find(const char *driver) {
  const struct dev_hooks *h = dev_hooks_find(driver);
  if (h && h->console) return h->console;
  for (const struct dev_hooks *const *k = dev_hooks_registry; *k; k++)
    if ((*k)->console) return (*k)->console;
  return NULL;
}
