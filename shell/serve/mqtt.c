/* `ohm serve --mqtt mqtt://[USER[:PASS]@]BROKER[:PORT][?tls=1&prefix=ohm&
 * discovery=homeassistant|0&every=N]`: one thread of its own runs the
 * client (libmosquitto, loaded on first use) and publishes from the cache:
 *   PREFIX/status                 online, and the last will offline
 *   PREFIX/DEV/availability       online while the device's values are good
 *   PREFIX/DEV/VAR                each value, on change and every N polls
 *   PREFIX/DEV/state              a JSON object name -> value
 *   homeassistant/device/ohm_DEV/config   discovery, again when Home
 *                                 Assistant's status says online
 * all retained. PREFIX/DEV/VAR/set writes through the cache (validated by
 * the map; a refused value is logged, nothing written); PREFIX/DEV/cmd runs
 * a command that is not dangerous, or that the inventory's `mqtt = {
 * commands = { DEV = { "cmd", ... } } }` allows. A broker that goes away is
 * retried with a backoff up to 30 s; the poller never waits for it. The user,
 * password and TLS CA file come from the URI or the inventory's `mqtt = { user
 * =, password =, cafile = }` (or $OHM_MQTT_PASSWORD); never logged. */
#include <lua.h>
#include <mosquitto.h>

#include "../../util/lazy_mosquitto.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../../lua/inventory.h"
#include "../../transports/uri.h"
#include "mqtt.h"

struct mq_dev {
  char *name;      /* cache name */
  char topic[128]; /* topic-safe */
  double updated;  /* of the values last published */
  int avail;       /* -1 never said, 0 offline, 1 online */
  int announced;   /* discovery sent since the last (re)connect */
  char **last;     /* per var: the text last published */
  size_t nlast;
  double full;       /* time of the last full publish */
  char allowed[512]; /* " cmd cmd ": dangerous commands allowed */
};

static struct {
  struct mosquitto *m;
  struct sv_cache *c;
  struct ohm_uri u;
  char prefix[64], disc[64];
  int port, tls, every;
  struct mq_dev *devs;
  size_t n;
  pthread_t th;
  volatile int stop;
  int started, linked, connected, was_connected;
  double backoff, next_try;
} mq;

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Retained; values go at QoS 0 (the next one replaces a lost one and no
 * in-flight window holds back what follows), the rest at QoS 1. */
static void pub_q(const char *topic, const char *payload, size_t len, int qos) {
  mosquitto_publish(mq.m, NULL, topic, (int)len, payload, qos, true);
}

static void pub(const char *topic, const char *payload, size_t len) {
  pub_q(topic, payload, len, 1);
}

static void pub_str(const char *topic, const char *s) {
  pub(topic, s, strlen(s));
}

static struct mq_dev *dev_by_topic(const char *t, size_t len) {
  for (size_t i = 0; i < mq.n; i++)
    if (strlen(mq.devs[i].topic) == len && !strncmp(mq.devs[i].topic, t, len))
      return &mq.devs[i];
  return NULL;
}

/* PREFIX/DEV/VAR/set and PREFIX/DEV/cmd. */
static void on_command(const char *rest, const char *payload) {
  const char *slash = strchr(rest, '/');
  struct mq_dev *d = slash ? dev_by_topic(rest, (size_t)(slash - rest)) : 0;
  struct ohm_error e;
  char var[160];
  size_t vl;
  if (!d) return;
  ohm_error_clear(&e);
  if (!strcmp(slash + 1, "cmd")) {
    struct sv_snap s;
    const struct dev_cmd *c = NULL;
    if (sv_cache_snap_name(mq.c, d->name, &s) == 0 && s.map)
      c = dev_map_cmd(s.map, payload);
    char w[300];
    snprintf(w, sizeof w, " %s ", payload);
    int dangerous = c && c->dangerous && !strstr(d->allowed, w);
    sv_snap_free(&s);
    if (!c || dangerous)
      serve_log("mqtt: %s: command '%.60s' refused (%s)", d->name, payload,
                c ? "dangerous" : "unknown");
    else if (sv_cache_cmd(mq.c, d->name, payload, &e) < 0)
      serve_log("mqtt: %s: %s failed: %s", d->name, payload,
                ohm_error_text(&e));
    else
      serve_info("mqtt: %s: %s done", d->name, payload);
    return;
  }
  vl = strlen(slash + 1);
  if (vl < 5 || strcmp(slash + 1 + vl - 4, "/set") || vl - 4 >= sizeof var)
    return;
  snprintf(var, sizeof var, "%.*s", (int)(vl - 4), slash + 1);
  if (sv_cache_set(mq.c, d->name, var, payload, &e) < 0)
    serve_log("mqtt: %s: %s=%.60s refused: %s", d->name, var, payload,
              ohm_error_text(&e));
  else
    serve_info("mqtt: %s: %s=%.60s written", d->name, var, payload);
}

static void on_message(struct mosquitto *m, void *obj,
                       const struct mosquitto_message *msg) {
  char payload[256];
  size_t pl = strlen(mq.prefix);
  (void)m, (void)obj;
  if (msg->retain) return; /* an old retained command is not a command */
  snprintf(payload, sizeof payload, "%.*s",
           msg->payloadlen > 255 ? 255 : msg->payloadlen,
           msg->payload ? (const char *)msg->payload : "");
  if (!strcmp(msg->topic, "homeassistant/status")) {
    if (!strcmp(payload, "online"))
      for (size_t i = 0; i < mq.n; i++) /* Home Assistant restarted */
        mq.devs[i].announced = 0;
    return;
  }
  if (!strncmp(msg->topic, mq.prefix, pl) && msg->topic[pl] == '/')
    on_command(msg->topic + pl + 1, payload);
}

static void on_connect(struct mosquitto *m, void *obj, int rc) {
  char t[160];
  (void)obj;
  if (rc != 0) {
    serve_log("mqtt: broker refused the connection (%s)",
              mosquitto_connack_string(rc));
    return;
  }
  mq.connected = 1;
  mq.backoff = 1;
  serve_info("mqtt: connected to %s:%d", mq.u.host, mq.port);
  snprintf(t, sizeof t, "%s/status", mq.prefix);
  pub_str(t, "online");
  snprintf(t, sizeof t, "%s/+/+/set", mq.prefix);
  mosquitto_subscribe(m, NULL, t, 1);
  snprintf(t, sizeof t, "%s/+/cmd", mq.prefix);
  mosquitto_subscribe(m, NULL, t, 1);
  mosquitto_subscribe(m, NULL, "homeassistant/status", 1);
  for (size_t i = 0; i < mq.n; i++) { /* a new broker knows nothing */
    mq.devs[i].announced = 0, mq.devs[i].avail = -1;
    mq.devs[i].updated = -1;
  }
}

/* Publish one device's availability, changed values and state. */
static void publish_dev(struct mq_dev *d) {
  struct sv_snap s;
  char t[512], text[160];
  if (sv_cache_snap_name(mq.c, d->name, &s) < 0) return;
  int good = s.vals && (s.state == SV_OK || s.state == SV_STALE);
  if (good != d->avail) {
    snprintf(t, sizeof t, "%s/%s/availability", mq.prefix, d->topic);
    pub_str(t, good ? "online" : "offline");
    d->avail = good;
  }
  if (good && mq.disc[0] && !d->announced) {
    struct mq_buf b = {0};
    mq_ha_config(&b, mq.prefix, d->topic, d->allowed, &s);
    snprintf(t, sizeof t, "%s/device/ohm_%s/config", mq.disc, d->topic);
    if (!b.bad) pub(t, b.s, b.len);
    free(b.s);
    d->announced = 1;
  }
  double interval = s.interval > 0 ? s.interval : 10, now = now_s();
  int full = now - d->full >= interval * mq.every;
  if (good && (s.updated != d->updated || full)) {
    struct mq_buf st = {0};
    if (!d->last) d->last = calloc(s.map->nvars, sizeof *d->last);
    d->nlast = d->last ? s.map->nvars : 0;
    mq_buf_printf(&st, "{");
    for (size_t i = 0; i < s.map->nvars; i++) {
      const struct dev_value *x = &s.vals[i];
      if (x->kind != DV_NUM && x->kind != DV_STR) continue;
      dev_value_format(&s.map->vars[i], x, text, sizeof text);
      mq_buf_printf(&st, "%s", st.len > 1 ? "," : "");
      mq_buf_json(&st, s.map->vars[i].name);
      if (x->kind == DV_NUM)
        mq_buf_printf(&st, ":%s", text);
      else
        mq_buf_printf(&st, ":"), mq_buf_json(&st, text);
      if (!full && i < d->nlast && d->last[i] && !strcmp(d->last[i], text))
        continue;
      snprintf(t, sizeof t, "%s/%s/%s", mq.prefix, d->topic,
               s.map->vars[i].name);
      pub_q(t, text, strlen(text), 0);
      if (i < d->nlast) free(d->last[i]), d->last[i] = strdup(text);
    }
    mq_buf_printf(&st, "}");
    snprintf(t, sizeof t, "%s/%s/state", mq.prefix, d->topic);
    if (!st.bad) pub_q(t, st.s, st.len, 0);
    free(st.s);
    d->updated = s.updated;
    if (full) d->full = now;
  }
  sv_snap_free(&s);
}

/* Connect or reconnect when the backoff allows; 1 when connected. */
static int ensure_connected(void) {
  double now = now_s();
  if (mq.linked) return 1;
  if (now < mq.next_try) return 0;
  int rc = mq.was_connected ? mosquitto_reconnect(mq.m)
                            : mosquitto_connect(mq.m, mq.u.host, mq.port, 30);
  if (rc == MOSQ_ERR_SUCCESS) {
    mq.was_connected = mq.linked = 1;
    return 1; /* CONNACK comes through the loop (on_connect) */
  }
  serve_log("mqtt: cannot reach %s:%d (%s); again in %.0f s", mq.u.host,
            mq.port, mosquitto_strerror(rc), mq.backoff);
  mq.next_try = now + mq.backoff;
  mq.backoff = mq.backoff * 2 > 30 ? 30 : mq.backoff * 2;
  return 0;
}

static void swap_devs(void);

static void *mq_thread(void *arg) {
  (void)arg;
  while (!mq.stop) {
    if (!ensure_connected()) {
      usleep(100000);
      continue;
    }
    int rc = mosquitto_loop(mq.m, 100, 1);
    if (rc == MOSQ_ERR_ERRNO &&
        errno == EINTR) /* serve's stop (tp_interrupt) */
      continue;
    if (rc != MOSQ_ERR_SUCCESS) {
      if (mq.connected)
        serve_log("mqtt: broker lost (%s); reconnecting",
                  mosquitto_strerror(rc));
      mq.connected = mq.linked = 0;
      mq.next_try = now_s() + mq.backoff;
      mq.backoff = mq.backoff * 2 > 30 ? 30 : mq.backoff * 2;
      continue;
    }
    swap_devs();
    for (size_t i = 0; mq.connected && i < mq.n; i++)
      publish_dev(&mq.devs[i]);
  }
  return NULL;
}

/* The URI's settings; OHM_EINVAL with e set when one is bad. */
static int parse(const char *uri, struct ohm_error *e) {
  int rc;
  long tls, every;
  const char *p, *d;
  if ((rc = ohm_uri_parse(uri, &mq.u, e)) < 0) return rc;
  if (strcmp(mq.u.scheme, "mqtt") && strcmp(mq.u.scheme, "mqtts"))
    return ohm_error_set(e, OHM_EINVAL, "--mqtt wants mqtt://BROKER[:PORT]");
  if (!mq.u.host || !mq.u.host[0])
    return ohm_error_set(e, OHM_EINVAL, "--mqtt: no broker in the URI");
  for (size_t i = 0; i < mq.u.nquery; i++)
    if (!strstr(" tls prefix discovery every ", mq.u.query[i].key) ||
        strlen(mq.u.query[i].key) < 3)
      return ohm_error_set(e, OHM_EINVAL,
                           "--mqtt: unknown parameter '%.40s' (known: tls, "
                           "prefix, discovery, every)",
                           mq.u.query[i].key);
  if ((rc = ohm_uri_param_long(&mq.u, "tls", !strcmp(mq.u.scheme, "mqtts"), 0,
                               1, &tls, e)) < 0 ||
      (rc = ohm_uri_param_long(&mq.u, "every", 10, 1, 1000, &every, e)) < 0)
    return rc;
  p = ohm_uri_param(&mq.u, "prefix");
  d = ohm_uri_param(&mq.u, "discovery");
  if (!p) p = "ohm";
  if (!d || !strcmp(d, "1")) d = "homeassistant";
  if (!strcmp(d, "0")) d = "";
  if (!p[0] || strlen(p) >= sizeof mq.prefix || strpbrk(p, "+#") ||
      strlen(d) >= sizeof mq.disc || strpbrk(d, "+#"))
    return ohm_error_set(e, OHM_EINVAL, "--mqtt: bad prefix or discovery");
  snprintf(mq.prefix, sizeof mq.prefix, "%s", p);
  snprintf(mq.disc, sizeof mq.disc, "%s", d);
  mq.tls = (int)tls, mq.every = (int)every;
  mq.port = mq.u.port > 0 ? mq.u.port : tls ? 8883 : 1883;
  return 0;
}

/* The inventory's mqtt.KEY (a string), or NULL. Borrowed from L. */
static const char *inv_mqtt(struct inventory *inv, const char *key) {
  lua_State *L = inv ? inv->L : NULL;
  const char *v = NULL;
  if (!L) return NULL;
  int top = lua_gettop(L);
  if (lua_getglobal(L, "mqtt") == LUA_TTABLE &&
      lua_getfield(L, -1, key) == LUA_TSTRING)
    v = lua_tostring(L, -1); /* kept alive by the table */
  lua_settop(L, top);
  return v;
}

/* The inventory's mqtt.commands.DEVICE = { "cmd", ... } into d->allowed. */
static void load_allowed(struct inventory *inv, struct mq_dev *d) {
  lua_State *L = inv ? inv->L : NULL;
  size_t len = 1;
  snprintf(d->allowed, sizeof d->allowed, " ");
  if (!L) return;
  int top = lua_gettop(L);
  if (lua_getglobal(L, "mqtt") == LUA_TTABLE &&
      lua_getfield(L, -1, "commands") == LUA_TTABLE &&
      lua_getfield(L, -1, d->name) == LUA_TTABLE)
    for (lua_Integer i = 1; lua_geti(L, -1, i) == LUA_TSTRING; i++) {
      const char *c = lua_tostring(L, -1);
      if (len + strlen(c) + 2 < sizeof d->allowed)
        len += (size_t)snprintf(d->allowed + len, sizeof d->allowed - len,
                                "%s ", c);
      lua_pop(L, 1);
    }
  lua_settop(L, top);
}

static int make_client(struct inventory *inv, struct ohm_error *e) {
  char will[160], id[64];
  const char *user = mq.u.user ? mq.u.user : inv_mqtt(inv, "user");
  const char *pw = mq.u.password ? mq.u.password : inv_mqtt(inv, "password");
  const char *ca = inv_mqtt(inv, "cafile");
  if (!pw) pw = getenv("OHM_MQTT_PASSWORD");
  mosquitto_lib_init();
  snprintf(id, sizeof id, "ohm-%ld", (long)getpid());
  if (!(mq.m = mosquitto_new(id, true, NULL)))
    return ohm_error_set(e, OHM_ENOMEM, "mqtt: cannot make a client");
  snprintf(will, sizeof will, "%s/status", mq.prefix);
  mosquitto_will_set(mq.m, will, 7, "offline", 1, true);
  if (user) mosquitto_username_pw_set(mq.m, user, pw);
  if (mq.tls && mosquitto_tls_set(mq.m, ca, ca ? NULL : "/etc/ssl/certs", NULL,
                                  NULL, NULL) != MOSQ_ERR_SUCCESS)
    return ohm_error_set(e, OHM_EINVAL, "mqtt: cannot set up TLS");
  mosquitto_connect_callback_set(mq.m, on_connect);
  mosquitto_message_callback_set(mq.m, on_message);
  return 0;
}

/* The cache's devices now, as mq_devs (topics, allowed commands). */
static int build_devs(struct inventory *inv, struct mq_dev **out, size_t *n) {
  struct sv_snap s;
  *n = sv_cache_count(mq.c);
  if (!(*out = calloc(*n + 1, sizeof **out))) return OHM_ENOMEM;
  for (size_t i = 0; i < *n; i++) {
    struct mq_dev *d = &(*out)[i];
    if (sv_cache_snap(mq.c, i, &s) < 0) continue;
    char *red = strstr(s.name, "://") ? inv_redact(s.name) : NULL;
    d->name = strdup(s.name);
    mq_topic_name(red ? red : s.name, d->topic, sizeof d->topic);
    d->avail = -1;
    load_allowed(inv, d);
    free(red);
    sv_snap_free(&s);
  }
  return 0;
}

static void free_dev(struct mq_dev *d) {
  for (size_t k = 0; k < d->nlast; k++)
    free(d->last[k]);
  free(d->last);
  free(d->name);
}

/* SIGHUP's new device list, taken over by the client's thread. */
static pthread_mutex_t pend_lock = PTHREAD_MUTEX_INITIALIZER;
static struct mq_dev *pend;
static size_t npend;
static int has_pend;

void serve_mqtt_reload(struct inventory *inv) {
  struct mq_dev *d;
  size_t n;
  if (!mq.started || build_devs(inv, &d, &n) < 0) return;
  pthread_mutex_lock(&pend_lock);
  for (size_t i = 0; has_pend && i < npend; i++)
    free_dev(&pend[i]);
  if (has_pend) free(pend);
  pend = d, npend = n, has_pend = 1;
  pthread_mutex_unlock(&pend_lock);
}

/* Devices kept keep what was published; gone ones go offline and their
 * discovery config is removed. */
static void swap_devs(void) {
  char t[512];
  pthread_mutex_lock(&pend_lock);
  struct mq_dev *nd = has_pend ? pend : NULL;
  size_t nn = npend;
  has_pend = 0;
  pthread_mutex_unlock(&pend_lock);
  if (!nd) return;
  for (size_t i = 0; i < mq.n; i++) {
    struct mq_dev *o = &mq.devs[i], *k = NULL;
    for (size_t j = 0; j < nn && !k; j++)
      if (nd[j].name && o->name && !strcmp(nd[j].name, o->name)) k = &nd[j];
    if (k) { /* announced again: its commands may have changed */
      k->updated = o->updated, k->avail = o->avail, k->full = o->full;
      k->last = o->last, k->nlast = o->nlast;
      o->last = NULL, o->nlast = 0;
    } else if (mq.connected) {
      snprintf(t, sizeof t, "%s/%s/availability", mq.prefix, o->topic);
      pub_str(t, "offline");
      snprintf(t, sizeof t, "%s/device/ohm_%s/config", mq.disc, o->topic);
      if (mq.disc[0]) pub(t, "", 0);
    }
    free_dev(o);
  }
  free(mq.devs);
  mq.devs = nd, mq.n = nn;
}

int serve_mqtt_start(struct sv_cache *c, const char *uri, struct inventory *inv,
                     struct ohm_error *e) {
  int rc;
  if ((rc = parse(uri, e)) < 0 || (rc = lazy_mosquitto_load(e)) < 0 ||
      (rc = make_client(inv, e)) < 0)
    return rc;
  mq.c = c, mq.backoff = 1;
  if (build_devs(inv, &mq.devs, &mq.n) < 0)
    return ohm_error_set(e, OHM_ENOMEM, "out of memory");
  if (pthread_create(&mq.th, NULL, mq_thread, NULL) != 0)
    return ohm_error_set(e, OHM_ENOMEM, "mqtt: cannot start");
  mq.started = 1;
  return 0;
}

/* A clean stop says offline itself: the broker sends no will then. */
void serve_mqtt_stop(void) {
  char t[512];
  if (!mq.started) return;
  mq.stop = 1;
  pthread_join(mq.th, NULL);
  if (mq.connected) {
    for (size_t i = 0; i < mq.n; i++) {
      snprintf(t, sizeof t, "%s/%s/availability", mq.prefix, mq.devs[i].topic);
      pub_str(t, "offline");
    }
    snprintf(t, sizeof t, "%s/status", mq.prefix);
    pub_str(t, "offline");
    /* let them out before DISCONNECT (which also cancels the will) */
    for (int i = 0; i < 100 && mosquitto_want_write(mq.m); i++)
      mosquitto_loop(mq.m, 20, 1);
    mosquitto_disconnect(mq.m);
    for (int i = 0; i < 20 && mosquitto_loop(mq.m, 20, 1) == MOSQ_ERR_SUCCESS;
         i++)
      ;
  }
  mosquitto_destroy(mq.m);
  mosquitto_lib_cleanup();
  for (size_t i = 0; i < mq.n; i++)
    free_dev(&mq.devs[i]);
  free(mq.devs);
  pthread_mutex_lock(&pend_lock);
  for (size_t i = 0; has_pend && i < npend; i++)
    free_dev(&pend[i]);
  if (has_pend) free(pend);
  has_pend = 0;
  pthread_mutex_unlock(&pend_lock);
  ohm_uri_free(&mq.u);
  mq.started = 0;
}
