/* Batch upload progress on stderr; see progress.h. */
#include "progress.h"

#include <string.h>
#include <unistd.h>

const char *sh_human_bytes(double n, char *buf, size_t len) {
  static const char *const u[] = {"B", "KiB", "MiB", "GiB"};
  int i = 0;
  while (n >= 1024 && i < 3)
    n /= 1024, i++;
  snprintf(buf, len, i ? "%.1f %s" : "%.0f %s", n, u[i]);
  return buf;
}

void sh_progress_init(struct sh_progress *p, const struct upg_batch *b,
                      int quiet) {
  memset(p, 0, sizeof *p);
  p->b = b;
  p->fp = stderr;
  p->quiet = quiet;
  p->tty = isatty(STDERR_FILENO);
}

static void erase(struct sh_progress *p) {
  for (; p->drawn > 0; p->drawn--)
    fputs("\033[1A\033[2K", p->fp);
}

static const char *event_text(enum xfer_event ev) {
  switch (ev) {
  case XE_START:
    return "sending";
  case XE_FALLBACK:
    return "server refused TFTP options, again without";
  case XE_RETRY:
    return "retrying after";
  case XE_FILE_DONE:
    return "sent";
  case XE_DONE:
    return "done";
  case XE_FAILED:
    return "FAILED:";
  case XE_INTERRUPTED:
    return "INTERRUPTED:";
  }
  return "?";
}

void sh_progress_event(void *ud, const struct xfer_target *t,
                       enum xfer_event ev) {
  struct sh_progress *p = ud;
  const struct xfer_file *f = &p->b->files[t->file_idx];
  char sz[32];
  if (p->quiet || (p->tty && ev == XE_START)) return;
  erase(p);
  fprintf(p->fp, "%s: ", t->name);
  switch (ev) {
  case XE_START:
    fprintf(p->fp, "sending %s (%s) by %s, try %d\n", f->remote,
            sh_human_bytes((double)f->size, sz, sizeof sz),
            xfer_method_name(t->method), t->attempt);
    break;
  case XE_FILE_DONE:
  case XE_DONE:
    fprintf(p->fp, "%s %s in %.2fs\n", event_text(ev), f->remote,
            xfer_now() - t->t_start);
    break;
  case XE_FALLBACK:
    fprintf(p->fp, "%s\n", event_text(ev));
    break;
  default:
    fprintf(p->fp, "%s %s\n", event_text(ev), t->msg);
  }
  fflush(p->fp);
}

/* One live line for an active target: bytes, rate, ETA. */
static void target_line(struct sh_progress *p, const struct xfer_target *t,
                        double now) {
  char a[32], b[32], r[32];
  double dt = now - t->t_start, rate = dt > 0 ? t->bytes_sent / dt : 0;
  double left = (double)(t->bytes_total - t->bytes_sent);
  fprintf(p->fp, "  %-28.28s %10s / %-10s %10s/s  ETA %4.0fs\n", t->name,
          sh_human_bytes((double)t->bytes_sent, a, sizeof a),
          sh_human_bytes((double)t->bytes_total, b, sizeof b),
          sh_human_bytes(rate, r, sizeof r), rate > 0 ? left / rate : 0.0);
  p->drawn++;
}

static void overall(struct sh_progress *p) {
  const struct upg_batch *b = p->b;
  double sent = 0, total = 0;
  size_t done = 0, failed = 0;
  for (size_t i = 0; i < b->n; i++) {
    const struct xfer_target *t = &b->xs[i];
    sent += (double)t->bytes_sent;
    total += (double)t->bytes_total;
    done += t->state == XS_DONE;
    failed += t->state == XS_FAILED || t->state == XS_INTERRUPTED;
  }
  int w = 30, k = total > 0 ? (int)(w * sent / total) : 0;
  fprintf(p->fp, "[%.*s%*s] %3.0f%%  %zu/%zu done, %zu failed\n", k,
          "##############################", w - k, "",
          total > 0 ? 100 * sent / total : 0, done, b->n, failed);
  p->drawn++;
}

void sh_progress_tick(void *ud) {
  struct sh_progress *p = ud;
  if (p->quiet || !p->tty) return;
  erase(p);
  double now = xfer_now();
  for (size_t i = 0; i < p->b->n; i++)
    if (p->b->xs[i].state == XS_ACTIVE) target_line(p, &p->b->xs[i], now);
  overall(p);
  fflush(p->fp);
}

void sh_progress_end(struct sh_progress *p) {
  erase(p);
  fflush(p->fp);
}

void sh_progress_note(struct sh_progress *p, const char *target,
                      const char *what) {
  if (p->quiet) return;
  erase(p);
  fprintf(p->fp, "%s: %s\n", target, what);
  fflush(p->fp);
}
