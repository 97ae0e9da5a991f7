/* devices/poll.c without devices: a fake open that fails after a short
 * sleep lets the test watch how the poller schedules targets. Devices on
 * one RS485 line are never opened at once; network devices are; SNMP
 * agents are one group; every target is reported exactly once; shards
 * split stably; bus and scheme detection from URIs. */
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#include "../../devices/poll.h"
#include "t.h"

#define N 12

struct fake {
  const struct poll_target *t;
  atomic_int busy_bus, max_bus, busy_net, max_net, busy_snmp, max_snmp;
  int done[N];
};

static void bump(atomic_int *busy, atomic_int *max) {
  int now = atomic_fetch_add(busy, 1) + 1, m = atomic_load(max);
  while (now > m && !atomic_compare_exchange_weak(max, &m, now))
    ;
}

static int fake_open(void *ctx, size_t i, struct dev **out,
                     struct ohm_error *e) {
  struct fake *f = ctx;
  const struct poll_target *t = &f->t[i];
  atomic_int *busy = t->bus    ? &f->busy_bus
                     : t->snmp ? &f->busy_snmp
                               : &f->busy_net;
  atomic_int *max = t->bus ? &f->max_bus : t->snmp ? &f->max_snmp : &f->max_net;
  struct timespec d = {0, 30 * 1000 * 1000};
  bump(busy, max);
  nanosleep(&d, NULL);
  atomic_fetch_sub(busy, 1);
  *out = NULL;
  return ohm_error_set(e, OHM_ETIMEDOUT, "fake %zu timed out", i);
}

static void fake_done(void *ctx, size_t i, const struct poll_result *r) {
  struct fake *f = ctx;
  if (r->rc == OHM_ETIMEDOUT && !r->vals && !r->dev) f->done[i]++;
}

int main(void) {
  struct poll_target t[N];
  struct fake f;
  struct ohm_error e;
  char name[N][16], buf[64];
  memset(&f, 0, sizeof f);
  for (int i = 0; i < N; i++) {
    snprintf(name[i], sizeof name[i], "d%d", i);
    t[i].name = name[i];
    t[i].bus = i < 4 ? "/dev/ttyUSB0" : NULL; /* four on one line */
    t[i].snmp = i >= 8;                       /* four SNMP agents */
  }
  f.t = t;
  struct poll_opts o = {
      .jobs = 8, .open = fake_open, .done = fake_done, .ctx = &f};
  int failed = poll_run(t, N, &o, &e);
  CHECK(failed == N, "every failure counted");
  int once = 1;
  for (int i = 0; i < N; i++)
    once &= f.done[i] == 1;
  CHECK(once, "every target reported exactly once");
  CHECK(atomic_load(&f.max_bus) == 1,
        "devices on one RS485 line are never opened at once");
  CHECK(atomic_load(&f.max_snmp) == 1, "SNMP agents form one group");
  CHECK(atomic_load(&f.max_net) > 1, "network devices run in parallel");

  unsigned char due[N] = {0};
  struct poll_set *s;
  memset(f.done, 0, sizeof f.done);
  due[5] = due[1] = 1;
  CHECK(poll_set_new(t, N, &o, &s, &e) == 0, "a set");
  CHECK(poll_set_run(s, due, &e) == 2, "only the due targets run");
  CHECK(f.done[5] == 1 && f.done[1] == 1 && f.done[0] == 0 && f.done[6] == 0,
        "due mask respected");
  poll_set_free(s);

  CHECK(poll_bus_of("modbus-rtu:///dev/ttyUSB0?baud=9600", buf, sizeof buf) &&
            strcmp(buf, "/dev/ttyUSB0") == 0,
        "an RTU URI names its line");
  CHECK(!poll_bus_of("modbus-tcp://10.0.0.5", buf, sizeof buf),
        "a TCP URI has no line");
  CHECK(poll_is_snmp("snmp://public@10.0.0.9") &&
            !poll_is_snmp("modbus-tcp://x"),
        "snmp URIs recognised");

  int in1 = 0, in2 = 0, stable = 1;
  for (int i = 0; i < 1000; i++) {
    snprintf(buf, sizeof buf, "pdu%d", i);
    int a = poll_in_shard(buf, 1, 2), b = poll_in_shard(buf, 2, 2);
    in1 += a;
    in2 += b;
    stable &= a == poll_in_shard(buf, 1, 2) && a != b;
  }
  CHECK(stable && in1 + in2 == 1000, "shards partition the names");
  CHECK(in1 > 400 && in2 > 400, "shards are balanced");
  CHECK(poll_in_shard("x", 1, 1), "one shard holds everything");
  T_DONE();
}
