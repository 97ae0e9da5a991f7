/* lua/config.c: a saved configuration rendered as Lua and loaded back in
 * the sandbox is the same (texts with quotes, backslashes and newlines,
 * numbers with many digits, a device name that tries to end the comment);
 * the write is atomic (no temporary left, an existing file replaced);
 * files that are not saved configurations are refused with a reason. */
#include <dirent.h>
#include <pthread.h>
#include <string.h>
#include <time.h>
#include <stdlib.h>
#include <unistd.h>

#include "../../lua/config.h"
#include "t.h"

static char dir[] = "/tmp/ohm-test-config-XXXXXX";

static void fill(struct cfg_file *f) {
  static const char *const names[] = {"a.low.critical", "b.text", "c.num"};
  f->device = strdup("pdu\n} os.exit(3) --");
  f->driver = strdup("bps2000v2");
  f->model = strdup("BPS \"2000\" v2\\");
  f->time = strdup("2026-12-01T00:00:00Z");
  f->vals = calloc(3, sizeof *f->vals);
  f->n = 3;
  for (int i = 0; i < 3; i++)
    f->vals[i].name = strdup(names[i]);
  f->vals[0].num = -12.5;
  f->vals[1].is_str = 1;
  f->vals[1].str = strdup("line1\nline2 \"q\" \\ \x01 end");
  f->vals[2].num = 1234567.125;
}

static size_t entries(void) {
  size_t n = 0;
  DIR *d = opendir(dir);
  for (struct dirent *e; d && (e = readdir(d));)
    n += e->d_name[0] != '.';
  if (d) closedir(d);
  return n;
}

static void roundtrip(void) {
  struct cfg_file *f = calloc(1, sizeof *f), *g = NULL;
  struct ohm_error e;
  char path[128];
  fill(f);
  char *text = cfg_render(f, NULL);
  snprintf(path, sizeof path, "%s/saved.lua", dir);
  CHECK(text && cfg_write_file(path, "old", &e) == 0 &&
            cfg_write_file(path, text, &e) == 0,
        "rendered and written over an older file");
  CHECK(entries() == 1, "no temporary file left beside it");
  CHECK(cfg_load(path, &g, &e) == 0 && g, "loaded back in the sandbox");
  if (g && g->n == 3) {
    CHECK_STR(g->device, f->device, "a name with a newline stays a value");
    CHECK_STR(g->model, f->model, "quotes and backslashes survive");
    CHECK_STR(g->vals[1].str, f->vals[1].str, "a text value survives");
    CHECK(!g->vals[0].is_str && g->vals[0].num == -12.5 &&
              g->vals[2].num == 1234567.125,
          "numbers survive");
  } else {
    CHECK(0, "three values loaded");
  }
  cfg_free(g);
  cfg_free(f);
  free(text);
}

static int load_text(const char *text, char *why, size_t n) {
  struct cfg_file *f = NULL;
  struct ohm_error e;
  char path[128];
  snprintf(path, sizeof path, "%s/bad.lua", dir);
  ohm_error_clear(&e);
  cfg_write_file(path, text, &e);
  int rc = cfg_load(path, &f, &e);
  snprintf(why, n, "%s", ohm_error_text(&e));
  cfg_free(f);
  return rc;
}

static void refusals(void) {
  char why[512];
  CHECK(load_text("return 5", why, sizeof why) < 0 && strstr(why, "table"),
        "a file that returns no table is refused");
  CHECK(load_text("return {driver='x', values={}, extra=1}", why, sizeof why) <
                0 &&
            strstr(why, "unknown key 'extra'"),
        "an unknown key is refused, named");
  CHECK(load_text("return {values={}}", why, sizeof why) < 0 &&
            strstr(why, "no 'driver'"),
        "a file without driver is refused");
  CHECK(load_text("return {driver='x', values={a={}}}", why, sizeof why) < 0 &&
            strstr(why, "values[\"a\"] must be a number or a string"),
        "a value of the wrong type is refused, named");
  CHECK(load_text("local t = {} while true do t[#t+1] = t end", why,
                  sizeof why) < 0,
        "a runaway file stops at the sandbox's limits");
  CHECK(load_text("return {driver=io.read(), values={}}", why, sizeof why) < 0,
        "no io in the sandbox");
}

/* cfg_parallel: items on one serial line never run at once, and keep
 * their order; items on different lines do run at once. */
static const char *const buses[] = {"/dev/ttyA", NULL, "/dev/ttyA", "/dev/ttyB",
                                    "/dev/ttyA", NULL, "/dev/ttyB"};
#define NB (sizeof buses / sizeof *buses)
static pthread_mutex_t par_mu = PTHREAD_MUTEX_INITIALIZER;
static int busy_a, busy_b, max_a, max_b, running, max_running;
static size_t seq_a[NB], nseq_a;

static const char *bus_of(void *ctx, size_t i) {
  (void)ctx;
  return buses[i];
}

static void par_item(void *ctx, size_t i) {
  struct timespec ts = {0, 30000000};
  (void)ctx;
  pthread_mutex_lock(&par_mu);
  int *busy = buses[i] && buses[i][8] == 'A'   ? &busy_a
              : buses[i] && buses[i][8] == 'B' ? &busy_b
                                               : NULL;
  if (busy && ++*busy > (busy == &busy_a ? max_a : max_b))
    *(busy == &busy_a ? &max_a : &max_b) = *busy;
  if (busy == &busy_a) seq_a[nseq_a++] = i;
  if (++running > max_running) max_running = running;
  pthread_mutex_unlock(&par_mu);
  nanosleep(&ts, NULL);
  pthread_mutex_lock(&par_mu);
  if (busy) --*busy;
  running--;
  pthread_mutex_unlock(&par_mu);
}

static void parallel_by_bus(void) {
  cfg_parallel(NB, 8, bus_of, par_item, NULL, NULL);
  CHECK(max_a == 1 && max_b == 1,
        "cfg_parallel: two items of one serial line never at once");
  CHECK(nseq_a == 3 && seq_a[0] == 0 && seq_a[1] == 2 && seq_a[2] == 4,
        "cfg_parallel: a line's items in their order");
  CHECK(max_running >= 2, "cfg_parallel: different lines at once");
}

int main(void) {
  if (!mkdtemp(dir)) return 1;
  roundtrip();
  refusals();
  parallel_by_bus();
  char path[160];
  snprintf(path, sizeof path, "%s/saved.lua", dir);
  unlink(path);
  snprintf(path, sizeof path, "%s/bad.lua", dir);
  unlink(path);
  rmdir(dir);
  T_DONE();
}
