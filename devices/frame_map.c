/* Loading a frame dialect (`frame = {...}`) and expanding repeated groups
 * (`each`) of a driver map; see frame_map.h. Runs inside map.c's sandbox
 * and under its pcall, so Lua errors unwind to the loader. */
#include "frame_map.h"

#include <lauxlib.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int bad(char *msg, size_t n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int bad(char *msg, size_t n, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, n, fmt, ap);
  va_end(ap);
  return -1;
}

/* Integer field k of the table at -1 into *out (def if absent). */
static int int_field(lua_State *L, const char *k, int def, int lo, int hi,
                     int *out, char *msg, size_t n) {
  int isint, t = lua_getfield(L, -1, k);
  lua_Integer v = lua_tointegerx(L, -1, &isint);
  lua_pop(L, 1);
  if (t == LUA_TNIL) return *out = def, 0;
  if (t != LUA_TNUMBER || !isint || v < lo || v > hi)
    return bad(msg, n, "frame.%s must be an integer %d..%d", k, lo, hi);
  *out = (int)v;
  return 0;
}

static int num_field(lua_State *L, const char *k, double def, double *out,
                     char *msg, size_t n) {
  int t = lua_getfield(L, -1, k);
  *out = t == LUA_TNIL ? def : lua_tonumber(L, -1);
  lua_pop(L, 1);
  if (t != LUA_TNIL && t != LUA_TNUMBER)
    return bad(msg, n, "frame.%s must be a number", k);
  return 0;
}

/* k = {a, b}: two integers, or both def when absent. */
static int pair_field(lua_State *L, const char *k, int def, int *a, int *b,
                      char *msg, size_t n) {
  int t = lua_getfield(L, -1, k), rc = 0;
  *a = *b = def;
  if (t == LUA_TTABLE) {
    lua_rawgeti(L, -1, 1);
    lua_rawgeti(L, -2, 2);
    if (!lua_isinteger(L, -2) || !lua_isinteger(L, -1))
      rc = bad(msg, n, "frame.%s must be {first, last}", k);
    *a = (int)lua_tointeger(L, -2);
    *b = (int)lua_tointeger(L, -1);
    lua_pop(L, 2);
  } else if (t != LUA_TNIL) {
    rc = bad(msg, n, "frame.%s must be {first, last}", k);
  }
  lua_pop(L, 1);
  if (rc == 0 && *a > *b) rc = bad(msg, n, "frame.%s: first is above last", k);
  return rc;
}

static int load_status(lua_State *L, struct dev_frame *f, char *msg, size_t n) {
  int rc = 0;
  if (lua_getfield(L, -1, "status") == LUA_TTABLE) {
    for (int i = 1; rc == 0 && lua_rawgeti(L, -1, i) == LUA_TSTRING; i++) {
      if (f->nstatus == FRAME_STATUS_MAX)
        rc = bad(msg, n, "frame.status: at most %d", FRAME_STATUS_MAX);
      else
        f->status[f->nstatus++] = strdup(lua_tostring(L, -1));
      lua_pop(L, 1);
    }
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
  return rc;
}

/* A {"status", bit} pair at -1 (status by name). */
static int status_bit(lua_State *L, const struct dev_frame *f, int *st,
                      int *bit) {
  lua_rawgeti(L, -1, 1);
  lua_rawgeti(L, -2, 2);
  *st = lua_type(L, -2) == LUA_TSTRING
            ? dev_frame_status(f, lua_tostring(L, -2))
            : -1;
  *bit = lua_isinteger(L, -1) ? (int)lua_tointeger(L, -1) : -1;
  lua_pop(L, 2);
  return *st >= 0 && *bit >= 0 && *bit <= 7 ? 0 : -1;
}

static int load_flags(lua_State *L, struct dev_frame *f, char *msg, size_t n) {
  int rc = 0;
  f->balance[0] = f->balance[1] = f->full_status = f->full_bit = -1;
  if (lua_getfield(L, -1, "balance") == LUA_TTABLE)
    for (int i = 0; i < 2; i++) {
      if (lua_rawgeti(L, -1, i + 1) == LUA_TSTRING)
        f->balance[i] = dev_frame_status(f, lua_tostring(L, -1));
      lua_pop(L, 1);
    }
  lua_pop(L, 1);
  if (lua_getfield(L, -1, "full") == LUA_TTABLE &&
      status_bit(L, f, &f->full_status, &f->full_bit) < 0)
    rc = bad(msg, n, "frame.full must be {\"status byte\", bit}");
  lua_pop(L, 1);
  if (rc || lua_getfield(L, -1, "alarm_words") != LUA_TTABLE) {
    lua_pop(L, 1);
    return rc;
  }
  size_t len = lua_rawlen(L, -1);
  f->words = calloc(len ? len : 1, sizeof *f->words);
  for (size_t i = 1; f->words && rc == 0 && i <= len; i++) {
    struct dev_frame_alarm *w = &f->words[f->nwords];
    lua_rawgeti(L, -1, (lua_Integer)i);
    lua_rawgeti(L, -1, 3);
    if (lua_type(L, -2) != LUA_TTABLE || lua_type(L, -1) != LUA_TSTRING ||
        (lua_pop(L, 1), status_bit(L, f, &w->status, &w->bit)) < 0)
      rc = bad(msg, n, "frame.alarm_words[%zu] must be {status, bit, word}", i);
    else {
      lua_rawgeti(L, -1, 3);
      w->word = strdup(lua_tostring(L, -1));
      f->nwords++;
    }
    lua_pop(L, 2);
  }
  lua_pop(L, 1);
  return rc;
}

/* extras = { [P] = { {"field", bytes}, ... }, ... } */
static int load_extras(lua_State *L, struct dev_frame *f, char *msg, size_t n) {
  int rc = 0;
  if (lua_getfield(L, -1, "extras") != LUA_TTABLE) {
    lua_pop(L, 1);
    return 0;
  }
  lua_pushnil(L);
  while (rc == 0 && lua_next(L, -2)) {
    struct dev_frame_extras *x = &f->extras[f->nextras];
    if (f->nextras == FRAME_EXTRAS_MAX || !lua_isinteger(L, -2) ||
        lua_type(L, -1) != LUA_TTABLE) {
      rc = bad(msg, n, "frame.extras must be { [P] = { {field, bytes} } }");
      lua_pop(L, 1);
      break;
    }
    x->p = (int)lua_tointeger(L, -2);
    for (int i = 1; rc == 0 && lua_rawgeti(L, -1, i) == LUA_TTABLE; i++) {
      lua_rawgeti(L, -1, 1);
      lua_rawgeti(L, -2, 2);
      int b = (int)lua_tointeger(L, -1);
      if (x->nf == FRAME_EXTRAS_MAX || lua_type(L, -2) != LUA_TSTRING ||
          b < 1 || b > 4)
        rc = bad(msg, n, "frame.extras[%d][%d]: {field, 1..4 bytes}", x->p, i);
      else
        x->f[x->nf++] =
            (struct dev_frame_field){strdup(lua_tostring(L, -2)), b};
      lua_pop(L, 3);
    }
    lua_pop(L, 2);
    f->nextras++;
  }
  lua_pop(L, 1);
  return rc;
}

static int load_adr(lua_State *L, struct dev_frame *f, char *msg, size_t n) {
  int t = lua_getfield(L, -1, "adr");
  f->adr = -1;
  if (t == LUA_TNUMBER && lua_isinteger(L, -1))
    f->adr = (int)lua_tointeger(L, -1) & 0xFF;
  else if (t != LUA_TNIL &&
           !(t == LUA_TSTRING && strcmp(lua_tostring(L, -1), "pack") == 0))
    return lua_pop(L, 1), bad(msg, n, "frame.adr must be \"pack\" or a byte");
  lua_pop(L, 1);
  return 0;
}

int dev_frame_load(lua_State *L, struct dev_frame **out, char *msg, size_t n) {
  struct dev_frame *f = calloc(1, sizeof *f);
  int rc;
  *out = f;
  if (!f) return bad(msg, n, "out of memory");
  if (lua_type(L, -1) != LUA_TTABLE) return bad(msg, n, "must be a table");
  rc = int_field(L, "ver", 0, 0, 255, &f->ver, msg, n);
  if (!rc) rc = int_field(L, "cid1", 0x46, 0, 255, &f->cid1, msg, n);
  if (!rc) rc = int_field(L, "analog", 0x42, 0, 255, &f->analog, msg, n);
  if (!rc) rc = int_field(L, "alarms", 0, 0, 255, &f->alarms, msg, n);
  if (!rc) rc = int_field(L, "firmware", 0, 0, 255, &f->firmware, msg, n);
  if (!rc) rc = int_field(L, "serial", 0, 0, 255, &f->serial, msg, n);
  if (!rc) rc = int_field(L, "text_info", 1, 0, 1, &f->text_info, msg, n);
  if (!rc) rc = int_field(L, "info_adr", 1, 0, 1, &f->info_adr, msg, n);
  if (!rc)
    rc = int_field(L, "alarm_states", 3, 0, 16, &f->alarm_states, msg, n);
  if (!rc) rc = num_field(L, "cell_scale", 0.001, &f->cell_scale, msg, n);
  if (!rc) rc = num_field(L, "temp_offset", 2731, &f->temp_offset, msg, n);
  if (!rc) rc = num_field(L, "temp_scale", 0.1, &f->temp_scale, msg, n);
  if (!rc) rc = num_field(L, "current_scale", 0.1, &f->current_scale, msg, n);
  if (!rc) rc = num_field(L, "voltage_scale", 0.001, &f->voltage_scale, msg, n);
  if (!rc)
    rc = num_field(L, "capacity_scale", 0.001, &f->capacity_scale, msg, n);
  if (!rc) rc = pair_field(L, "addresses", 1, &f->first, &f->last, msg, n);
  if (!rc)
    rc = pair_field(L, "cell_temps", 0, &f->cell_temp_first, &f->cell_temp_last,
                    msg, n);
  if (!rc) rc = load_adr(L, f, msg, n);
  if (!rc) rc = load_status(L, f, msg, n);
  if (!rc) rc = load_flags(L, f, msg, n);
  if (!rc) rc = load_extras(L, f, msg, n);
  if (!rc && (f->first < 0 || f->last > 255))
    rc = bad(msg, n, "frame.addresses must lie in 0..255");
  if (!rc && !f->ver) rc = bad(msg, n, "frame.ver missing");
  return rc;
}

void dev_frame_free(struct dev_frame *f) {
  if (!f) return;
  for (int i = 0; i < f->nstatus; i++)
    free(f->status[i]);
  for (int i = 0; i < f->nextras; i++)
    for (int j = 0; j < f->extras[i].nf; j++)
      free(f->extras[i].f[j].field);
  for (size_t i = 0; i < f->nwords; i++)
    free(f->words[i].word);
  free(f->words);
  free(f);
}

int dev_frame_status(const struct dev_frame *f, const char *name) {
  for (int i = 0; i < f->nstatus; i++)
    if (f->status[i] && strcmp(f->status[i], name) == 0) return i;
  return -1;
}

/* The expansion, in Lua: it runs on the map's own table in the sandbox. */
static const char expand_lua[] =
    "local vars, max = ...\n"
    "local out = {}\n"
    "for i, v in ipairs(vars) do\n"
    "  local each = type(v) == 'table' and v.each\n"
    "  if not each then out[#out + 1] = v else\n"
    "    if type(each) ~= 'table' then\n"
    "      error(('vars[%d]: each must be a list of {LETTER, first, "
    "last}'):format(i), 0) end\n"
    "    local combos = {{}}\n"
    "    for k, g in ipairs(each) do\n"
    "      if type(g) ~= 'table' or type(g[1]) ~= 'string' or not "
    "g[1]:match('^%a+$')\n"
    "         or math.type(g[2]) ~= 'integer' or math.type(g[3]) ~= 'integer' "
    "or g[2] > g[3] then\n"
    "        error(('vars[%d]: each[%d] must be {LETTER, first, "
    "last}'):format(i, k), 0) end\n"
    "      local nc = {}\n"
    "      for _, c in ipairs(combos) do\n"
    "        for x = g[2], g[3] do\n"
    "          local d = table.move(c, 1, #c, 1, {}); d[k] = x; nc[#nc + 1] = "
    "d\n"
    "          if #nc + #out > max then error(('vars[%d]: each gives more than "
    "%d vars'):format(i, max), 0) end\n"
    "        end\n"
    "      end\n"
    "      combos = nc\n"
    "    end\n"
    "    for _, c in ipairs(combos) do\n"
    "      local n = {}\n"
    "      for key, val in pairs(v) do\n"
    "        if key ~= 'each' then\n"
    "          if type(val) == 'string' then\n"
    "            val = val:gsub('{(%a+)}', function(name)\n"
    "              for k, g in ipairs(each) do if g[1] == name then return "
    "tostring(c[k]) end end end)\n"
    "          end\n"
    "          n[key] = val\n"
    "        end\n"
    "      end\n"
    "      n.index = c\n"
    "      out[#out + 1] = n\n"
    "    end\n"
    "  end\n"
    "end\n"
    "return out\n";

int dev_map_expand_each(lua_State *L, size_t max, char *msg, size_t n) {
  if (luaL_loadbufferx(L, expand_lua, sizeof expand_lua - 1, "=each", "t") !=
      LUA_OK)
    return bad(msg, n, "%s", lua_tostring(L, -1));
  lua_pushvalue(L, -2);
  lua_pushinteger(L, (lua_Integer)max);
  if (lua_pcall(L, 2, 1, 0) != LUA_OK) {
    int rc = bad(msg, n, "%s", lua_tostring(L, -1) ? lua_tostring(L, -1) : "?");
    lua_pop(L, 1);
    return rc;
  }
  lua_replace(L, -2);
  return 0;
}
