/* ohm modbus read DEVICE ADDR [COUNT] / ohm modbus write DEVICE ADDR VALUE...:
 * raw Modbus requests (mbpoll's job) with decoding by the map types:
 * --function 1-4 to read (coils, discrete inputs, holding, input
 * registers), 5/6/15/16 to write; --type and --order as in ohm-maps(5);
 * --unit; --watch N repeats a read every N seconds. Output: a table of
 * address, raw (hex) and decoded value, or --json/--csv. */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "output.h"
#include "shell.h"

#define MODBUS_USAGE                                                           \
  "modbus read|write [OPTS] [--function N] [--type T] [--order O] "            \
  "[--unit N] [--watch N] DEVICE ADDR [COUNT | VALUE...]"

struct mb_args {
  int fc, unit, watch;
  struct dev_var v; /* the type, order and width of each value */
};

static const char *const types[] = {"u16",  "s16",    "u32",     "s32",
                                    "u64",  "s64",    "float32", "float64",
                                    "bool", "string", NULL};
static const enum dev_type type_of[] = {
    DT_U16, DT_S16,     DT_U32,     DT_S32,  DT_U64,
    DT_S64, DT_FLOAT32, DT_FLOAT64, DT_BOOL, DT_STRING};
static const int type_words[] = {1, 1, 2, 2, 4, 4, 2, 4, 1, 1};
static const char *const orders[] = {"ABCD", "CDAB", "BADC", "DCBA", NULL};

static int pick(const char *const *names, const char *s) {
  for (int i = 0; names[i]; i++)
    if (strcasecmp(names[i], s) == 0) return i;
  return -1;
}

/* An integer in [lo, hi], decimal or 0x hex, with nothing after it. */
static int parse_long(const char *s, long lo, long hi, long *out) {
  char *end;
  errno = 0;
  long v = strtol(s, &end, 0);
  if (end == s || *end || errno || v < lo || v > hi) return -1;
  *out = v;
  return 0;
}

/* One of our own options at argv[i] ("--type u32" or "--type=u32");
 * returns the arguments it took (1 or 2), 0 if not ours, -1 if bad. */
static int own_opt(char **argv, int i, int argc, struct mb_args *a) {
  static const char *const names[] = {"--function", "--type",  "--order",
                                      "--unit",     "--watch", NULL};
  const char *arg = NULL;
  int k, took = 1;
  long n;
  for (k = 0; names[k]; k++) {
    size_t l = strlen(names[k]);
    if (strncmp(argv[i], names[k], l) == 0 &&
        (argv[i][l] == 0 || argv[i][l] == '='))
      break;
  }
  if (!names[k]) return 0;
  arg = strchr(argv[i], '=') ? strchr(argv[i], '=') + 1 : NULL;
  if (!arg && i + 1 < argc) arg = argv[i + 1], took = 2;
  if (!arg) return sh_errorf("modbus", "%s needs a value", names[k]), -1;
  switch (k) {
  case 0:
    if (parse_long(arg, 1, 16, &n) < 0 || (n > 6 && n != 15 && n != 16))
      return sh_errorf("modbus", "bad --function '%s' (1-6, 15, 16)", arg), -1;
    a->fc = (int)n;
    break;
  case 1:
    if ((n = pick(types, arg)) < 0)
      return sh_errorf("modbus",
                       "bad --type '%s' (u16, s16, u32, s32, u64, s64, "
                       "float32, float64, bool, string)",
                       arg),
             -1;
    a->v.type = type_of[n];
    a->v.nwords = type_words[n];
    break;
  case 2:
    if ((n = pick(orders, arg)) < 0)
      return sh_errorf("modbus", "bad --order '%s' (ABCD, CDAB, BADC, DCBA)",
                       arg),
             -1;
    a->v.order = (enum dev_order)n;
    break;
  case 3:
    if (parse_long(arg, 0, 255, &n) < 0)
      return sh_errorf("modbus", "bad --unit '%s' (0-255)", arg), -1;
    a->unit = (int)n;
    break;
  default:
    if (parse_long(arg, 1, 86400, &n) < 0)
      return sh_errorf("modbus", "bad --watch '%s' (seconds)", arg), -1;
    a->watch = (int)n;
  }
  return took;
}

/* The raw hex of n registers ("0x4366 0x8000") or bits ("1"). */
static void raw_text(const uint16_t *r, int n, int bits, char *buf, size_t sz) {
  size_t k = 0;
  buf[0] = 0;
  for (int i = 0; i < n && k < sz; i++)
    k += (size_t)snprintf(buf + k, sz - k, bits ? "%s%u" : "%s0x%04x",
                          i ? " " : "", r[i]);
}

/* The decoded value of one item. */
static void value_text(const struct dev_var *v, const uint16_t *r, char *buf,
                       size_t sz) {
  struct ohm_error e;
  double x;
  int rc = dev_decode(v, r, &x, buf, sz, &e);
  if (rc < 0)
    snprintf(buf, sz, "error (%s)", ohm_error_text(&e));
  else if (rc == 0 && (v->type == DT_FLOAT32 || v->type == DT_FLOAT64))
    snprintf(buf, sz, "%.9g", x);
  else if (rc == 0)
    snprintf(buf, sz, "%.0f", x);
}

static int print_items(const struct sh_opts *o, const struct mb_args *a,
                       int addr, int count, const uint16_t *r) {
  static const char *const cols[] = {"address", "raw", "value"};
  int w = a->v.nwords, bits = a->fc <= 2;
  struct sh_cell *c = calloc((size_t)count * 3 + 1, sizeof *c);
  char(*t)[3][200] = calloc((size_t)count + 1, sizeof *t);
  struct sh_out out;
  if (!c || !t) {
    free(c);
    free(t);
    return sh_errorf("modbus", "out of memory"), EXIT_FAIL;
  }
  for (int i = 0; i < count; i++) {
    snprintf(t[i][0], sizeof t[i][0], "%d", addr + i * w);
    raw_text(r + i * w, w, bits, t[i][1], sizeof t[i][1]);
    value_text(&a->v, r + i * w, t[i][2], sizeof t[i][2]);
    c[i * 3] = (struct sh_cell){t[i][0], 1};
    c[i * 3 + 1] = (struct sh_cell){t[i][1], 0};
    c[i * 3 + 2] = (struct sh_cell){
        t[i][2], a->v.type != DT_STRING && strncmp(t[i][2], "error", 5) != 0};
  }
  sh_out_init(&out, o->mode, stdout);
  sh_out_table(&out, cols, 3, c, (size_t)count);
  fflush(stdout);
  free(c);
  free(t);
  return EXIT_OK;
}

static volatile sig_atomic_t stop;
static void on_stop(int sig) {
  (void)sig;
  stop = 1;
  tp_interrupt();
}

static int do_read(struct tp *t, const char *dev, const struct sh_opts *o,
                   const struct mb_args *a, int addr, long count) {
  int n = (int)count * a->v.nwords, rc;
  uint16_t r[2000];
  struct ohm_error e;
  if (n > (a->fc <= 2 ? 2000 : 125))
    return sh_errorf(dev,
                     "%ld values of %d registers: more than one request "
                     "carries",
                     count, a->v.nwords),
           EXIT_USAGE;
  if (a->watch) signal(SIGINT, on_stop);
  for (;;) {
    if ((rc = tp_modbus(t, a->unit, a->fc, addr, n, r, &e)) < 0) {
      sh_error(dev, &e);
      return sh_exit_code(rc);
    }
    print_items(o, a, addr, (int)count, r);
    if (!a->watch) return EXIT_OK;
    for (int s = 0; s < a->watch * 10 && !stop; s++)
      nanosleep(&(struct timespec){0, 100000000}, NULL);
    if (stop) return EXIT_OK;
    if (o->mode == SH_TABLE) printf("\n");
  }
}

/* Encode the values given into registers (or bits). */
static int encode_values(const char *dev, struct mb_args *a, char **vals,
                         int nv, uint16_t *r) {
  struct ohm_error e;
  a->v.access = DA_RW;
  for (int i = 0; i < nv; i++)
    if (dev_encode(&a->v, vals[i], r + i * a->v.nwords, &e) < 0) {
      sh_errorf(dev, "%s", ohm_error_text(&e));
      return -1;
    }
  return 0;
}

static int do_write(struct tp *t, const char *dev, const struct sh_opts *o,
                    struct mb_args *a, int addr, char **vals, int nv) {
  int n = nv * a->v.nwords, rc;
  uint16_t r[125];
  char prompt[160];
  struct ohm_error e;
  if (n > 123) return sh_errorf(dev, "too many values"), EXIT_USAGE;
  if (!a->fc) a->fc = n > 1 ? 16 : a->v.type == DT_BOOL ? 5 : 6;
  if (a->fc <= 4 || ((a->fc == 5 || a->fc == 6) && n > 1))
    return sh_errorf(dev, "function %d cannot write %d values", a->fc, n),
           EXIT_USAGE;
  if (a->fc == 5 || a->fc == 15) a->v.type = DT_BOOL;
  if (encode_values(dev, a, vals, nv, r) < 0) return EXIT_USAGE;
  snprintf(prompt, sizeof prompt, "%s: write %d value%s at %d (function %d)",
           dev, nv, nv > 1 ? "s" : "", addr, a->fc);
  if (!sh_confirm(o, prompt)) return EXIT_FAIL;
  if ((rc = tp_modbus(t, a->unit, a->fc, addr, n, r, &e)) < 0) {
    sh_error(dev, &e);
    return sh_exit_code(rc);
  }
  return EXIT_OK;
}

/* Our options out of argv (the rest stays for sh_parse_common). */
static int take_own(int *argc, char **argv, struct mb_args *a) {
  int n = 1;
  for (int i = 1; i < *argc; i++) {
    int k = strcmp(argv[i], "--") == 0 ? 0 : own_opt(argv, i, *argc, a);
    if (k < 0) return -1;
    if (k == 0) argv[n++] = argv[i];
    i += k > 1;
  }
  *argc = n;
  return 0;
}

int cmd_modbus(int argc, char **argv) {
  struct mb_args a = {.unit = -1};
  struct sh_opts o;
  struct ohm_error e;
  struct tp *t;
  long addr, count = 1;
  int i, rc, wr;
  a.v.type = DT_U16;
  a.v.nwords = 1;
  a.v.scale = 1;
  a.v.name = "value";
  a.v.unit = "";
  sh_opts_init(&o);
  ohm_error_clear(&e);
  if (argc < 2 || (strcmp(argv[1], "read") && strcmp(argv[1], "write") &&
                   strcmp(argv[1], "--help") && strcmp(argv[1], "-h")))
    return sh_usage(MODBUS_USAGE);
  wr = strcmp(argv[1], "write") == 0;
  if (argv[1][0] != '-') argc--, argv++; /* argv[0] is now the verb */
  if (take_own(&argc, argv, &a) < 0) return EXIT_USAGE;
  if ((i = sh_parse_common(argc, argv, &o, MODBUS_USAGE)) < 0)
    return EXIT_USAGE;
  if (argc - i < 2 || (wr && argc - i < 3) || (!wr && argc - i > 3))
    return sh_usage(MODBUS_USAGE);
  if (parse_long(argv[i + 1], 0, 65535, &addr) < 0 ||
      (!wr && argc - i == 3 && parse_long(argv[i + 2], 1, 2000, &count) < 0))
    return sh_errorf(argv[i], "bad address or count"), EXIT_USAGE;
  if (a.v.type == DT_STRING) a.v.nwords = (int)count, count = 1;
  if (!wr && !a.fc) a.fc = 3;
  if (!wr && a.fc > 4)
    return sh_errorf(argv[i], "read takes --function 1-4"), EXIT_USAGE;
  if (!wr && a.fc <= 2) a.v.type = DT_BOOL, a.v.nwords = 1;
  a.v.reg = (int)addr;
  if ((rc = sh_open_tp(argv[i], &o, &t, &e)) < 0) {
    sh_error(argv[i], &e);
    return sh_exit_code(rc);
  }
  if (t->ops->kind != TP_REGS) {
    sh_errorf(argv[i], "modbus needs a modbus-tcp:// or modbus-rtu:// device");
    tp_free(t);
    return EXIT_USAGE;
  }
  rc = wr ? do_write(t, argv[i], &o, &a, (int)addr, argv + i + 2, argc - i - 2)
          : do_read(t, argv[i], &o, &a, (int)addr, count);
  tp_free(t);
  return rc;
}
