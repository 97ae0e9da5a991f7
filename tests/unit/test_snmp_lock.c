/* net-snmp from several threads at once (transports/snmp_lock.c).
 * First, exclusion: while the trap receiver's thread is inside net-snmp
 * (its callback delivering a v3 trap, slowed down here), a trap job on
 * another thread must wait for it, not run through the library too.
 * Then a stress: rule jobs send SNMPv3 traps on worker threads. Each trap's
 * session open adds its user (name + engine id) to net-snmp's one USM user
 * list, a sorted linked list; unlocked, two threads inserting at once lose one
 * of the users (the trap then goes out without it, or a later authenticated one
 * fails as "unknown user"). Engine ids grow, so every insert goes to the
 * list's tail: the case where concurrent inserts collide. After the run
 * every user must be in the list and every trap must have arrived at the
 * (loopback UDP) receiver. */
#include <arpa/inet.h>
#include <dlfcn.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "shell/serve/jobs.h"
#include "shell/serve/traps_v3.h"
#include "t.h"

#define THREADS 8
#define EACH 200

static char to[64];
static int sent_ok[THREADS];
static char first_err[256];
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static unsigned next_engine = 1;
static unsigned char used[THREADS * EACH];
static atomic_int senders_done;

static unsigned take_engine(void) {
  pthread_mutex_lock(&mu);
  unsigned n = next_engine++;
  pthread_mutex_unlock(&mu);
  return n;
}

/* A noAuthNoPriv v3 trap job from user (engine eid) to `to`. */
static int trap_job(const char *user, const char *eid, const char *dev,
                    struct ohm_error *e) {
  struct job j = {.kind = "trap", .timeout = 2};
  job_add_kv(&j, "to", to);
  job_add_kv(&j, "user", user);
  job_add_kv(&j, "user_found", "1");
  job_add_kv(&j, "engine_id", eid);
  job_add_kv(&j, "device", dev);
  job_add_kv(&j, "event", "ONBATT");
  int rc = job_run(&j, NULL, e);
  for (size_t k = 0; k < j.nkv; k++)
    free(j.kv[k].key), free(j.kv[k].val);
  free(j.kv);
  return rc;
}

static void one_trap(int id) {
  struct ohm_error e = {0};
  char dev[32], eid[40];
  unsigned n = take_engine();
  snprintf(dev, sizeof dev, "ups%d", id);
  snprintf(eid, sizeof eid, "0x80001f8880%08x", n);
  if (trap_job("ohmtrap", eid, dev, &e) == 0) {
    sent_ok[id]++;
    used[n - 1] = 1;
  } else {
    pthread_mutex_lock(&mu);
    if (!first_err[0])
      snprintf(first_err, sizeof first_err, "%s", ohm_error_text(&e));
    pthread_mutex_unlock(&mu);
  }
}

static int each = EACH; /* $OHM_STRESS_EACH: fewer, e.g. under valgrind */

static void *sender(void *arg) {
  for (int i = 0; i < each; i++)
    one_trap((int)(long)arg);
  return NULL;
}

/* Datagrams on fd until the senders are done and none came for 2 s. */
static void *drainer(void *arg) {
  char buf[2048];
  long n = 0;
  struct pollfd p = {*(int *)arg, POLLIN, 0};
  for (;;) {
    int r = poll(&p, 1, 2000);
    if (r > 0 && recv(p.fd, buf, sizeof buf, 0) > 0) n++;
    if (r == 0 && senders_done) return (void *)n;
  }
}

/* How many users of the run net-snmp's list lacks. */
static int users_missing(void) {
  void *(*get)(const unsigned char *, size_t, const char *);
  int missing = 0;
  *(void **)&get = dlsym(RTLD_DEFAULT, "usm_get_user");
  if (!get) return -1;
  for (unsigned n = 1; n < next_engine; n++) {
    unsigned char id[9] = {0x80,
                           0x00,
                           0x1f,
                           0x88,
                           0x80,
                           (unsigned char)(n >> 24),
                           (unsigned char)(n >> 16),
                           (unsigned char)(n >> 8),
                           (unsigned char)n};
    missing += used[n - 1] && !get(id, sizeof id, "ohmtrap");
  }
  return missing;
}

static int receiver(int *fd) {
  struct sockaddr_in a = {.sin_family = AF_INET};
  socklen_t al = sizeof a;
  int big = 8 << 20;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if ((*fd = socket(AF_INET, SOCK_DGRAM, 0)) < 0) return -1;
  setsockopt(*fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
  if (bind(*fd, (struct sockaddr *)&a, sizeof a) < 0 ||
      getsockname(*fd, (struct sockaddr *)&a, &al) < 0)
    return -1;
  snprintf(to, sizeof to, "127.0.0.1:%d", ntohs(a.sin_port));
  return 0;
}

/* ---- exclusion ---- */

static atomic_int inside, fields, reader_done;

static void slow_vb(void *ctx, const char *name, const char *text, int num) {
  (void)ctx, (void)name, (void)text, (void)num;
  if (atomic_fetch_add(&fields, 1) == 0) { /* the first field only */
    inside = 1;
    usleep(300000);
    inside = 0;
  }
}

struct rd {
  unsigned char buf[2048];
  ssize_t n;
  struct sockaddr_in from;
  socklen_t fl;
  int delivered;
};

static void *reader(void *arg) {
  struct rd *r = arg;
  char why[160];
  r->delivered = trv3_read(r->buf, (size_t)r->n, (struct sockaddr *)&r->from,
                           r->fl, slow_vb, NULL, why, sizeof why);
  reader_done = 1;
  return NULL;
}

/* A v3 trap from a job, as the receiver got it (r->n <= 0 if none). */
static void capture(int fd, struct rd *r) {
  struct ohm_error e = {0};
  struct pollfd p = {fd, POLLIN, 0};
  r->n = -1;
  r->fl = sizeof r->from;
  if (trap_job("ohmx", "0x80001f8880ffffffff", "ups", &e) == 0 &&
      poll(&p, 1, 5000) > 0)
    r->n = recvfrom(fd, r->buf, sizeof r->buf, 0, (struct sockaddr *)&r->from,
                    &r->fl);
}

static void exclusion(int fd) {
  struct ohm_error e = {0};
  static struct rd r;
  pthread_t th;
  int overlapped = 0;
  capture(fd, &r);
  CHECK(r.n > 0 && trv3_start(fd, &e) == 0 &&
            trv3_user("ohmx", NULL, NULL, NULL, NULL, "0x80001f8880ffffffff",
                      &e) == 0,
        "a v3 trap captured, the receiver set up");
  pthread_create(&th, NULL, reader, &r);
  for (int i = 0; i < 5000 && !inside && !reader_done; i++)
    usleep(1000);
  if (inside) { /* the receiver is in net-snmp's callback: a job now */
    trap_job("ohmx", "0x80001f8880ffffffff", "ups", &e);
    overlapped = inside;
  }
  pthread_join(th, NULL);
  CHECK(r.delivered && fields > 0, "the v3 trap delivered through net-snmp");
  CHECK(!overlapped, "a trap job waits while the receiver is in net-snmp");
  trv3_stop();
  struct pollfd p = {fd, POLLIN, 0};
  while (poll(&p, 1, 200) > 0) /* the job's trap */
    recv(fd, r.buf, sizeof r.buf, 0);
}

int main(void) {
  int fd, total = 0, missing;
  pthread_t th[THREADS], dt;
  void *got;
  if (getenv("OHM_STRESS_EACH")) each = atoi(getenv("OHM_STRESS_EACH"));
  if (each < 1 || each > EACH) each = EACH;
  if (receiver(&fd) < 0) {
    printf("not ok - receiver socket\n");
    return 1;
  }
  exclusion(fd);
  pthread_create(&dt, NULL, drainer, &fd);
  for (long i = 0; i < THREADS; i++)
    pthread_create(&th[i], NULL, sender, (void *)i);
  for (int i = 0; i < THREADS; i++) {
    pthread_join(th[i], NULL);
    total += sent_ok[i];
  }
  senders_done = 1;
  pthread_join(dt, &got);
  close(fd);
  CHECK(total == THREADS * each, "v3 traps from 8 threads all sent");
  if (first_err[0]) printf("    first error: %s\n", first_err);
  missing = users_missing();
  CHECK(missing == 0, "every trap's user is in net-snmp's USM list");
  if (missing) printf("    %d of %d users lost\n", missing, total);
  CHECK((long)got == total, "every v3 trap sent arrived");
  if ((long)got != total) printf("    sent %d, got %ld\n", total, (long)got);
  T_DONE();
}
