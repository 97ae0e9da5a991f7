/* `ohm serve --nut ADDR`: NUT's network protocol (RFC 9271, NUT's
 * docs/net-protocol.txt) over the polling cache, so upsc, upsrw, upscmd,
 * upsmon and every NUT client read ohm's devices as UPSes.
 *
 * Access control as upsd: reading needs nothing; SET VAR and INSTCMD need
 * USERNAME and PASSWORD of a user the inventory grants it:
 *   nut = { users = { admin = { password = "...", actions = {"set"},
 *                               instcmds = {"all"} } } }
 * No users: read-only. One thread per client, at most NUT_MAX_CLIENTS. */
#include <errno.h>
#include <lauxlib.h>
#include <lua.h>
#include <poll.h>
#include <pthread.h>
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

#define NUT_MAX_CLIENTS 64
#define NUT_LINE_MAX 1024
#define NUT_ARGS_MAX 8

struct nut_user {
  char *name, *password;
  int can_set;
  int primary;    /* upsmon = "primary": may PRIMARY/MASTER and FSD */
  char *instcmds; /* " a b c " or " all " */
};

static struct {
  struct sv_cache *c;
  int fd, stop_pipe[2];
  pthread_t thread;
  int running;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int clients[NUT_MAX_CLIENTS]; /* fds, -1 free */
  int nclients;
  int stopping; /* under mu: clients handle no further line */
  struct nut_user *users;
  size_t nusers;
} nut = {
    .fd = -1, .mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

static pthread_rwlock_t users_lock = PTHREAD_RWLOCK_INITIALIZER;

struct nut_client {
  int fd;
  FILE *in;
  char *user, *pass;
  char login[128]; /* UPS after LOGIN, "" if none */
  int dead;        /* a reply could not be sent: close */
  int login_id;    /* nutf_login's, -1 if none */
  int primary;     /* did PRIMARY / MASTER */
  char addr[64];   /* the client's address, for LIST CLIENT */
};

/* ---- users from the inventory's `nut.users` table ---- */

/* A string or an array of strings at idx as " a b c " into buf. Called
 * under inv_call: a metamethod may raise, so nothing here is allocated. */
static void list_of(lua_State *L, int idx, char *buf, size_t size) {
  snprintf(buf, size, " ");
  if (lua_type(L, idx) == LUA_TSTRING) {
    snprintf(buf, size, " %s ", lua_tostring(L, idx));
    return;
  }
  for (lua_Integer k = 1;
       lua_istable(L, idx) && lua_geti(L, idx, k) == LUA_TSTRING; k++) {
    size_t n = strlen(buf);
    snprintf(buf + n, size - n, "%s ", lua_tostring(L, -1));
    lua_pop(L, 1);
  }
  if (lua_istable(L, idx)) lua_pop(L, 1);
}

/* Every Lua access first (they may raise), then the copies. */
static void load_user(lua_State *L, const char *name) {
  char acts[2048], cmds[2048];
  lua_getfield(L, -1, "password");
  lua_getfield(L, -2, "actions");
  list_of(L, lua_gettop(L), acts, sizeof acts);
  lua_getfield(L, -3, "instcmds");
  list_of(L, lua_gettop(L), cmds, sizeof cmds);
  lua_getfield(L, -4, "upsmon"); /* "primary" (or "master") may set FSD */
  const char *mon = lua_isstring(L, -1) ? lua_tostring(L, -1) : "";
  int primary = !strcmp(mon, "primary") || !strcmp(mon, "master");
  lua_pop(L, 1);
  const char *pw = lua_isstring(L, -3) ? lua_tostring(L, -3) : NULL;
  struct nut_user *u = realloc(nut.users, (nut.nusers + 1) * sizeof *u);
  if (u) nut.users = u;
  if (!u || !pw) {
    lua_pop(L, 3);
    return;
  }
  u = &nut.users[nut.nusers];
  memset(u, 0, sizeof *u);
  u->password = strdup(pw);
  u->can_set = strcasestr(acts, " set ") != NULL;
  u->primary = primary;
  u->instcmds = strdup(cmds);
  u->name = strdup(name);
  lua_pop(L, 3);
  if (u->name && u->password && u->instcmds)
    nut.nusers++;
  else {
    free(u->name);
    free(u->password);
    free(u->instcmds);
  }
}

static void free_users(void);

static int read_users(lua_State *L, void *ud) {
  (void)ud;
  if (lua_getglobal(L, "nut") == LUA_TTABLE &&
      lua_getfield(L, -1, "users") == LUA_TTABLE) {
    lua_pushnil(L);
    while (lua_next(L, -2)) {
      if (lua_type(L, -2) == LUA_TSTRING && lua_istable(L, -1))
        load_user(L, lua_tostring(L, -2));
      lua_pop(L, 1);
    }
  }
  return 0;
}

/* Replace the users by inv's `nut.users` (under the users lock); on an
 * error in the config, none (no login until it is fixed). */
static int load_users(struct inventory *inv, struct ohm_error *e) {
  pthread_rwlock_wrlock(&users_lock);
  free_users();
  int rc = inv_call(inv, read_users, NULL, e);
  if (rc < 0) free_users();
  pthread_rwlock_unlock(&users_lock);
  return rc;
}

void serve_nut_reload(struct inventory *inv) {
  struct ohm_error e;
  if (nut.fd >= 0 && load_users(inv, &e) < 0)
    serve_log("reload: NUT users: %s", ohm_error_text(&e));
}

static void free_users(void) {
  for (size_t i = 0; i < nut.nusers; i++) {
    free(nut.users[i].name);
    if (nut.users[i].password)
      memset(nut.users[i].password, 0, strlen(nut.users[i].password));
    free(nut.users[i].password);
    free(nut.users[i].instcmds);
  }
  free(nut.users);
  nut.users = NULL;
  nut.nusers = 0;
}

/* What the client's user may do, copied out under the users lock (a
 * SIGHUP may replace the users meanwhile). */
struct nut_grant {
  int can_set, primary;
  char instcmds[1024];
};

/* Fill g for the user whose name and password the client gave; -1 if
 * there is none. */
static int auth(const struct nut_client *cl, struct nut_grant *g) {
  int rc = -1;
  pthread_rwlock_rdlock(&users_lock);
  for (size_t i = 0; cl->user && cl->pass && i < nut.nusers; i++)
    if (strcmp(nut.users[i].name, cl->user) == 0) {
      if (strcmp(nut.users[i].password, cl->pass) == 0) {
        g->can_set = nut.users[i].can_set;
        g->primary = nut.users[i].primary;
        snprintf(g->instcmds, sizeof g->instcmds, "%s", nut.users[i].instcmds);
        rc = 0;
      }
      break;
    }
  pthread_rwlock_unlock(&users_lock);
  return rc;
}

static int may_instcmd(const struct nut_grant *u, const char *cmd) {
  char want[160];
  snprintf(want, sizeof want, " %s ", cmd);
  return strcasestr(u->instcmds, " all ") || strstr(u->instcmds, want);
}

/* ---- replies ---- */

static void say(struct nut_client *cl, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void say(struct nut_client *cl, const char *fmt, ...) {
  char buf[4096];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  if ((size_t)n >= sizeof buf) n = sizeof buf - 1;
  for (ssize_t off = 0, w; off < n && !cl->dead; off += w)
    if ((w = send(cl->fd, buf + off, (size_t)(n - off), MSG_NOSIGNAL)) <= 0)
      cl->dead = 1; /* gone, or not reading for SO_SNDTIMEO */
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

/* Commands this device's transport can carry (the map's `via`). */
static int cmd_listed(const struct sv_snap *s, const struct dev_cmd *c) {
  if (c->reg >= 0 || !c->via) return 1;
  return *s->scheme && strstr(c->via, s->scheme) != NULL;
}

static void list_cmds(struct nut_client *cl, const char *ups) {
  struct sv_snap s;
  if (get_ups(cl, ups, &s, 0) < 0) return;
  say(cl, "BEGIN LIST CMD %s\n", ups);
  for (size_t k = 0; s.map && k < s.map->ncmds; k++)
    if (cmd_listed(&s, &s.map->cmds[k]))
      say(cl, "CMD %s %s\n", ups, s.map->cmds[k].name);
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
                strcmp(what, "DESC") == 0;
  if (per_var ? argc != 4
              : (argc != 3 && !(argc == 4 && !strcmp(what, "CMDDESC")))) {
    ERR(cl, "INVALID-ARGUMENT");
    return;
  }
  if (!per_var && strcmp(what, "CMDDESC") && strcmp(what, "UPSDESC") &&
      strcmp(what, "NUMLOGINS")) {
    ERR(cl, "INVALID-ARGUMENT");
    return;
  }
  if (get_ups(cl, argv[2], &s, per_var) < 0) return;
  if (per_var)
    get_var(cl, what, &s, argv[3]);
  else if (strcmp(what, "CMDDESC") == 0)
    get_cmddesc(cl, &s, argv[3]);
  else if (strcmp(what, "UPSDESC") == 0)
    say(cl, "UPSDESC %s \"%s\"\n", s.name,
        quote(s.map && s.map->desc ? s.map->desc : "ohm device", q, sizeof q));
  else
    say(cl, "NUMLOGINS %s %d\n", s.name, nutf_numlogins(s.name));
  sv_snap_free(&s);
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
  if (auth(cl, g) == 0) return 0;
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
  int ro = v && v->access != DA_RW;
  sv_snap_free(&s);
  if (!v || ro) {
    ERR(cl, v ? "READONLY" : "VAR-NOT-SUPPORTED");
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
  if (!may_instcmd(u, argv[2])) {
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

static int client_add(int fd) {
  int slot = -1;
  pthread_mutex_lock(&nut.mu);
  for (int i = 0; i < NUT_MAX_CLIENTS && slot < 0; i++)
    if (nut.clients[i] < 0) nut.clients[slot = i] = fd;
  if (slot >= 0) nut.nclients++;
  pthread_mutex_unlock(&nut.mu);
  return slot;
}

static void client_del(int slot) {
  pthread_mutex_lock(&nut.mu);
  nut.clients[slot] = -1;
  nut.nclients--;
  pthread_cond_broadcast(&nut.cv);
  pthread_mutex_unlock(&nut.mu);
}

struct conn {
  int fd, slot;
};

static int stopping(void) {
  pthread_mutex_lock(&nut.mu);
  int s = nut.stopping;
  pthread_mutex_unlock(&nut.mu);
  return s;
}

static void *client_main(void *arg) {
  struct conn cn = *(struct conn *)arg;
  struct nut_client cl = {.fd = cn.fd, .login_id = -1};
  char line[NUT_LINE_MAX];
  free(arg);
  nutf_peer_addr(cn.fd, cl.addr, sizeof cl.addr);
  cl.in = fdopen(dup(cn.fd), "r");
  /* lines already buffered are dropped once stop begins */
  while (cl.in && fgets(line, sizeof line, cl.in) && !cl.dead && !stopping()) {
    size_t n = strlen(line);
    if (n && line[n - 1] != '\n' && n == sizeof line - 1) {
      ERR(&cl, "TOO-LONG");
      break;
    }
    line[strcspn(line, "\r\n")] = 0;
    if (handle_line(&cl, line) < 0) break;
  }
  if (cl.in) fclose(cl.in);
  nutf_logout(cl.login_id);
  free(cl.user);
  if (cl.pass) memset(cl.pass, 0, strlen(cl.pass));
  free(cl.pass);
  client_del(cn.slot);
  close(cn.fd);
  return NULL;
}

static void accept_one(void) {
  int fd = accept4(nut.fd, NULL, NULL, SOCK_CLOEXEC);
  struct timeval tv = {10, 0}; /* a client that does not read */
  if (fd < 0) {
    if (errno == EMFILE || errno == ENFILE || errno == ENOMEM)
      poll(NULL, 0, 100); /* out of descriptors: do not spin */
    return;
  }
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  int slot = client_add(fd);
  struct conn *cn = slot >= 0 ? malloc(sizeof *cn) : NULL;
  pthread_t t;
  pthread_attr_t a;
  if (!cn) {
    if (slot >= 0) client_del(slot);
    close(fd);
    return;
  }
  cn->fd = fd;
  cn->slot = slot;
  pthread_attr_init(&a);
  pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
  pthread_attr_setstacksize(&a, 256 * 1024);
  if (pthread_create(&t, &a, client_main, cn) != 0) {
    free(cn);
    client_del(slot);
    close(fd);
  }
  pthread_attr_destroy(&a);
}

static void *accept_main(void *arg) {
  struct pollfd p[2] = {{nut.fd, POLLIN, 0}, {nut.stop_pipe[0], POLLIN, 0}};
  (void)arg;
  for (;;) {
    if (poll(p, 2, -1) < 0 && errno != EINTR) break;
    if (p[1].revents) break;
    if (p[0].revents & POLLIN) accept_one();
  }
  return NULL;
}

int serve_nut_start(struct sv_cache *c, const char *addr,
                    const struct sh_opts *o, struct ohm_error *e) {
  for (int i = 0; i < NUT_MAX_CLIENTS; i++)
    nut.clients[i] = -1;
  nut.c = c;
  struct inventory *inv = sh_inventory(o, e);
  if (!inv || load_users(inv, e) < 0) return e->code ? e->code : OHM_ECONFIG;
  if ((nut.fd = serve_listen(addr, e)) < 0) return nut.fd;
  if (pipe(nut.stop_pipe) < 0) {
    close(nut.fd);
    nut.fd = -1;
    return ohm_error_set(e, OHM_EIO, "pipe: %s", strerror(errno));
  }
  if (pthread_create(&nut.thread, NULL, accept_main, NULL) != 0) {
    serve_nut_stop();
    return ohm_error_set(e, OHM_ENOMEM, "cannot start the NUT listener");
  }
  nut.running = 1;
  return 0;
}

void serve_nut_stop(void) {
  if (nut.fd < 0) return;
  if (nut.running) {
    if (write(nut.stop_pipe[1], "x", 1) < 0) {
      /* the listener then stops at exit anyway */
    }
    pthread_join(nut.thread, NULL);
    nut.running = 0;
  }
  /* Wait for every client: the caller frees the cache next. Each ends
   * soon: its socket is shut down, and a device write in progress ends
   * by the device's timeout. */
  pthread_mutex_lock(&nut.mu);
  nut.stopping = 1;
  for (int i = 0; i < NUT_MAX_CLIENTS; i++)
    if (nut.clients[i] >= 0) shutdown(nut.clients[i], SHUT_RDWR);
  while (nut.nclients > 0)
    pthread_cond_wait(&nut.cv, &nut.mu);
  nut.stopping = 0;
  pthread_mutex_unlock(&nut.mu);
  if (nut.fd >= 0) {
    close(nut.fd);
    close(nut.stop_pipe[0]);
    close(nut.stop_pipe[1]);
    nut.fd = -1;
  }
  pthread_rwlock_wrlock(&users_lock);
  free_users();
  pthread_rwlock_unlock(&users_lock);
}
