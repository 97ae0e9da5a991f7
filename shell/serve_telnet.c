/* `ohm serve --telnet ADDR`: the menu console of the served driver (its
 * hooks' dialect, devices/console.h: the BPS2000v2's manual section 9) for
 * the devices of the serve cache (first the master, then slave1, ...).
 *
 * Sessions come through the one listener (serve/listen.c): at most
 * max_sessions logged in, and as many connections from one address (twice
 * that in all); a connection must log in within TN_LOGIN_MS, then may idle
 * for the idle timeout. libtelnet does the
 * protocol (negotiation, IAC escaping), so option floods and binary garbage
 * are its input, not ours. Each session waits in poll() with the idle
 * timeout; a device that does not answer only makes the cache's values
 * stale or failed, which the menus print as an error line. Accounts come
 * from the inventory's `console` section or --user/--password-file: there
 * is no default account. Failed logins cost a growing delay per address
 * and lock it out after a few (serve/login.c); three close the connection;
 * each is logged, passwords never are. */
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

#include "serve/login.h"
#include "serve_telnet_int.h"
#include "../util/lazy_telnet.h"

#define TN_LOGIN_MS 60000 /* connect to logged in */
#define TN_REPLY_MS 10000 /* a screen written */

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
  double x;
  if (ls_decimal(arg, &x) < 0 || !(x >= min && x <= max)) return -1;
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

/* Every account compared, in constant time (serve/login.c). */
static const struct tn_account *acc_check(const struct tn_server *s,
                                          const char *user, const char *pw) {
  const struct tn_account *found = NULL;
  for (size_t i = 0; i < s->nacc; i++) {
    int u = lg_equal(s->acc[i].user, user);
    if ((u & lg_equal(pw, s->acc[i].password)) && !found) found = &s->acc[i];
  }
  return found;
}

/* ---- one session --------------------------------------------------------- */

/* A user name for a log line: control bytes and blanks as '?'. */
static void clean_name(char *dst, size_t n, const char *src) {
  size_t j = 0;
  for (size_t i = 0; src[i] && j + 1 < n; i++)
    dst[j++] = src[i] > 0x20 && src[i] < 0x7f ? src[i] : '?';
  dst[j] = 0;
}

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

/* Send what the session has gathered, whole. */
static void session_flush(struct tn_session *s) {
  if (s->nout && !s->broken && s->conn &&
      ls_send(s->conn, s->out, s->nout, ls_now_ms() + TN_REPLY_MS) < 0)
    s->broken = s->dead = 1; /* peer gone, or not reading */
  s->nout = 0;
}

/* libtelnet's output: gathered, so a reply leaves in one piece. */
static void send_all(struct tn_session *s, const char *p, size_t n) {
  while (n && !s->broken) {
    if (s->nout == sizeof s->out) session_flush(s);
    size_t k = n < sizeof s->out - s->nout ? n : sizeof s->out - s->nout;
    memcpy(s->out + s->nout, p, k);
    s->nout += k;
    p += k;
    n -= k;
  }
}

static int session_stopping(void *ctx) {
  struct tn_session *s = ctx;
  return s->conn && ls_stopping(s->conn);
}

static const char *state_prompt(const struct tn_session *s) {
  if (s->state == TN_ACCOUNT) return s->srv->con->account_prompt;
  if (s->state == TN_PASSWORD) return s->srv->con->password_prompt;
  return s->srv->con->prompt;
}

/* Count the session in (in = 1: 0 if max_sessions are logged in) or out. */
static int session_count(struct tn_session *s, int in) {
  struct tn_server *srv = s->srv;
  int ok = 1;
  pthread_mutex_lock(&srv->mu);
  if (in && srv->logged >= srv->max_sessions)
    ok = 0;
  else
    srv->logged += in ? 1 : -1;
  pthread_mutex_unlock(&srv->mu);
  return ok;
}

/* Check account and password against the current accounts (SIGHUP may
 * swap them) and keep a copy of the account in s->me (s->who). */
static void login_check(struct tn_session *s, const char *pw) {
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
}

static void login_line(struct tn_session *s, const char *line) {
  if (s->state == TN_ACCOUNT) {
    if (!*line) {
      tn_send(s, s->srv->con->account_prompt);
      return;
    }
    snprintf(s->account, sizeof s->account, "%.31s", line);
    s->state = TN_PASSWORD;
    tn_send(s, s->srv->con->password_prompt);
    return;
  }
  int locked = lg_before("console", s->peer_addr, session_stopping, s) < 0;
  if (!locked) /* else not even checked */
    login_check(s, line);
  if (s->who && !session_count(s, 1)) {
    tn_send(s, "Too many sessions, try again later\r\n");
    s->dead = 1;
    return;
  }
  if (s->who) {
    lg_ok(s->peer_addr);
    tn_audit(s, 0, "logged in");
    s->state = TN_MENU;
    tn_menu_start(s);
    return;
  }
  /* As login(1)'s FAIL_DELAY, growing per address, so guessing is slow
   * even across reconnects (only this session's thread waits). */
  if (!locked)
    lg_failed("console", s->peer_addr, s->account, session_stopping, s);
  if (++s->fails >= 3) {
    tn_send(s, "Login failed\r\nToo many failed logins\r\n");
    serve_log("console: %s: 3 failed logins, connection closed", s->peer);
    s->dead = 1;
    return;
  }
  s->state = TN_ACCOUNT;
  tn_send(s, "Login failed\r\n\r\n");
  tn_send(s, s->srv->con->account_prompt);
}

static void end_line(struct tn_session *s) {
  char line[TN_LINE_MAX + 1];
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

/* The dialect's longest line, within the buffer. */
static size_t line_max(const struct tn_session *s) {
  size_t n = s->srv->con->line_max;
  return n && n < TN_LINE_MAX ? n : TN_LINE_MAX;
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
    if (s->len >= line_max(s)) {
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
  telnet_negotiate(s->tn, TELNET_WILL, TELNET_TELOPT_ECHO);
  telnet_negotiate(s->tn, TELNET_WILL, TELNET_TELOPT_SGA);
  s->srv->con->banner(buf, sizeof buf, (long)(tn_now() - s->srv->started));
  tn_send(s, buf);
  tn_send(s, s->srv->con->account_prompt);
}

/* Until logged in, TN_LOGIN_MS from connecting; then the idle timeout
 * from the last input. */
static long long session_deadline(const struct tn_session *s,
                                  long long opened) {
  long long idle =
      (long long)((s->last_input - tn_now() + s->srv->idle) * 1000) +
      ls_now_ms();
  if (s->state == TN_ACCOUNT || s->state == TN_PASSWORD)
    return idle < opened + TN_LOGIN_MS ? idle : opened + TN_LOGIN_MS;
  return idle;
}

static void session_loop(struct tn_session *s) {
  char buf[1024];
  long long opened = ls_now_ms();
  while (!s->dead) {
    long long dl = session_deadline(s, opened);
    ssize_t n = ls_recv(s->conn, buf, sizeof buf, dl);
    if (n < 0 && !ls_stopping(s->conn) && ls_now_ms() >= dl) {
      tn_send(s, "\r\nIdle timeout, logged out\r\n");
      session_flush(s);
      return;
    }
    if (n <= 0) /* closed, half-closed or stopping */
      return;
    telnet_recv(s->tn, buf, (size_t)n);
    session_flush(s);
  }
}

static void session_run(struct tn_session *s) {
  s->tn = telnet_init(telopts, on_event, 0, s);
  if (s->tn) {
    session_greet(s);
    session_flush(s);
    session_loop(s);
    telnet_free(s->tn);
  }
  if (s->state != TN_ACCOUNT && s->state != TN_PASSWORD) session_count(s, 0);
  memset(s->line, 0, sizeof s->line);
}

/* The server's list of sessions (for SIGHUP: end those of removed
 * accounts): in = 1 adds s, 0 takes it out. */
static void session_link(struct tn_session *s, int in) {
  struct tn_server *srv = s->srv;
  pthread_mutex_lock(&srv->mu);
  if (in) {
    s->next = srv->sessions;
    if (s->next) s->next->prev = s;
    srv->sessions = s;
  } else {
    if (s->prev)
      s->prev->next = s->next;
    else
      srv->sessions = s->next;
    if (s->next) s->next->prev = s->prev;
  }
  pthread_mutex_unlock(&srv->mu);
}

static void session_serve(struct ls_conn *c, void *ctx) {
  struct tn_session *s = calloc(1, sizeof *s);
  if (!s) return;
  s->srv = ctx;
  s->conn = c;
  s->fd = c->fd;
  s->last_input = tn_now();
  snprintf(s->peer, sizeof s->peer, "%s", c->peer);
  snprintf(s->peer_addr, sizeof s->peer_addr, "%s", c->addr);
  session_link(s, 1);
  session_run(s);
  session_link(s, 0);
  free(s);
}

static void server_free(struct tn_server *s) {
  if (!s) return;
  acc_free(s);
  pthread_mutex_destroy(&s->mu);
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

/* End (shutdown: the session's thread then sees EOF) every logged-in
 * session whose account is not among the current ones. mu held. */
static void end_removed(struct tn_server *srv) {
  for (struct tn_session *s = srv->sessions; s; s = s->next) {
    int found = 0;
    if (!s->who || s->fd < 0) continue;
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

/* The dialect of the first served device's driver (-d, else its map once
 * opened), else the first driver's that has a console. */
static const struct dev_console *console_for(struct sv_cache *c,
                                             const char *driver) {
  struct sv_snap sn;
  const struct dev_console *con;
  if (!driver && sv_cache_count(c) > 0 && sv_cache_snap(c, 0, &sn) == 0) {
    con = dev_console_find(sn.map ? sn.map->name : NULL);
    sv_snap_free(&sn);
    return con;
  }
  return dev_console_find(driver);
}

static struct tn_server *server_new(struct sv_cache *c, const char *driver) {
  const struct dev_console *con = console_for(c, driver);
  struct tn_server *s = con ? calloc(1, sizeof *s) : NULL;
  if (!s) return NULL;
  s->con = con;
  pthread_mutex_init(&s->mu, NULL);
  s->cache = c;
  s->idle = g_opts.idle_timeout > 0 ? g_opts.idle_timeout : 300;
  s->max_sessions = g_opts.max_sessions > 0 ? g_opts.max_sessions : 8;
  s->started = tn_now();
  return s;
}

int serve_telnet_start(struct sv_cache *c, const char *addr,
                       const struct sh_opts *o, struct ohm_error *e) {
  struct tn_server *s;
  int rc;
  if ((rc = lazy_telnet_load(e)) < 0) return rc;
  if (!(s = server_new(c, o ? o->driver : NULL)))
    return console_for(c, o ? o->driver : NULL)
               ? ohm_error_set(e, OHM_ENOMEM, "out of memory")
               : ohm_error_set(e, OHM_ENOTSUP, "no driver has a menu console");
  struct ls_conf conf = {.name = "console",
                         .max_total = 2 * s->max_sessions,
                         .max_per_addr = s->max_sessions,
                         .busy = "Too many sessions, try again later\r\n",
                         .serve = session_serve,
                         .ctx = s};
  if ((rc = server_accounts(s, o, e)) < 0 ||
      (rc = ls_start(addr, &conf, &s->ls, e)) < 0) {
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
  ls_stop(s->ls);
  server_free(s);
}

void serve_telnet_feed(struct sv_cache *c, const char *data, size_t n) {
  struct tn_server *srv =
      lazy_telnet_load(NULL) == 0 ? server_new(c, NULL) : NULL;
  struct tn_session *s = srv ? calloc(1, sizeof *s) : NULL;
  struct ohm_error e;
  if (s && acc_add(srv, "fuzz", "fuzz", "administrator", &e) == 0) {
    s->srv = srv;
    s->fd = -1;
    s->last_input = tn_now();
    snprintf(s->peer_addr, sizeof s->peer_addr, "fuzz");
    s->tn = telnet_init(telopts, on_event, 0, s);
    if (s->tn) {
      telnet_recv(s->tn, data, n);
      telnet_free(s->tn);
    }
  }
  free(s);
  server_free(srv);
}
