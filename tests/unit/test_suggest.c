/* The shared "did you mean" helper (util/suggest.c). */
#include "t.h"
#include "util/suggest.h"

static const char *const cmds[] = {"get",  "set",  "cmd", "list",  "drivers",
                                   "help", "walk", "sim", "serve", NULL};
static const char *const vars[] = {"input.L1.current", "input.L2.current",
                                   "input.L1.current.high.critical",
                                   "input.L1-N.voltage", NULL};

int main(void) {
  CHECK(ohm_suggest_distance("gett", "get") == 1, "distance gett/get is 1");
  CHECK(ohm_suggest_distance("gte", "get") == 1, "a swap counts once");
  CHECK(ohm_suggest_distance("GET", "get") == 0, "case-insensitive");
  CHECK_STR(ohm_suggest_best("gett", cmds, 0), "get", "gett -> get");
  CHECK_STR(ohm_suggest_best("sevre", cmds, 0), "serve", "sevre -> serve");
  CHECK(ohm_suggest_best("xyzzy", cmds, 0) == NULL, "nothing near xyzzy");
  CHECK(ohm_suggest_best("get", cmds, 0) == NULL, "an exact name is no typo");
  CHECK_STR(ohm_suggest_best("input.L1.curent", vars, 0), "input.L1.current",
            "input.L1.curent -> input.L1.current");
  CHECK_STR(ohm_suggest_best("input.l1.current", vars, 0), "input.L1.current",
            "input.l1.current -> input.L1.current (case)");
  const char *drv[] = {"bps2000v2", "ups-mib"};
  CHECK_STR(ohm_suggest_best("bps2000", drv, 2), "bps2000v2",
            "bps2000 -> bps2000v2 (a prefix)");
  CHECK_STR(ohm_suggest_best("--jsn",
                             (const char *const[]){"--json", "--csv", NULL}, 0),
            "--json", "--jsn -> --json");
  T_DONE();
}
