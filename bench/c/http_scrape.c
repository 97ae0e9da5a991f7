/* Concurrent scrapers, as several Prometheus servers would be: T threads,
 * thread k connecting from 127.0.0.(k+2) (servers cap connections per
 * address), each doing K requests of PATH one after another (one request
 * per connection, as ohm answers with Connection: close), asking gzip
 * when GZ is 1 (as Prometheus does; the body is not decompressed: the
 * time is the exporter's, connect to last byte). Prints "p50_ms failed
 * bytes_of_last_body".
 * Usage: http_scrape PORT PATH T K GZ */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int port, per, gz;
static const char *path;
static double *lat;
static int nlat, failed;
static long last_len;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* One request from src; the bytes read (head and body), -1 on error. */
static long scrape(const char *src) {
  static __thread char buf[1 << 16];
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
  struct sockaddr_in me = {.sin_family = AF_INET};
  char req[512];
  long total = 0;
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
  inet_pton(AF_INET, src, &me.sin_addr);
  int n = snprintf(req, sizeof req,
                   "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n%s"
                   "Connection: close\r\n\r\n",
                   path, gz ? "Accept-Encoding: gzip\r\n" : "");
  if (fd < 0 || bind(fd, (void *)&me, sizeof me) < 0 ||
      connect(fd, (void *)&sa, sizeof sa) < 0 || write(fd, req, n) != n) {
    if (fd >= 0) close(fd);
    return -1;
  }
  for (ssize_t r; (r = read(fd, buf, sizeof buf)) > 0;)
    total += r;
  close(fd);
  return total;
}

static void *run(void *arg) {
  char src[32];
  snprintf(src, sizeof src, "127.0.0.%d", (int)(long)arg + 2);
  for (int i = 0; i < per; i++) {
    double t0 = now();
    long n = scrape(src);
    double dt = now() - t0;
    pthread_mutex_lock(&mu);
    if (n > 0) {
      lat[nlat++] = dt;
      last_len = n;
    } else
      failed++;
    pthread_mutex_unlock(&mu);
  }
  return NULL;
}

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
  if (argc < 6) {
    fprintf(stderr, "usage: http_scrape PORT PATH T K GZ\n");
    return 2;
  }
  port = atoi(argv[1]);
  path = argv[2];
  int t = atoi(argv[3]);
  per = atoi(argv[4]);
  gz = atoi(argv[5]);
  pthread_t th[256];
  if (t < 1 || t > 250 || per < 1 || !(lat = calloc(t * per, sizeof *lat)))
    return 2;
  for (long k = 0; k < t; k++)
    pthread_create(&th[k], NULL, run, (void *)k);
  for (int k = 0; k < t; k++)
    pthread_join(th[k], NULL);
  qsort(lat, nlat, sizeof *lat, cmp);
  printf("%.3f %d %ld\n", nlat ? lat[nlat / 2] * 1000 : -1.0, failed, last_len);
  return 0;
}
