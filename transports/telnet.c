/* telnet://: a menu console over Telnet (see telnet.h). libtelnet parses
 * and answers option negotiation; this file keeps a socket, a receive
 * buffer of console text, and waits for prompts with a deadline, so a
 * console that stops talking is an OHM_ETIMEDOUT, never a hang. */
#include "telnet.h"
#include "../util/clock.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <libtelnet.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "../util/lazy_telnet.h" /* after <libtelnet.h> */

#define TN_BUF_MAX (256u << 10) /* a screen is a few KiB; more is a flood */

struct tn_priv {
  int fd;
  int intr_slot;
  telnet_t *tn;
  char *buf; /* console text received and not yet consumed */
  size_t len, cap;
  int err; /* OHM_E* set by the event handler (peer closed, overflow) */
};

static void tn_event(telnet_t *tn, telnet_event_t *ev, void *ud) {
  struct tn_priv *p = ud;
  (void)tn;
  if (ev->type == TELNET_EV_SEND) {
    const char *s = ev->data.buffer;
    size_t n = ev->data.size;
    while (n > 0 && p->fd >= 0) {
      ssize_t w = send(p->fd, s, n, MSG_NOSIGNAL);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) {
        p->err = OHM_EIO;
        return;
      }
      s += w;
      n -= (size_t)w;
    }
  } else if (ev->type == TELNET_EV_DATA) {
    size_t n = ev->data.size;
    if (p->len + n + 1 > TN_BUF_MAX) {
      p->err = OHM_EPROTO;
      return;
    }
    if (p->len + n + 1 > p->cap) {
      size_t cap = (p->len + n + 1) * 2;
      char *b = realloc(p->buf, cap);
      if (!b) {
        p->err = OHM_ENOMEM;
        return;
      }
      p->buf = b;
      p->cap = cap;
    }
    memcpy(p->buf + p->len, ev->data.buffer, n);
    p->len += n;
    p->buf[p->len] = 0;
  } else if (ev->type == TELNET_EV_ERROR) {
    p->err = OHM_EPROTO;
  }
}

/* The client answers the server's WILL ECHO / WILL SGA and refuses the
 * rest; libtelnet's option state machine keeps floods bounded. */
static const telnet_telopt_t client_opts[] = {
    {TELNET_TELOPT_ECHO, TELNET_WONT, TELNET_DO},
    {TELNET_TELOPT_SGA, TELNET_WONT, TELNET_DO},
    {-1, 0, 0}};

static int tn_connect(struct tp *t, struct tn_priv *p, struct ohm_error *e) {
  struct addrinfo hints = {0}, *res = NULL, *ai;
  char port[16];
  int rc, fd = -1;
  hints.ai_socktype = SOCK_STREAM;
  snprintf(port, sizeof port, "%d", t->uri.port > 0 ? t->uri.port : 23);
  if (!t->uri.host || !*t->uri.host)
    return ohm_error_set(e, OHM_EURI, "telnet:// needs a host");
  rc = getaddrinfo(t->uri.host, port, &hints, &res);
  if (rc)
    return ohm_error_set(e, OHM_EIO, "%s: %s", t->uri.host, gai_strerror(rc));
  rc = OHM_ECONNREFUSED;
  for (ai = res; ai && fd < 0; ai = ai->ai_next) {
    struct pollfd pf;
    int soerr = 0;
    socklen_t sl = sizeof soerr;
    fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) continue;
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0 && errno != EINPROGRESS) {
      close(fd);
      fd = -1;
      continue;
    }
    pf = (struct pollfd){fd, POLLOUT, 0};
    if (poll(&pf, 1, (int)(t->opts.timeout * 1000)) <= 0) {
      rc = OHM_ETIMEDOUT;
      soerr = ETIMEDOUT;
    } else {
      getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl);
    }
    if (soerr) {
      close(fd);
      fd = -1;
    }
  }
  freeaddrinfo(res);
  if (fd < 0)
    return ohm_error_set(e, rc, "cannot connect (%s)",
                         rc == OHM_ETIMEDOUT ? "timed out"
                                             : "connection refused");
  { /* blocking from now on; sends bounded by the timeout */
    struct timeval tv = {(time_t)t->opts.timeout + 1, 0};
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  }
  p->fd = fd;
  p->intr_slot = tp_intr_register(fd);
  return 0;
}

static int tn_open(struct tp *t, struct ohm_error *e) {
  struct tn_priv *p = calloc(1, sizeof *p);
  int rc;
  if (!p) return ohm_error_set(e, OHM_ENOMEM, "out of memory");
  if ((rc = lazy_telnet_load(e)) < 0) {
    free(p);
    return rc;
  }
  p->fd = -1;
  p->intr_slot = -1;
  t->priv = p;
  if ((rc = tn_connect(t, p, e)) < 0) return rc;
  p->tn = telnet_init(client_opts, tn_event, 0, p);
  if (!p->tn) return ohm_error_set(e, OHM_ENOMEM, "out of memory");
  return 0;
}

static void tn_close(struct tp *t) {
  struct tn_priv *p = t->priv;
  if (!p) return;
  if (p->tn) telnet_free(p->tn);
  if (p->intr_slot >= 0) tp_intr_unregister(p->intr_slot);
  if (p->fd >= 0) close(p->fd);
  free(p->buf);
  free(p);
  t->priv = NULL;
}

/* Lenient suffix test: case, spacing and trailing blanks do not matter. */
static int ends_with(const char *text, size_t len, const char *prompt) {
  size_t i = len, j = strlen(prompt);
  for (;;) {
    while (j > 0 && isspace((unsigned char)prompt[j - 1]))
      j--;
    while (i > 0 && (isspace((unsigned char)text[i - 1]) || !text[i - 1]))
      i--;
    if (j == 0) return 1;
    if (i == 0 || tolower((unsigned char)text[i - 1]) !=
                      tolower((unsigned char)prompt[j - 1]))
      return 0;
    i--;
    j--;
  }
}

/* Hand out buf[0..n) and drop everything received so far. */
static int take(struct tn_priv *p, size_t n, char **out, struct ohm_error *e) {
  if (out) {
    *out = malloc(n + 1);
    if (!*out) return ohm_error_set(e, OHM_ENOMEM, "out of memory");
    memcpy(*out, p->buf ? p->buf : "", n);
    (*out)[n] = 0;
  }
  p->len = 0;
  return 0;
}

/* The start of the matched prompt in buf (for "what came before"). */
static size_t prompt_start(const struct tn_priv *p, const char *prompt) {
  size_t i = p->len, k = 0, plen = 0;
  for (const char *c = prompt; *c; c++)
    plen += !isspace((unsigned char)*c);
  while (i > 0 && k < plen) {
    if (!isspace((unsigned char)p->buf[i - 1]) && p->buf[i - 1]) k++;
    i--;
  }
  return i;
}

static int tn_recv_some(struct tp *t, struct tn_priv *p, double deadline,
                        struct ohm_error *e) {
  char buf[4096];
  double left = deadline - ohm_mono();
  struct pollfd pf = {p->fd, POLLIN, 0};
  ssize_t n;
  int r;
  if (tp_interrupted) return ohm_error_set(e, OHM_EINTR, "interrupted");
  if (left <= 0)
    return ohm_error_set(e, OHM_ETIMEDOUT, "no prompt within %.1f s",
                         t->opts.timeout);
  r = poll(&pf, 1, left > 0.1 ? 100 : (int)(left * 1000) + 1);
  if (r < 0 && errno != EINTR)
    return ohm_error_set(e, OHM_EIO, "%s", strerror(errno));
  if (r <= 0) return 0;
  n = recv(p->fd, buf, sizeof buf, 0);
  if (n < 0 && errno == EINTR) return 0;
  if (tp_interrupted) return ohm_error_set(e, OHM_EINTR, "interrupted");
  if (n <= 0)
    return ohm_error_set(e, OHM_EIO, "connection closed by the console");
  telnet_recv(p->tn, buf, (size_t)n);
  if (p->err)
    return ohm_error_set(e, p->err, "%s",
                         p->err == OHM_EPROTO
                             ? "console output too long or malformed"
                             : "send failed");
  return 0;
}

/* -v: the console's text up to and including the prompt it stopped at. */
static void tn_trace_screen(const struct tp *t, const struct tn_priv *p,
                            double t0) {
  char *s;
  if (!t->opts.trace || !(s = malloc(p->len + 1))) return;
  memcpy(s, p->buf, p->len);
  s[p->len] = 0;
  tp_trace(t, '<', NULL, 0, s, t0);
  free(s);
}

static int tn_expect(struct tp *t, const char *const *prompts, int *which,
                     char **out, struct ohm_error *e) {
  struct tn_priv *p = t->priv;
  double t0 = ohm_mono(), deadline = t0 + t->opts.timeout;
  if (!p || p->fd < 0) return ohm_error_set(e, OHM_EIO, "not connected");
  for (;;) {
    for (int i = 0; prompts[i]; i++)
      if (p->len && ends_with(p->buf, p->len, prompts[i])) {
        if (which) *which = i;
        tn_trace_screen(t, p, t0);
        return take(p, prompt_start(p, prompts[i]), out, e);
      }
    int rc = tn_recv_some(t, p, deadline, e);
    if (rc < 0) {
      tp_trace(t, '!', NULL, 0, ohm_error_text(e), t0);
      return rc;
    }
  }
}

/* Send line and CR LF; secret: trace it masked (a password). */
static int tn_send(struct tp *t, const char *line, int secret,
                   struct ohm_error *e) {
  struct tn_priv *p = t->priv;
  if (!p || p->fd < 0) return ohm_error_set(e, OHM_EIO, "not connected");
  tp_trace(t, '>', NULL, 0, secret ? "********" : line, 0);
  p->len = 0; /* what came before the command is consumed */
  telnet_send(p->tn, line, strlen(line));
  telnet_send(p->tn, "\r\n", 2);
  if (p->err) return ohm_error_set(e, OHM_EIO, "send failed");
  return 0;
}

static int tn_send_line(struct tp *t, const char *line, struct ohm_error *e) {
  return tn_send(t, line, 0, e);
}

static const char *tn_password(const struct tp *t) {
  if (t->uri.password) return t->uri.password;
  const char *env = getenv("OHM_PASSWORD");
  return env && *env ? env : NULL;
}

static int refused(struct tp *t, struct ohm_error *e) {
  return ohm_error_set(e, OHM_EACCES,
                       "login refused (account or "
                       "password wrong)");
}

/* One prompt answered with text, or the login refused. */
static int answer(struct tp *t, int which, int *sent, struct ohm_error *e) {
  const char *text = which == 1 ? t->uri.user : tn_password(t);
  if (sent[which]) return refused(t, e);
  if (!text)
    return ohm_error_set(e, OHM_EACCES,
                         which == 1
                             ? "the console asks for an account: give "
                               "telnet://USER@HOST"
                             : "the console asks for a password: set it in "
                               "the URI, the inventory or OHM_PASSWORD");
  sent[which] = 1;
  return tn_send(t, text, which == 2, e);
}

static int tn_login(struct tp *t, const char *acct, const char *pass,
                    const char *cmd, char **greeting, struct ohm_error *e) {
  const char *const prompts[] = {cmd, acct, pass, NULL};
  int sent[3] = {0, 0, 0};
  if (greeting) *greeting = NULL;
  for (;;) {
    char *txt = NULL;
    int which = -1, rc = tn_expect(t, prompts, &which, &txt, e);
    if (rc < 0) /* a console that hangs up after the password refused it */
      return rc == OHM_EIO && sent[2] ? refused(t, e) : rc;
    if (which == 0) {
      if (greeting)
        *greeting = txt;
      else
        free(txt);
      return 0;
    }
    free(txt);
    if ((rc = answer(t, which, sent, e)) < 0) return rc;
  }
}

static const struct tp_console_ext tn_ext = {tn_expect, tn_send_line, tn_login};

const struct tp_ops tp_telnet_ops = {
    .scheme = "telnet",
    .desc = "menu console over Telnet (libtelnet), e.g. the BPS2000v2's",
    .kind = TP_CONSOLE,
    .default_port = 23,
    .open = tn_open,
    .close = tn_close,
    .ext = &tn_ext,
};

static const struct tp_console_ext *ext_of(struct tp *t, struct ohm_error *e) {
  if (!t || t->ops->kind != TP_CONSOLE || !t->ops->ext) {
    ohm_error_set(e, OHM_ENOTSUP, "%s is not a console transport",
                  t ? t->ops->scheme : "?");
    return NULL;
  }
  return t->ops->ext;
}

int tp_console_expect(struct tp *t, const char *const *prompts, int *which,
                      char **out, struct ohm_error *e) {
  const struct tp_console_ext *x = ext_of(t, e);
  return x ? x->expect(t, prompts, which, out, e) : OHM_ENOTSUP;
}

int tp_console_send(struct tp *t, const char *line, struct ohm_error *e) {
  const struct tp_console_ext *x = ext_of(t, e);
  return x ? x->send_line(t, line, e) : OHM_ENOTSUP;
}

int tp_console_login(struct tp *t, const char *account_prompt,
                     const char *password_prompt, const char *command_prompt,
                     char **greeting, struct ohm_error *e) {
  const struct tp_console_ext *x = ext_of(t, e);
  return x ? x->login(t, account_prompt, password_prompt, command_prompt,
                      greeting, e)
           : OHM_ENOTSUP;
}
