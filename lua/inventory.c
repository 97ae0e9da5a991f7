/* The inventory: a Lua file naming devices, run in a sandboxed lua_State
 * (no io, no loading of other files or C modules, bounded time and memory).
 * The state stays open in inv->L so other sections (e.g. `console`) can be
 * read later by the code that needs them. */
#include "inventory.h"

#include <errno.h>
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../devices/device.h"
#include "inv_fields.h"
#include "../util/suggest.h"

#define INV_MEM_MAX (64u << 20) /* bytes a config file may allocate */
#define INV_STEPS_MAX 1000      /* x 10000 VM instructions */

struct inv_alloc {
  size_t used;
  int steps;
};

/* lua_Alloc with a ceiling, so a runaway config cannot eat the machine. */
static void *inv_lalloc(void *ud, void *ptr, size_t osize, size_t nsize) {
  struct inv_alloc *a = ud;
  if (!ptr) osize = 0;
  if (nsize == 0) {
    a->used -= osize;
    free(ptr);
    return NULL;
  }
  if (nsize > osize && a->used + (nsize - osize) > INV_MEM_MAX) return NULL;
  void *p = realloc(ptr, nsize);
  if (p) a->used = a->used - osize + nsize;
  return p;
}

/* Count hook: stop a config that loops forever. */
static void inv_hook(lua_State *L, lua_Debug *ar) {
  struct inv_alloc *a;
  (void)ar;
  lua_getallocf(L, (void **)&a);
  if (++a->steps > INV_STEPS_MAX)
    luaL_error(L, "the configuration runs too long");
}

/* Safe libraries only; then remove what reaches files or other code.
 * Called through inv_call: a memory error here is an error, not a panic. */
static int inv_sandbox(lua_State *L, void *ud) {
  static const char *const drop[] = {"dofile",  "loadfile",       "load",
                                     "require", "collectgarbage", NULL};
  static const char *const os_drop[] = {
      "execute", "exit", "remove", "rename", "tmpname", "setlocale", NULL};
  (void)ud;
  luaL_requiref(L, LUA_GNAME, luaopen_base, 1);
  luaL_requiref(L, LUA_STRLIBNAME, luaopen_string, 1);
  luaL_requiref(L, LUA_TABLIBNAME, luaopen_table, 1);
  luaL_requiref(L, LUA_MATHLIBNAME, luaopen_math, 1);
  luaL_requiref(L, LUA_UTF8LIBNAME, luaopen_utf8, 1);
  luaL_requiref(L, LUA_OSLIBNAME, luaopen_os, 1);
  lua_pop(L, 6);
  for (int i = 0; drop[i]; i++) {
    lua_pushnil(L);
    lua_setglobal(L, drop[i]);
  }
  lua_getglobal(L, "os");
  for (int i = 0; os_drop[i]; i++) {
    lua_pushnil(L);
    lua_setfield(L, -2, os_drop[i]);
  }
  lua_pop(L, 1);
  return 0;
}

struct inv_thunk {
  int (*f)(lua_State *L, void *ud);
  void *ud;
  int rc;
};

static int inv_trampoline(lua_State *L) {
  struct inv_thunk *t = lua_touserdata(L, 1);
  lua_pop(L, 1);
  t->rc = t->f(L, t->ud);
  return 0;
}

/* The error at the top of L as "FILE: message" in e; pops it. */
static int inv_fail(lua_State *L, const char *file, struct ohm_error *e) {
  const char *m = lua_tostring(L, -1);
  if (!m) m = "error in configuration";
  if (!file) file = "configuration";
  if (strncmp(m, file, strlen(file)) == 0)
    ohm_error_set(e, OHM_ECONFIG, "%s", m);
  else
    ohm_error_set(e, OHM_ECONFIG, "%s: %s", file, m);
  lua_pop(L, 1);
  return OHM_ECONFIG;
}

static int inv_pcall(lua_State *L, const char *file,
                     int (*f)(lua_State *L, void *ud), void *ud,
                     struct ohm_error *e) {
  struct inv_alloc *a;
  struct inv_thunk t = {f, ud, 0};
  int top = lua_gettop(L);
  lua_getallocf(L, (void **)&a);
  a->steps = 0; /* every call gets the whole step budget, and no more */
  if (!lua_checkstack(L, 4))
    return ohm_error_set(e, OHM_ENOMEM, "%s: out of memory", file);
  lua_pushcfunction(L, inv_trampoline);
  lua_pushlightuserdata(L, &t);
  if (lua_pcall(L, 1, 0, 0) != LUA_OK) {
    int rc = inv_fail(L, file, e);
    lua_settop(L, top);
    return rc;
  }
  lua_settop(L, top);
  return t.rc;
}

int inv_call(const struct inventory *inv, int (*f)(lua_State *L, void *ud),
             void *ud, struct ohm_error *e) {
  if (!inv || !inv->L) return 0;
  return inv_pcall(inv->L, inv->path, f, ud, e);
}

static void dev_entry_free(struct inv_device *d) {
  free(d->name);
  free(d->uri);
  free(d->driver);
  for (size_t i = 0; i < d->nfields; i++) {
    free(d->fields[i].key);
    free(d->fields[i].val);
  }
  free(d->fields);
  free(d->error);
}

void inv_free(struct inventory *inv) {
  if (!inv) return;
  for (size_t i = 0; i < inv->ndevs; i++)
    dev_entry_free(&inv->devs[i]);
  free(inv->devs);
  free(inv->path);
  if (inv->L) {
    void *ud;
    lua_getallocf(inv->L, &ud);
    lua_close(inv->L);
    free(ud);
  }
  free(inv);
}

/* One extra field of a device entry (string or number values only). */
static int add_field(struct inv_device *d, const char *key, const char *val) {
  struct ohm_kv *f = realloc(d->fields, (d->nfields + 1) * sizeof *f);
  if (!f) return OHM_ENOMEM;
  d->fields = f;
  f[d->nfields].key = strdup(key);
  f[d->nfields].val = strdup(val);
  if (!f[d->nfields].key || !f[d->nfields].val) {
    free(f[d->nfields].key);
    free(f[d->nfields].val);
    return OHM_ENOMEM;
  }
  d->nfields++;
  return 0;
}

/* Mark d bad (the first problem found is kept): "FILE: devices.NAME:
 * what". Returns 0, or OHM_ENOMEM. */
static int entry_bad(struct inv_device *d, const char *file, const char *what) {
  if (d->error) return 0;
  if (asprintf(&d->error, "%s: devices.%s: %s", file, d->name, what) < 0) {
    d->error = NULL;
    return OHM_ENOMEM;
  }
  return 0;
}

/* Read the table at the top of the stack into d (name already set). A
 * bad field marks the entry bad; only running out of memory fails. */
static int read_fields(lua_State *L, struct inv_device *d, const char *file,
                       struct ohm_error *e) {
  struct ohm_error fe;
  lua_pushnil(L);
  while (lua_next(L, -2)) {
    int t = lua_type(L, -1);
    if (lua_type(L, -2) != LUA_TSTRING ||
        (t != LUA_TSTRING && t != LUA_TNUMBER && t != LUA_TBOOLEAN)) {
      lua_pop(L, 1);
      if (entry_bad(d, file, "fields must be name = string or number") < 0) {
        lua_pop(L, 1);
        return ohm_error_set(e, OHM_ENOMEM, "out of memory");
      }
      continue;
    }
    const char *k = lua_tostring(L, -2);
    const char *v = t != LUA_TBOOLEAN      ? lua_tostring(L, -1)
                    : lua_toboolean(L, -1) ? "true"
                                           : "false";
    int rc = 0;
    ohm_error_clear(&fe);
    if (inv_field_check(k, v, &fe) < 0)
      rc = entry_bad(d, file, ohm_error_text(&fe));
    else if (strcmp(k, "uri") == 0)
      rc = (d->uri = strdup(v)) ? 0 : OHM_ENOMEM;
    else if (strcmp(k, "driver") == 0)
      rc = (d->driver = strdup(v)) ? 0 : OHM_ENOMEM;
    else
      rc = add_field(d, k, v);
    lua_pop(L, 1);
    if (rc < 0) {
      lua_pop(L, 1);
      return ohm_error_set(e, rc, "out of memory");
    }
  }
  return 0;
}

/* One `devices` entry: NAME = "URI" or NAME = { uri = ..., ... }. The
 * key and value are on the stack (key at -2). */
static int read_device(lua_State *L, struct inv_device *d, const char *file,
                       struct ohm_error *e) {
  if (lua_type(L, -2) != LUA_TSTRING)
    return ohm_error_set(e, OHM_ECONFIG,
                         "%s: devices: names must be "
                         "strings",
                         file);
  if (!(d->name = strdup(lua_tostring(L, -2))))
    return ohm_error_set(e, OHM_ENOMEM, "out of memory");
  int rc = 0;
  if (lua_type(L, -1) == LUA_TSTRING)
    d->uri = strdup(lua_tostring(L, -1));
  else if (lua_type(L, -1) == LUA_TTABLE)
    rc = read_fields(L, d, file, e);
  else
    rc = entry_bad(d, file, "expected a table or a URI string");
  if (rc == 0 && !d->uri) rc = entry_bad(d, file, "no uri");
  /* a bad entry keeps a text URI, so code that reads it never meets NULL */
  if (rc == 0 && !d->uri && !(d->uri = strdup(""))) rc = OHM_ENOMEM;
  if (rc < 0) return ohm_error_set(e, rc, "out of memory");
  return 0;
}

static int cmp_dev(const void *a, const void *b) {
  return strcmp(((const struct inv_device *)a)->name,
                ((const struct inv_device *)b)->name);
}

struct inv_read {
  struct inventory *inv;
  struct ohm_error *e;
};

/* The global `devices` table into inv->devs, sorted by name. Runs under
 * inv_pcall: `devices` may be found through a metatable on _G. */
static int read_devices(lua_State *L, void *ud) {
  struct inventory *inv = ((struct inv_read *)ud)->inv;
  struct ohm_error *e = ((struct inv_read *)ud)->e;
  int rc = 0;
  int t = lua_getglobal(L, "devices");
  if (t == LUA_TNIL) {
    lua_pop(L, 1);
    return 0;
  }
  if (t != LUA_TTABLE) {
    lua_pop(L, 1);
    return ohm_error_set(e, OHM_ECONFIG, "%s: devices must be a table",
                         inv->path);
  }
  size_t cap = 0;
  lua_pushnil(L);
  while (rc == 0 && lua_next(L, -2)) {
    if (inv->ndevs == cap) {
      cap = cap ? 2 * cap : 8;
      struct inv_device *n = realloc(inv->devs, cap * sizeof *n);
      if (!n) {
        lua_pop(L, 2);
        rc = ohm_error_set(e, OHM_ENOMEM, "out of memory");
        break;
      }
      inv->devs = n;
    }
    memset(&inv->devs[inv->ndevs], 0, sizeof inv->devs[0]);
    rc = read_device(L, &inv->devs[inv->ndevs++], inv->path, e);
    lua_pop(L, rc < 0 ? 2 : 1);
  }
  lua_pop(L, 1);
  if (rc == 0 && inv->ndevs)
    qsort(inv->devs, inv->ndevs, sizeof inv->devs[0], cmp_dev);
  return rc;
}

/* The file to read: path, else $OHM_CONFIG, else the default. *must says
 * whether a missing file is an error (only for an explicit --config). */
static char *config_path(const char *path, int *must) {
  const char *env = getenv("OHM_CONFIG"), *home = getenv("HOME");
  char *p = NULL;
  *must = path != NULL;
  if (path) return strdup(path);
  if (env && *env) return strdup(env);
  if (!home || !*home) return NULL;
  if (asprintf(&p, "%s/.config/ohm/config.lua", home) < 0) return NULL;
  return p;
}

/* Run the file in a fresh sandboxed state kept in inv->L. */
static int run_config(struct inventory *inv, struct ohm_error *e) {
  struct inv_alloc *a = calloc(1, sizeof *a);
  lua_State *L = a ? lua_newstate(inv_lalloc, a) : NULL;
  if (!L) {
    free(a);
    return ohm_error_set(e, OHM_ENOMEM, "out of memory");
  }
  inv->L = L;
  if (inv_pcall(L, inv->path, inv_sandbox, NULL, e) < 0) return e->code;
  /* the hook stays: the step limit holds for every later call too */
  lua_sethook(L, inv_hook, LUA_MASKCOUNT, 10000);
  a->steps = 0;
  if (luaL_loadfilex(L, inv->path, "t") != LUA_OK ||
      lua_pcall(L, 0, 0, 0) != LUA_OK)
    return inv_fail(L, inv->path, e);
  struct inv_read r = {inv, e};
  return inv_pcall(L, inv->path, read_devices, &r, e);
}

struct inv_value {
  const char *path;
  int (*f)(lua_State *L, void *ud);
  void *ud;
};

static int inv_value_run(lua_State *L, void *ud) {
  struct inv_value *v = ud;
  if (luaL_loadfilex(L, v->path, "t") != LUA_OK) lua_error(L);
  lua_call(L, 0, 1);
  return v->f(L, v->ud);
}

int inv_load_value(const char *path, int (*f)(lua_State *L, void *ud), void *ud,
                   struct ohm_error *e) {
  struct inv_alloc *a = calloc(1, sizeof *a);
  lua_State *L = a ? lua_newstate(inv_lalloc, a) : NULL;
  struct inv_value v = {path, f, ud};
  int rc;
  if (!L) {
    free(a);
    return ohm_error_set(e, OHM_ENOMEM, "out of memory");
  }
  rc = inv_pcall(L, path, inv_sandbox, NULL, e);
  if (rc == 0) {
    lua_sethook(L, inv_hook, LUA_MASKCOUNT, 10000);
    rc = inv_pcall(L, path, inv_value_run, &v, e);
  }
  lua_close(L);
  free(a);
  return rc;
}

int inv_load(const char *path, struct inventory **out, struct ohm_error *e) {
  struct inventory *inv = calloc(1, sizeof *inv);
  struct stat st;
  int must, rc;
  *out = NULL;
  if (!inv) return ohm_error_set(e, OHM_ENOMEM, "out of memory");
  char *p = config_path(path, &must);
  if (!p || stat(p, &st) < 0) {
    int err = errno;
    if (p && must) {
      rc = ohm_error_set(e, OHM_ECONFIG, "%s: cannot read (%s)", p,
                         strerror(err));
      free(p);
      free(inv);
      return rc;
    }
    free(p);
    *out = inv; /* no file: an empty inventory */
    return 0;
  }
  inv->path = p;
  if ((rc = run_config(inv, e)) < 0) {
    inv_free(inv);
    return rc;
  }
  *out = inv;
  return 0;
}

const struct inv_device *inv_find(const struct inventory *inv,
                                  const char *name) {
  struct inv_device key = {.name = (char *)name};
  if (!inv || !name || !inv->ndevs) return NULL;
  return bsearch(&key, inv->devs, inv->ndevs, sizeof *inv->devs,
                 cmp_dev); /* sorted by read_devices */
}

int inv_entry_error(const struct inv_device *d, struct ohm_error *e) {
  if (!d || !d->error) return 0;
  return ohm_error_set(e, OHM_ECONFIG, "%s", d->error);
}

const char *inv_field(const struct inv_device *d, const char *key) {
  for (size_t i = 0; d && i < d->nfields; i++)
    if (strcmp(d->fields[i].key, key) == 0) return d->fields[i].val;
  return NULL;
}

/* Set query parameter key=val in u, replacing an existing one. */
static int uri_set_param(struct ohm_uri *u, const char *key, const char *val) {
  char *v = strdup(val);
  if (!v) return OHM_ENOMEM;
  for (size_t i = 0; i < u->nquery; i++)
    if (strcmp(u->query[i].key, key) == 0) {
      free(u->query[i].val);
      u->query[i].val = v;
      return 0;
    }
  struct ohm_kv *q = realloc(u->query, (u->nquery + 1) * sizeof *q);
  if (!q || !(q[u->nquery].key = strdup(key))) {
    if (q) u->query = q;
    free(v);
    return OHM_ENOMEM;
  }
  q[u->nquery++].val = v;
  u->query = q;
  return 0;
}

/* An inventory device's secrets into the parsed URI, never into text. */
static int add_secrets(struct ohm_uri *u, const struct inv_device *d) {
  const char *pw = inv_field(d, "password");
  const char *keys[] = {"auth_pass", "priv_pass"};
  if (pw) {
    char *c = strdup(pw);
    if (!c) return OHM_ENOMEM;
    free(u->password);
    u->password = c;
  }
  /* SNMPv3 passphrases mean nothing to other schemes, which refuse
   * parameters they do not read */
  for (size_t i = 0; strcmp(u->scheme, "snmp") == 0 && i < 2; i++) {
    const char *v = inv_field(d, keys[i]);
    if (v && uri_set_param(u, keys[i], v) < 0) return OHM_ENOMEM;
  }
  return 0;
}

/* An inventory device: its URI plus secrets; driver: explicit, else the
 * inventory's, else (NULL to dev_open_uri) the URI's driver=. */
static int open_named(const struct inv_device *d, const char *driver,
                      const struct tp_opts *o, struct dev **out,
                      struct ohm_error *e) {
  struct ohm_uri u;
  struct ohm_error pe;
  struct tp_opts own;
  if (d->error) return inv_entry_error(d, e);
  inv_field_opts(d, o, &own);
  int rc = ohm_uri_parse(d->uri, &u, &pe);
  if (rc < 0)
    return ohm_error_set(e, OHM_ECONFIG, "bad uri in the inventory (%s)",
                         ohm_error_text(&pe));
  if (add_secrets(&u, d) < 0)
    rc = ohm_error_set(e, OHM_ENOMEM, "out of memory");
  else
    rc = dev_open_uri(&u, d->name, driver ? driver : d->driver, &own, out, e);
  ohm_uri_free(&u);
  return rc;
}

int inv_open(const struct inventory *inv, const char *name_or_uri,
             const char *driver, const struct tp_opts *o, struct dev **out,
             struct ohm_error *e) {
  const struct inv_device *d = inv_find(inv, name_or_uri);
  struct ohm_uri u;
  int rc;
  *out = NULL;
  if (d) return open_named(d, driver, o, out, e);
  if (!strchr(name_or_uri, ':')) {
    struct ohm_suggest s; /* the nearest inventory name */
    ohm_suggest_init(&s, name_or_uri);
    for (size_t i = 0; inv && i < inv->ndevs; i++)
      ohm_suggest_add(&s, inv->devs[i].name);
    return ohm_error_set(e, OHM_ENOENT,
                         "no such device in the inventory%s%s"
                         " (and not a URI)%s%s%s",
                         inv && inv->path ? " " : "",
                         inv && inv->path ? inv->path : "",
                         s.best ? "; did you mean " : "", s.best ? s.best : "",
                         s.best ? "?" : "");
  }
  if ((rc = ohm_uri_parse(name_or_uri, &u, e)) < 0) return rc;
  char *name = inv_redact(name_or_uri);
  rc = name ? dev_open_uri(&u, name, driver, o, out, e)
            : ohm_error_set(e, OHM_ENOMEM, "out of memory");
  free(name);
  ohm_uri_free(&u);
  return rc;
}

/* Mask "pass"-named query values in s (in place, from the '?' on). */
static char *mask_query(char *s) {
  char *q = strchr(s, '?');
  if (!q) return s;
  size_t n = strlen(s) + 1;
  char *out = malloc(n * 4 + 8), *w;
  if (!out) return s;
  memcpy(out, s, (size_t)(q - s));
  w = out + (q - s);
  while (*q) {
    const char *k = q + 1, *eq = k + strcspn(k, "=&#");
    size_t klen = (size_t)(eq - k);
    char key[64];
    snprintf(key, sizeof key, "%.*s", (int)(klen < 63 ? klen : 63), k);
    *w++ = *q;
    memcpy(w, k, klen);
    w += klen;
    q = (char *)eq;
    if (*q == '=') {
      size_t vlen = strcspn(q + 1, "&#");
      if (strstr(key, "pass") || strstr(key, "PASS")) {
        memcpy(w, "=***", 4);
        w += 4;
      } else {
        memcpy(w, q, vlen + 1);
        w += vlen + 1;
      }
      q += vlen + 1;
    }
    if (*q == '#') {
      strcpy(w, q);
      w += strlen(q);
      break;
    }
  }
  *w = '\0';
  free(s);
  return out;
}

char *inv_redact(const char *name_or_uri) {
  char *s = ohm_uri_redact(name_or_uri);
  return s ? mask_query(s) : NULL;
}
