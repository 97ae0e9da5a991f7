/* The libcurl jobs: http (GET or POST, headers) and mail (SMTP, STARTTLS,
 * auth, several recipients). libcurl is loaded on first use, as for
 * upgrades (util/lazy_curl.h). */
#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "jobs.h"
#include "util/lazy_curl.h"

int job_curl_http(const struct job *j, struct ohm_error *e);
int job_curl_mail(const struct job *j, struct ohm_error *e);

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static int curl_ok;
static void curl_init_once(void) {
  curl_ok = lazy_curl_load(NULL) == 0 &&
            curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
}

static size_t curl_discard(char *p, size_t sz, size_t n, void *ud) {
  (void)p;
  (void)ud;
  return sz * n;
}

/* A curl_slist over strs, in caller memory (no curl_slist_append). */
static struct curl_slist *slist_of(char **strs, size_t n,
                                   struct curl_slist *cells) {
  for (size_t i = 0; i < n; i++) {
    cells[i].data = strs[i];
    cells[i].next = i + 1 < n ? &cells[i + 1] : NULL;
  }
  return n ? cells : NULL;
}

/* Run one easy handle to its end through a multi handle. */
static int curl_perform(CURL *c, const char *what, struct ohm_error *e) {
  CURLM *m = curl_multi_init();
  int running = 1, rc = 0;
  CURLcode res = CURLE_OK;
  if (!m) return ohm_error_set(e, OHM_ENOMEM, "out of memory");
  curl_multi_add_handle(m, c);
  while (running) {
    if (curl_multi_perform(m, &running) != CURLM_OK) break;
    if (running) curl_multi_poll(m, NULL, 0, 100, NULL);
  }
  int left;
  for (CURLMsg *msg; (msg = curl_multi_info_read(m, &left));)
    if (msg->msg == CURLMSG_DONE) res = msg->data.result;
  curl_multi_remove_handle(m, c);
  curl_multi_cleanup(m);
  if (res == CURLE_OPERATION_TIMEDOUT)
    rc = ohm_error_set(e, OHM_ETIMEDOUT, "%s: no answer within the timeout",
                       what);
  else if (res != CURLE_OK)
    rc = ohm_error_set(e, OHM_EIO, "%s: %s", what, curl_easy_strerror(res));
  return rc;
}

static CURL *curl_new(const struct job *j, const char *url,
                      struct ohm_error *e) {
  pthread_once(&curl_once, curl_init_once);
  if (!curl_ok) {
    ohm_error_set(e, OHM_ENOTSUP, "libcurl is not installed");
    return NULL;
  }
  CURL *c = curl_easy_init();
  if (!c) {
    ohm_error_set(e, OHM_ENOMEM, "out of memory");
    return NULL;
  }
  curl_easy_setopt(c, CURLOPT_URL, url);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)(j->timeout * 1000));
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, curl_discard);
  return c;
}

int job_curl_http(const struct job *j, struct ohm_error *e) {
  const char *url = job_get(j, "url"), *method = job_get(j, "method");
  const char *body = job_get(j, "body");
  struct curl_slist cells[32];
  if (!url) return ohm_error_set(e, OHM_EINVAL, "http: no url");
  CURL *c = curl_new(j, url, e);
  if (!c) return e->code;
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  if (method && !strcasecmp(method, "POST"))
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body ? body : "");
  curl_easy_setopt(c, CURLOPT_HTTPHEADER,
                   slist_of(j->list, j->nlist < 32 ? j->nlist : 32, cells));
  int rc = curl_perform(c, "http", e);
  long code = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
  curl_easy_cleanup(c);
  if (rc == 0 && code >= 400)
    rc = ohm_error_set(e, OHM_EDEVICE, "HTTP %ld", code);
  return rc;
}

struct mail_src {
  const char *s;
  size_t left;
};

static size_t mail_read(char *p, size_t sz, size_t n, void *ud) {
  struct mail_src *m = ud;
  size_t k = sz * n < m->left ? sz * n : m->left;
  memcpy(p, m->s, k);
  m->s += k;
  m->left -= k;
  return k;
}

/* The message: headers, a blank line, the body (CRLF line ends). */
static char *mail_text(const struct job *j) {
  const char *from = job_get(j, "from"), *subj = job_get(j, "subject");
  const char *body = job_get(j, "body");
  char date[64];
  if (!subj) subj = "";
  if (!body) body = "";
  time_t now = time(NULL);
  struct tm tm;
  gmtime_r(&now, &tm);
  strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S +0000", &tm);
  size_t n = 256 + strlen(from) + strlen(subj) + 2 * strlen(body);
  for (size_t i = 0; i < j->nlist; i++)
    n += strlen(j->list[i]) + 2;
  char *t = malloc(n), *p = t;
  if (!t) return NULL;
  p += sprintf(p, "Date: %s\r\nFrom: %s\r\nTo: ", date, from);
  for (size_t i = 0; i < j->nlist; i++)
    p += sprintf(p, "%s%s", i ? ", " : "", j->list[i]);
  p += sprintf(p,
               "\r\nSubject: %s\r\nContent-Type: text/plain; "
               "charset=utf-8\r\n\r\n",
               subj);
  for (const char *b = body; *b; b++) {
    if (*b == '\n' && (b == body || b[-1] != '\r')) *p++ = '\r';
    *p++ = *b;
  }
  strcpy(p, "\r\n");
  return t;
}

int job_curl_mail(const struct job *j, struct ohm_error *e) {
  const char *url = job_get(j, "url"), *user = job_get(j, "user");
  const char *pass = job_get(j, "password"), *tls = job_get(j, "starttls");
  struct curl_slist cells[32];
  if (!url || !job_get(j, "from") || !j->nlist)
    return ohm_error_set(e, OHM_ECONFIG,
                         "mail: needs smtp.url, smtp.from "
                         "(inventory) and `to`");
  char *text = mail_text(j);
  CURL *c = text ? curl_new(j, url, e) : NULL;
  if (!c) {
    free(text);
    return text ? e->code : ohm_error_set(e, OHM_ENOMEM, "out of memory");
  }
  struct mail_src src = {text, strlen(text)};
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
  curl_easy_setopt(c, CURLOPT_MAIL_FROM, job_get(j, "from"));
  curl_easy_setopt(c, CURLOPT_MAIL_RCPT,
                   slist_of(j->list, j->nlist < 32 ? j->nlist : 32, cells));
  curl_easy_setopt(c, CURLOPT_READFUNCTION, mail_read);
  curl_easy_setopt(c, CURLOPT_READDATA, &src);
  curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
  if (tls && strcmp(tls, "false"))
    curl_easy_setopt(c, CURLOPT_USE_SSL, (long)CURLUSESSL_ALL);
  if (user) curl_easy_setopt(c, CURLOPT_USERNAME, user);
  if (pass) curl_easy_setopt(c, CURLOPT_PASSWORD, pass);
  int rc = curl_perform(c, "mail", e);
  curl_easy_cleanup(c);
  free(text);
  return rc;
}
