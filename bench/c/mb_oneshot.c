/* The physical limit of a one-shot Modbus TCP read: connect, read the 99
 * holding registers of a BPS2000v2 in one request (function 03), print
 * them as "REG: VALUE" lines, exit. What `ohm get` is compared with.
 * Usage: mb_oneshot HOST PORT [COUNT] */
#include <errno.h>
#include <modbus.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: mb_oneshot HOST PORT [COUNT]\n");
    return 2;
  }
  int n = argc > 3 ? atoi(argv[3]) : 99;
  uint16_t reg[125];
  if (n < 1 || n > 125) return 2;
  modbus_t *ctx = modbus_new_tcp(argv[1], atoi(argv[2]));
  if (!ctx || modbus_connect(ctx) != 0 || modbus_set_slave(ctx, 1) != 0 ||
      modbus_read_registers(ctx, 0, n, reg) != n) {
    fprintf(stderr, "mb_oneshot: %s\n", modbus_strerror(errno));
    return 1;
  }
  for (int i = 0; i < n; i++)
    printf("%d: %u\n", i, reg[i]);
  modbus_close(ctx);
  modbus_free(ctx);
  return 0;
}
