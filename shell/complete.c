/* Tab completion for the REPL (readline's rl_attempted_completion_function):
 * dot-commands, globals and keywords, fields of tables (`ohm.op`), methods
 * after ':' (`pdu:`), device variable names by path (`pdu.input.L1.`) and
 * inside get/set/cmd string arguments, all from the device's map: no
 * device round trip, and no __index is ever called. */
#include <ctype.h>
#include <lauxlib.h>
#include <readline/history.h>
#include <readline/readline.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lua/inventory.h"
#include "../lua/ohm.h"
#include "lua_shell.h"
#include "../util/lazy_readline.h"

static lua_State *cL;

struct cands {
  char **v;
  size_t n, cap;
  const char *text; /* only candidates starting with it are kept */
};

static void add(struct cands *c, const char *s) {
  if (strncmp(s, c->text, strlen(c->text)) != 0) return;
  for (size_t i = 0; i < c->n; i++)
    if (strcmp(c->v[i], s) == 0) return;
  if (c->n == c->cap) {
    size_t cap = c->cap ? c->cap * 2 : 32;
    char **v = realloc(c->v, cap * sizeof *v);
    if (!v) return;
    c->v = v, c->cap = cap;
  }
  if ((c->v[c->n] = strdup(s))) c->n++;
}

static void add2(struct cands *c, const char *a, const char *b) {
  char buf[512];
  snprintf(buf, sizeof buf, "%s%s", a, b);
  add(c, buf);
}

static int is_ident(const char *s, size_t n) {
  if (!n || (!isalpha((unsigned char)*s) && *s != '_')) return 0;
  for (size_t i = 0; i < n; i++)
    if (!isalnum((unsigned char)s[i]) && s[i] != '_') return 0;
  return 1;
}

/* The string keys of the table on top that are identifiers, after base. */
static void add_keys(struct cands *c, const char *base) {
  if (!lua_istable(cL, -1)) return;
  for (lua_pushnil(cL); lua_next(cL, -2); lua_pop(cL, 1))
    if (lua_type(cL, -2) == LUA_TSTRING) {
      size_t n;
      const char *k = lua_tolstring(cL, -2, &n);
      if (is_ident(k, n)) add2(c, base, k);
    }
}

/* Keys of the value on top: its own (tables), then its metatable's
 * __index table (string and object methods). */
static void add_fields(struct cands *c, const char *base) {
  add_keys(c, base);
  if (luaL_getmetafield(cL, -1, "__index") != LUA_TNIL) {
    add_keys(c, base);
    lua_pop(cL, 1);
  }
}

/* Next path segments under prefix ("" or "input.L1") from d's map:
 * identifiers as base.seg, others as base["rest.of.name"]. */
static void add_var_paths(struct cands *c, const struct dev *d,
                          const char *prefix, const char *base,
                          const char *partial) {
  size_t pn = strlen(prefix), qn = strlen(partial);
  const char *text = c->text;
  char buf[512];
  c->text = ""; /* filtered here, by segment */
  for (size_t i = 0; i < d->map->nvars; i++) {
    const char *name = d->map->vars[i].name, *seg = name;
    if (pn) {
      if (strncmp(name, prefix, pn) != 0 || name[pn] != '.') continue;
      seg = name + pn + 1;
    }
    size_t sn = strcspn(seg, ".");
    if (strncmp(seg, partial, qn) != 0) continue;
    if (is_ident(seg, sn))
      snprintf(buf, sizeof buf, "%s.%.*s", base, (int)sn, seg);
    else
      snprintf(buf, sizeof buf, "%s[\"%s\"]", base, seg);
    add(c, buf);
  }
  c->text = text;
}

/* Walk base ("pdu.input" or "ohm") from the globals without calling any
 * metamethod. Leaves the value on the stack (returns 1), or sets *d and
 * prefix when base is a device or a path under one (returns 2); 0 if
 * base names nothing. */
static int walk(const char *base, struct dev **d, char *prefix, size_t pn) {
  const char *p = base;
  *d = NULL;
  prefix[0] = '\0';
  lua_pushglobaltable(cL);
  while (*p) {
    size_t n = strcspn(p, ".");
    const char *pp;
    if (*d) {
      size_t l = strlen(prefix);
      snprintf(prefix + l, pn - l, "%s%.*s", l ? "." : "", (int)n, p);
    } else if ((*d = l_device_test(cL, -1))) {
      snprintf(prefix, pn, "%.*s", (int)n, p);
    } else if (l_path_test(cL, -1, d, &pp)) {
      snprintf(prefix, pn, "%s.%.*s", pp, (int)n, p);
    } else if (lua_istable(cL, -1)) {
      lua_pushlstring(cL, p, n);
      if (lua_rawget(cL, -2) == LUA_TNIL) {
        lua_pop(cL, 1);
        if (luaL_getmetafield(cL, -1, "__index") != LUA_TTABLE) return 0;
        lua_pushlstring(cL, p, n);
        lua_rawget(cL, -2);
      }
    } else
      return 0;
    p += n + (p[n] == '.');
  }
  if (!*d && !(*d = l_device_test(cL, -1))) {
    const char *pp;
    if (l_path_test(cL, -1, d, &pp)) snprintf(prefix, pn, "%s", pp);
  }
  return *d ? 2 : 1;
}

static const char *const keywords[] = {
    "and",      "break",  "do",   "else", "elseif", "end",   "false", "for",
    "function", "goto",   "if",   "in",   "local",  "nil",   "not",   "or",
    "repeat",   "return", "then", "true", "until",  "while", NULL};
static const char *const dev_methods[] = {"get",      "set",   "cmd", "list",
                                          "commands", "close", NULL};

/* An expression: NAME, BASE.PARTIAL or BASE:PARTIAL. */
static void complete_expr(struct cands *c, const char *text) {
  const char *sep = strrchr(text, '.'), *colon = strrchr(text, ':');
  char base[256], prefix[128];
  struct dev *d;
  if (colon && (!sep || colon > sep)) sep = colon;
  if (!sep) {
    lua_pushglobaltable(cL);
    add_keys(c, "");
    for (int i = 0; keywords[i]; i++)
      add(c, keywords[i]);
    return;
  }
  snprintf(base, sizeof base, "%.*s", (int)(sep - text), text);
  if (strchr(base, ':')) return;
  int k = walk(base, &d, prefix, sizeof prefix);
  snprintf(base, sizeof base, "%.*s", (int)(sep - text + 1), text);
  if (k == 2 && *sep == ':' && !prefix[0])
    for (int i = 0; dev_methods[i]; i++)
      add2(c, base, dev_methods[i]);
  else if (k == 2 && *sep == '.') {
    base[sep - text] = '\0';
    add_var_paths(c, d, prefix, base, sep + 1);
  } else if (k == 1)
    add_fields(c, base);
}

/* What ohm.open and .open take: inventory names, URI scheme prefixes,
 * and sim:DRIVER for each driver. */
static void add_open_targets(struct cands *c) {
  struct ohm_error e;
  const struct inventory *inv;
  const char *const *b = dev_driver_builtin();
  size_t nu;
  char **user = dev_driver_user(&nu);
  ohm_error_clear(&e);
  if ((inv = l_ohm_inventory(cL, &e)))
    for (size_t i = 0; i < inv->ndevs; i++)
      add(c, inv->devs[i].name);
  for (const struct tp_ops *const *t = tp_all(); *t; t++)
    add2(c, (*t)->scheme, "://");
  for (size_t i = 0; b && b[i]; i++)
    add2(c, "sim:", b[i]);
  for (size_t i = 0; i < nu; i++)
    add2(c, "sim:", user[i]);
  dev_driver_user_free(user);
}

static void add_drivers(struct cands *c) {
  const char *const *b = dev_driver_builtin();
  size_t nu;
  char **user = dev_driver_user(&nu);
  for (size_t i = 0; b && b[i]; i++)
    add(c, b[i]);
  for (size_t i = 0; i < nu; i++)
    add(c, user[i]);
  dev_driver_user_free(user);
}

/* After a bracketed segment (pdu.input["L1-N"].vo): the expression before
 * the word with ["X"] read as .X, then the word's path segments. */
static int complete_bracket(struct cands *c, const char *text, int start) {
  const char *line = rl_line_buffer, *last = strrchr(text, '.');
  char full[512], prefix[128], tbase[256];
  size_t o = 0;
  int b = start;
  struct dev *d;
  while (b > 0 && (isalnum((unsigned char)line[b - 1]) ||
                   strchr("_.[]\"'-", line[b - 1])))
    b--;
  if (text[0] != '.' || !memchr(line + b, '[', (size_t)(start - b))) return 0;
  for (int i = b; i < start && o < sizeof full - 1; i++)
    if (line[i] == '[')
      full[o++] = '.';
    else if (!strchr("\"']", line[i]))
      full[o++] = line[i];
  snprintf(full + o, sizeof full - o, "%s", text);
  char *sep = strrchr(full, '.');
  *sep = '\0';
  snprintf(tbase, sizeof tbase, "%.*s", (int)(last - text), text);
  if (walk(full, &d, prefix, sizeof prefix) == 2)
    add_var_paths(c, d, prefix, tbase, sep + 1);
  return 1;
}

/* Inside a string argument of OBJ:get(" / set(" / cmd(": full names;
 * of ohm.open(": inventory names and URI prefixes. */
static int complete_arg(struct cands *c, int start) {
  const char *line = rl_line_buffer;
  int i = start - 1;
  if (i < 0 || (line[i] != '"' && line[i] != '\'')) return 0;
  while (i > 0 && line[i - 1] == ' ')
    i--;
  if (i < 1 || line[--i] != '(') return 0;
  int e = i;
  while (i > 0 && (isalnum((unsigned char)line[i - 1]) || line[i - 1] == '_'))
    i--;
  char meth[16], base[256], prefix[128];
  snprintf(meth, sizeof meth, "%.*s", e - i, line + i);
  if (strcmp(meth, "open") == 0 && i >= 4 &&
      strncmp(line + i - 4, "ohm.", 4) == 0 &&
      (i == 4 || !(isalnum((unsigned char)line[i - 5]) || line[i - 5] == '_' ||
                   line[i - 5] == '.')))
    return add_open_targets(c), 1;
  if (i < 2 || line[i - 1] != ':' ||
      (strcmp(meth, "get") && strcmp(meth, "set") && strcmp(meth, "cmd")))
    return 0;
  int b = i - 1;
  while (b > 0 &&
         (isalnum((unsigned char)line[b - 1]) || strchr("_.", line[b - 1])))
    b--;
  snprintf(base, sizeof base, "%.*s", i - 1 - b, line + b);
  struct dev *d;
  if (walk(base, &d, prefix, sizeof prefix) != 2 || prefix[0]) return 1;
  if (strcmp(meth, "cmd") == 0)
    for (size_t k = 0; k < d->map->ncmds; k++)
      add(c, d->map->cmds[k].name);
  else
    for (size_t k = 0; k < d->map->nvars; k++)
      add(c, d->map->vars[k].name);
  return 1;
}

static size_t common_len(char **v, size_t n) {
  size_t l = strlen(v[0]);
  for (size_t i = 1; i < n; i++) {
    size_t j = 0;
    while (j < l && v[i][j] == v[0][j])
      j++;
    l = j;
  }
  return l;
}

/* readline's array: [0] the common prefix (never shorter than text),
 * then the candidates; NULL-terminated. Takes c's strings. */
static char **to_matches(struct cands *c, const char *text) {
  if (c->n == 0) {
    free(c->v);
    return NULL;
  }
  char **m = malloc((c->n + 2) * sizeof *m);
  if (!m) return NULL;
  if (c->n == 1) {
    m[0] = c->v[0];
    m[1] = NULL;
  } else {
    size_t l = common_len(c->v, c->n);
    m[0] = l < strlen(text) ? strdup(text) : strndup(c->v[0], l);
    memcpy(m + 1, c->v, c->n * sizeof *m);
    m[c->n + 1] = NULL;
  }
  free(c->v);
  return m;
}

/* Which word (0 = the dot-command) of line the position at is in. */
static int dot_word(const char *line, const char *at) {
  int w = 0;
  for (const char *p = line; p < at; p++)
    if ((*p == ' ' || *p == '\t') && p[1] != ' ' && p[1] != '\t') w++;
  return w;
}

static char **attempt(const char *text, int start, int end) {
  struct cands c = {NULL, 0, 0, text};
  int top = lua_gettop(cL);
  rl_attempted_completion_over = 1; /* never fall back to file names */
  rl_completion_append_character = '\0';
  rl_completion_suppress_append = 1;
  rl_completion_suppress_quote = 1;
  const char *line = rl_line_buffer + strspn(rl_line_buffer, " \t");
  if (line[0] == '.' && line + strcspn(line, " ") >= rl_line_buffer + start) {
    for (int i = 0; sh_dot_name(i); i++)
      add(&c, sh_dot_name(i));
  } else if (strncmp(line, ".mode ", 6) == 0) {
    add(&c, "table"), add(&c, "json"), add(&c, "lua");
  } else if (strncmp(line, ".open ", 6) == 0) {
    int w = dot_word(line, rl_line_buffer + start);
    if (w == 2) add_open_targets(&c);
    if (w == 3) add_drivers(&c);
  } else if (line[0] != '.' && !complete_arg(&c, start) &&
             !complete_bracket(&c, text, start))
    complete_expr(&c, text);
  lua_settop(cL, top);
  return to_matches(&c, text);
}

void sh_complete_init(lua_State *L) {
  cL = L;
  rl_attempted_completion_function = attempt;
  /* '.', ':' and '-' stay inside words: pdu.input.L1-N */
  rl_completer_word_break_characters = " \t\n\"'`@$><=;|&{(,+*/%^~#[]";
  rl_basic_word_break_characters = rl_completer_word_break_characters;
  /* else a quote before the word is "closed" after a completion */
  rl_basic_quote_characters = "";
}
