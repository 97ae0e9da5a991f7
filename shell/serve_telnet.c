/* `ohm serve --telnet ADDR`: the BPS2000v2 console (manual section 9) for
 * the devices of the serve cache (first the master, then slave1, ...).
 *
 * One thread per session, at most max_sessions of them; libtelnet does the
 * protocol (negotiation, IAC escaping), so option floods and binary garbage
 * are its input, not ours. Each session waits in poll() with the idle
 * timeout; a device that does not answer only makes the cache's values
 * stale or failed, which the menus print as an error line. Accounts come
 * from the inventory's `console` section or --user/--password-file: there
 * is no default account. Three failed logins close the connection and are
 * logged on stderr; passwords never are, nor echoed (not even as '*'). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <libtelnet.h>
#include <lua.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "serve_telnet_int.h"

#define TN_FAIL_DELAY_MS 1000

static void clean_name(char *dst, size_t n, const char *src);

static struct serve_telnet_opts g_opts;
static struct tn_server *g_srv;

double tn_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

void serve_telnet_set_opts(const struct serve_telnet_opts *t) {
  g_opts = *t;
}

/* 1 if arg is a number in [min, max] (stored in *v), else -1 and *v is
 * left alone. */
static int number_opt(const char *arg, double min, double max, double *v) {
  char *end;
  double x = strtod(arg, &end);
  if (end == arg || *end || !(x >= min && x <= max)) return -1;
  *v = x;
  return 1;
}

int serve_telnet_opt(struct serve_telnet_opts *t, int opt, const char *arg) {
  switch (opt) {
  case 0x7401:
    t->user = arg;
    return 1;
  case 0x7402:
    t->password_file = arg;
    return 1;
  case 0x7403:
    return number_opt(arg, 0.1, 86400, &t->idle_timeout);
  case 0x7404: {
    double n = 0;
    if (number_opt(arg, 1, 1000, &n) < 0 || n != (int)n) return -1;
    t->max_sessions = (int)n;
    return 1;
  }
  default:
    return 0;
  }
}

/* ---- accounts ---------------------------------------------------------- */

static int role_parse(const char *s, enum tn_role *r) {
  if (!s || !strcasecmp(s, "administrator") || !strcasecmp(s, "admin"))
    *r = TN_ADMIN;
  else if (!strcasecmp(s, "user1"))
    *r = TN_USER1;
  else if (!strcasecmp(s, "user2"))
    *r = TN_USER2;
  else
    return -1;
  return 0;
}

static int acc_add(struct tn_server *s, const char *user, const char *pw,
                   const char *role, struct ohm_error *e) {
  struct tn_account *a;
  enum tn_role r;
  if (!user || !*user || !pw || !*pw)
    return ohm_error_set(e, OHM_ECONFIG,
                         "console account needs a user and "
                         "a password");
  if (role_parse(role, &r) < 0)
    return ohm_error_set(e, OHM_ECONFIG,
                         "console account %.40s: role "
                         "'%.40s' is not administrator, user1 or user2",
                         user, role);
  a = realloc(s->acc, (s->nacc + 1) * sizeof *a);
  if (!a) return ohm_error_set(e, OHM_ENOMEM, "out of memory");
  s->acc = a;
  a[s->nacc].user = strdup(user);
  a[s->nacc].password = strdup(pw);
  a[s->nacc].role = r;
  s->nacc++;
  return 0;
}

static const char *lfield(lua_State *L, int t, const char *k) {
  const char *v;
  lua_pushstring(L, k);
  lua_rawget(L, t);
  v = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
  lua_pop(L, 1);
  return v; /* still referenced by the table */
}

/* console = { accounts = { {user=, password=, role=}, ... } }, or
 * console = { accounts = { NAME = {password=, role=} } }. */
struct acc_read {
  struct tn_server *s;
  struct ohm_error *e;
};

/* Under inv_call (memory and step limits, pcall). */
static int acc_from_inventory(lua_State *L, void *ud) {
  struct tn_server *s = ((struct acc_read *)ud)->s;
  struct ohm_error *e = ((struct acc_read *)ud)->e;
  int rc = 0, top = lua_gettop(L);
  lua_rawgeti(L, LUA_REGISTRYINDEX, LUA_RIDX_GLOBALS);
  lua_pushstring(L, "console");
  lua_rawget(L, -2);
  if (lua_type(L, -1) == LUA_TTABLE) {
    lua_pushstring(L, "accounts");
    lua_rawget(L, -2);
    if (lua_type(L, -1) == LUA_TTABLE) {
      int t = lua_gettop(L);
      lua_pushnil(L);
      while (rc == 0 && lua_next(L, t)) {
        if (lua_type(L, -1) == LUA_TTABLE) {
          int a = lua_gettop(L);
          const char *u = lfield(L, a, "user");
          if (!u && lua_type(L, -2) == LUA_TSTRING) u = lua_tostring(L, -2);
          rc = acc_add(s, u, lfield(L, a, "password"), lfield(L, a, "role"), e);
        }
        lua_pop(L, 1);
      }
    }
  }
  lua_settop(L, top);
  return rc;
}

static int acc_from_file(struct tn_server *s, struct ohm_error *e) {
  char pw[256] = "";
  FILE *f;
  if (!g_opts.user && !g_opts.password_file) return 0;
  if (!g_opts.user || !g_opts.password_file)
    return ohm_error_set(e, OHM_EINVAL,
                         "--user and --password-file go "
                         "together");
  f = fopen(g_opts.password_file, "r");
  if (!f)
    return ohm_error_set(e, OHM_ECONFIG, "%.200s: %s", g_opts.password_file,
                         strerror(errno));
  if (!fgets(pw, sizeof pw, f)) pw[0] = 0;
  fclose(f);
  pw[strcspn(pw, "\r\n")] = 0;
  return acc_add(s, g_opts.user, pw, "administrator", e);
}

static void acc_free(struct tn_server *s) {
  for (size_t i = 0; i < s->nacc; i++) {
    free(s->acc[i].user);
    if (s->acc[i].password)
      memset(s->acc[i].password, 0, strlen(s->acc[i].password));
    free(s->acc[i].password);
  }
  free(s->acc);
}

/* Compare without leaking the length of the common prefix. */
static int pw_equal(const char *a, const char *b) {
  size_t la = strlen(a), lb = strlen(b);
  unsigned diff = (unsigned)(la ^ lb);
  for (size_t i = 0; i < la; i++)
    diff |= (unsigned char)a[i] ^ (unsigned char)b[i % (lb ? lb : 1)];
  return diff == 0;
}

static const struct tn_account *acc_check(const struct tn_server *s,
                                          const char *user, const char *pw) {
  const struct tn_account *found = NULL;
  for (size_t i = 0; i < s->nacc; i++)
    if (strcmp(s->acc[i].user, user) == 0 && pw_equal(pw, s->acc[i].password))
      found = &s->acc[i];
  return found;
}

/* ---- one session --------------------------------------------------------- */

void tn_audit(struct tn_session *s, int problem, const char *fmt, ...) {
  char what[768], who[40];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  clean_name(who, sizeof who, s->who ? s->who->user : s->account);
  if (problem)
    serve_log("telnet: %s from %s: %s", who, s->peer, what);
  else
    serve_info("telnet: %s from %s: %s", who, s->peer, what);
}

void tn_send(struct tn_session *s, const char *text) {
  if (!s->dead) telnet_send(s->tn, text, strlen(text));
}

static void send_all(struct tn_session *s, const char *p, size_t n) {
  while (n > 0 && !s->dead) {
    ssize_t w = send(s->fd, p, n, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) { /* peer gone, or not reading for SO_SNDTIMEO */
      s->dead = 1;
      return;
    }
    p += w;
    n -= (size_t)w;
  }
}

static const char *state_prompt(const struct tn_session *s) {
  if (s->state == TN_ACCOUNT) return CON_ACCOUNT_PROMPT;
  if (s->state == TN_PASSWORD) return CON_PASSWORD_PROMPT;
  return CON_PROMPT;
}

/* Account names go to the log: printable, short. */
static void clean_name(char *dst, size_t n, const char *src) {
  size_t j = 0;
  for (size_t i = 0; src[i] && j + 1 < n; i++)
    dst[j++] = src[i] > 0x20 && src[i] < 0x7f ? src[i] : '?';
  dst[j] = 0;
}

/* Check account and password against the current accounts (SIGHUP may
 * swap them) and keep a copy of the account: 1 if logged in. */
static int login_check(struct tn_session *s, const char *pw) {
  const struct tn_account *a;
  pthread_mutex_lock(&s->srv->mu);
  a = acc_check(s->srv, s->account, pw);
  if (a) {
    snprintf(s->user, sizeof s->user, "%s", a->user);
    s->me.user = s->user;
    s->me.password = NULL;
    s->me.role = a->role;
    s->who = &s->me;
  }
  pthread_mutex_unlock(&s->srv->mu);
  return a != NULL;
}

static void login_line(struct tn_session *s, const char *line) {
  if (s->state == TN_ACCOUNT) {
    if (!*line) {
      tn_send(s, CON_ACCOUNT_PROMPT);
      return;
    }
    snprintf(s->account, sizeof s->account, "%.31s", line);
    s->state = TN_PASSWORD;
    tn_send(s, CON_PASSWORD_PROMPT);
    return;
  }
  if (login_check(s, line)) {
    char buf[1024] = "";
    tn_audit(s, 0, "logged in");
    s->state = TN_MENU;
    con_fmt_main_menu(buf, sizeof buf);
    tn_send(s, buf);
    return;
  }
  /* As login(1)'s FAIL_DELAY: a wrong password costs a second, so guessing
   * is slow even across reconnects (only this session's thread waits). */
  poll(NULL, 0, TN_FAIL_DELAY_MS);
  if (++s->fails >= 3) {
    char who[40];
    clean_name(who, sizeof who, s->account);
    tn_send(s, "Login failed\r\nToo many failed logins\r\n");
    fprintf(stderr,
            "ohm: telnet: %s: 3 failed logins (last account '%s'), "
            "connection closed\n",
            s->peer, who);
    s->dead = 1;
    return;
  }
  s->state = TN_ACCOUNT;
  tn_send(s, "Login failed\r\n\r\n" CON_ACCOUNT_PROMPT);
}

static void end_line(struct tn_session *s) {
  char line[CON_LINE_MAX + 1];
  tn_send(s, "\r\n");
  memcpy(line, s->line, s->len);
  line[s->len] = 0;
  s->len = 0;
  if (s->overflow) {
    s->overflow = 0;
    tn_send(s, "Command too long\r\n\r\n");
    tn_send(s, state_prompt(s));
    return;
  }
  if (s->state == TN_ACCOUNT || s->state == TN_PASSWORD)
    login_line(s, line);
  else
    tn_menu_line(s, line);
  memset(line, 0, sizeof line);
}

/* Line editing as a dumb terminal expects: CR, LF, CR LF and CR NUL end a
 * line; BS/DEL erase; other control bytes and non-ASCII are dropped. */
static void feed(struct tn_session *s, unsigned char c) {
  if (c == '\n' && s->last_cr) {
    s->last_cr = 0;
    return;
  }
  if (c == 0 && s->last_cr) return;
  s->last_cr = c == '\r';
  if (c == '\r' || c == '\n') {
    end_line(s);
  } else if (c == 8 || c == 127) {
    if (s->len > 0) {
      s->len--;
      if (s->state != TN_PASSWORD) tn_send(s, "\b \b");
    }
  } else if (c >= 0x20 && c < 0x7f) {
    char echo[2] = {(char)c, 0};
    if (s->len >= CON_LINE_MAX) {
      s->overflow = 1;
      return;
    }
    s->line[s->len++] = (char)c;
    /* as login(1): nothing after the password prompt, not even its length */
    if (s->state != TN_PASSWORD) tn_send(s, echo);
  }
}

static void on_event(telnet_t *tn, telnet_event_t *ev, void *ud) {
  struct tn_session *s = ud;
  (void)tn;
  switch (ev->type) {
  case TELNET_EV_DATA:
    s->last_input = tn_now();
    for (size_t i = 0; i < ev->data.size && !s->dead; i++)
      feed(s, (unsigned char)ev->data.buffer[i]);
    break;
  case TELNET_EV_SEND:
    send_all(s, ev->data.buffer, ev->data.size);
    break;
  case TELNET_EV_ERROR:
    s->dead = 1;
    break;
  default:
    break;
  }
}

static const telnet_telopt_t telopts[] = {
    {TELNET_TELOPT_ECHO, TELNET_WILL, TELNET_DONT},
    {TELNET_TELOPT_SGA, TELNET_WILL, TELNET_DO},
    {-1, 0, 0}};

static void session_greet(struct tn_session *s) {
  char buf[1024] = "";
  struct con_banner b = {NULL, NULL, (long)(tn_now() - s->srv->started)};
  telnet_negotiate(s->tn, TELNET_WILL, TELNET_TELOPT_ECHO);
  telnet_negotiate(s->tn, TELNET_WILL, TELNET_TELOPT_SGA);
  con_fmt_banner(buf, sizeof buf, &b);
  tn_send(s, buf);
  tn_send(s, CON_ACCOUNT_PROMPT);
}

static void session_loop(struct tn_session *s) {
  char buf[1024];
  while (!s->dead) {
    double left = s->srv->idle - (tn_now() - s->last_input);
    struct pollfd p = {s->fd, POLLIN, 0};
    ssize_t n;
    int r;
    if (left <= 0) {
      tn_send(s, "\r\nIdle timeout, logged out\r\n");
      return;
    }
    r = poll(&p, 1, left > 1 ? 1000 : (int)(left * 1000) + 1);
    if (r < 0 && errno != EINTR) return;
    if (r <= 0) continue;
    n = recv(s->fd, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) /* closed or half-closed: nothing more will come */
      return;
    telnet_recv(s->tn, buf, (size_t)n);
  }
}

static void session_end(struct tn_session *s) {
  struct tn_server *srv = s->srv;
  pthread_mutex_lock(&srv->mu);
  for (int i = 0; i < srv->max_sessions; i++)
    if (srv->fds[i] == s->fd) {
      srv->fds[i] = -1;
      srv->sess[i] = NULL;
    }
  srv->active--;
  pthread_cond_broadcast(&srv->idle_cv);
  pthread_mutex_unlock(&srv->mu);
  close(s->fd);
  memset(s->line, 0, sizeof s->line);
  free(s);
}

static void *session_main(void *arg) {
  struct tn_session *s = arg;
  s->tn = telnet_init(telopts, on_event, 0, s);
  if (s->tn) {
    session_greet(s);
    session_loop(s);
    telnet_free(s->tn);
  }
  session_end(s);
  return NULL;
}

/* ---- listener ------------------------------------------------------------ */

static int tn_listen(const char *addr, struct ohm_error *e) {
  char host[128] = "127.0.0.1", port[16];
  const char *colon = strrchr(addr, ':');
  struct addrinfo hints = {0}, *res = NULL;
  int fd = -1, one = 1;
  if (colon) {
    const char *h = addr;
    size_t hl = (size_t)(colon - addr);
    if (*h == '[' && hl >= 2 && h[hl - 1] == ']') h++, hl -= 2;
    if (hl >= sizeof host)
      return ohm_error_set(e, OHM_EINVAL, "bad address '%.100s'", addr);
    if (hl) {
      memcpy(host, h, hl);
      host[hl] = 0;
    }
  }
  snprintf(port, sizeof port, "%s", colon ? colon + 1 : addr);
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  /* in range first: getaddrinfo takes "99999" and wraps it to 34463 */
  if (!*port || strlen(port) > 5 || atol(port) > 65535 ||
      getaddrinfo(host, port, &hints, &res) != 0 || !res)
    return ohm_error_set(e, OHM_EINVAL, "bad address '%.100s' (HOST:PORT)",
                         addr);
  fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd >= 0) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (fd < 0 || bind(fd, res->ai_addr, res->ai_addrlen) < 0 ||
      listen(fd, 16) < 0) {
    int err = errno;
    if (fd >= 0) close(fd);
    freeaddrinfo(res);
    return ohm_error_set(e, OHM_EIO, "cannot listen on %.100s (%s)", addr,
                         strerror(err));
  }
  freeaddrinfo(res);
  return fd;
}

static void peer_name(int fd, char *buf, size_t n) {
  struct sockaddr_storage ss;
  socklen_t len = sizeof ss;
  char h[INET6_ADDRSTRLEN] = "?";
  int port = 0;
  if (getpeername(fd, (struct sockaddr *)&ss, &len) == 0) {
    if (ss.ss_family == AF_INET) {
      struct sockaddr_in *a = (struct sockaddr_in *)&ss;
      inet_ntop(AF_INET, &a->sin_addr, h, sizeof h);
      port = ntohs(a->sin_port);
    } else if (ss.ss_family == AF_INET6) {
      struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
      inet_ntop(AF_INET6, &a->sin6_addr, h, sizeof h);
      port = ntohs(a->sin6_port);
    }
  }
  snprintf(buf, n, "%s:%d", h, port);
}

/* Take a slot for fd, or refuse the connection when all are taken. */
static void start_session(struct tn_server *srv, int fd) {
  struct tn_session *s;
  struct timeval tv = {5, 0};
  pthread_attr_t at;
  pthread_t th;
  int slot = -1;
  pthread_mutex_lock(&srv->mu);
  for (int i = 0; i < srv->max_sessions && slot < 0; i++)
    if (srv->fds[i] < 0) slot = i;
  if (slot >= 0) {
    srv->fds[slot] = fd;
    srv->active++;
  }
  pthread_mutex_unlock(&srv->mu);
  if (slot < 0) {
    static const char busy[] = "Too many sessions, try again later\r\n";
    if (send(fd, busy, sizeof busy - 1, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
      (void)0;
    close(fd);
    return;
  }
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  s = calloc(1, sizeof *s);
  if (s) {
    s->srv = srv;
    s->fd = fd;
    s->last_input = tn_now();
    peer_name(fd, s->peer, sizeof s->peer);
    pthread_mutex_lock(&srv->mu);
    srv->sess[slot] = s;
    pthread_mutex_unlock(&srv->mu);
    pthread_attr_init(&at);
    pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
    if (pthread_create(&th, &at, session_main, s) == 0) {
      pthread_attr_destroy(&at);
      return;
    }
    pthread_attr_destroy(&at);
    pthread_mutex_lock(&srv->mu);
    srv->sess[slot] = NULL;
    pthread_mutex_unlock(&srv->mu);
    free(s);
  }
  s = calloc(1, sizeof *s); /* release the slot the same way */
  if (s) {
    s->srv = srv;
    s->fd = fd;
    session_end(s);
  }
}

static void *accept_main(void *arg) {
  struct tn_server *srv = arg;
  for (;;) {
    struct pollfd p[2] = {{srv->lfd, POLLIN, 0}, {srv->wake[0], POLLIN, 0}};
    int fd;
    if (poll(p, 2, -1) < 0 && errno != EINTR) break;
    if (p[1].revents) break;
    if (!(p[0].revents & POLLIN)) continue;
    fd = accept4(srv->lfd, NULL, NULL, SOCK_CLOEXEC);
    if (fd >= 0)
      start_session(srv, fd);
    else if (errno == EMFILE || errno == ENFILE || errno == ENOMEM)
      poll(NULL, 0, 100); /* out of descriptors: do not spin */
  }
  return NULL;
}

static void server_free(struct tn_server *s) {
  if (!s) return;
  if (s->lfd >= 0) close(s->lfd);
  if (s->wake[0] >= 0) close(s->wake[0]);
  if (s->wake[1] >= 0) close(s->wake[1]);
  acc_free(s);
  free(s->fds);
  free(s->sess);
  pthread_mutex_destroy(&s->mu);
  pthread_cond_destroy(&s->idle_cv);
  free(s);
}

/* Every account: the inventory's (inv may be NULL), --user with
 * --password-file (the file read now), OHM_CONSOLE_USER + OHM_PASSWORD. */
static int accounts_load(struct tn_server *s, struct inventory *inv,
                         struct ohm_error *e) {
  int rc = 0;
  struct acc_read ar = {s, e};
  if (inv && inv->L) rc = inv_call(inv, acc_from_inventory, &ar, e);
  if (rc == 0) rc = acc_from_file(s, e);
  if (rc == 0 && getenv("OHM_CONSOLE_USER") && getenv("OHM_PASSWORD") &&
      *getenv("OHM_PASSWORD"))
    rc = acc_add(s, getenv("OHM_CONSOLE_USER"), getenv("OHM_PASSWORD"),
                 "administrator", e);
  if (rc == 0 && s->nacc == 0)
    rc = ohm_error_set(e, OHM_ECONFIG,
                       "no console account: add a `console` section to the "
                       "inventory, give --user and --password-file, or set "
                       "OHM_CONSOLE_USER and OHM_PASSWORD");
  return rc;
}

static int server_accounts(struct tn_server *s, const struct sh_opts *o,
                           struct ohm_error *e) {
  return accounts_load(s, sh_inventory(o, e), e);
}

/* End (shutdown; the session's thread then sees EOF) every session whose
 * account is not among the current ones. Called with mu held. */
static void end_removed(struct tn_server *srv) {
  for (int i = 0; i < srv->max_sessions; i++) {
    struct tn_session *s = srv->sess[i];
    int found = 0;
    if (!s || !s->who) continue;
    for (size_t k = 0; k < srv->nacc && !found; k++)
      found = strcmp(srv->acc[k].user, s->user) == 0;
    if (!found) {
      char who[40];
      clean_name(who, sizeof who, s->user);
      serve_log("telnet: %s from %s: account removed, session ended", who,
                s->peer);
      shutdown(s->fd, SHUT_RDWR);
    }
  }
}

void serve_telnet_reload(struct inventory *inv) {
  struct tn_server *srv = g_srv, fresh = {0};
  struct tn_account *old;
  struct ohm_error e;
  size_t nold, n;
  if (!srv) return;
  ohm_error_clear(&e);
  if (accounts_load(&fresh, inv, &e) < 0) {
    acc_free(&fresh);
    serve_log("telnet: reload: %s; keeping the old accounts",
              ohm_error_text(&e));
    return;
  }
  pthread_mutex_lock(&srv->mu);
  old = srv->acc;
  nold = srv->nacc;
  srv->acc = fresh.acc;
  srv->nacc = fresh.nacc;
  end_removed(srv);
  n = srv->nacc;
  pthread_mutex_unlock(&srv->mu);
  fresh.acc = old;
  fresh.nacc = nold;
  acc_free(&fresh);
  serve_info("telnet: reloaded: %zu account(s)", n);
}

int serve_telnet_accounts_check(const struct sh_opts *o, struct ohm_error *e) {
  struct tn_server s = {0};
  int rc = server_accounts(&s, o, e);
  acc_free(&s);
  return rc;
}

int serve_telnet_start(struct sv_cache *c, const char *addr,
                       const struct sh_opts *o, struct ohm_error *e) {
  struct tn_server *s = calloc(1, sizeof *s);
  int rc;
  if (!s) return ohm_error_set(e, OHM_ENOMEM, "out of memory");
  s->lfd = s->wake[0] = s->wake[1] = -1;
  pthread_mutex_init(&s->mu, NULL);
  pthread_cond_init(&s->idle_cv, NULL);
  s->cache = c;
  s->idle = g_opts.idle_timeout > 0 ? g_opts.idle_timeout : 300;
  s->max_sessions = g_opts.max_sessions > 0 ? g_opts.max_sessions : 8;
  s->started = tn_now();
  s->fds = malloc((size_t)s->max_sessions * sizeof *s->fds);
  s->sess = calloc((size_t)s->max_sessions, sizeof *s->sess);
  if (!s->fds || !s->sess) {
    server_free(s);
    return ohm_error_set(e, OHM_ENOMEM, "out of memory");
  }
  for (int i = 0; i < s->max_sessions; i++)
    s->fds[i] = -1;
  if ((rc = server_accounts(s, o, e)) < 0 ||
      (rc = s->lfd = tn_listen(addr, e)) < 0 || pipe2(s->wake, O_CLOEXEC) ||
      pthread_create(&s->th, NULL, accept_main, s)) {
    if (rc >= 0)
      rc = ohm_error_set(e, OHM_EIO, "cannot start: %s", strerror(errno));
    server_free(s);
    return rc;
  }
  g_srv = s;
  return 0;
}

void serve_telnet_stop(void) {
  struct tn_server *s = g_srv;
  if (!s) return;
  g_srv = NULL;
  if (write(s->wake[1], "x", 1) < 0) (void)0;
  pthread_join(s->th, NULL);
  pthread_mutex_lock(&s->mu);
  for (int i = 0; i < s->max_sessions; i++)
    if (s->fds[i] >= 0) shutdown(s->fds[i], SHUT_RDWR);
  while (s->active > 0)
    pthread_cond_wait(&s->idle_cv, &s->mu);
  pthread_mutex_unlock(&s->mu);
  server_free(s);
}
