/* Saved configurations: snapshot of a device's writable variables, the
 * Lua file that holds them (rendered here, read back in the inventory's
 * sandbox) and its atomic write. Comparing and applying: config_apply.c. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <lauxlib.h>
#include <lua.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../util/strbuf.h"
#include "inventory.h"

#define CFG_MAX_VALS 100000

void cfg_free(struct cfg_file *f) {
  if (!f) return;
  for (size_t i = 0; i < f->n; i++) {
    free(f->vals[i].name);
    free(f->vals[i].str);
  }
  free(f->vals);
  for (size_t i = 0; i < f->nskipped; i++)
    free(f->skipped[i]);
  free(f->skipped);
  free(f->device);
  free(f->driver);
  free(f->model);
  free(f->firmware);
  free(f->time);
  free(f);
}

static char *dup_or_null(const char *s) {
  return s && *s ? strdup(s) : NULL;
}

/* The value of the first of names that d read as text or a number. */
static char *ident_of(const struct dev_map *m, const struct dev_value *vals,
                      const char *const *names) {
  for (int k = 0; names[k]; k++) {
    const struct dev_var *v = dev_map_var(m, names[k]);
    char buf[160];
    if (!v) continue;
    size_t i = (size_t)(v - m->vars);
    if (vals[i].kind != DV_STR && vals[i].kind != DV_NUM) continue;
    dev_value_format(v, &vals[i], buf, sizeof buf);
    return dup_or_null(buf);
  }
  return NULL;
}

static void header_of(struct cfg_file *f, const struct dev *d,
                      const struct dev_value *vals, const char *shown) {
  static const char *const models[] = {"device.model", "ups.model", NULL};
  const char *fw[] = {d->map->version_var, "device.firmware", "ups.firmware",
                      NULL};
  char ts[32];
  time_t now = time(NULL);
  struct tm tm;
  f->device = inv_redact(shown);
  f->driver = dup_or_null(d->map->name);
  f->model = ident_of(d->map, vals, models);
  if (!f->model) f->model = dup_or_null(d->map->model);
  f->firmware = ident_of(d->map, vals, fw[0] ? fw : fw + 1);
  gmtime_r(&now, &tm);
  strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &tm);
  f->time = strdup(ts);
}

/* Whether the value v read can go back through dev_set as it is; why
 * not in why (for the file's comments) when it cannot. */
static int savable(const struct dev *d, const struct dev_var *v,
                   const struct dev_value *val, char *why, size_t n) {
  char buf[160];
  uint16_t regs[8];
  struct ohm_error e;
  if (!dev_var_available(d, v)) {
    snprintf(why, n, "not reachable over %s",
             d->tp && d->tp->ops ? d->tp->ops->scheme : "this transport");
    return 0;
  }
  if (val->kind == DV_ERR) {
    snprintf(why, n, "read failed (%s)", val->str);
    return 0;
  }
  if (val->kind != DV_NUM && val->kind != DV_STR) {
    snprintf(why, n, "absent on this device");
    return 0;
  }
  dev_value_format(v, val, buf, sizeof buf);
  ohm_error_clear(&e);
  if (dev_encode(v, buf, regs, &e) == 0) return 1;
  snprintf(why, n, "its value %s cannot be written back (%s)", buf,
           ohm_error_text(&e));
  return 0;
}

static int add_skipped(struct cfg_file *f, const char *name, const char *why) {
  char **p = realloc(f->skipped, (f->nskipped + 1) * sizeof *p);
  if (!p) return OHM_ENOMEM;
  f->skipped = p;
  if (asprintf(&p[f->nskipped], "%s: %s", name, why) < 0) return OHM_ENOMEM;
  f->nskipped++;
  return 0;
}

static int add_val(struct cfg_file *f, const struct dev_var *v,
                   const struct dev_value *val) {
  struct cfg_val *c = &f->vals[f->n];
  char buf[160];
  memset(c, 0, sizeof *c);
  dev_value_format(v, val, buf, sizeof buf);
  c->name = strdup(v->name);
  c->is_str = val->kind == DV_STR;
  if (c->is_str)
    c->str = strdup(buf);
  else
    c->num = strtod(buf, NULL);
  f->n++;
  return c->name && (!c->is_str || c->str) ? 0 : OHM_ENOMEM;
}

int cfg_snapshot(struct dev *d, const char *shown, struct cfg_file **out,
                 struct ohm_error *e) {
  const struct dev_map *m = d->map;
  struct dev_value *vals = calloc(m->nvars ? m->nvars : 1, sizeof *vals);
  struct cfg_file *f = calloc(1, sizeof *f);
  int rc = 0;
  *out = NULL;
  if (f) f->vals = calloc(m->nvars ? m->nvars : 1, sizeof *f->vals);
  if (!vals || !f || !f->vals) {
    rc = ohm_error_set(e, OHM_ENOMEM, "out of memory");
  } else if ((rc = dev_read_all(d, vals, e)) == 0) {
    header_of(f, d, vals, shown);
    for (size_t i = 0; i < m->nvars && rc == 0; i++) {
      char why[300];
      if (m->vars[i].access != DA_RW || m->vars[i].text) continue;
      if (savable(d, &m->vars[i], &vals[i], why, sizeof why))
        rc = add_val(f, &m->vars[i], &vals[i]);
      else
        rc = add_skipped(f, m->vars[i].name, why);
    }
    if (rc < 0) ohm_error_set(e, rc, "out of memory");
  }
  free(vals);
  if (rc < 0)
    cfg_free(f);
  else
    *out = f;
  return rc;
}

/* A growing string for the rendered file (util/strbuf.h). */
#define sbuf ohm_strbuf
#define sb_add ohm_strbuf_add
#define sb_printf ohm_strbuf_printf

static void sb_quote(struct sbuf *b, const char *s) {
  sb_add(b, "\"", 1);
  for (; s && *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\')
      sb_printf(b, "\\%c", c);
    else if (c < 32 || c == 127)
      sb_printf(b, "\\%03u", c);
    else
      sb_add(b, s, 1);
  }
  sb_add(b, "\"", 1);
}

/* Text for a comment line: control bytes as '?', so no name can end the
 * comment and become code. */
static const char *plain(const char *s, char *buf, size_t n) {
  size_t k = 0;
  for (; s && s[k] && k + 1 < n; k++)
    buf[k] = (unsigned char)s[k] < 32 || s[k] == 127 ? '?' : s[k];
  buf[k] = 0;
  return buf;
}

static void render_field(struct sbuf *b, const char *key, const char *val) {
  if (!val) return;
  sb_printf(b, "  %s = ", key);
  sb_quote(b, val);
  sb_add(b, ",\n", 2);
}

/* One value line, with the variable's unit and limits as a comment. */
static void render_val(struct sbuf *b, const struct cfg_val *c,
                       const struct dev_map *m) {
  const struct dev_var *v = m ? dev_map_var(m, c->name) : NULL;
  sb_add(b, "    [", 5);
  sb_quote(b, c->name);
  sb_add(b, "] = ", 4);
  if (c->is_str)
    sb_quote(b, c->str);
  else
    sb_printf(b, "%.15g", c->num);
  sb_add(b, ",", 1);
  if (v && (v->unit[0] || v->has_min || v->has_max)) {
    sb_printf(b, " -- %s", v->unit);
    if (v->has_min || v->has_max)
      sb_printf(b, "%s%.10g..%.10g", v->unit[0] ? " " : "",
                v->has_min ? v->min : -1.0 / 0.0,
                v->has_max ? v->max : 1.0 / 0.0);
  }
  sb_add(b, "\n", 1);
}

char *cfg_render(const struct cfg_file *f, const struct dev_map *m) {
  struct sbuf b = {0};
  char t[400];
  sb_printf(&b, "-- ohm configuration: the writable variables of %s\n",
            f->device ? plain(f->device, t, sizeof t) : "a device");
  sb_printf(&b, "-- driver %s", plain(f->driver, t, sizeof t));
  if (f->model) sb_printf(&b, ", model %s", plain(f->model, t, sizeof t));
  if (f->firmware)
    sb_printf(&b, ", firmware %s", plain(f->firmware, t, sizeof t));
  if (f->time) sb_printf(&b, ", saved %s", plain(f->time, t, sizeof t));
  sb_printf(&b, "\n");
  sb_printf(&b, "-- ohm config diff FILE DEVICE... shows what differs; "
                "ohm config apply FILE DEVICE... writes it\n");
  if (f->nskipped)
    sb_printf(&b, "-- not saved (%zu writable variable%s):\n", f->nskipped,
              f->nskipped == 1 ? "" : "s");
  for (size_t i = 0; i < f->nskipped; i++)
    sb_printf(&b, "--   %s\n", plain(f->skipped[i], t, sizeof t));
  sb_printf(&b, "return {\n");
  render_field(&b, "device", f->device);
  render_field(&b, "driver", f->driver);
  render_field(&b, "model", f->model);
  render_field(&b, "firmware", f->firmware);
  render_field(&b, "time", f->time);
  sb_printf(&b, "  values = {\n");
  for (size_t i = 0; i < f->n; i++)
    render_val(&b, &f->vals[i], m);
  sb_printf(&b, "  },\n}\n");
  if (b.oom) {
    free(b.s);
    return NULL;
  }
  return b.s;
}

static int write_whole(int fd, const char *s, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, s, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return -1;
    s += w;
    n -= (size_t)w;
  }
  return 0;
}

/* The rename itself on disk: fsync the directory that holds path. */
static void sync_dir(const char *path) {
  char *dir = strdup(path);
  char *slash = dir ? strrchr(dir, '/') : NULL;
  if (slash) *slash = 0;
  int fd = !dir ? -1
                : open(!slash         ? "."
                       : slash == dir ? "/"
                                      : dir,
                       O_RDONLY | O_DIRECTORY);
  if (fd >= 0) {
    fsync(fd);
    close(fd);
  }
  free(dir);
}

int cfg_write_file(const char *path, const char *text, struct ohm_error *e) {
  size_t len = strlen(path);
  char *tmp = malloc(len + 16);
  int fd, err;
  if (!tmp) return ohm_error_set(e, OHM_ENOMEM, "out of memory");
  snprintf(tmp, len + 16, "%s.tmp.XXXXXX", path);
  if ((fd = mkstemp(tmp)) < 0) {
    err = errno;
    free(tmp);
    return ohm_error_set(e, OHM_EIO, "%s: cannot create (%s)", path,
                         strerror(err));
  }
  int rc = write_whole(fd, text, strlen(text)) < 0 || fsync(fd) < 0;
  err = errno;
  if (close(fd) < 0 && !rc) rc = 1, err = errno;
  if (!rc && rename(tmp, path) < 0) rc = 1, err = errno;
  if (rc) {
    unlink(tmp);
    free(tmp);
    return ohm_error_set(e, OHM_EIO, "%s: cannot write (%s)", path,
                         strerror(err));
  }
  free(tmp);
  sync_dir(path);
  return 0;
}

/* Loading: the chunk's result on top of the sandbox's stack. */
struct cfg_load {
  struct cfg_file *f;
  struct ohm_error *e;
};

static int load_field(lua_State *L, const char *key, char **out) {
  int t = lua_getfield(L, -1, key);
  if (t == LUA_TSTRING) *out = strdup(lua_tostring(L, -1));
  lua_pop(L, 1);
  if (t != LUA_TSTRING && t != LUA_TNIL)
    return luaL_error(L, "'%s' must be a string", key);
  return 0;
}

static int load_one(lua_State *L, struct cfg_file *f) {
  struct cfg_val *c = &f->vals[f->n];
  memset(c, 0, sizeof *c);
  if (lua_type(L, -2) != LUA_TSTRING)
    return luaL_error(L, "values: keys must be variable names");
  c->name = strdup(lua_tostring(L, -2));
  f->n++;
  if (lua_type(L, -1) == LUA_TNUMBER) {
    c->num = lua_tonumber(L, -1);
  } else if (lua_type(L, -1) == LUA_TSTRING) {
    c->is_str = 1;
    c->str = strdup(lua_tostring(L, -1));
  } else {
    return luaL_error(L, "values[\"%s\"] must be a number or a string",
                      c->name ? c->name : "?");
  }
  return c->name && (!c->is_str || c->str) ? 0 : luaL_error(L, "out of memory");
}

static int cmp_val(const void *a, const void *b) {
  return strcmp(((const struct cfg_val *)a)->name,
                ((const struct cfg_val *)b)->name);
}

static int load_values(lua_State *L, struct cfg_file *f) {
  size_t cap = 64;
  if (lua_getfield(L, -1, "values") != LUA_TTABLE)
    return luaL_error(L, "no 'values' table (is this a file of ohm config "
                         "save?)");
  if (!(f->vals = calloc(cap, sizeof *f->vals)))
    return luaL_error(L, "out of memory");
  lua_pushnil(L);
  while (lua_next(L, -2)) {
    if (f->n == cap) {
      struct cfg_val *p =
          cap < CFG_MAX_VALS ? realloc(f->vals, 2 * cap * sizeof *p) : NULL;
      if (!p) return luaL_error(L, "too many values");
      f->vals = p;
      cap *= 2;
    }
    load_one(L, f);
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
  qsort(f->vals, f->n, sizeof *f->vals, cmp_val);
  return 0;
}

int cfg_table_read(lua_State *L, struct cfg_file *f) {
  static const char *const keys[] = {"device", "driver", "model", "firmware",
                                     "time",   "values", NULL};
  if (!lua_istable(L, -1))
    return luaL_error(L, "must return a table (is this a file of ohm config "
                         "save?)");
  lua_pushnil(L);
  while (lua_next(L, -2)) {
    int known = 0;
    lua_pop(L, 1);
    for (int k = 0; keys[k] && lua_type(L, -1) == LUA_TSTRING; k++)
      known |= strcmp(keys[k], lua_tostring(L, -1)) == 0;
    if (!known)
      return luaL_error(L, "unknown key '%s'", luaL_tolstring(L, -1, NULL));
  }
  load_field(L, "device", &f->device);
  load_field(L, "driver", &f->driver);
  load_field(L, "model", &f->model);
  load_field(L, "firmware", &f->firmware);
  load_field(L, "time", &f->time);
  if (!f->driver)
    return luaL_error(L, "no 'driver' (the driver the file was saved from)");
  return load_values(L, f);
}

static int load_table(lua_State *L, void *ud) {
  struct cfg_load *ld = ud;
  return cfg_table_read(L, ld->f);
}

int cfg_load(const char *path, struct cfg_file **out, struct ohm_error *e) {
  struct cfg_load ld = {calloc(1, sizeof(struct cfg_file)), e};
  struct stat st;
  int rc;
  *out = NULL;
  if (!ld.f) return ohm_error_set(e, OHM_ENOMEM, "out of memory");
  if (stat(path, &st) < 0) {
    rc = errno;
    cfg_free(ld.f);
    return ohm_error_set(e, OHM_ECONFIG, "%s: cannot read (%s)", path,
                         strerror(rc));
  }
  rc = inv_load_value(path, load_table, &ld, e);
  if (rc < 0) {
    cfg_free(ld.f);
    return rc;
  }
  *out = ld.f;
  return 0;
}
