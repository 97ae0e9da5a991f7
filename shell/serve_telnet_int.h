/* Inside `ohm serve --telnet`: the session (serve_telnet.c: sockets,
 * libtelnet, line editing, login) and the host side of the driver's
 * console dialect (serve_telnet_host.c: devices/console.h over the serve
 * cache). No dialect is known here. */
#ifndef OHM_SHELL_SERVE_TELNET_INT_H
#define OHM_SHELL_SERVE_TELNET_INT_H

#include <pthread.h>

#include "../devices/console.h"
#include "serve.h"
#include "serve/listen.h"

enum tn_role { TN_ADMIN = 0, TN_USER1 = 1, TN_USER2 = 2 };

struct tn_account {
  char *user;
  char *password; /* never printed or logged */
  enum tn_role role;
};

/* A value ohm keeps for the device: a warning limit the device cannot
 * hold (kept), or a write not yet seen by the cache's next read. */
struct tn_kept {
  char dev[128];
  char var[64];
  double num;
  double when; /* unix time of the write */
  int kept;    /* 1: the device has no place for it */
};
#define TN_KEPT_MAX 256

#define TN_LINE_MAX 512 /* the line buffer; the dialect's line_max below */

struct tn_server {
  struct sv_cache *cache;
  const struct dev_console *con; /* the served driver's dialect */
  struct tn_account *acc;
  size_t nacc;
  double idle;
  int max_sessions;
  struct ls_server *ls;        /* the one listener (serve/listen.h) */
  pthread_mutex_t mu;          /* kept, logged, acc, sessions */
  int logged;                  /* sessions logged in */
  struct tn_session *sessions; /* every session (SIGHUP ends removed ones) */
  double started;
  struct tn_kept kept[TN_KEPT_MAX];
  size_t nkept;
};

enum tn_state { TN_ACCOUNT, TN_PASSWORD, TN_MENU };

struct tn_session {
  struct tn_server *srv;
  struct ls_conn *conn; /* NULL when fuzzing */
  int fd;
  char peer[80];      /* address:port, for logs */
  char peer_addr[64]; /* address alone: failed logins are counted by it */
  void *tn;           /* telnet_t */
  enum tn_state state;
  struct dev_con_session cs; /* TN_MENU: the dialect's session */
  char account[32];
  const struct tn_account *who;   /* &me once logged in, else NULL */
  struct tn_account me;           /* a copy: accounts change on SIGHUP */
  char user[32];                  /* me.user */
  struct tn_session *next, *prev; /* in srv->sessions */
  int fails;
  int dead;
  char line[TN_LINE_MAX + 1];
  size_t len;
  int overflow, last_cr;
  double last_input;
  char out[8192]; /* the reply being gathered (serve_telnet.c) */
  size_t nout;
  int broken; /* a reply could not be sent */
};

/* Send text as is (CRLF already in it). */
void tn_send(struct tn_session *s, const char *text);
/* Just logged in: the dialect's session set up and started. */
void tn_menu_start(struct tn_session *s);
/* Handle one line typed after login (TN_MENU): the dialect's. */
void tn_menu_line(struct tn_session *s, const char *line);
double tn_now(void);
/* One log line for what a logged-in user did, naming the account and its
 * address (problem: logged even with -q). */
void tn_audit(struct tn_session *s, int problem, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
