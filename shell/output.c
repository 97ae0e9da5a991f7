/* Output formats: see output.h. Every byte goes through o->write so tests
 * and the REPL can capture it. */
#include "output.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void fwrite_cb(void *ctx, const char *s, size_t n) {
  fwrite(s, 1, n, ctx ? (FILE *)ctx : stdout);
}

void sh_out_init(struct sh_out *o, enum sh_mode mode, FILE *fp) {
  memset(o, 0, sizeof *o);
  o->mode = mode;
  o->write = fwrite_cb;
  o->ctx = fp;
}

static void out(struct sh_out *o, const char *s, size_t n) {
  (o->write ? o->write : fwrite_cb)(o->ctx, s, n);
}

void sh_buf_write(void *ctx, const char *s, size_t n) {
  struct sh_buf *b = ctx;
  if (b->len + n > b->cap) {
    size_t cap = b->cap ? b->cap : 4096;
    char *p = NULL;
    while (cap < b->len + n && cap < SIZE_MAX / 2)
      cap *= 2;
    if (cap >= b->len + n) p = realloc(b->p, cap);
    if (!p) { /* no memory: what we have, then s, straight out */
      fwrite_cb(b->fp, b->p, b->len);
      fwrite_cb(b->fp, s, n);
      b->len = 0;
      return;
    }
    b->p = p, b->cap = cap;
  }
  memcpy(b->p + b->len, s, n);
  b->len += n;
}

int sh_buf_flush(struct sh_buf *b) {
  FILE *fp = b->fp ? b->fp : stdout;
  if (b->len) fwrite(b->p, 1, b->len, fp);
  free(b->p);
  b->p = NULL, b->len = b->cap = 0;
  return fflush(fp);
}

void sh_out_str(struct sh_out *o, const char *s) {
  out(o, s, strlen(s));
}

void sh_out_printf(struct sh_out *o, const char *fmt, ...) {
  char buf[512], *big = NULL;
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  if ((size_t)n >= sizeof buf) {
    va_start(ap, fmt);
    n = vasprintf(&big, fmt, ap);
    va_end(ap);
    if (n < 0) return;
  }
  out(o, big ? big : buf, (size_t)n);
  free(big);
}

/* The JSON escape for c, or NULL if c stands as itself. */
static const char *json_escape(unsigned char c, char u[8]) {
  switch (c) {
  case '"':
    return "\\\"";
  case '\\':
    return "\\\\";
  case '\n':
    return "\\n";
  case '\r':
    return "\\r";
  case '\t':
    return "\\t";
  }
  if (c >= 0x20 && c != 0x7f) return NULL;
  snprintf(u, 8, "\\u%04x", c);
  return u;
}

/* The length of the well-formed UTF-8 sequence at p (2..4), or 0 when
 * the byte at p does not start one (an agent's Latin-1 text). */
static size_t utf8_len(const unsigned char *p) {
  size_t n = *p >= 0xf0 ? 4 : *p >= 0xe0 ? 3 : *p >= 0xc2 ? 2 : 0;
  if (n == 0 || *p > 0xf4) return 0;
  for (size_t i = 1; i < n; i++)
    if ((p[i] & 0xc0) != 0x80) return 0;
  if ((*p == 0xe0 && p[1] < 0xa0) || (*p == 0xed && p[1] > 0x9f) ||
      (*p == 0xf0 && p[1] < 0x90) || (*p == 0xf4 && p[1] > 0x8f))
    return 0;
  return n;
}

/* Runs of plain characters go out in one write: a fleet's JSON is mostly
 * names and numbers, and a write per character showed in profiles. Bytes
 * that are not UTF-8 are taken as Latin-1 (\u00XX), so the output stays
 * valid JSON whatever a device sends. */
void sh_out_json_str(struct sh_out *o, const char *s) {
  const char *run = s;
  char u[8];
  out(o, "\"", 1);
  for (const char *p = s; *p; p++) {
    const char *esc = json_escape((unsigned char)*p, u);
    if (!esc && (unsigned char)*p >= 0x80) {
      size_t n = utf8_len((const unsigned char *)p);
      if (n) {
        p += n - 1;
        continue;
      }
      snprintf(u, 8, "\\u%04x", (unsigned char)*p);
      esc = u;
    }
    if (!esc) continue;
    out(o, run, (size_t)(p - run));
    sh_out_str(o, esc);
    run = p + 1;
  }
  out(o, run, strlen(run));
  out(o, "\"", 1);
}

/* Whether s is a JSON number (which Lua also reads as one). */
static int is_json_number(const char *s) {
  const char *p = s;
  if (*p == '-') p++;
  if (*p == '0')
    p++;
  else if (*p >= '1' && *p <= '9')
    while (*p >= '0' && *p <= '9')
      p++;
  else
    return 0;
  if (*p == '.') {
    if (!(*++p >= '0' && *p <= '9')) return 0;
    while (*p >= '0' && *p <= '9')
      p++;
  }
  if (*p == 'e' || *p == 'E') {
    p++;
    if (*p == '+' || *p == '-') p++;
    if (!(*p >= '0' && *p <= '9')) return 0;
    while (*p >= '0' && *p <= '9')
      p++;
  }
  return *p == '\0';
}

/* A Lua string literal: %q-like escaping without a lua_State. */
static void lua_str(struct sh_out *o, const char *s) {
  out(o, "\"", 1);
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    char e[8];
    if (*p == '"' || *p == '\\') {
      e[0] = '\\', e[1] = (char)*p, e[2] = 0;
      sh_out_str(o, e);
    } else if (*p < 0x20 || *p == 0x7f) {
      snprintf(e, sizeof e, "\\%03d", *p);
      sh_out_str(o, e);
    } else
      out(o, (const char *)p, 1);
  }
  out(o, "\"", 1);
}

void sh_out_csv_field(struct sh_out *o, const char *s) {
  if (!s[strcspn(s, ",\"\r\n")]) {
    sh_out_str(o, s);
    return;
  }
  out(o, "\"", 1);
  for (; *s; s++) {
    if (*s == '"') out(o, "\"", 1);
    out(o, s, 1);
  }
  out(o, "\"", 1);
}

/* s and a newline, control characters shown as '?': a device's text can
 * never fake a second `name: value` line. */
static void text_line(struct sh_out *o, const char *s) {
  const char *run = s;
  for (; *s; s++)
    if ((unsigned char)*s < 0x20 || *s == 0x7f) {
      out(o, run, (size_t)(s - run));
      out(o, "?", 1);
      run = s + 1;
    }
  out(o, run, (size_t)(s - run));
  out(o, "\n", 1);
}

/* A cell value in JSON or Lua: bare if numeric, else a string. */
static void typed(struct sh_out *o, struct sh_cell c) {
  if (c.num && is_json_number(c.text))
    sh_out_str(o, c.text);
  else if (o->mode == SH_LUA)
    lua_str(o, c.text);
  else
    sh_out_json_str(o, c.text);
}

void sh_out_rec_begin(struct sh_out *o) {
  o->n = 0;
  if (o->mode == SH_JSON || o->mode == SH_LUA)
    sh_out_str(o, "{");
  else if (o->mode == SH_CSV)
    sh_out_str(o, "name,value\n");
}

void sh_out_kv(struct sh_out *o, const char *name, struct sh_cell v) {
  switch (o->mode) {
  case SH_JSON:
    sh_out_str(o, o->n ? ",\n  " : "\n  ");
    sh_out_json_str(o, name);
    sh_out_str(o, ": ");
    typed(o, v);
    break;
  case SH_LUA:
    sh_out_str(o, o->n ? ",\n  [" : "\n  [");
    lua_str(o, name);
    sh_out_str(o, "] = ");
    typed(o, v);
    break;
  case SH_CSV:
    sh_out_csv_field(o, name);
    sh_out_str(o, ",");
    sh_out_csv_field(o, v.text);
    sh_out_str(o, "\n");
    break;
  case SH_TABLE:
    out(o, name, strlen(name));
    out(o, ": ", 2);
    text_line(o, v.text);
    break;
  }
  o->n++;
}

void sh_out_rec_end(struct sh_out *o) {
  if (o->mode == SH_JSON || o->mode == SH_LUA)
    sh_out_str(o, o->n ? "\n}\n" : "}\n");
}

/* Aligned columns; the last column is not padded. */
static void table_text(struct sh_out *o, const char *const *cols, size_t ncols,
                       const struct sh_cell *cells, size_t nrows) {
  size_t *w = calloc(ncols ? ncols : 1, sizeof *w);
  if (!w) return;
  for (size_t c = 0; c < ncols; c++) {
    w[c] = o->header ? strlen(cols[c]) : 0;
    for (size_t r = 0; r < nrows; r++)
      if (strlen(cells[r * ncols + c].text) > w[c])
        w[c] = strlen(cells[r * ncols + c].text);
  }
  for (size_t r = o->header ? 0 : 1; r <= nrows; r++)
    for (size_t c = 0; c < ncols; c++) {
      const char *t = r ? cells[(r - 1) * ncols + c].text : cols[c];
      if (c + 1 < ncols)
        sh_out_printf(o, "%-*s  ", (int)w[c], t);
      else
        sh_out_printf(o, "%s\n", t);
    }
  free(w);
}

static void table_json(struct sh_out *o, const char *const *cols, size_t ncols,
                       const struct sh_cell *cells, size_t nrows) {
  int lua = o->mode == SH_LUA;
  sh_out_str(o, lua ? "{" : "[");
  for (size_t r = 0; r < nrows; r++) {
    sh_out_str(o, r ? ",\n  {" : "\n  {");
    for (size_t c = 0; c < ncols; c++) {
      if (c) sh_out_str(o, ", ");
      if (lua)
        sh_out_printf(o, "%s = ", cols[c]);
      else {
        sh_out_json_str(o, cols[c]);
        sh_out_str(o, ": ");
      }
      typed(o, cells[r * ncols + c]);
    }
    sh_out_str(o, "}");
  }
  sh_out_str(o, nrows ? (lua ? "\n}\n" : "\n]\n") : (lua ? "}\n" : "]\n"));
}

static void table_csv(struct sh_out *o, const char *const *cols, size_t ncols,
                      const struct sh_cell *cells, size_t nrows) {
  for (size_t r = 0; r <= nrows; r++)
    for (size_t c = 0; c < ncols; c++) {
      sh_out_csv_field(o, r ? cells[(r - 1) * ncols + c].text : cols[c]);
      sh_out_str(o, c + 1 < ncols ? "," : "\n");
    }
}

void sh_out_table(struct sh_out *o, const char *const *cols, size_t ncols,
                  const struct sh_cell *cells, size_t nrows) {
  if (o->mode == SH_JSON || o->mode == SH_LUA)
    table_json(o, cols, ncols, cells, nrows);
  else if (o->mode == SH_CSV)
    table_csv(o, cols, ncols, cells, nrows);
  else
    table_text(o, cols, ncols, cells, nrows);
}

struct sh_cell sh_value_cell(const struct dev_var *v,
                             const struct dev_value *val, char *buf, size_t n) {
  struct sh_cell c = {buf, 0};
  buf[0] = '\0';
  if (val->kind == DV_NUM || val->kind == DV_STR) {
    dev_value_format(v, val, buf, n);
    c.num = val->kind == DV_NUM && isfinite(val->num);
  }
  return c;
}

int sh_cmd_carried(const struct dev_cmd *c, enum tp_kind kind, int sim) {
  if (sim && strncmp(c->name, "reset.energy.L", 14) == 0) return 1;
  switch (kind) {
  case TP_REGS:
    return c->reg >= 0 && (!c->via || strstr(c->via, "modbus"));
  case TP_OIDS:
    return c->oid || (c->via && strstr(c->via, "snmp"));
  case TP_CONSOLE:
    return c->via && strstr(c->via, "telnet");
  case TP_STREAM:
    return c->cid2 != 0;
  default:
    return 0;
  }
}
