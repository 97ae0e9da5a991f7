/* The event log (DESIGN.md "Events and jobs"): append-only JSON lines,
 * one per event and one per job outcome, each written whole with one
 * write() on an O_APPEND descriptor and fsync'd, so a crash leaves at most
 * a torn last line, which the next open cuts. Rotated by size and by age:
 * FILE becomes FILE.1 (FILE.1 becomes FILE.2 ...), `keep` files kept.
 * Thread-safe. Prints nothing. */
#ifndef OHM_SERVE_EVLOG_H
#define OHM_SERVE_EVLOG_H

#include <stddef.h>
#include <sys/types.h>

#include "lua/inventory.h"
#include "util/err.h"
#include "util/strbuf.h"

struct evlog_cfg {
  off_t max_bytes; /* rotate when the file would grow past this; 0: 10 MiB */
  double max_age;  /* rotate when the first line is older (s); 0: 7 days */
  int keep;        /* rotated files kept; 0: 5 */
};

struct evlog;

/* The log file: opt (--events-log) if given, else the inventory's
 * `events = { log = FILE }`, else $XDG_STATE_HOME/ohm/events.jsonl, else
 * ~/.local/state/ohm/events.jsonl. inv may be NULL. */
int evlog_path(const char *opt, const struct inventory *inv, char *out,
               size_t n, struct ohm_error *e);

/* Open (creating the file and its directory); cut a torn tail. */
int evlog_open(const char *path, const struct evlog_cfg *cfg,
               struct evlog **out, struct ohm_error *e);
void evlog_close(struct evlog *l); /* NULL is fine */

/* Append one JSON object (no newline) as a line. */
int evlog_append(struct evlog *l, const char *json, struct ohm_error *e);

/* A growing string for building JSON lines: util/strbuf.h under the
 * event log's names; the caller writes the commas. Out of memory sets
 * oom. */
#define evbuf ohm_strbuf
#define evbuf_add ohm_strbuf_add
#define evbuf_printf ohm_strbuf_printf
#define evbuf_free ohm_strbuf_free
void evbuf_json_str(struct evbuf *b, const char *s); /* quoted, escaped */

/* t as "2026-11-30T22:46:44.123Z" (UTC) into out (>= 32 bytes). */
void evlog_time(double t, char *out, size_t n);

#endif
