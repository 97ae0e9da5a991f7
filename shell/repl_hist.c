/* REPL history: readline's list, filtered on the way in so that the file
 * written at exit never holds a secret. */
#include "repl_hist.h"

#include "../transports/uri.h"

#include <ctype.h>
#include <fcntl.h>
#include <limits.h>
#include <readline/history.h>
#include <readline/readline.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../util/lazy_readline.h" /* after readline's headers */

#define HIST_MAX 1000

/* A URI whose user info holds a password (user:pass@), or any user info
 * of an snmp:// URI (the community). */
static int uri_secret(const char *line) {
  for (const char *p = strstr(line, "://"); p; p = strstr(p + 1, "://")) {
    const char *a = p + 3;
    size_t n = strcspn(a, "/?#\"' \t[]");
    const char *at = memchr(a, '@', n);
    if (!at) continue;
    if (memchr(a, ':', (size_t)(at - a))) return 1;
    if (p - line >= 4 && strncasecmp(p - 4, "snmp", 4) == 0) return 1;
  }
  return 0;
}

/* word (pass, password, secret, community, auth_pass...) followed by an
 * assignment: `=` (not `==`) or `:`. */
static int assign_secret(const char *line) {
  static const char *const words[] = {"pass", "secret", "community", NULL};
  for (const char *s = line; *s; s++)
    for (int w = 0; words[w]; w++) {
      size_t n = strlen(words[w]);
      if (strncasecmp(s, words[w], n) != 0) continue;
      const char *p = s + n;
      while (isalnum((unsigned char)*p) || *p == '_')
        p++;
      p += strspn(p, " \t\"']");
      if ((*p == '=' && p[1] != '=') || *p == ':') return 1;
    }
  return 0;
}

/* Whatever ohm_uri_redact would hide anywhere else (one redaction for
 * every path): a "u v:pw@h" the tokenising above misses included. */
static int redacts(const char *line) {
  char *r = ohm_uri_redact(line);
  int changed = !r || strcmp(r, line) != 0;
  free(r);
  return changed;
}

int sh_line_has_secret(const char *line) {
  return uri_secret(line) || assign_secret(line) || redacts(line);
}

/* line without its blank lines (caller frees), or NULL. */
static char *drop_blank_lines(const char *line) {
  char *out = malloc(strlen(line) + 1), *o = out;
  if (!out) return NULL;
  for (const char *p = line; *p;) {
    size_t n = strcspn(p, "\n");
    if (p[strspn(p, " \t\r")] != '\n' && p[strspn(p, " \t\r")] != '\0') {
      if (o != out) *o++ = '\n';
      memcpy(o, p, n);
      o += n;
    }
    p += n + (p[n] == '\n');
  }
  *o = '\0';
  return out;
}

/* Set once readline is loaded (sh_history_load): piped input keeps no
 * history and does not load readline. */
static int hist_on;

/* A chunk of several lines is one entry (one Up recalls all of it). */
void sh_history_add(const char *line) {
  if (!hist_on || !line || !line[strspn(line, " \t\n")] ||
      sh_line_has_secret(line))
    return;
  char *chunk = drop_blank_lines(line);
  if (!chunk) return;
  HIST_ENTRY *last = history_get(history_base + history_length - 1);
  if (!last || strcmp(last->line, chunk) != 0) add_history(chunk);
  free(chunk);
}

/* The history file's path, making its directory (0700); 0 on success. */
static int hist_path(char *buf, size_t n, int mkdirs) {
  const char *state = getenv("XDG_STATE_HOME");
  const char *home = getenv("HOME");
  char dir[PATH_MAX];
  if (state && *state)
    snprintf(dir, sizeof dir, "%s/ohm", state);
  else if (home && *home)
    snprintf(dir, sizeof dir, "%s/.local/state/ohm", home);
  else
    return -1;
  if (mkdirs)
    for (char *p = dir + 1;; p++) {
      char c = *p;
      if (c == '/' || c == '\0') {
        *p = '\0';
        mkdir(dir, 0700); /* EEXIST is fine; open fails later otherwise */
        *p = c;
      }
      if (!c) break;
    }
  return (size_t)snprintf(buf, n, "%s/history", dir) < n ? 0 : -1;
}

/* The file marks each entry with a timestamp line, so that a chunk of
 * several lines reads back as one entry. */
void sh_history_load(void) {
  char path[PATH_MAX];
  hist_on = 1;
  using_history();
  history_comment_char = '#'; /* timestamp lines are "#SECONDS" */
  history_write_timestamps = 1;
  history_multiline_entries = 1;
  stifle_history(HIST_MAX);
  if (hist_path(path, sizeof path, 0) == 0) read_history(path);
}

/* Data on disk before the rename, so a crash leaves the old file or the
 * new one, never an empty one. */
static int fsync_path(const char *path) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  int rc = fsync(fd);
  close(fd);
  return rc;
}

void sh_history_save(void) {
  char path[PATH_MAX], tmp[PATH_MAX + 32];
  if (hist_path(path, sizeof path, 1) < 0) return;
  snprintf(tmp, sizeof tmp, "%s.%ld.tmp", path, (long)getpid());
  mode_t old = umask(077);
  if (write_history(tmp) == 0 && fsync_path(tmp) == 0 &&
      rename(tmp, path) == 0) {
    umask(old);
    return;
  }
  umask(old);
  unlink(tmp);
}
