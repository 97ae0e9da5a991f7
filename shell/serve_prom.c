/* `ohm serve --prometheus ADDR`: GET /metrics in the Prometheus text
 * exposition format (version 0.0.4) from the polling cache; the names are
 * serve_prom_render.c's.
 *
 * The exposition is rendered once per poll round (sv_cache_gen), at the
 * first scrape after it, and gzip'd then (zlib, loaded on first use);
 * every scrape shares it (refcounted); scrapes that come while it renders
 * take the previous one. A scraper that accepts gzip gets the gzip'd one
 * in one send; the text (head and pieces) goes out with sendmsg. */
#include <ctype.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "serve.h"
#include "serve/listen.h"
#include "serve_prom_int.h"
#include "../util/clock.h"

/* Connections come through the one listener (serve/listen.c): at most
 * PROM_MAX_CLIENTS, PROM_MAX_PER_ADDR from one address, the others get a
 * 503. Each has PROM_DEADLINE_MS to send its request head and as long to
 * take the answer, so a client that trickles bytes (or never reads)
 * cannot hold the exporter or stop. */
#define PROM_MAX_CLIENTS 32
#define PROM_MAX_PER_ADDR 8
#define PROM_DEADLINE_MS 5000
#define PROM_MAX_AGE 10.0 /* s: render again even without a poll round */
#define PROM_ROOM 256     /* bytes before a body for its HTTP head */

/* One rendering, shared by the scrapes that send it: gzip'd, and the
 * text itself while plain scrapers have come lately (8 MB at 1,000
 * devices: kept only when someone reads it). */
struct doc {
  int refs; /* under prom.mu */
  unsigned long gen;
  double made;         /* monotonic */
  struct pr_text text; /* n == 0: not kept */
  char head[PROM_ROOM];
  size_t nhead;
  char *gz; /* head in gz[PROM_ROOM - gzhead..PROM_ROOM), then the body */
  size_t gzlen, gzhead;
};

static struct {
  struct sv_cache *c;
  struct ls_server *ls;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  struct doc *cur;
  int rendering;
  double plain_until; /* monotonic: keep the text until then */
} prom = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

/* The 200 head for a body of n bytes into h; its length. */
static size_t head_of(char *h, size_t n, int gz) {
  int k = snprintf(h, PROM_ROOM,
                   "HTTP/1.1 200 OK\r\nContent-Type: text/plain; "
                   "version=0.0.4; charset=utf-8\r\n%sContent-Length: %zu\r\n"
                   "Connection: close\r\n\r\n",
                   gz ? "Content-Encoding: gzip\r\n" : "", n);
  return (size_t)k;
}

static void doc_unref(struct doc *d) {
  if (!d) return;
  pthread_mutex_lock(&prom.mu);
  int last = --d->refs == 0;
  pthread_mutex_unlock(&prom.mu);
  if (!last) return;
  pr_text_free(&d->text);
  free(d->gz);
  free(d);
}

/* Render now; keep the text if plain (or if there is no gzip). */
static struct doc *doc_make(unsigned long gen, int plain) {
  struct doc *d = calloc(1, sizeof *d);
  if (!d) return NULL;
  if (pr_render(prom.c, &d->text) < 0) {
    free(d);
    return NULL;
  }
  if (pr_gzip(&d->text, PROM_ROOM, &d->gz, &d->gzlen) == 0) {
    char h[PROM_ROOM];
    d->gzhead = head_of(h, d->gzlen, 1);
    memcpy(d->gz + PROM_ROOM - d->gzhead, h, d->gzhead);
  }
  d->nhead = head_of(d->head, d->text.total, 0);
  if (!plain && d->gz) pr_text_free(&d->text);
  d->gen = gen;
  d->made = ohm_mono();
  d->refs = 1; /* prom.cur's */
  return d;
}

/* d serves a scrape now: same poll round, young enough, and has the
 * text if the scrape wants plain text. */
static int doc_fresh(const struct doc *d, unsigned long gen, int plain) {
  return d && d->gen == gen && ohm_mono() - d->made < PROM_MAX_AGE &&
         (!plain || d->text.n || !d->gz);
}

/* The current rendering (a reference the caller drops with doc_unref),
 * rendered first if the cache has changed since; while another scrape
 * renders, the previous one (if it fits). NULL if out of memory. */
static struct doc *doc_get(int plain) {
  struct doc *d = NULL;
  pthread_mutex_lock(&prom.mu);
  if (plain) prom.plain_until = ohm_mono() + 60;
  for (;;) {
    unsigned long gen = sv_cache_gen(prom.c);
    struct doc *cur = prom.cur;
    if (doc_fresh(cur, gen, plain) ||
        (prom.rendering && cur && (!plain || cur->text.n || !cur->gz))) {
      d = cur;
      d->refs++;
      break;
    }
    if (prom.rendering) {
      pthread_cond_wait(&prom.cv, &prom.mu);
      continue;
    }
    prom.rendering = 1;
    int keep = plain || ohm_mono() < prom.plain_until;
    pthread_mutex_unlock(&prom.mu);
    struct doc *n = doc_make(gen, keep);
    pthread_mutex_lock(&prom.mu);
    prom.rendering = 0;
    pthread_cond_broadcast(&prom.cv);
    if (!n) break;
    prom.cur = n;
    n->refs++;
    d = n;
    pthread_mutex_unlock(&prom.mu);
    doc_unref(cur);
    return d;
  }
  pthread_mutex_unlock(&prom.mu);
  return d;
}

/* ---- HTTP ---- */

/* The whole answer, head and body, in one buffer (caller frees). */
static size_t respond(char **out, const char *status, const char *type,
                      const char *body, size_t n, int head) {
  char hdr[256];
  int k = snprintf(hdr, sizeof hdr,
                   "HTTP/1.1 %s\r\nContent-Type: %s\r\n"
                   "Content-Length: %zu\r\nConnection: close\r\n\r\n",
                   status, type, n);
  size_t len = (size_t)k + (head ? 0 : n);
  if (!(*out = malloc(len ? len : 1))) return 0;
  memcpy(*out, hdr, (size_t)k);
  if (!head) memcpy(*out + k, body, n);
  return len;
}

/* Where the head ends: after an empty line, CRLF or bare LF (HTTP/1.1
 * lets a server take LF alone); 0 if not yet. */
static size_t head_end(const char *req, size_t n) {
  for (size_t i = 0; i + 1 < n; i++)
    if (req[i] == '\n') {
      if (req[i + 1] == '\n') return i + 2;
      if (req[i + 1] == '\r' && i + 2 < n && req[i + 2] == '\n') return i + 3;
    }
  return 0;
}

/* The request head into req (NUL-terminated); -1 if the client closes,
 * is too slow or the server stops. A head too long for req is answered
 * as it stands (a 400 unless its request line is whole). */
static int read_head(struct ls_conn *c, char *req, size_t cap,
                     long long deadline) {
  size_t n = 0;
  while (n < cap - 1 && !head_end(req, n)) {
    ssize_t r = ls_recv(c, req + n, cap - 1 - n, deadline);
    if (r <= 0) return -1;
    n += (size_t)r;
  }
  req[n] = 0;
  return (int)n;
}

/* Whether the request head accepts gzip (Accept-Encoding, q > 0). */
static int wants_gzip(const char *req) {
  for (const char *p = strchr(req, '\n'); p; p = strchr(p + 1, '\n')) {
    if (strncasecmp(p + 1, "accept-encoding:", 16)) continue;
    char v[256];
    size_t n = strcspn(p + 17, "\r\n");
    snprintf(v, sizeof v, "%.*s", (int)(n < 255 ? n : 255), p + 17);
    for (char *q = v; *q; q++)
      *q = (char)tolower((unsigned char)*q);
    const char *g = strstr(v, "gzip"), *semi = g ? g + 4 : NULL;
    while (semi && *semi == ' ')
      semi++;
    if (!g) return 0;
    if (semi && *semi == ';' && (semi = strstr(semi, "q=")))
      return strtod(semi + 2, NULL) > 0;
    return 1;
  }
  return 0;
}

/* What to send: the shared rendering (d, gzip'd or not) or a fixed
 * reply of its own. */
struct answer {
  struct doc *d;
  int gz, head;
  char *fixed;
  size_t nfixed;
};

static void answer_of(char *req, size_t n, struct answer *a) {
  char method[8], path[256];
  memset(a, 0, sizeof *a);
  req[n] = 0;
  if (sscanf(req, "%7s %255s", method, path) != 2) {
    a->nfixed = respond(&a->fixed, "400 Bad Request", "text/plain",
                        "bad request\n", 12, 0);
    return;
  }
  a->head = strcmp(method, "HEAD") == 0;
  path[strcspn(path, "?")] = 0;
  if (strcmp(method, "GET") && !a->head)
    a->nfixed = respond(&a->fixed, "405 Method Not Allowed", "text/plain",
                        "GET only\n", 9, 0);
  else if (strcmp(path, "/metrics") == 0) {
    int gz = wants_gzip(req);
    if (!(a->d = doc_get(!gz)))
      a->nfixed = respond(&a->fixed, "500 Internal Server Error", "text/plain",
                          "", 0, a->head);
    else
      a->gz = gz && a->d->gz;
  } else if (strcmp(path, "/") == 0) {
    static const char idx[] = "ohm exporter: see /metrics\n";
    a->nfixed = respond(&a->fixed, "200 OK", "text/plain", idx, sizeof idx - 1,
                        a->head);
  } else
    a->nfixed = respond(&a->fixed, "404 Not Found", "text/plain", "not found\n",
                        10, a->head);
}

/* The pieces of answer a, head and body, into iov (room for the text's
 * pieces + 1, allocated; caller frees); their count. */
static int answer_iov(const struct answer *a, struct iovec **iov) {
  const struct doc *d = a->d;
  int n = 1;
  if (!(*iov = calloc(d && !a->gz ? (size_t)d->text.n + 1 : 1, sizeof **iov)))
    return 0;
  if (!d) {
    (*iov)[0] = (struct iovec){a->fixed, a->nfixed};
  } else if (a->gz) {
    (*iov)[0] = (struct iovec){d->gz + PROM_ROOM - d->gzhead,
                               d->gzhead + (a->head ? 0 : d->gzlen)};
  } else {
    (*iov)[0] = (struct iovec){(void *)d->head, d->nhead};
    for (int i = 0; !a->head && i < d->text.n; i++)
      (*iov)[n++] = d->text.iov[i];
  }
  return n;
}

static void answer_free(struct answer *a) {
  doc_unref(a->d);
  free(a->fixed);
}

size_t serve_prom_answer(struct sv_cache *c, char *req, size_t n,
                         char **reply) {
  struct answer a;
  struct iovec *iov;
  size_t len = 0;
  prom.c = c;
  answer_of(req, n, &a);
  int k = answer_iov(&a, &iov);
  for (int i = 0; i < k; i++)
    len += iov[i].iov_len;
  char *p = *reply = k ? malloc(len ? len : 1) : NULL;
  for (int i = 0; p && i < k; i++) {
    memcpy(p, iov[i].iov_base, iov[i].iov_len);
    p += iov[i].iov_len;
  }
  free(iov);
  answer_free(&a);
  return *reply ? len : 0;
}

/* One request per connection: read the head, answer, close. */
static void serve_http(struct ls_conn *c, void *ctx) {
  char req[8192];
  struct answer a;
  struct iovec *iov;
  (void)ctx;
  int n = read_head(c, req, sizeof req, ls_now_ms() + PROM_DEADLINE_MS);
  if (n < 0) return;
  answer_of(req, (size_t)n, &a);
  int k = answer_iov(&a, &iov);
  if (k) ls_sendv(c, iov, k, ls_now_ms() + PROM_DEADLINE_MS);
  free(iov);
  answer_free(&a);
}

int serve_prom_start(struct sv_cache *c, const char *addr,
                     struct ohm_error *e) {
  struct ls_conf conf = {
      .name = "Prometheus",
      .max_total = PROM_MAX_CLIENTS,
      .max_per_addr = PROM_MAX_PER_ADDR,
      .busy = "HTTP/1.1 503 Service Unavailable\r\n"
              "Content-Type: text/plain\r\nContent-Length: 5\r\n"
              "Retry-After: 1\r\nConnection: close\r\n\r\nbusy\n",
      .serve = serve_http};
  prom.c = c;
  return ls_start(addr, &conf, &prom.ls, e);
}

void serve_prom_stop(void) {
  ls_stop(prom.ls); /* each client ends by its deadline at the latest */
  prom.ls = NULL;
  pthread_mutex_lock(&prom.mu);
  struct doc *d = prom.cur;
  prom.cur = NULL;
  pthread_mutex_unlock(&prom.mu);
  doc_unref(d);
  pr_render_free();
}
