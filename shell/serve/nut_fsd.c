/* NUT logins and the latched FSD flag (see nut_fsd.h). */
#include <arpa/inet.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "nut_fsd.h"

#define NUTF_MAX 256

static struct {
  pthread_mutex_t mu;
  struct {
    int used;
    char ups[128], addr[64];
  } login[NUTF_MAX];
  char fsd[NUTF_MAX][128];
  int nfsd;
} nutf = {.mu = PTHREAD_MUTEX_INITIALIZER};

int nutf_login(const char *ups, const char *addr) {
  int id = -1;
  pthread_mutex_lock(&nutf.mu);
  for (int i = 0; i < NUTF_MAX && id < 0; i++)
    if (!nutf.login[i].used) {
      id = i;
      nutf.login[i].used = 1;
      snprintf(nutf.login[i].ups, sizeof nutf.login[i].ups, "%s", ups);
      snprintf(nutf.login[i].addr, sizeof nutf.login[i].addr, "%s", addr);
    }
  pthread_mutex_unlock(&nutf.mu);
  return id;
}

void nutf_logout(int id) {
  if (id < 0 || id >= NUTF_MAX) return;
  pthread_mutex_lock(&nutf.mu);
  nutf.login[id].used = 0;
  pthread_mutex_unlock(&nutf.mu);
}

int nutf_numlogins(const char *ups) {
  int n = 0;
  pthread_mutex_lock(&nutf.mu);
  for (int i = 0; i < NUTF_MAX; i++)
    n += nutf.login[i].used && !strcmp(nutf.login[i].ups, ups);
  pthread_mutex_unlock(&nutf.mu);
  return n;
}

void nutf_clients(const char *ups, void (*emit)(void *ctx, const char *addr),
                  void *ctx) {
  char addrs[NUTF_MAX][64];
  int n = 0;
  pthread_mutex_lock(&nutf.mu); /* copied: emit may block on a socket */
  for (int i = 0; i < NUTF_MAX; i++)
    if (nutf.login[i].used && !strcmp(nutf.login[i].ups, ups))
      memcpy(addrs[n++], nutf.login[i].addr, sizeof addrs[0]);
  pthread_mutex_unlock(&nutf.mu);
  for (int i = 0; i < n; i++)
    emit(ctx, addrs[i]);
}

void nutf_set_fsd(const char *ups) {
  pthread_mutex_lock(&nutf.mu);
  int have = 0;
  for (int i = 0; i < nutf.nfsd && !have; i++)
    have = !strcmp(nutf.fsd[i], ups);
  if (!have && nutf.nfsd < NUTF_MAX)
    snprintf(nutf.fsd[nutf.nfsd++], sizeof nutf.fsd[0], "%s", ups);
  pthread_mutex_unlock(&nutf.mu);
}

int nutf_is_fsd(const char *ups) {
  int have = 0;
  pthread_mutex_lock(&nutf.mu);
  for (int i = 0; i < nutf.nfsd && !have; i++)
    have = !strcmp(nutf.fsd[i], ups);
  pthread_mutex_unlock(&nutf.mu);
  return have;
}

void nutf_peer_addr(int fd, char *out, size_t n) {
  struct sockaddr_storage a;
  socklen_t l = sizeof a;
  snprintf(out, n, "unknown");
  if (getpeername(fd, (struct sockaddr *)&a, &l) < 0) return;
  void *p = a.ss_family == AF_INET
                ? (void *)&((struct sockaddr_in *)&a)->sin_addr
                : (void *)&((struct sockaddr_in6 *)&a)->sin6_addr;
  inet_ntop(a.ss_family, p, out, (socklen_t)n);
}
