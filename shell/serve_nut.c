/* `ohm serve --nut ADDR`: NUT's network protocol (RFC 9271, NUT's
 * docs/net-protocol.txt) over the polling cache, so upsc, upsrw, upscmd,
 * upsmon and every NUT client read ohm's devices as UPSes.
 *
 * Access control as upsd: reading needs nothing; SET VAR and INSTCMD need
 * USERNAME and PASSWORD of a user the inventory grants it:
 *   nut = { users = { admin = { password = "...", actions = {"set"},
 *                               instcmds = {"all"} } } }
 * No users: read-only (the users: serve/nut_users.c). Connections come through
 * the one listener (serve/listen.c): at most NUT_MAX_CLIENTS, NUT_MAX_PER_ADDR
 * from one address. A client must send its first line within NUT_FIRST_MS, each
 * line within NUT_LINE_MS of its first byte, and, until it has logged in,
 * its next line within NUT_IDLE_MS; a logged-in client (upsmon) may stay
 * quiet as long as it likes. Failed logins go through serve/login.c. */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "serve.h"
#include "serve/nut_fsd.h"
#include "serve/listen.h"
#include "serve/login.h"
#include "serve/nut_users.h"

#define NUT_MAX_CLIENTS 128
#define NUT_MAX_PER_ADDR 32
#define NUT_LINE_MAX 1024 /* raw bytes with the LF */
#define NUT_ARGS_MAX 8
#define NUT_FIRST_MS 10000
#define NUT_LINE_MS 10000
#define NUT_IDLE_MS 300000 /* Home Assistant polls every 60 s */
#define NUT_REPLY_MS 10000
#define NUT_REPLY_MAX (4 << 20)

static struct {
  struct sv_cache *c;
  struct ls_server *ls;
} nut;

struct nut_client {
  struct ls_conn *conn; /* NULL when fuzzing */
  const char *addr;     /* client address, for the login checks */
  char *user, *pass;
  char login[128]; /* UPS after LOGIN, "" if none */
  int authed;      /* gave a right username and password */
  int dead;        /* a reply could not be sent: close */
  int login_id;    /* nutf_login's, -1 if none */
  int primary;     /* did PRIMARY / MASTER */
  char *out;       /* this request's reply, sent whole */
  size_t nout, capout;
};

/* ---- replies ---- */

static void say(struct nut_client *cl, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void say(struct nut_client *cl, const char *fmt, ...) {
  char buf[4096];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  if (n < 0 || cl->dead) return;
  if ((size_t)n >= sizeof buf) n = sizeof buf - 1;
  if (cl->nout + (size_t)n > cl->capout) {
    size_t cap = cl->capout ? cl->capout * 2 : 4096;
    while (cap < cl->nout + (size_t)n)
      cap *= 2;
    char *p = cap <= NUT_REPLY_MAX ? realloc(cl->out, cap) : NULL;
    if (!p) {
      cl->dead = 1;
      return;
    }
    cl->out = p;
    cl->capout = cap;
  }
  memcpy(cl->out + cl->nout, buf, (size_t)n);
  cl->nout += (size_t)n;
}

/* Send the reply gathered by say() in one piece. */
static void flush(struct nut_client *cl) {
  if (cl->nout && !cl->dead && cl->conn &&
      ls_send(cl->conn, cl->out, cl->nout, ls_now_ms() + NUT_REPLY_MS) < 0)
    cl->dead = 1; /* gone, or not reading */
  cl->nout = 0;
}

#define ERR(cl, what) say(cl, "ERR %s\n", what)

/* s with " and \ escaped, into buf. */
static const char *quote(const char *s, char *buf, size_t n) {
  size_t k = 0;
  for (; *s && k + 3 < n; s++) {
    if (*s == '"' || *s == '\\') buf[k++] = '\\';
    buf[k++] = (*s == '\n' || *s == '\r') ? ' ' : *s;
  }
  buf[k] = 0;
  return buf;
}

/* Split a line into words; "quoted strings" with \-escapes are one word. */
static int split(char *s, char **argv, int max) {
  int n = 0;
  while (*s) {
    while (*s == ' ' || *s == '\t')
      s++;
    if (!*s) break;
    if (n == max) return -1;
    char *w = s, *out = s;
    if (*s == '"') {
      argv[n++] = out = w = ++s;
      while (*s && *s != '"') {
        if (*s == '\\' && s[1]) s++;
        *out++ = *s++;
      }
      if (*s != '"') return -1;
      s++;
      *out = 0;
      continue;
    }
    argv[n++] = w;
    while (*s && *s != ' ' && *s != '\t')
      s++;
    if (*s) *s++ = 0;
  }
  return n;
}

/* The snapshot of ups, or an error already sent. need_data: OK state. */
static int get_ups(struct nut_client *cl, const char *ups, struct sv_snap *s,
                   int need_data) {
  if (sv_cache_snap_name(nut.c, ups, s) < 0) {
    ERR(cl, "UNKNOWN-UPS");
    return -1;
  }
  if (need_data && s->state != SV_OK) {
    ERR(cl,
        s->state == SV_NONE || s->map ? "DATA-STALE" : "DRIVER-NOT-CONNECTED");
    sv_snap_free(s);
    return -1;
  }
  return 0;
}

static const struct dev_var *var_of(const struct sv_snap *s, const char *name,
                                    size_t *idx) {
  const struct dev_var *v = s->map ? dev_map_var(s->map, name) : NULL;
  if (!v || !s->vals) return NULL;
  *idx = (size_t)(v - s->map->vars);
  if (s->vals[*idx].kind != DV_NUM && s->vals[*idx].kind != DV_STR) return NULL;
  return v;
}

static void value_text(const struct sv_snap *s, size_t k, char *out, size_t n) {
  char raw[256], q[600];
  int fsd = !strcmp(s->map->vars[k].name, "ups.status") && nutf_is_fsd(s->name);
  dev_value_format(&s->map->vars[k], &s->vals[k], raw + 4 * fsd,
                   sizeof raw - 4);
  if (fsd) memcpy(raw, "FSD ", 4); /* latched, as upsd shows it */
  snprintf(out, n, "%s", quote(raw, q, sizeof q));
}

/* ---- commands ---- */

static void list_ups(struct nut_client *cl) {
  char q[600];
  say(cl, "BEGIN LIST UPS\n");
  for (size_t i = 0, n = sv_cache_count(nut.c); i < n; i++) {
    struct sv_snap s;
    if (sv_cache_snap(nut.c, i, &s) < 0) continue;
    say(cl, "UPS %s \"%s\"\n", s.name,
        quote(s.map && s.map->desc ? s.map->desc : "ohm device", q, sizeof q));
    sv_snap_free(&s);
  }
  say(cl, "END LIST UPS\n");
}

/* LIST VAR / LIST RW: every readable var, or only the writable ones. */
static void list_vars(struct nut_client *cl, const char *ups, int rw) {
  struct sv_snap s;
  char val[600];
  const char *what = rw ? "RW" : "VAR";
  if (get_ups(cl, ups, &s, 1) < 0) return;
  say(cl, "BEGIN LIST %s %s\n", what, ups);
  for (size_t k = 0; k < s.map->nvars; k++) {
    const struct dev_var *v = &s.map->vars[k];
    if ((rw && v->access != DA_RW) ||
        (s.vals[k].kind != DV_NUM && s.vals[k].kind != DV_STR))
      continue;
    value_text(&s, k, val, sizeof val);
    say(cl, "%s %s %s \"%s\"\n", what, ups, v->name, val);
  }
  say(cl, "END LIST %s %s\n", what, ups);
  sv_snap_free(&s);
}

/* Commands the device carries over its transport (as INSTCMD would run
 * them); before it has opened, those its map puts on that transport. */
static int cmd_listed(const struct sv_snap *s, size_t k) {
  const struct dev_cmd *c = &s->map->cmds[k];
  if (s->cmds) return s->cmds[k];
  if (c->reg >= 0 || !c->via) return 1;
  return *s->scheme && strstr(c->via, s->scheme) != NULL;
}

static void list_cmds(struct nut_client *cl, const char *ups) {
  struct sv_snap s;
  if (get_ups(cl, ups, &s, 0) < 0) return;
  say(cl, "BEGIN LIST CMD %s\n", ups);
  for (size_t k = 0; s.map && k < s.map->ncmds; k++)
    if (cmd_listed(&s, k)) say(cl, "CMD %s %s\n", ups, s.map->cmds[k].name);
  say(cl, "END LIST CMD %s\n", ups);
  sv_snap_free(&s);
}

static void list_enum_range(struct nut_client *cl, const char *what,
                            const char *ups, const char *name) {
  struct sv_snap s;
  size_t k;
  char q[600];
  if (get_ups(cl, ups, &s, 1) < 0) return;
  const struct dev_var *v = var_of(&s, name, &k);
  if (!v) {
    ERR(cl, "VAR-NOT-SUPPORTED");
    sv_snap_free(&s);
    return;
  }
  say(cl, "BEGIN LIST %s %s %s\n", what, ups, name);
  if (*what == 'E')
    for (size_t j = 0; j < v->nenums; j++)
      say(cl, "ENUM %s %s \"%s\"\n", ups, name,
          quote(v->enums[j].text, q, sizeof q));
  else if (v->access == DA_RW && v->has_min && v->has_max)
    say(cl, "RANGE %s %s \"%g\" \"%g\"\n", ups, name, v->min, v->max);
  say(cl, "END LIST %s %s %s\n", what, ups, name);
  sv_snap_free(&s);
}

struct client_line {
  struct nut_client *cl;
  const char *ups;
};

static void say_client(void *ctx, const char *addr) {
  struct client_line *c = ctx;
  say(c->cl, "CLIENT %s %s\n", c->ups, addr);
}

static void do_list(struct nut_client *cl, int argc, char **argv) {
  if (argc == 2 && strcmp(argv[1], "UPS") == 0)
    list_ups(cl);
  else if (argc == 3 && strcmp(argv[1], "VAR") == 0)
    list_vars(cl, argv[2], 0);
  else if (argc == 3 && strcmp(argv[1], "RW") == 0)
    list_vars(cl, argv[2], 1);
  else if (argc == 3 && strcmp(argv[1], "CMD") == 0)
    list_cmds(cl, argv[2]);
  else if (argc == 4 &&
           (strcmp(argv[1], "ENUM") == 0 || strcmp(argv[1], "RANGE") == 0))
    list_enum_range(cl, argv[1], argv[2], argv[3]);
  else if (argc == 3 && strcmp(argv[1], "CLIENT") == 0) {
    struct sv_snap s;
    if (get_ups(cl, argv[2], &s, 0) < 0) return;
    say(cl, "BEGIN LIST CLIENT %s\n", argv[2]);
    struct client_line cli = {cl, argv[2]};
    nutf_clients(argv[2], say_client, &cli);
    say(cl, "END LIST CLIENT %s\n", argv[2]);
    sv_snap_free(&s);
  } else
    ERR(cl, "INVALID-ARGUMENT");
}

/* GET TYPE: as upsd, RW first, then ENUM / RANGE / STRING:n / NUMBER. */
static void get_type(struct nut_client *cl, const struct sv_snap *s,
                     const struct dev_var *v, size_t k) {
  char t[64] = "";
  if (v->access == DA_RW) strcat(t, " RW");
  if (v->access == DA_RW && v->nenums)
    strcat(t, " ENUM");
  else if (v->access == DA_RW && v->has_min && v->has_max)
    strcat(t, " RANGE");
  if (s->vals[k].kind == DV_STR && !(v->access == DA_RW && v->nenums))
    snprintf(t + strlen(t), sizeof t - strlen(t), " STRING:%zu",
             sizeof s->vals[k].str - 1);
  else if (s->vals[k].kind == DV_NUM)
    strcat(t, " NUMBER");
  say(cl, "TYPE %s %s%s\n", s->name, v->name, t);
}

static void get_cmddesc(struct nut_client *cl, struct sv_snap *s,
                        const char *name) {
  const struct dev_cmd *c = s->map ? dev_map_cmd(s->map, name) : NULL;
  char q[600];
  if (!c)
    ERR(cl, "CMD-NOT-SUPPORTED");
  else
    say(cl, "CMDDESC %s %s \"%s\"\n", s->name, name,
        quote(c->desc ? c->desc : "Description unavailable", q, sizeof q));
}

/* GET VAR / TYPE / DESC on ups var. */
static void get_var(struct nut_client *cl, const char *what, struct sv_snap *s,
                    const char *name) {
  size_t k;
  char q[600];
  const struct dev_var *v = var_of(s, name, &k);
  if (!v)
    ERR(cl, "VAR-NOT-SUPPORTED");
  else if (strcmp(what, "VAR") == 0) {
    value_text(s, k, q, sizeof q);
    say(cl, "VAR %s %s \"%s\"\n", s->name, name, q);
  } else if (strcmp(what, "TYPE") == 0)
    get_type(cl, s, v, k);
  else
    say(cl, "DESC %s %s \"%s\"\n", s->name, name,
        quote(v->desc && *v->desc ? v->desc : "Description unavailable", q,
              sizeof q));
}

static void do_get(struct nut_client *cl, int argc, char **argv) {
  struct sv_snap s;
  char q[600];
  const char *what = argc > 1 ? argv[1] : "";
  int per_var = strcmp(what, "VAR") == 0 || strcmp(what, "TYPE") == 0 ||
                strcmp(what, "DESC") == 0 || strcmp(what, "CMDDESC") == 0;
  if (argc != (per_var ? 4 : 3)) { /* CMDDESC names its command too */
    ERR(cl, "INVALID-ARGUMENT");
    return;
  }
  if (!per_var && strcmp(what, "UPSDESC") && strcmp(what, "NUMLOGINS")) {
    ERR(cl, "INVALID-ARGUMENT");
    return;
  }
  int cmddesc = strcmp(what, "CMDDESC") == 0;
  if (get_ups(cl, argv[2], &s, per_var && !cmddesc) < 0) return;
  if (cmddesc)
    get_cmddesc(cl, &s, argv[3]);
  else if (per_var)
    get_var(cl, what, &s, argv[3]);
  else if (strcmp(what, "UPSDESC") == 0)
    say(cl, "UPSDESC %s \"%s\"\n", s.name,
        quote(s.map && s.map->desc ? s.map->desc : "ohm device", q, sizeof q));
  else
    say(cl, "NUMLOGINS %s %d\n", s.name, nutf_numlogins(s.name));
  sv_snap_free(&s);
}

static int stop_of(void *ctx) {
  struct nut_client *cl = ctx;
  return cl->conn && ls_stopping(cl->conn);
}

/* Username and password given and right (g filled, 0); else the error
 * is sent (-1). */
static int need_user(struct nut_client *cl, struct nut_grant *g) {
  if (!cl->user) {
    ERR(cl, "USERNAME-REQUIRED");
    return -1;
  }
  if (!cl->pass) {
    ERR(cl, "PASSWORD-REQUIRED");
    return -1;
  }
  /* a client already logged in is not held up by others' failures */
  if (!cl->authed && lg_before("NUT", cl->addr, stop_of, cl) < 0) {
    ERR(cl, "ACCESS-DENIED"); /* locked out: not even checked */
    return -1;
  }
  if (nutu_auth(cl->user, cl->pass, g) == 0) {
    if (!cl->authed) lg_ok(cl->addr);
    cl->authed = 1;
    return 0;
  }
  lg_failed("NUT", cl->addr, cl->user, stop_of, cl);
  ERR(cl, "ACCESS-DENIED");
  return -1;
}

static const char *write_err(int code, int is_set) {
  switch (code) {
  case OHM_EACCES:
    return "READONLY";
  case OHM_ENOENT:
    return is_set ? "VAR-NOT-SUPPORTED" : "CMD-NOT-SUPPORTED";
  case OHM_EINVAL:
  case OHM_ERANGE:
    return "INVALID-VALUE";
  case OHM_ENOTSUP:
    return is_set ? "SET-FAILED" : "CMD-NOT-SUPPORTED";
  default:
    return is_set ? "SET-FAILED" : "INSTCMD-FAILED";
  }
}

/* A value for v as NUT clients may write it: a number is decimal only
 * ("0x10", "1e3", "inf" are refused), a state is its text or a number. */
static int value_ok(const struct dev_var *v, const char *text) {
  double x;
  if (v->type == DT_STRING) return 1;
  for (size_t i = 0; v->type == DT_ENUM && i < v->nenums; i++)
    if (strcmp(v->enums[i].text, text) == 0) return 1;
  return ls_decimal(text, &x) == 0;
}

/* SET VAR ups var "value". */
static void do_set(struct nut_client *cl, int argc, char **argv) {
  struct nut_grant g, *u = &g;
  struct sv_snap s;
  struct ohm_error e;
  if (argc != 5 || strcmp(argv[1], "VAR")) {
    ERR(cl, "INVALID-ARGUMENT");
    return;
  }
  if (need_user(cl, u) < 0) return;
  if (!u->can_set) {
    ERR(cl, "ACCESS-DENIED");
    return;
  }
  if (get_ups(cl, argv[2], &s, 0) < 0) return;
  const struct dev_var *v = s.map ? dev_map_var(s.map, argv[3]) : NULL;
  int ro = v && v->access != DA_RW, bad = v && !value_ok(v, argv[4]);
  sv_snap_free(&s);
  if (!v || ro || bad) {
    ERR(cl, !v ? "VAR-NOT-SUPPORTED" : ro ? "READONLY" : "INVALID-VALUE");
    return;
  }
  int rc = sv_cache_set(nut.c, argv[2], argv[3], argv[4], &e);
  if (rc < 0)
    ERR(cl, write_err(rc, 1));
  else
    say(cl, "OK\n");
}

/* INSTCMD ups cmd [value]. */
static void do_instcmd(struct nut_client *cl, int argc, char **argv) {
  struct nut_grant g, *u = &g;
  struct sv_snap s;
  struct ohm_error e;
  if (argc != 3 && argc != 4) {
    ERR(cl, "INVALID-ARGUMENT");
    return;
  }
  if (need_user(cl, u) < 0) return;
  if (get_ups(cl, argv[1], &s, 0) < 0) return;
  const struct dev_cmd *c = s.map ? dev_map_cmd(s.map, argv[2]) : NULL;
  sv_snap_free(&s);
  if (!c) {
    ERR(cl, "CMD-NOT-SUPPORTED");
    return;
  }
  if (!nutu_may_instcmd(u, argv[2])) {
    ERR(cl, "ACCESS-DENIED");
    return;
  }
  int rc = sv_cache_cmd(nut.c, argv[1], argv[2], &e);
  if (rc < 0)
    ERR(cl, write_err(rc, 0));
  else
    say(cl, "OK\n");
}

/* USERNAME / PASSWORD: once each per connection, as upsd. */
static void do_cred(struct nut_client *cl, char **slot, int argc, char **argv,
                    const char *again) {
  if (argc != 2)
    ERR(cl, "INVALID-ARGUMENT");
  else if (*slot)
    ERR(cl, again);
  else if (!(*slot = strdup(argv[1])))
    ERR(cl, "INVALID-ARGUMENT");
  else
    say(cl, "OK\n");
}

/* LOGIN / PRIMARY / MASTER ups. */
static void do_login(struct nut_client *cl, int argc, char **argv) {
  struct sv_snap s;
  if (argc != 2) {
    ERR(cl, "INVALID-ARGUMENT");
    return;
  }
  if (strcmp(argv[0], "LOGIN") == 0 && cl->login[0]) {
    ERR(cl, "ALREADY-LOGGED-IN");
    return;
  }
  struct nut_grant g;
  if (need_user(cl, &g) < 0 || get_ups(cl, argv[1], &s, 0) < 0) return;
  sv_snap_free(&s);
  if (strcmp(argv[0], "LOGIN") == 0) {
    snprintf(cl->login, sizeof cl->login, "%s", argv[1]);
    cl->login_id = nutf_login(argv[1], cl->addr);
    say(cl, "OK\n");
  } else if (!g.primary) {
    ERR(cl, "ACCESS-DENIED"); /* only upsmon = "primary" users, as upsd */
  } else {
    cl->primary = 1;
    say(cl, "OK %s-GRANTED\n", argv[0]);
  }
}

/* FSD ups: a primary's forced shutdown, latched (secondaries see FSD in
 * ups.status and shut down first). */
static void do_fsd(struct nut_client *cl, int argc, char **argv) {
  struct sv_snap s;
  if (argc != 2) {
    ERR(cl, "INVALID-ARGUMENT");
    return;
  }
  if (!cl->primary) {
    ERR(cl, "ACCESS-DENIED");
    return;
  }
  if (get_ups(cl, argv[1], &s, 0) < 0) return;
  sv_snap_free(&s);
  nutf_set_fsd(argv[1]);
  say(cl, "OK FSD-SET\n");
}

/* One request line; returns 0 to go on, -1 to close (LOGOUT). */
static int handle_line(struct nut_client *cl, char *line) {
  char *argv[NUT_ARGS_MAX];
  int argc = split(line, argv, NUT_ARGS_MAX);
  if (argc <= 0) {
    if (argc < 0) ERR(cl, "INVALID-ARGUMENT");
    return 0;
  }
  const char *c = argv[0];
  if (strcmp(c, "VER") == 0)
    say(cl, "Network UPS Tools upsd 2.8.0 - ohm NUT server\n");
  else if (strcmp(c, "NETVER") == 0 || strcmp(c, "PROTVER") == 0)
    say(cl, "1.3\n");
  else if (strcmp(c, "HELP") == 0)
    say(cl, "Commands: HELP VER GET LIST SET INSTCMD LOGIN LOGOUT "
            "USERNAME PASSWORD STARTTLS\n");
  else if (strcmp(c, "LIST") == 0)
    do_list(cl, argc, argv);
  else if (strcmp(c, "GET") == 0)
    do_get(cl, argc, argv);
  else if (strcmp(c, "SET") == 0)
    do_set(cl, argc, argv);
  else if (strcmp(c, "INSTCMD") == 0)
    do_instcmd(cl, argc, argv);
  else if (strcmp(c, "USERNAME") == 0)
    do_cred(cl, &cl->user, argc, argv, "ALREADY-SET-USERNAME");
  else if (strcmp(c, "PASSWORD") == 0)
    do_cred(cl, &cl->pass, argc, argv, "ALREADY-SET-PASSWORD");
  else if (!strcmp(c, "LOGIN") || !strcmp(c, "PRIMARY") || !strcmp(c, "MASTER"))
    do_login(cl, argc, argv);
  else if (strcmp(c, "STARTTLS") == 0)
    ERR(cl, "FEATURE-NOT-CONFIGURED");
  else if (strcmp(c, "FSD") == 0)
    do_fsd(cl, argc, argv);
  else if (strcmp(c, "LOGOUT") == 0) {
    say(cl, "OK Goodbye\n");
    return -1;
  } else
    ERR(cl, "UNKNOWN-COMMAND");
  return 0;
}

/* ---- connections ---- */

/* When the next bytes must have come: a line begun (its first byte at
 * begun) NUT_LINE_MS after that; else, before login, NUT_FIRST_MS after
 * connecting and NUT_IDLE_MS after each request; logged in, never. */
static long long next_deadline(const struct nut_client *cl, size_t pending,
                               long long begun, long long last, int first) {
  if (pending) return begun + NUT_LINE_MS;
  if (cl->authed) return LS_FOREVER;
  return last + (first ? NUT_FIRST_MS : NUT_IDLE_MS);
}

/* Handle the complete lines in in[0..*n): -1 to close. */
static int take_lines(struct nut_client *cl, char *in, size_t *n) {
  char *line;
  size_t used;
  for (;;) {
    int r = ls_line_next(in, *n, NUT_LINE_MAX, &line, &used);
    if (r == LS_LINE_MORE) return 0;
    if (r == LS_LINE_LONG) {
      ERR(cl, "TOO-LONG");
      flush(cl);
      return -1;
    }
    int quit = r == LS_LINE_OK ? handle_line(cl, line) < 0 : 0;
    if (r == LS_LINE_BAD) ERR(cl, "INVALID-ARGUMENT"); /* NUL, control byte */
    flush(cl);
    memmove(in, in + used, *n - used);
    *n -= used;
    if (quit || cl->dead || (cl->conn && ls_stopping(cl->conn))) return -1;
  }
}

static void client_free(struct nut_client *cl) {
  nutf_logout(cl->login_id);
  free(cl->user);
  if (cl->pass) memset(cl->pass, 0, strlen(cl->pass));
  free(cl->pass);
  free(cl->out);
}

static void client_serve(struct ls_conn *conn, void *ctx) {
  struct nut_client cl = {.conn = conn, .addr = conn->addr, .login_id = -1};
  char in[NUT_LINE_MAX];
  size_t n = 0;
  long long begun = 0, last = ls_now_ms();
  int first = 1;
  (void)ctx;
  for (;;) {
    long long dl = next_deadline(&cl, n, begun, last, first);
    ssize_t k = ls_recv(conn, in + n, sizeof in - n, dl);
    if (k <= 0) break; /* closed, too slow, or stopping */
    if (n == 0) begun = ls_now_ms();
    size_t had = n;
    n += (size_t)k;
    if (take_lines(&cl, in, &n) < 0) break;
    if (n < had + (size_t)k) { /* at least one line done */
      first = 0;
      last = begun = ls_now_ms();
    }
  }
  client_free(&cl);
}

size_t serve_nut_feed(struct sv_cache *c, char *in, size_t n, char **reply) {
  struct nut_client cl = {.addr = "fuzz", .login_id = -1};
  nut.c = c;
  take_lines(&cl, in, &n);
  *reply = cl.out;
  cl.out = NULL;
  size_t len = cl.nout;
  client_free(&cl);
  return len;
}

int serve_nut_start(struct sv_cache *c, const char *addr,
                    const struct sh_opts *o, struct ohm_error *e) {
  struct ls_conf conf = {.name = "NUT",
                         .max_total = NUT_MAX_CLIENTS,
                         .max_per_addr = NUT_MAX_PER_ADDR,
                         .busy = "ERR ACCESS-DENIED\n",
                         .serve = client_serve};
  nut.c = c;
  struct inventory *inv = sh_inventory(o, e);
  if (!inv || nutu_load(inv, e) < 0) return e->code ? e->code : OHM_ECONFIG;
  int rc = ls_start(addr, &conf, &nut.ls, e);
  if (rc < 0) serve_nut_stop();
  return rc;
}

void serve_nut_stop(void) {
  /* Waits for every client: the caller frees the cache next. Each ends
   * soon: its socket is shut down, and a device write in progress ends
   * by the device's timeout. */
  ls_stop(nut.ls);
  nut.ls = NULL;
  nutu_free();
}
