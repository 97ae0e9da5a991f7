/* Unit tests of transports/uri.c: every URI shape of DESIGN.md, ports, IPv6
 * literals, percent-encoding, user info, query parameters, malformed URIs
 * (each rejected with a message saying what is wrong) and redaction. */
#include "transports/uri.h"

#include <stdlib.h>

#include "t.h"

static struct ohm_uri u;
static struct ohm_error err;

/* Parse s into the global u; 1 on success. */
static int ok_parse(const char *s) {
  ohm_uri_free(&u);
  ohm_error_clear(&err);
  return ohm_uri_parse(s, &u, &err) == 0;
}

/* s must be rejected with OHM_EURI and a message containing want. */
static void bad(const char *s, const char *want, const char *name) {
  struct ohm_uri v;
  struct ohm_error e2;
  ohm_error_clear(&e2);
  int rc = ohm_uri_parse(s, &v, &e2);
  CHECK(rc == OHM_EURI && e2.code == OHM_EURI && strstr(e2.msg, want), name);
  if (!(rc == OHM_EURI && strstr(e2.msg, want)))
    printf("    uri \"%s\": rc %d, message \"%s\", want \"%s\"\n", s, rc,
           e2.msg, want);
  CHECK(v.scheme == NULL && v.host == NULL && v.query == NULL,
        "nothing left allocated after a failed parse");
  CHECK(strchr(e2.msg, '\n') == NULL, "error message is one line");
}

static void test_modbus_tcp(void) {
  CHECK(ok_parse("modbus-tcp://10.0.0.5"), "modbus-tcp host only parses");
  CHECK_STR(u.scheme, "modbus-tcp", "scheme");
  CHECK_STR(u.host, "10.0.0.5", "host");
  CHECK(u.port == -1, "absent port is -1");
  CHECK_STR(u.path, "", "absent path is empty");
  CHECK(u.user == NULL && u.password == NULL, "no user info");
  CHECK(u.nquery == 0, "no query");

  CHECK(ok_parse("modbus-tcp://10.0.0.5:1502?unit=3"), "host:port?unit");
  CHECK(u.port == 1502, "port 1502");
  CHECK_STR(ohm_uri_param(&u, "unit"), "3", "unit param");
  long unit = 0;
  CHECK(ohm_uri_param_long(&u, "unit", 1, 0, 255, &unit, &err) == 0 &&
            unit == 3,
        "unit as a number");
  CHECK(ohm_uri_param_long(&u, "baud", 9600, 1, 99999, &unit, &err) == 0 &&
            unit == 9600,
        "absent numeric param gives the default");

  CHECK(ok_parse("MODBUS-TCP://Host.Example:502/"), "upper-case scheme");
  CHECK_STR(u.scheme, "modbus-tcp", "scheme lower-cased");
  CHECK_STR(u.host, "Host.Example", "host case kept");
  CHECK_STR(u.path, "/", "trailing slash path");
  CHECK(ok_parse("modbus-tcp://h:1") && u.port == 1, "port 1");
  CHECK(ok_parse("modbus-tcp://h:65535") && u.port == 65535, "port 65535");
  CHECK(ok_parse("modbus-tcp://h:0502") && u.port == 502, "leading zero");
}

static void test_ipv6(void) {
  CHECK(ok_parse("modbus-tcp://[::1]"), "[::1] without port");
  CHECK_STR(u.host, "::1", "brackets removed");
  CHECK(u.port == -1, "[::1] no port");
  CHECK(ok_parse("modbus-tcp://[::1]:1502?unit=2"), "[::1]:1502");
  CHECK_STR(u.host, "::1", "v6 host with port");
  CHECK(u.port == 1502, "v6 port");
  CHECK_STR(ohm_uri_param(&u, "unit"), "2", "v6 query");
  CHECK(ok_parse("snmp://public@[2001:db8::17]:161"), "v6 with user info");
  CHECK_STR(u.user, "public", "v6 community");
  CHECK_STR(u.host, "2001:db8::17", "v6 long literal");
  CHECK(ok_parse("modbus-tcp://[::ffff:127.0.0.1]:502"), "v4-mapped v6");
  CHECK_STR(u.host, "::ffff:127.0.0.1", "v4-mapped host");
  CHECK(ok_parse("modbus-tcp://[fe80::1%25eth0]:502"), "v6 zone id");
  CHECK_STR(u.host, "fe80::1%eth0", "zone id decoded");
  bad("modbus-tcp://[fe80::1%25et!h0]", "bad IPv6 literal", "bad zone id");
  bad("modbus-tcp://[::1", "unterminated '['", "unterminated [ rejected");
  bad("modbus-tcp://[::1:502", "unterminated '['", "unterminated [ + port");
  bad("modbus-tcp://[::1]x", "after ']'", "junk after ] rejected");
  bad("modbus-tcp://[::1]:", "empty port", "empty v6 port rejected");
  bad("modbus-tcp://[::1]:70000", "out of range", "v6 port too big");
  bad("modbus-tcp://[host]", "bad IPv6 literal", "non-hex v6 literal");
  bad("modbus-tcp://[]", "empty IPv6", "empty brackets");
  bad("modbus-tcp://::1", "brackets", "bare v6 literal rejected");
  bad("modbus-tcp://ho]st", "bad character", "stray ] in host");
}

static void test_rtu_serial(void) {
  CHECK(ok_parse("modbus-rtu:///dev/ttyUSB0?baud=9600&parity=N&data=8&"
                 "stop=1&unit=1"),
        "modbus-rtu full");
  CHECK_STR(u.host, "", "rtu empty authority");
  CHECK_STR(u.path, "/dev/ttyUSB0", "rtu path is the tty");
  CHECK(u.nquery == 5, "rtu five params");
  CHECK_STR(ohm_uri_param(&u, "baud"), "9600", "baud");
  CHECK_STR(ohm_uri_param(&u, "parity"), "N", "parity");
  CHECK_STR(ohm_uri_param(&u, "data"), "8", "data");
  CHECK_STR(ohm_uri_param(&u, "stop"), "1", "stop");
  CHECK(ok_parse("modbus-rtu:///dev/ttyUSB0?baud=9600"), "rtu baud only");
  CHECK_STR(u.path, "/dev/ttyUSB0", "rtu path");
  CHECK(u.port == -1, "rtu no port");
  CHECK(ok_parse("serial:///dev/ttyS0?baud=9600&parity=N&data=8&stop=1"),
        "serial");
  CHECK_STR(u.scheme, "serial", "serial scheme");
  CHECK_STR(u.path, "/dev/ttyS0", "serial path");
  CHECK(ok_parse("modbus-rtu:///tmp/x%20y/b"), "encoded path");
  CHECK_STR(u.path, "/tmp/x y/b", "path decoded");
  CHECK(ok_parse("modbus-rtu:/dev/ttyUSB1"), "rtu without //");
  CHECK(u.host == NULL, "no authority: host NULL");
  CHECK_STR(u.path, "/dev/ttyUSB1", "opaque path");
}

static void test_snmp_telnet(void) {
  CHECK(ok_parse("snmp://10.0.0.9"), "snmp host");
  CHECK(ok_parse("snmp://private@10.0.0.9:1161?version=1"), "snmp v1");
  CHECK_STR(u.user, "private", "community in user");
  CHECK(u.password == NULL, "no password");
  CHECK(u.port == 1161, "snmp port");
  CHECK_STR(ohm_uri_param(&u, "version"), "1", "version");
  CHECK(ok_parse("snmp://admin@h?version=3&level=authPriv&auth=SHA&priv=AES"),
        "snmp v3");
  CHECK_STR(ohm_uri_param(&u, "level"), "authPriv", "level");
  CHECK_STR(ohm_uri_param(&u, "priv"), "AES", "priv");
  CHECK(ok_parse("telnet://admin:s3cret@pdu.example:2323"), "telnet");
  CHECK_STR(u.user, "admin", "telnet user");
  CHECK_STR(u.password, "s3cret", "telnet password");
  CHECK_STR(u.host, "pdu.example", "telnet host");
  CHECK(u.port == 2323, "telnet port");
  CHECK(ok_parse("telnet://admin:@h"), "empty password");
  CHECK_STR(u.password, "", "empty password is empty, not NULL");
  CHECK(ok_parse("tftp://10.0.0.7:69"), "tftp");
  CHECK(ok_parse("ftp://user@10.0.0.7"), "ftp");
  CHECK_STR(u.user, "user", "ftp user");
  CHECK(ok_parse("modbus-tcp://h?driver=bps2000v2"), "driver param");
  CHECK_STR(ohm_uri_param(&u, "driver"), "bps2000v2", "driver value");
}

static void test_sim(void) {
  CHECK(ok_parse("sim:bps2000v2"), "sim:bps2000v2");
  CHECK_STR(u.scheme, "sim", "sim scheme");
  CHECK(u.host == NULL, "sim has no host");
  CHECK_STR(u.path, "bps2000v2", "sim driver in path");
  CHECK(ok_parse("sim:bps2000v2?units=3"), "sim with query");
  CHECK_STR(u.path, "bps2000v2", "sim path before query");
  CHECK_STR(ohm_uri_param(&u, "units"), "3", "sim query");
}

static void test_percent(void) {
  CHECK(ok_parse("telnet://us%65r%40x:p%3Aw%2F%40d@h%2Eexample:23/a%2Fb"
                 "?k%31=v%26w"),
        "percent everywhere");
  CHECK_STR(u.user, "user@x", "user decoded");
  CHECK_STR(u.password, "p:w/@d", "password decoded");
  CHECK_STR(u.host, "h.example", "host decoded");
  CHECK_STR(u.path, "/a/b", "path decoded");
  CHECK_STR(ohm_uri_param(&u, "k1"), "v&w", "query key and value decoded");
  CHECK(ok_parse("telnet://u:p@ss@h"), "raw @ in password");
  CHECK_STR(u.password, "p@ss", "last @ ends the user info");
  CHECK_STR(u.host, "h", "host after the last @");
  CHECK(ok_parse("modbus-tcp://h?x=%C3%A9"), "utf-8 escapes");
  CHECK_STR(ohm_uri_param(&u, "x"), "\xc3\xa9", "utf-8 decoded");
  bad("telnet://u:p%@h", "percent-escape in password", "lone % in password");
  bad("telnet://u%4:p@h", "percent-escape in user", "short % in user");
  bad("modbus-tcp://h%zz", "percent-escape in host", "bad hex in host");
  bad("modbus-rtu:///dev/tty%", "percent-escape in path", "% at path end");
  bad("modbus-tcp://h?a=%G1", "percent-escape in query", "bad hex in query");
  bad("modbus-tcp://h?a=x%00y", "percent-escape", "%00 rejected");
}

static void test_query(void) {
  CHECK(ok_parse("modbus-tcp://h?unit=1&unit=7"), "repeated key");
  CHECK_STR(ohm_uri_param(&u, "unit"), "7", "last one wins");
  CHECK(ok_parse("modbus-tcp://h?flag&a=1&&b=&c=x=y"), "odd query shapes");
  CHECK_STR(ohm_uri_param(&u, "flag"), "", "?flag gives empty value");
  CHECK_STR(ohm_uri_param(&u, "b"), "", "b= gives empty value");
  CHECK_STR(ohm_uri_param(&u, "c"), "x=y", "value keeps later '='");
  CHECK(ohm_uri_param(&u, "missing") == NULL, "absent param NULL");
  CHECK(u.nquery == 4, "empty segment skipped");
  CHECK(ok_parse("modbus-tcp://h?a=1#frag"), "fragment ignored");
  CHECK_STR(ohm_uri_param(&u, "a"), "1", "value before fragment");
  bad("modbus-tcp://h?=1", "empty parameter name", "empty key rejected");

  long v = 0;
  CHECK(ok_parse("modbus-tcp://h?unit=x&baud=12&unit2=999"), "parse nums");
  CHECK(ohm_uri_param_long(&u, "unit", 1, 0, 255, &v, &err) == OHM_EURI &&
            strstr(err.msg, "unit=x is not a number"),
        "non-numeric param rejected");
  CHECK(ohm_uri_param_long(&u, "unit2", 1, 0, 255, &v, &err) == OHM_EURI &&
            strstr(err.msg, "out of range"),
        "out-of-range param rejected");
  CHECK(ohm_uri_param_long(&u, "baud", 1, 0, 255, &v, &err) == 0 && v == 12,
        "in-range param");
}

static void test_malformed(void) {
  bad("", "empty URI", "empty");
  struct ohm_uri v;
  CHECK(ohm_uri_parse(NULL, &v, &err) == OHM_EURI, "NULL rejected");
  bad("10.0.0.5:502", "missing scheme", "no scheme (digit)");
  bad("://h", "missing scheme", "no scheme (empty)");
  bad("modbus-tcp", "missing ':'", "no colon after scheme");
  bad("sim:", "nothing after 'sim:'", "empty opaque part");
  bad("modbus-tcp://", "missing host", "empty authority");
  bad("modbus-tcp://:502", "missing host", "port without host");
  bad("modbus-tcp://u@", "missing host", "user without host");
  bad("modbus-tcp://h:", "empty port", "empty port");
  bad("modbus-tcp://h:abc", "port 'abc' is not a number", "alpha port");
  bad("telnet://admin:pa/ss@h", "'/' in the user info must be written %2F",
      "raw '/' in a password, not echoed");
  bad("modbus-tcp://h:5o2", "not a number", "mixed port");
  bad("modbus-tcp://h:-1", "not a number", "negative port");
  bad("modbus-tcp://h:0", "port 0 out of range", "port 0");
  bad("modbus-tcp://h:65536", "port 65536 out of range", "port 65536");
  bad("modbus-tcp://h:99999999999999999999", "out of range", "huge port");
  bad("modbus-tcp://h ost", "space", "space in host");
  bad(" modbus-tcp://h", "space", "leading space");
  bad("modbus-tcp://h?a=b c", "space", "space in query");
  bad("modbus-tcp://h\n", "control character", "newline");
  bad("modbus-tcp://h\t:502", "control character", "tab");
  bad("modbus-tcp://h[1]", "bad character", "bracket in host");
}

static void redact(const char *in, const char *want, const char *name) {
  char *r = ohm_uri_redact(in);
  CHECK_STR(r, want, name);
  free(r);
}

static void test_redact(void) {
  redact("telnet://admin:s3cret@h:23", "telnet://admin:***@h:23",
         "password hidden");
  redact("telnet://admin:p@ss@h/x?y=1", "telnet://admin:***@h/x?y=1",
         "password with raw @ hidden");
  redact("ftp://u:p%40w@[::1]:21", "ftp://u:***@[::1]:21",
         "encoded password hidden");
  redact("telnet://admin@h", "telnet://admin@h", "no password: unchanged");
  redact("modbus-tcp://[::1]:502?unit=1", "modbus-tcp://[::1]:502?unit=1",
         "v6 colons are not a password");
  redact("snmp://u@h?version=3&authpass=abc&privpass=def&auth=SHA",
         "snmp://u@h?version=3&authpass=***&privpass=***&auth=SHA",
         "secret query values hidden");
  redact("telnet://h?password=x#f", "telnet://h?password=***#f",
         "password= query hidden");
  redact("sim:x?secret=1", "sim:x?secret=***", "opaque URI query hidden");
  redact("sim:x?url=http://a:b@c", "sim:x?url=http://a:b@c",
         "'://' inside the query is not an authority");
  redact("telnet://admin:pa/ss@h:23", "telnet://admin:***@h:23",
         "password with a raw '/' hidden");
  redact("tftp://h:69/fw@2.bin", "tftp://h:69/fw@2.bin",
         "'@' in the path after a port: unchanged");
  redact("snmp://public@h:161", "snmp://***@h:161", "v2c community hidden");
  redact("SNMP://c0m@[::1]?version=1&unit=2",
         "SNMP://***@[::1]?version=1&unit=2", "v1 community hidden");
  redact("snmp://ops@h?version=3&level=authNoPriv",
         "snmp://ops@h?version=3&level=authNoPriv", "v3 user name shown");
  redact("snmp://h?version=2c", "snmp://h?version=2c", "no community: same");
  redact("snmp://c@h?version=30", "snmp://***@h?version=30",
         "version=30 is no v3");
  redact("not a uri", "not a uri", "malformed input copied");
  redact("", "", "empty copied");
  char *r = ohm_uri_redact("telnet://u:topsecret@h?authpass=hunter2");
  CHECK(r && !strstr(r, "topsecret") && !strstr(r, "hunter2"),
        "no secret survives");
  free(r);
}

static void test_copy_free(void) {
  struct ohm_uri c;
  CHECK(ok_parse("telnet://a:b@h:7/p?x=1&y=2"), "parse for copy");
  CHECK(ohm_uri_copy(&c, &u) == 0, "copy succeeds");
  CHECK_STR(c.password, "b", "copy password");
  CHECK_STR(c.path, "/p", "copy path");
  CHECK(c.port == 7 && c.nquery == 2, "copy port and query");
  CHECK_STR(ohm_uri_param(&c, "y"), "2", "copy query value");
  CHECK(c.host != u.host, "copy is deep");
  ohm_uri_free(&c);
  ohm_uri_free(&c);
  CHECK(c.scheme == NULL && c.port == -1, "free is idempotent");
  CHECK(ok_parse("sim:x"), "parse for copy 2");
  CHECK(ohm_uri_copy(&c, &u) == 0 && c.host == NULL && c.user == NULL,
        "copy keeps NULLs");
  ohm_uri_free(&c);
}

int main(void) {
  test_modbus_tcp();
  test_ipv6();
  test_rtu_serial();
  test_snmp_telnet();
  test_sim();
  test_percent();
  test_query();
  test_malformed();
  test_redact();
  test_copy_free();
  ohm_uri_free(&u);
  T_DONE();
}
