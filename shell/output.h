/* Output formats shared by get, list, poll, watch and the REPL's `.mode`:
 * a spec struct (mode + writer callback) and writers for the two shapes
 * ohm prints: a record (name -> value, as `ohm get`) and a table (rows of
 * named columns, as `ohm list`). Tests capture output with their own
 * writer. Modes:
 *   SH_TABLE  records as `name: value` lines (upsc); tables as aligned
 *             columns, with a header line when o->header is set
 *   SH_JSON   records as one object; tables as an array of objects
 *   SH_CSV    records as `name,value` rows; tables as rows; both with a
 *             header line (RFC 4180 quoting)
 *   SH_LUA    a Lua table constructor */
#ifndef OHM_SHELL_OUTPUT_H
#define OHM_SHELL_OUTPUT_H

#include <stddef.h>
#include <stdio.h>

#include "shell.h"

typedef void (*sh_write_fn)(void *ctx, const char *s, size_t n);

struct sh_out {
  enum sh_mode mode;
  sh_write_fn write; /* NULL: fwrite to ctx (a FILE *) */
  void *ctx;
  int header; /* SH_TABLE tables: print the column names first */
  size_t n;   /* internal: items written in the current record/table */
};

/* o writes in mode to fp (stdout, usually). */
void sh_out_init(struct sh_out *o, enum sh_mode mode, FILE *fp);

/* A memory sink: with o->write = sh_buf_write and o->ctx = &b, the
 * output gathers in b and sh_buf_flush writes it to b.fp in one go (one
 * write(2) for `ohm get`, not a stdio call a line). Out of memory, what
 * is gathered and the rest go to b.fp directly. */
struct sh_buf {
  FILE *fp;
  char *p;
  size_t len, cap;
};
void sh_buf_write(void *ctx, const char *s, size_t n);
/* b's bytes to b->fp, b emptied and freed; fflush's result. */
int sh_buf_flush(struct sh_buf *b);

void sh_out_str(struct sh_out *o, const char *s);
void sh_out_printf(struct sh_out *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* s as one CSV field, quoted when it holds a comma, quote or newline. */
void sh_out_csv_field(struct sh_out *o, const char *s);
/* s as a JSON string literal, quotes included. */
void sh_out_json_str(struct sh_out *o, const char *s);

/* A cell: text, and whether JSON/Lua should print it as a number (it is
 * then written bare only if it is a valid finite number, else quoted). */
struct sh_cell {
  const char *text;
  int num;
};

/* A record: begin, one sh_out_kv per name, end. */
void sh_out_rec_begin(struct sh_out *o);
void sh_out_kv(struct sh_out *o, const char *name, struct sh_cell value);
void sh_out_rec_end(struct sh_out *o);

/* A table: ncols column names; rows of ncols cells (row-major,
 * cells[r * ncols + c]). Widths are computed over all rows. */
void sh_out_table(struct sh_out *o, const char *const *cols, size_t ncols,
                  const struct sh_cell *cells, size_t nrows);

/* The cell for a device value formatted as `ohm get` prints it. buf holds
 * the text (>= 160 bytes). DV_NONE/DV_ERR give text "" and num 0. */
struct sh_cell sh_value_cell(const struct dev_var *v,
                             const struct dev_value *val, char *buf, size_t n);

/* Whether a transport of kind can carry command c (the engines' rules: its
 * register over Modbus unless `via` leaves Modbus out, else `via`; sim:
 * the in-process simulator, which clears its own energy counters). */
int sh_cmd_carried(const struct dev_cmd *c, enum tp_kind kind, int sim);

#endif
