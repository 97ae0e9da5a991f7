/* Batch uploads over libcurl's multi interface; see xfer.h. */
#include "xfer.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "../util/lazy_curl.h"
#include "../util/sha256.h"
#include "../util/clock.h"

#define DEFAULT_JOBS 8
#define DEFAULT_TIMEOUT 5.0
#define DEFAULT_BLKSIZE 8192
#define RECONNECT_PAUSE 1.0 /* seconds between tries while a unit reboots */

struct xfer_priv {
  CURL *easy;
  const struct xfer_file *file; /* being sent */
  size_t pos;                   /* read offset in file->data */
  uint64_t done_before;         /* bytes of the files already sent */
  double wake;                  /* XS_WAITING: when to try again */
  double file_end;              /* when the previous file finished */
  int tries;                    /* failed tries of this file so far */
  const volatile int *cancel;
  char errbuf[CURL_ERROR_SIZE];
};

struct batch {
  struct xfer_target *ts;
  size_t n;
  const struct xfer_file *files;
  size_t nfiles;
  struct xfer_opts o;
  CURLM *multi;
  int active;
};

double xfer_now(void) {
  return ohm_mono();
}

const char *xfer_method_name(enum xfer_method m) {
  return m == XFER_TFTP ? "tftp" : m == XFER_FTP ? "ftp" : "?";
}

const char *xfer_state_name(enum xfer_state s) {
  static const char *const names[] = {"pending", "active",      "waiting", "ok",
                                      "failed",  "interrupted", "skipped"};
  return (unsigned)s < sizeof names / sizeof names[0] ? names[s] : "?";
}

/* Read the whole file: the same bytes go to every target, and its digest
 * in the report is of exactly what was sent. */
static int read_all(FILE *fp, const char *path, size_t size,
                    unsigned char **out, struct ohm_error *e) {
  unsigned char *buf = malloc(size ? size : 1);
  if (!buf) return ohm_error_set(e, OHM_ENOMEM, "%s: out of memory", path);
  size_t got = fread(buf, 1, size, fp);
  if (got != size || ferror(fp)) {
    free(buf);
    return ohm_error_set(e, OHM_EIO, "%s: short read", path);
  }
  *out = buf;
  return 0;
}

int xfer_file_load(struct xfer_file *f, const char *path, const char *remote,
                   struct ohm_error *e) {
  memset(f, 0, sizeof *f);
  FILE *fp = fopen(path, "rb");
  if (!fp)
    return ohm_error_set(e, errno == ENOENT ? OHM_ENOENT : OHM_EIO, "%s: %s",
                         path, strerror(errno));
  struct stat st;
  int rc = 0;
  if (fstat(fileno(fp), &st) != 0 || !S_ISREG(st.st_mode))
    rc = ohm_error_set(e, OHM_EINVAL, "%s: not a regular file", path);
  else if (st.st_size == 0)
    rc = ohm_error_set(e, OHM_EINVAL, "%s: empty file", path);
  else
    rc = read_all(fp, path, (size_t)st.st_size, &f->data, e);
  fclose(fp);
  if (rc < 0) return rc;
  f->size = (size_t)st.st_size;
  const char *base = strrchr(path, '/');
  f->path = strdup(path);
  f->remote = strdup(remote ? remote : base ? base + 1 : path);
  if (!f->path || !f->remote) {
    xfer_file_free(f);
    return ohm_error_set(e, OHM_ENOMEM, "out of memory");
  }
  sha256_hex(f->data, f->size, f->sha256);
  return 0;
}

void xfer_file_free(struct xfer_file *f) {
  free(f->path);
  free(f->remote);
  free(f->data);
  memset(f, 0, sizeof *f);
}

int xfer_target_init(struct xfer_target *t, const char *name,
                     const struct ohm_uri *uri, struct ohm_error *e) {
  memset(t, 0, sizeof *t);
  if (strcmp(uri->scheme, "tftp") == 0)
    t->method = XFER_TFTP;
  else if (strcmp(uri->scheme, "ftp") == 0)
    t->method = XFER_FTP;
  else
    return ohm_error_set(e, OHM_EURI, "%s: not a tftp:// or ftp:// URI",
                         uri->scheme);
  if (!uri->host || !*uri->host)
    return ohm_error_set(e, OHM_EURI, "%s:// URI without a host", uri->scheme);
  if (ohm_uri_copy(&t->uri, uri) < 0)
    return ohm_error_set(e, OHM_ENOMEM, "out of memory");
  char buf[300];
  if (!name) {
    int v6 = strchr(uri->host, ':') != NULL;
    snprintf(buf, sizeof buf, "%s://%s%s%s", uri->scheme, v6 ? "[" : "",
             uri->host, v6 ? "]" : "");
    if (uri->port > 0)
      snprintf(buf + strlen(buf), sizeof buf - strlen(buf), ":%d", uri->port);
    name = buf;
  }
  t->name = strdup(name);
  if (!t->name) {
    xfer_target_free(t);
    return ohm_error_set(e, OHM_ENOMEM, "out of memory");
  }
  return 0;
}

void xfer_target_free(struct xfer_target *t) {
  free(t->name);
  ohm_uri_free(&t->uri);
  memset(t, 0, sizeof *t);
}

static void emit(struct batch *b, struct xfer_target *t, enum xfer_event ev) {
  if (b->o.on_event) b->o.on_event(b->o.ud, t, ev);
}

static int cancelled(const struct batch *b) {
  return b->o.cancel && *b->o.cancel;
}

/* libcurl pulls the file from memory; a retry starts a new handle at 0. */
static size_t read_cb(char *dst, size_t size, size_t nmemb, void *ud) {
  struct xfer_priv *p = ud;
  size_t left = p->file->size - p->pos, want = size * nmemb;
  size_t k = left < want ? left : want;
  memcpy(dst, p->file->data + p->pos, k);
  p->pos += k;
  return k;
}

/* Progress and cancellation: a non-zero return aborts the transfer. */
static int progress_cb(void *ud, curl_off_t dltotal, curl_off_t dlnow,
                       curl_off_t ultotal, curl_off_t ulnow) {
  struct xfer_target *t = ud;
  t->bytes_sent = t->priv->done_before + (uint64_t)ulnow;
  return t->priv->cancel && *t->priv->cancel ? 1 : 0;
}

/* tftp://HOST:PORT/NAME with NAME escaped; IPv6 hosts in brackets. */
static char *target_url(const struct xfer_target *t, const char *remote) {
  char *esc = curl_easy_escape(NULL, remote, 0), *url = NULL;
  if (!esc) return NULL;
  int v6 = strchr(t->uri.host, ':') != NULL;
  int port = t->uri.port > 0 ? t->uri.port : t->method == XFER_TFTP ? 69 : 21;
  if (asprintf(&url, "%s://%s%s%s:%d/%s", xfer_method_name(t->method),
               v6 ? "[" : "", t->uri.host, v6 ? "]" : "", port, esc) < 0)
    url = NULL;
  curl_free(esc);
  return url;
}

static void setup_tftp(CURL *h, const struct batch *b,
                       const struct xfer_target *t) {
  curl_easy_setopt(h, CURLOPT_TFTP_BLKSIZE, b->o.blksize);
  if (t->no_options) curl_easy_setopt(h, CURLOPT_TFTP_NO_OPTIONS, 1L);
}

/* A fresh connection per file, closed after it: the unit sees QUIT after
 * each file (the BM100 reboots on it) and no file rides on the connection
 * of the one before. */
static void setup_ftp(CURL *h, const struct batch *b,
                      const struct xfer_target *t) {
  curl_easy_setopt(h, CURLOPT_USERNAME,
                   t->uri.user ? t->uri.user : "anonymous");
  curl_easy_setopt(h, CURLOPT_PASSWORD, t->uri.password ? t->uri.password : "");
  curl_easy_setopt(h, CURLOPT_TRANSFERTEXT, 0L); /* TYPE I: binary */
  curl_easy_setopt(h, CURLOPT_FORBID_REUSE, 1L);
  curl_easy_setopt(h, CURLOPT_FRESH_CONNECT, 1L);
  curl_easy_setopt(h, CURLOPT_SERVER_RESPONSE_TIMEOUT,
                   (long)(b->o.timeout + 0.999));
}

/* A new easy handle for the current file of t, or NULL (out of memory). */
static CURL *make_easy(const struct batch *b, struct xfer_target *t) {
  struct xfer_priv *p = t->priv;
  char *url = target_url(t, p->file->remote);
  CURL *h = url ? curl_easy_init() : NULL;
  if (!h) {
    free(url);
    return NULL;
  }
  curl_easy_setopt(h, CURLOPT_URL, url);
  free(url); /* libcurl keeps its own copy */
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "tftp,ftp");
  curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
  curl_easy_setopt(h, CURLOPT_READFUNCTION, read_cb);
  curl_easy_setopt(h, CURLOPT_READDATA, p);
  curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)p->file->size);
  curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, progress_cb);
  curl_easy_setopt(h, CURLOPT_XFERINFODATA, t);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, p->errbuf);
  curl_easy_setopt(h, CURLOPT_PRIVATE, t);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)(b->o.timeout * 1000));
  /* a transfer that stalls this long fails (and may be retried) */
  curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, (long)(b->o.timeout * 2 + 1));
  if (t->method == XFER_TFTP)
    setup_tftp(h, b, t);
  else
    setup_ftp(h, b, t);
  return h;
}

static void set_final(struct xfer_target *t, enum xfer_state s, int err) {
  t->state = s;
  t->err = err;
  t->t_end = xfer_now();
}

static void start_try(struct batch *b, struct xfer_target *t) {
  struct xfer_priv *p = t->priv;
  p->file = &b->files[t->file_idx];
  p->pos = 0;
  p->errbuf[0] = 0;
  t->bytes_sent = p->done_before;
  p->easy = make_easy(b, t);
  if (!p->easy || curl_multi_add_handle(b->multi, p->easy) != CURLM_OK) {
    if (p->easy) curl_easy_cleanup(p->easy);
    p->easy = NULL;
    snprintf(t->msg, sizeof t->msg, "cannot start a transfer (no memory)");
    set_final(t, XS_FAILED, OHM_ENOMEM);
    emit(b, t, XE_FAILED);
    return;
  }
  if (t->t_start == 0) t->t_start = xfer_now();
  t->state = XS_ACTIVE;
  t->attempt = p->tries + 1;
  b->active++;
  emit(b, t, XE_START);
}

static void stop_easy(struct batch *b, struct xfer_target *t) {
  struct xfer_priv *p = t->priv;
  if (!p->easy) return;
  curl_multi_remove_handle(b->multi, p->easy);
  curl_easy_cleanup(p->easy);
  p->easy = NULL;
  b->active--;
}

static void wait_until(struct xfer_target *t, double when) {
  t->state = XS_WAITING;
  t->priv->wake = when;
}

enum { PERMANENT = 0, TRANSIENT = 1, NO_OPTIONS = 2 };

/* What a failed try means: the OHM_E* code, and whether to try again. An
 * ERROR packet answering a request with options is how an RFC 1350-only
 * server says it does not do RFC 2347 (code 8, or 0/4 from older ones). */
static int classify(const struct xfer_target *t, CURLcode rc, int *code) {
  switch (rc) {
  case CURLE_OPERATION_TIMEDOUT:
    *code = OHM_ETIMEDOUT;
    return TRANSIENT;
  case CURLE_COULDNT_CONNECT: /* TFTP: no answer to any request */
    *code = t->method == XFER_TFTP ? OHM_ETIMEDOUT : OHM_ECONNREFUSED;
    return TRANSIENT;
  case CURLE_TFTP_ILLEGAL:
  case CURLE_ABORTED_BY_CALLBACK: /* libcurl's code for TFTP error 8 */
    *code = OHM_EPROTO;
    return t->method == XFER_TFTP && !t->no_options ? NO_OPTIONS : PERMANENT;
  case CURLE_TFTP_PERM:
  case CURLE_TFTP_NOTFOUND: /* tftpd without -c: no such file to replace */
  case CURLE_REMOTE_ACCESS_DENIED:
  case CURLE_LOGIN_DENIED:
  case CURLE_UPLOAD_FAILED:
  case CURLE_REMOTE_FILE_EXISTS:
    *code = OHM_EACCES;
    return PERMANENT;
  case CURLE_SEND_ERROR:
  case CURLE_RECV_ERROR:
  case CURLE_PARTIAL_FILE:
  case CURLE_GOT_NOTHING:
  case CURLE_FTP_ACCEPT_TIMEOUT:
  case CURLE_WEIRD_SERVER_REPLY:
    *code = OHM_EIO;
    return TRANSIENT;
  default:
    *code = OHM_EIO;
    return PERMANENT;
  }
}

static void file_done(struct batch *b, struct xfer_target *t) {
  struct xfer_priv *p = t->priv;
  p->done_before += p->file->size;
  t->bytes_sent = p->done_before;
  p->tries = 0;
  if (t->file_idx + 1 == b->nfiles) {
    t->msg[0] = 0;
    set_final(t, XS_DONE, 0);
    emit(b, t, XE_DONE);
    return;
  }
  emit(b, t, XE_FILE_DONE);
  t->file_idx++;
  p->file_end = xfer_now();
  wait_until(t, p->file_end + b->o.settle);
}

/* t stopped by Ctrl-C (its handle already gone): say how far it got; a
 * target that never started is skipped. */
static void interrupt(struct batch *b, struct xfer_target *t, int active) {
  if (!active && t->t_start == 0) {
    snprintf(t->msg, sizeof t->msg, "not started (interrupted)");
    set_final(t, XS_SKIPPED, OHM_EINTR);
    return;
  }
  snprintf(t->msg, sizeof t->msg, "interrupted %s %s after %llu of %llu bytes",
           active ? "during" : "before", t->priv->file->remote,
           (unsigned long long)t->bytes_sent,
           (unsigned long long)t->bytes_total);
  set_final(t, XS_INTERRUPTED, OHM_EINTR);
  emit(b, t, XE_INTERRUPTED);
}

/* A try ended with rc: next file, fallback, retry, or give up. */
static void finish_try(struct batch *b, struct xfer_target *t, CURLcode rc) {
  struct xfer_priv *p = t->priv;
  int sent = t->bytes_sent > p->done_before, code;
  stop_easy(b, t);
  if (rc == CURLE_OK) {
    file_done(b, t);
    return;
  }
  if (cancelled(b)) { /* the progress callback aborted it */
    interrupt(b, t, 1);
    return;
  }
  int kind = classify(t, rc, &code);
  /* libcurl's TFTP error buffer often holds a stale socket error */
  const char *why = p->errbuf[0] && t->method == XFER_FTP
                        ? p->errbuf
                        : curl_easy_strerror(rc);
  if (code == OHM_ETIMEDOUT) /* libcurl's text for TFTP is misleading */
    why = sent ? "the server went silent" : "no answer from the server";
  snprintf(t->msg, sizeof t->msg, "%s put %.100s failed (%.120s)",
           xfer_method_name(t->method), p->file->remote, why);
  double now = xfer_now();
  if (kind == NO_OPTIONS && !sent) {
    t->no_options = 1;
    emit(b, t, XE_FALLBACK);
    wait_until(t, now);
  } else if (t->file_idx > 0 && code == OHM_ECONNREFUSED &&
             now < p->file_end + b->o.reboot_wait) {
    wait_until(t, now + RECONNECT_PAUSE); /* still rebooting */
  } else if (kind == TRANSIENT && p->tries < b->o.retries) {
    p->tries++;
    emit(b, t, XE_RETRY);
    wait_until(t, now + 0.2);
  } else {
    set_final(t, XS_FAILED, code);
    emit(b, t, XE_FAILED);
  }
}

/* Returns how many tries ended. */
static int drain_msgs(struct batch *b) {
  CURLMsg *m;
  int left, ended = 0;
  while ((m = curl_multi_info_read(b->multi, &left))) {
    if (m->msg != CURLMSG_DONE) continue;
    struct xfer_target *t = NULL;
    curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&t);
    if (t) {
      finish_try(b, t, m->data.result);
      ended++;
    }
  }
  return ended;
}

/* Ctrl-C: running transfers stop where they are and say how far they got;
 * targets that never started are skipped. */
static void cancel_all(struct batch *b) {
  for (size_t i = 0; i < b->n; i++) {
    struct xfer_target *t = &b->ts[i];
    if (!t->priv || t->state >= XS_DONE) continue;
    int was_active = t->state == XS_ACTIVE;
    stop_easy(b, t);
    interrupt(b, t, was_active);
  }
}

/* Start every target that is due while there are free job slots. Returns
 * the number of targets still to finish, and in *next the earliest wake. */
static size_t start_ready(struct batch *b, double *next) {
  size_t open = 0;
  double now = xfer_now();
  *next = now + 3600;
  for (size_t i = 0; i < b->n; i++) {
    struct xfer_target *t = &b->ts[i];
    if (!t->priv || t->state >= XS_DONE) continue;
    open++;
    int due = t->state == XS_PENDING ||
              (t->state == XS_WAITING && t->priv->wake <= now);
    if (due && b->active < b->o.jobs)
      start_try(b, t);
    else if (t->state == XS_WAITING && t->priv->wake < *next)
      *next = t->priv->wake;
    else if (due)
      *next = now; /* waits for a slot, not for time */
  }
  return open;
}

static void opts_defaults(struct xfer_opts *o) {
  if (o->jobs <= 0) o->jobs = DEFAULT_JOBS;
  if (o->timeout <= 0) o->timeout = DEFAULT_TIMEOUT;
  if (o->retries < 0) o->retries = 1;
  if (o->blksize == 0) o->blksize = DEFAULT_BLKSIZE;
  if (o->blksize < 512) o->blksize = 512;
  if (o->blksize > 65464) o->blksize = 65464;
  if (o->tick <= 0) o->tick = 0.2;
}

/* Per-target state for the targets this batch sends to. */
static int batch_init(struct batch *b, struct ohm_error *e) {
  uint64_t total = 0;
  for (size_t k = 0; k < b->nfiles; k++)
    total += b->files[k].size;
  for (size_t i = 0; i < b->n; i++) {
    struct xfer_target *t = &b->ts[i];
    if (t->state != XS_PENDING) continue;
    t->priv = calloc(1, sizeof *t->priv);
    if (!t->priv) return ohm_error_set(e, OHM_ENOMEM, "out of memory");
    t->priv->cancel = b->o.cancel;
    t->priv->file = &b->files[0];
    t->file_idx = 0;
    t->bytes_total = total;
  }
  b->multi = curl_multi_init();
  return b->multi ? 0 : ohm_error_set(e, OHM_ENOMEM, "out of memory");
}

static void batch_free(struct batch *b) {
  for (size_t i = 0; i < b->n; i++) {
    struct xfer_target *t = &b->ts[i];
    if (!t->priv) continue;
    stop_easy(b, t);
    free(t->priv);
    t->priv = NULL;
  }
  if (b->multi) curl_multi_cleanup(b->multi);
}

static void batch_loop(struct batch *b) {
  double next_tick = 0;
  for (;;) {
    if (cancelled(b)) {
      cancel_all(b);
      break;
    }
    double wake;
    if (start_ready(b, &wake) == 0) break;
    int running;
    curl_multi_perform(b->multi, &running);
    int ended = drain_msgs(b);
    double now = xfer_now();
    if (b->o.on_tick && now >= next_tick) {
      b->o.on_tick(b->o.ud);
      next_tick = now + b->o.tick;
    }
    if (ended)
      continue; /* refill the freed slots (or finish) without waiting */
    double until = wake - now < 0.1 ? wake - now : 0.1;
    int ms = until > 0 ? (int)(until * 1000) + 1 : 0;
    if (ms > 0 || b->active > 0) curl_multi_poll(b->multi, NULL, 0, ms, NULL);
  }
  if (b->o.on_tick) b->o.on_tick(b->o.ud);
}

int xfer_run(struct xfer_target *ts, size_t n, const struct xfer_file *files,
             size_t nfiles, const struct xfer_opts *o, struct ohm_error *e) {
  static int inited;
  if (nfiles == 0) return ohm_error_set(e, OHM_EINVAL, "no file to send");
  if (lazy_curl_load(e) < 0) return OHM_ENOTSUP;
  if (!inited && curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
    return ohm_error_set(e, OHM_EIO, "libcurl failed to initialise");
  inited = 1;
  struct batch b = {.ts = ts, .n = n, .files = files, .nfiles = nfiles};
  b.o = *o;
  opts_defaults(&b.o);
  int rc = batch_init(&b, e);
  if (rc == 0) batch_loop(&b);
  batch_free(&b);
  if (rc == 0 && cancelled(&b)) rc = ohm_error_set(e, OHM_EINTR, "interrupted");
  return rc;
}
