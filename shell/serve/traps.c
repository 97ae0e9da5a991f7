/* `ohm serve --traps ADDR`: SNMP v1 and v2c traps in (a UDP socket and a
 * small BER reader: a trap is one datagram, and reading it needs none of
 * net-snmp's session machinery), and v2c informs, v3 traps and informs
 * through
 * net-snmp's usm (traps_v3.c) with the inventory's snmp_users; a v3
 * message usm rejects is logged with the user's name, never a key. A
 * trap's source address names the
 * device (the inventory device whose URI has that host, else the address
 * itself); its OID and varbinds go to the rules as event TRAP with
 * ev.trap, its kind and varbinds named by the `traps` section of the
 * device's map (or of the map that declares the trap's OID: cps-bm100's
 * names a BM100's 600-605, event id, text, string and battery index). */
#include <arpa/inet.h>
#include <lua.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../serve.h"
#include "listen.h"
#include "rules.h"
#include "serve_rules.h"
#include "traps_v3.h"

#define TR_MAX 32 /* fields kept from one trap */

struct tr_field {
  char name[128], text[256]; /* name: a varbind's OID until named */
  unsigned char num;
};

struct tr_trap {
  struct tr_field f[TR_MAX];
  size_t n;
};

/* One TLV at *p (< end): tag, value start and length; advances *p. */
static int ber_tlv(const unsigned char **p, const unsigned char *end, int *tag,
                   const unsigned char **val, size_t *len) {
  const unsigned char *q = *p;
  if (end - q < 2) return -1;
  *tag = *q++;
  size_t l = *q++;
  if (l & 0x80) {
    int k = (int)(l & 0x7f);
    if (k < 1 || k > 3 || end - q < k) return -1;
    for (l = 0; k-- > 0;)
      l = (l << 8) | *q++;
  }
  if ((size_t)(end - q) < l) return -1;
  *val = q;
  *len = l;
  *p = q + l;
  return 0;
}

static long long ber_int(const unsigned char *v, size_t n) {
  long long x = n && (v[0] & 0x80) ? -1 : 0;
  for (size_t i = 0; i < n && i < 8; i++)
    x = (long long)((unsigned long long)x << 8) | v[i];
  return x;
}

static void ber_oid(const unsigned char *v, size_t n, char *out, size_t cap) {
  size_t o = 0;
  unsigned long long x = 0;
  out[0] = 0;
  for (size_t i = 0; i < n && o + 24 < cap; i++) {
    x = (x << 7) | (v[i] & 0x7f);
    if (v[i] & 0x80) continue;
    if (o == 0)
      o += (size_t)snprintf(out, cap, "%llu.%llu", x < 80 ? x / 40 : 2,
                            x < 80 ? x % 40 : x - 80);
    else
      o += (size_t)snprintf(out + o, cap - o, ".%llu", x);
    x = 0;
  }
}

/* A value as text; num set for the numeric types. */
static void ber_value(int tag, const unsigned char *v, size_t n, char *out,
                      size_t cap, unsigned char *num) {
  *num =
      tag == 0x02 || tag == 0x41 || tag == 0x42 || tag == 0x43 || tag == 0x46;
  if (*num) {
    snprintf(out, cap, "%lld", ber_int(v, n));
  } else if (tag == 0x06) {
    ber_oid(v, n, out, cap);
  } else if (tag == 0x40 && n == 4) {
    snprintf(out, cap, "%u.%u.%u.%u", v[0], v[1], v[2], v[3]);
  } else if (tag == 0x04) {
    size_t k = n < cap - 1 ? n : cap - 1;
    for (size_t i = 0; i < k; i++)
      out[i] = v[i] >= 0x20 && v[i] < 0x7f ? (char)v[i] : '?';
    out[k] = 0;
  } else {
    out[0] = 0;
  }
}

static void tr_add(struct tr_trap *t, const char *name, const char *text,
                   int num) {
  if (t->n >= TR_MAX) return;
  snprintf(t->f[t->n].name, sizeof t->f[t->n].name, "%.127s", name);
  snprintf(t->f[t->n].text, sizeof t->f[t->n].text, "%.255s", text);
  t->f[t->n++].num = (unsigned char)num;
}

/* One varbind, the trap's own OIDs named; the device's varbinds keep
 * their OID until tr_name_fields names them from its map. */
static void tr_add_vb(void *ctx, const char *oid, const char *text, int num) {
  const char *name = NULL;
  if (!strcmp(oid, "1.3.6.1.6.3.1.1.4.1.0")) name = "oid";
  if (!strcmp(oid, "1.3.6.1.2.1.1.3.0")) name = "uptime";
  tr_add(ctx, name ? name : oid, text, num);
}

static int tr_varbinds(const unsigned char *p, const unsigned char *end,
                       struct tr_trap *t) {
  while (p < end) {
    const unsigned char *vb, *v, *q;
    size_t vbl, l;
    int tag;
    char oid[256], text[256];
    unsigned char num;
    if (ber_tlv(&p, end, &tag, &vb, &vbl) < 0 || tag != 0x30) return -1;
    q = vb;
    if (ber_tlv(&q, vb + vbl, &tag, &v, &l) < 0 || tag != 0x06) return -1;
    ber_oid(v, l, oid, sizeof oid);
    if (ber_tlv(&q, vb + vbl, &tag, &v, &l) < 0) return -1;
    ber_value(tag, v, l, text, sizeof text, &num);
    tr_add_vb(t, oid, text, num);
  }
  return 0;
}

/* An SNMPv3 message? Its user name (msgUserName, RFC 3414) into user. */
static int tr_is_v3(const unsigned char *buf, size_t n, char *user,
                    size_t cap) {
  const unsigned char *p = buf, *end = buf + n, *v, *sp;
  size_t l, spl;
  int tag;
  user[0] = 0;
  if (ber_tlv(&p, end, &tag, &v, &l) < 0 || tag != 0x30) return 0;
  p = v, end = v + l;
  if (ber_tlv(&p, end, &tag, &v, &l) < 0 || tag != 0x02 || ber_int(v, l) != 3)
    return 0;
  if (ber_tlv(&p, end, &tag, &v, &l) < 0 || tag != 0x30 || /* header */
      ber_tlv(&p, end, &tag, &sp, &spl) < 0 || tag != 0x04)
    return 1;
  const unsigned char *q = sp;
  if (ber_tlv(&q, sp + spl, &tag, &v, &l) < 0 || tag != 0x30) return 1;
  const unsigned char *u = v, *ue = v + l;
  for (int i = 0; i < 4; i++) /* engine id, boots, time, user */
    if (ber_tlv(&u, ue, &tag, &v, &l) < 0) return 1;
  if (tag == 0x04) ber_value(tag, v, l, user, cap, &(unsigned char){0});
  return 1;
}

/* Version, community (checked only for being there) and the PDU: 0, 1
 * for a v2c inform (answered through net-snmp), or -1. */
static int tr_parse(const unsigned char *buf, size_t n, struct tr_trap *t) {
  const unsigned char *p = buf, *end = buf + n, *v, *pdu;
  size_t l, pl;
  int tag;
  if (ber_tlv(&p, end, &tag, &v, &l) < 0 || tag != 0x30) return -1;
  p = v;
  end = v + l;
  if (ber_tlv(&p, end, &tag, &v, &l) < 0 || tag != 0x02) return -1;
  long long version = ber_int(v, l);
  if (ber_tlv(&p, end, &tag, &v, &l) < 0 || tag != 0x04) return -1;
  if (ber_tlv(&p, end, &tag, &pdu, &pl) < 0) return -1;
  tr_add(t, "version", version == 0 ? "1" : "2c", 0);
  const unsigned char *q = pdu, *qe = pdu + pl;
  char text[256];
  unsigned char num;
  if (tag == 0xa4 && version == 0) { /* v1: enterprise, agent, generic... */
    static const char *const names[] = {"enterprise", "agent", "generic",
                                        "specific", "uptime"};
    for (int i = 0; i < 5; i++) {
      if (ber_tlv(&q, qe, &tag, &v, &l) < 0) return -1;
      ber_value(tag, v, l, text, sizeof text, &num);
      tr_add(t, names[i], text, num);
    }
  } else if (tag == 0xa6 && version == 1) {
    return 1; /* a v2c inform: net-snmp answers it (traps_v3.c) */
  } else if (tag == 0xa7 && version == 1) { /* v2c: id, status, index */
    for (int i = 0; i < 3; i++)
      if (ber_tlv(&q, qe, &tag, &v, &l) < 0) return -1;
  } else {
    return -1;
  }
  if (ber_tlv(&q, qe, &tag, &v, &l) < 0 || tag != 0x30) return -1;
  return tr_varbinds(v, v + l, t);
}

static const char *tr_field(const struct tr_trap *t, const char *name) {
  for (size_t i = 0; i < t->n; i++)
    if (!strcmp(t->f[i].name, name)) return t->f[i].text;
  return NULL;
}

/* The trap OID of either version (RFC 3584 for v1). */
static void tr_normalise(struct tr_trap *t) {
  const char *ent = tr_field(t, "enterprise"), *spec = tr_field(t, "specific");
  char oid[300];
  if (ent && spec && !tr_field(t, "oid")) {
    snprintf(oid, sizeof oid, "%s.0.%s", ent, spec);
    tr_add(t, "oid", oid, 0);
  }
}

/* Map m (its `traps` section holds oid) fits: 1 with trap number *n. */
static int tr_map_fits(const char *drv, const char *oid,
                       const struct dev_map **m, long *n) {
  struct ohm_error e;
  return dev_driver_find(drv, m, &e) == 0 && dev_map_trap_number(*m, oid, n);
}

/* The map that names trap oid: the source device's (drv, its inventory
 * driver, may be NULL), else the first user then built-in map whose
 * `traps` declares the OID; NULL if none. */
static const struct dev_map *tr_map(const char *drv, const char *oid, long *n) {
  const struct dev_map *m = NULL;
  size_t nu;
  char **user;
  int hit = 0;
  if (drv && tr_map_fits(drv, oid, &m, n)) return m;
  user = dev_driver_user(&nu);
  for (size_t i = 0; user && i < nu && !hit; i++)
    hit = tr_map_fits(user[i], oid, &m, n);
  dev_driver_user_free(user);
  if (hit) return m;
  for (const char *const *b = dev_driver_builtin(); *b; b++)
    if (tr_map_fits(*b, oid, &m, n)) return m;
  return NULL;
}

/* The trap's number, kind and varbinds named as its device's map says. */
static void tr_name_fields(struct tr_trap *t, const char *drv) {
  const char *o = tr_field(t, "oid"), *kind, *name;
  const struct dev_map *m;
  char num[32];
  long n;
  if (!o || !(m = tr_map(drv, o, &n))) return;
  for (size_t i = 0; i < t->n; i++)
    if ((name = dev_map_trap_varbind(m, t->f[i].name)))
      snprintf(t->f[i].name, sizeof t->f[i].name, "%s", name);
  if (!tr_field(t, "specific")) {
    snprintf(num, sizeof num, "%ld", n);
    tr_add(t, "specific", num, 1);
  }
  if ((kind = dev_map_trap_kind(m, n))) tr_add(t, "kind", kind, 0);
}

struct tr_state {
  int fd;
  struct rules *r; /* r and inv under mu: a reload swaps them */
  pthread_mutex_t mu;
  const struct inventory *inv;
  pthread_t thread;
  volatile int stop;
};

static struct tr_state tr;

/* The inventory device whose URI's host is ip (its driver in *drv),
 * else ip itself. */
static const char *tr_device(const char *ip, const char **drv) {
  *drv = NULL;
  for (size_t i = 0; tr.inv && i < tr.inv->ndevs; i++) {
    struct ohm_uri u;
    const struct inv_device *d = &tr.inv->devs[i];
    if (!d->uri || ohm_uri_parse(d->uri, &u, NULL) < 0) continue;
    int hit = u.host && !strcmp(u.host, ip);
    ohm_uri_free(&u);
    if (hit) return *drv = d->driver, d->name;
  }
  return ip;
}

/* A v3 message (or a v2c inform) through net-snmp: 0 when delivered
 * into t. */
static int tr_handle_v3(const unsigned char *buf, size_t n,
                        const struct sockaddr *from, socklen_t fl,
                        const char *ip, struct tr_trap *t) {
  char user[64], why[160];
  tr_is_v3(buf, n, user, sizeof user);
  if (trv3_read(buf, n, from, fl, tr_add_vb, t, why, sizeof why)) return 0;
  if (why[0]) /* the user's name, never a key */
    serve_log("traps: SNMPv3 message from %s, user '%s', rejected (%s)", ip,
              user, why);
  return -1;
}

static void tr_handle(const unsigned char *buf, size_t n,
                      const struct sockaddr *from, socklen_t fl,
                      const char *ip) {
  struct tr_trap t = {.n = 0};
  char user[64];
  int rc = tr_is_v3(buf, n, user, sizeof user) ? 1 : tr_parse(buf, n, &t);
  if (rc < 0) return; /* not a trap: dropped */
  if (rc == 1 && tr_handle_v3(buf, n, from, fl, ip, &t) < 0) return;
  tr_normalise(&t);
  pthread_mutex_lock(&tr.mu);
  const char *drv, *dev = tr_device(ip, &drv);
  tr_name_fields(&t, drv);
  tr_add(&t, "source", ip, 0);
  const char *names[TR_MAX], *texts[TR_MAX];
  unsigned char isnum[TR_MAX];
  for (size_t i = 0; i < t.n; i++) {
    names[i] = t.f[i].name;
    texts[i] = t.f[i].text;
    isnum[i] = t.f[i].num;
  }
  rules_trap(tr.r, dev, "TRAP", t.n, names, texts, isnum);
  pthread_mutex_unlock(&tr.mu);
}

void serve_traps_swap(struct rules *r, const struct inventory *inv) {
  if (tr.fd <= 0) return;
  pthread_mutex_lock(&tr.mu);
  tr.r = r;
  tr.inv = inv;
  pthread_mutex_unlock(&tr.mu);
}

static void *tr_main(void *arg) {
  unsigned char buf[65536];
  (void)arg;
  while (!tr.stop) {
    struct pollfd pfd = {tr.fd, POLLIN, 0};
    if (poll(&pfd, 1, 200) <= 0) continue;
    struct sockaddr_storage from;
    socklen_t fl = sizeof from;
    ssize_t k =
        recvfrom(tr.fd, buf, sizeof buf, 0, (struct sockaddr *)&from, &fl);
    char ip[INET6_ADDRSTRLEN] = "";
    if (k <= 0) continue;
    if (from.ss_family == AF_INET)
      inet_ntop(AF_INET, &((struct sockaddr_in *)&from)->sin_addr, ip,
                sizeof ip);
    else
      inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&from)->sin6_addr, ip,
                sizeof ip);
    tr_handle(buf, (size_t)k, (struct sockaddr *)&from, fl, ip);
  }
  return NULL;
}

static const char *tr_str(lua_State *L, const char *k) {
  lua_getfield(L, -1, k);
  const char *v = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
  lua_pop(L, 1); /* the string stays in the table, which stays */
  return v;
}

/* The inventory's snmp_users as usm users for v3 traps and informs. */
static int tr_read_users(lua_State *L, void *ud) {
  struct ohm_error *e = ud;
  int rc = 0;
  if (lua_getglobal(L, "snmp_users") != LUA_TTABLE) return 0;
  for (lua_pushnil(L); rc == 0 && lua_next(L, -2); lua_pop(L, 1))
    if (lua_type(L, -2) == LUA_TSTRING && lua_istable(L, -1))
      rc = trv3_user(lua_tostring(L, -2), tr_str(L, "auth"),
                     tr_str(L, "auth_pass"), tr_str(L, "priv"),
                     tr_str(L, "priv_pass"), tr_str(L, "engine_id"), e);
  return rc;
}

int serve_traps_start(const char *addr, struct rules *r,
                      const struct inventory *inv, struct ohm_error *e) {
  /* UDP on HOST:PORT, [V6]:PORT or PORT (127.0.0.1) */
  int fd = ls_bind(addr, SOCK_DGRAM, "receive traps", e);
  if (fd < 0) return fd;
  tr = (struct tr_state){.fd = fd, .r = r, .inv = inv};
  pthread_mutex_init(&tr.mu, NULL);
  int rc = trv3_start(fd, e);
  if (rc == 0 && inv && inv->L) rc = inv_call(inv, tr_read_users, e, e);
  if (rc == 0 && pthread_create(&tr.thread, NULL, tr_main, NULL) != 0)
    rc = ohm_error_set(e, OHM_ENOMEM, "cannot start the trap receiver");
  if (rc < 0) {
    trv3_stop();
    close(fd);
    tr.fd = -1;
  }
  return rc;
}

void serve_traps_stop(void) {
  if (tr.fd <= 0) return;
  tr.stop = 1;
  pthread_join(tr.thread, NULL);
  trv3_stop();
  close(tr.fd);
  tr.fd = -1;
}
