/* Failed-login bookkeeping (login.h): a small table of client addresses,
 * the least recently seen one replaced when full. */
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "listen.h"
#include "login.h"

#define LG_ADDRS 256
#define LG_FORGET_MS (15 * 60 * 1000) /* failures older than this: reset */
#define LG_DELAY_MAX_MS 8000

struct lg_addr {
  char addr[64];
  int fails;          /* in a row */
  long long last;     /* last failure, ls_now_ms() */
  long long next_ok;  /* no check before this */
  long long locked;   /* locked out until this */
  long long lock_log; /* last "locked out" log line */
};

static struct lg_addr table[LG_ADDRS];
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static int no_delays;

void lg_no_delays(int on) {
  no_delays = on;
}

int lg_equal(const char *a, const char *b) {
  size_t la = strlen(a), lb = strlen(b), n = la > lb ? la : lb;
  unsigned diff = la != lb;
  for (size_t i = 0; i < n; i++)
    diff |=
        (unsigned char)(i < la ? a[i] : 0) ^ (unsigned char)(i < lb ? b[i] : 0);
  return diff == 0;
}

/* The entry of addr, made if need be (under mu). */
static struct lg_addr *entry(const char *addr, int make) {
  struct lg_addr *old = &table[0];
  long long now = ls_now_ms();
  for (int i = 0; i < LG_ADDRS; i++) {
    if (table[i].addr[0] && strcmp(table[i].addr, addr) == 0) {
      if (now - table[i].last > LG_FORGET_MS && now >= table[i].locked)
        table[i].fails = 0;
      return &table[i];
    }
    if (!table[i].addr[0] || table[i].last < old->last) old = &table[i];
  }
  if (!make) return NULL;
  memset(old, 0, sizeof *old);
  snprintf(old->addr, sizeof old->addr, "%s", addr);
  return old;
}

static void sleep_until(long long when, int (*stop)(void *), void *ctx) {
  for (long long now; !no_delays && (now = ls_now_ms()) < when;) {
    if (stop && stop(ctx)) return;
    poll(NULL, 0, when - now > 100 ? 100 : (int)(when - now));
  }
}

int lg_before(const char *proto, const char *addr, int (*stop)(void *),
              void *ctx) {
  long long now = ls_now_ms(), wait = 0;
  int locked = 0, say = 0;
  pthread_mutex_lock(&mu);
  struct lg_addr *a = entry(addr, 0);
  if (a && now < a->locked) {
    locked = 1;
    say = now - a->lock_log >= 10000;
    if (say) a->lock_log = now;
  } else if (a) {
    wait = a->next_ok;
  }
  pthread_mutex_unlock(&mu);
  if (say)
    serve_log("%s: login from %s refused: address locked out", proto, addr);
  if (locked) return OHM_EACCES;
  sleep_until(wait, stop, ctx);
  return 0;
}

/* Account names go to the log: printable, short. */
static void clean_name(char *dst, size_t n, const char *src) {
  size_t j = 0;
  for (size_t i = 0; src && src[i] && j + 1 < n; i++)
    dst[j++] = src[i] > 0x20 && src[i] < 0x7f ? src[i] : '?';
  dst[j] = 0;
}

void lg_failed(const char *proto, const char *addr, const char *user,
               int (*stop)(void *), void *ctx) {
  char who[40];
  long long now = ls_now_ms(), delay;
  int fails, lock;
  pthread_mutex_lock(&mu);
  struct lg_addr *a = entry(addr, 1);
  fails = ++a->fails;
  a->last = now;
  delay = (long long)LG_DELAY_MS << (fails < 8 ? fails - 1 : 7);
  if (delay > LG_DELAY_MAX_MS) delay = LG_DELAY_MAX_MS;
  a->next_ok = now + delay;
  lock = fails >= LG_LOCK_AFTER;
  if (lock) {
    a->locked = now + LG_LOCK_MS;
    a->lock_log = now;
    a->fails = 0;
  }
  pthread_mutex_unlock(&mu);
  clean_name(who, sizeof who, user);
  serve_log("%s: login failed for user '%s' from %s (%d in a row)%s", proto,
            who, addr, fails, lock ? ": address locked out" : "");
  sleep_until(now + delay, stop, ctx);
}

void lg_ok(const char *addr) {
  pthread_mutex_lock(&mu);
  struct lg_addr *a = entry(addr, 0);
  if (a) a->fails = 0, a->next_ok = 0;
  pthread_mutex_unlock(&mu);
}
