/* The REPL's history filter: lines carrying secrets are never stored. */
#include "../../shell/repl_hist.h"
#include "t.h"

static const char *const secret[] = {
    "u = \"modbus-tcp://admin:s3cret@10.0.0.5\"",
    "pdu = ohm.open('telnet://admin:pw@10.0.0.1:2323')",
    ".open p telnet://a:b@[::1]:23",
    "s = ohm.open(\"snmp://public@10.0.0.9\")",
    "ohm.open(\"SNMP://private@h?version=2c\")",
    "t = {password = \"x\"}",
    "pass=\"x\"",
    "cfg.auth_pass = 'x'",
    "OHM_PASSWORD='x'",
    "secret = 42",
    "community: x",
    "t[\"password\"] = 1",
    ".open pdu telnet://admin x:pw@h", /* redaction hides it: so here */
    "ohm.open(\"ftp://u:p\\\"w@h\")",  /* a quote inside the password */
    NULL};

static const char *const plain[] = {
    "pdu:get(\"input.L1.current\")",
    "m = ohm.connect(\"modbus-tcp://10.0.0.5?unit=1\")",
    "d = ohm.open(\"telnet://admin@h\")",
    "if pass == nil then print(1) end",
    "print(1 + 1)",
    ".open pdu sim:bps2000v2",
    "x = 'a:b@c'",
    NULL};

int main(void) {
  char name[160];
  for (int i = 0; secret[i]; i++) {
    snprintf(name, sizeof name, "secret kept out: %s", secret[i]);
    CHECK(sh_line_has_secret(secret[i]), name);
  }
  for (int i = 0; plain[i]; i++) {
    snprintf(name, sizeof name, "plain line kept: %s", plain[i]);
    CHECK(!sh_line_has_secret(plain[i]), name);
  }
  T_DONE();
}
