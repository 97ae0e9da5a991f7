/* The shared console description: the manual's lines, and that what the
 * server formats the client parses back (leniently). */
#include "../../devices/bps2000v2/console.h"
#include "t.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static double num(const struct con_vals *v, const char *key) {
  const struct con_kv *kv = con_vals_find(v, key);
  return kv && kv->isnum ? kv->num : NAN;
}

static void test_show(void) {
  struct con_vals v, p;
  char buf[512] = "";
  const struct con_show_item *it;
  int unit = -1;
  con_vals_clear(&v);
  con_vals_num(&v, "load.1", 12.34);
  con_vals_num(&v, "load.2", 5.67);
  con_vals_num(&v, "load.3", 0.89);
  CHECK(con_parse_show_cmd("master load", &unit, &it) == 0 && unit == 0 &&
            strcmp(it->cmd, "load") == 0,
        "parse 'master load'");
  CHECK(con_parse_show_cmd("  SLAVE 2   Load ", &unit, &it) == 0 && unit == 2,
        "parse 'SLAVE 2 Load'");
  CHECK(con_parse_show_cmd("slave9 load", &unit, &it) < 0, "slave9 refused");
  CHECK(con_parse_show_cmd("load", &unit, &it) < 0, "unit required");
  con_fmt_show(buf, sizeof buf, it, &v);
  CHECK_STR(buf, "Load Phase1:12.34A Phase2:5.67A Phase3:0.89A\r\n",
            "load line");
  con_vals_clear(&p);
  con_parse("\r\n\r\n  load  phase1 : 12.34 A Phase2:5.67a PHASE3:0.89A xyz\n",
            &p);
  CHECK(num(&p, "load.1") == 12.34 && num(&p, "load.2") == 5.67 &&
            num(&p, "load.3") == 0.89,
        "lenient load parse");
}

static void test_thresh(void) {
  struct con_vals v, p;
  char buf[2048] = "";
  const struct con_thresh_row *r;
  double d[4];
  int unit, phase;
  con_vals_clear(&v);
  con_vals_num(&v, "current.1.ha", 32);
  con_vals_num(&v, "current.1.hw", 16);
  con_vals_num(&v, "current.1.lw", 0);
  con_vals_num(&v, "current.1.la", 0);
  con_vals_num(&v, "humidity.ha", 99);
  con_vals_num(&v, "humidity.hw", 80);
  con_vals_num(&v, "humidity.lw", 0);
  con_vals_num(&v, "humidity.la", 0);
  con_fmt_thresholds(buf, sizeof buf, &v);
  CHECK(strstr(buf, "Phase 1 Current [A]: High Alarm:32.0A High Warning:"
                    "16.0A Low Warning:0.0A Low Alarm:0.0A\r\n") != NULL,
        "threshold line as in the manual");
  CHECK(strstr(buf, "Humidity [%]: High Alarm:99% High Warning:80% Low "
                    "Warning:0% Low Alarm:0%\r\n") != NULL,
        "humidity line as in the manual");
  con_vals_clear(&p);
  con_parse(buf, &p);
  CHECK(num(&p, "current.1.ha") == 32 && num(&p, "current.1.hw") == 16 &&
            num(&p, "humidity.ha") == 99,
        "threshold parse back");
  CHECK(con_parse_thresh_cmd("current one:32&16&0&0", &unit, &r, d) == 0 &&
            unit == 0 && strcmp(r->key, "current.1") == 0 && d[0] == 32 &&
            d[1] == 16,
        "parse 'current one:32&16&0&0'");
  CHECK(con_parse_thresh_cmd("slave1 Voltage Three:260&250&190&180&", &unit, &r,
                             d) == 0 &&
            unit == 1 && strcmp(r->key, "voltage.3") == 0 && d[3] == 180,
        "parse slave voltage three");
  CHECK(con_parse_thresh_cmd("current one:32&16&0", &unit, &r, d) < 0,
        "three values refused");
  CHECK(con_parse_clear_cmd("clearp2", &unit, &phase) == 0 && phase == 2,
        "clearp2");
}

static void test_identify(void) {
  char buf[2048] = "";
  con_fmt_main_menu(buf, sizeof buf);
  CHECK(con_identify(buf) == CON_MAIN, "main menu identified");
  CHECK(con_ends_with(buf, strlen(buf), CON_PROMPT), "ends with prompt");
  CHECK(con_ends_with("x\r\nPLEASE enter the Command :  \r\n", 31, CON_PROMPT),
        "lenient prompt");
  for (int s = 1; s <= 10; s++) {
    char name[32];
    buf[0] = 0;
    con_fmt_screen(buf, sizeof buf, s, NULL, "bkt");
    snprintf(name, sizeof name, "screen %d identified", s);
    CHECK(con_identify(buf) == s, name);
  }
  CHECK(con_identify("Welcome to something else\r\n") == CON_UNKNOWN,
        "unknown screen");
}

int main(void) {
  test_show();
  test_thresh();
  test_identify();
  T_DONE();
}
