/* A missing secret asked on the terminal (DESIGN.md "Security"): a
 * telnet:// or ftp:// URI with a user and no password, or an SNMPv3 one
 * whose level needs a passphrase, with none in the URI, the inventory or
 * the environment. The answer (read without echo from /dev/tty) goes into
 * the environment variable the transports already read (OHM_PASSWORD,
 * OHM_SNMP_AUTHPASS, OHM_SNMP_PRIVPASS), so it is asked once per run and
 * never reaches a text. Without a terminal nothing is asked: the
 * transport's own one-line error says where the secret may come from. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <termios.h>
#include <unistd.h>

#include "shell.h"

static int have(const char *s) {
  return s && *s;
}

/* Read one line from the terminal without echo into env var. */
static void ask(const char *what, const char *shown, const char *env) {
  struct termios old, quiet;
  char buf[256];
  int fd = open("/dev/tty", O_RDWR | O_CLOEXEC);
  if (fd < 0) return;
  FILE *tty = fdopen(fd, "r+");
  if (!tty) {
    close(fd);
    return;
  }
  int echo_off = tcgetattr(fd, &old) == 0;
  quiet = old;
  quiet.c_lflag &= ~(tcflag_t)ECHO;
  if (echo_off) tcsetattr(fd, TCSAFLUSH, &quiet);
  fprintf(tty, "%s for %s: ", what, shown);
  fflush(tty);
  if (fgets(buf, sizeof buf, tty)) {
    buf[strcspn(buf, "\r\n")] = 0;
    if (*buf) setenv(env, buf, 1);
  }
  if (echo_off) tcsetattr(fd, TCSAFLUSH, &old);
  fputc('\n', tty);
  memset(buf, 0, sizeof buf);
  fclose(tty);
}

/* Which secret URI u (of inventory entry d, or NULL) lacks, if any. */
static void missing(const struct ohm_uri *u, const struct inv_device *d,
                    const char *shown) {
  const char *lv = ohm_uri_param(u, "level");
  if (!u->user) return;
  if (!strcmp(u->scheme, "telnet") || !strcmp(u->scheme, "ftp")) {
    if (!have(u->password) && !have(inv_field(d, "password")) &&
        !have(getenv("OHM_PASSWORD")))
      ask("Password", shown, "OHM_PASSWORD");
    return;
  }
  const char *v = ohm_uri_param(u, "version");
  if (strcmp(u->scheme, "snmp") || !v || strcmp(v, "3")) return;
  int priv =
      (lv && !strcasecmp(lv, "authPriv")) || (!lv && ohm_uri_param(u, "priv"));
  int auth = priv || (lv && !strcasecmp(lv, "authNoPriv")) ||
             (!lv && ohm_uri_param(u, "auth"));
  if (auth && !have(u->password) && !have(ohm_uri_param(u, "auth_pass")) &&
      !have(inv_field(d, "auth_pass")) && !have(getenv("OHM_SNMP_AUTHPASS")))
    ask("SNMPv3 authentication passphrase", shown, "OHM_SNMP_AUTHPASS");
  if (priv && !have(ohm_uri_param(u, "priv_pass")) &&
      !have(inv_field(d, "priv_pass")) && !have(getenv("OHM_SNMP_PRIVPASS")))
    ask("SNMPv3 privacy passphrase", shown, "OHM_SNMP_PRIVPASS");
}

void sh_ask_secrets(const struct inventory *inv, const char *name_or_uri) {
  const struct inv_device *d = inv_find(inv, name_or_uri);
  struct ohm_uri u;
  struct ohm_error e;
  if (!isatty(STDIN_FILENO) || !name_or_uri) return;
  if (ohm_uri_parse(d ? d->uri : name_or_uri, &u, &e) < 0) return;
  char *shown = inv_redact(name_or_uri);
  if (shown) missing(&u, d, shown);
  free(shown);
  ohm_uri_free(&u);
}
