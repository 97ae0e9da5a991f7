/* The physical limit of reads on one connection: a raw TCP socket sends
 * the same function-03 request (99 registers, unit 1) K times, waiting for
 * each whole reply (checked: transaction id, unit, function, byte count).
 * Usage: mb_rtt HOST PORT K */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int read_full(int fd, unsigned char *b, int n) {
  int got = 0;
  while (got < n) {
    ssize_t r = read(fd, b + got, n - got);
    if (r <= 0) return -1;
    got += r;
  }
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: mb_rtt HOST PORT K\n");
    return 2;
  }
  struct sockaddr_in sa = {.sin_family = AF_INET,
                           .sin_port = htons(atoi(argv[2]))};
  int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1, k = atoi(argv[3]);
  if (inet_pton(AF_INET, argv[1], &sa.sin_addr) != 1 ||
      connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
    perror("mb_rtt: connect");
    return 1;
  }
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  unsigned long sum = 0;
  for (int i = 0; i < k; i++) {
    unsigned char q[12] = {i >> 8, i & 255, 0, 0, 0, 6, 1, 3, 0, 0, 0, 99};
    unsigned char a[9 + 198];
    if (write(fd, q, 12) != 12 || read_full(fd, a, 9) || memcmp(a, q, 2) ||
        a[6] != 1 || a[7] != 3 || a[8] != 198 || read_full(fd, a + 9, 198)) {
      fprintf(stderr, "mb_rtt: bad or no reply at read %d\n", i);
      return 1;
    }
    sum += a[9] << 8 | a[10];
  }
  printf("%d reads, first-register sum %lu\n", k, sum);
  return 0;
}
