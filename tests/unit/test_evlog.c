/* The event log (shell/serve/evlog.c): whole lines, a torn tail cut on
 * open, rotation by size and by age, the file's default place. */
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "t.h"
#include "shell/serve/evlog.h"

static char dir[256];

/* The whole file (a killed writer may leave megabytes), or NULL. The
 * buffer is reused by the next call and freed at exit. */
static char *slurp_buf;
static void slurp_free(void) {
  free(slurp_buf);
}

static char *slurp(const char *path) {
  struct stat st;
  int fd = open(path, O_RDONLY);
  if (fd < 0 || fstat(fd, &st) < 0) {
    if (fd >= 0) close(fd);
    return NULL;
  }
  if (!slurp_buf) atexit(slurp_free);
  char *b = realloc(slurp_buf, (size_t)st.st_size + 1);
  if (!b) {
    close(fd);
    return NULL;
  }
  slurp_buf = b;
  size_t got = 0;
  ssize_t k;
  while (got < (size_t)st.st_size &&
         (k = read(fd, b + got, (size_t)st.st_size - got)) > 0)
    got += (size_t)k;
  close(fd);
  b[got] = 0;
  return b;
}

static void spit(const char *path, const char *text) {
  FILE *f = fopen(path, "w");
  fputs(text, f);
  fclose(f);
}

/* Every line is a whole {...} object and the file ends in a newline. */
static int whole_lines(const char *text) {
  if (!text || !*text) return text != NULL;
  for (const char *p = text; *p;) {
    const char *nl = strchr(p, '\n');
    if (!nl || *p != '{' || nl[-1] != '}') return 0;
    p = nl + 1;
  }
  return 1;
}

static int count_lines(const char *text) {
  int n = 0;
  for (; text && *text; text++)
    n += *text == '\n';
  return n;
}

static void test_append_and_torn_tail(void) {
  char path[300];
  struct evlog *l;
  struct ohm_error e;
  snprintf(path, sizeof path, "%s/sub/dir/events.jsonl", dir);
  CHECK(evlog_open(path, NULL, &l, &e) == 0, "open makes the directories");
  evlog_append(l, "{\"time\":\"2099-01-01T00:00:00.000Z\",\"n\":1}", &e);
  evlog_append(l, "{\"time\":\"2099-01-01T00:00:01.000Z\",\"n\":2}", &e);
  evlog_close(l);
  CHECK(count_lines(slurp(path)) == 2 && whole_lines(slurp(path)),
        "two appends, two whole lines");
  int fd = open(path, O_WRONLY | O_APPEND);
  CHECK(write(fd, "{\"time\":\"2099-01-01T00:00:02", 28) == 28, "tear");
  close(fd);
  CHECK(evlog_open(path, NULL, &l, &e) == 0, "reopen a torn file");
  CHECK(count_lines(slurp(path)) == 2 && whole_lines(slurp(path)),
        "the torn tail is cut on open");
  evlog_append(l, "{\"n\":3}", &e);
  evlog_close(l);
  CHECK(count_lines(slurp(path)) == 3 && whole_lines(slurp(path)),
        "the next line starts on a line of its own");
  struct stat st;
  stat(path, &st);
  CHECK((st.st_mode & 077) == 0, "the log is private (0600)");
}

static void test_rotation(void) {
  char path[300], p1[320], p2[320], p3[320];
  struct evlog *l;
  struct ohm_error e;
  snprintf(path, sizeof path, "%s/rot.jsonl", dir);
  snprintf(p1, sizeof p1, "%s.1", path);
  snprintf(p2, sizeof p2, "%s.2", path);
  snprintf(p3, sizeof p3, "%s.3", path);
  struct evlog_cfg cfg = {.max_bytes = 200, .keep = 2};
  evlog_open(path, &cfg, &l, &e);
  for (int i = 0; i < 40; i++) {
    char line[64];
    snprintf(line, sizeof line,
             "{\"time\":\"2099-01-01T00:00:00.000Z\",\"i\":%d}", i);
    evlog_append(l, line, &e);
  }
  evlog_close(l);
  struct stat st;
  CHECK(stat(path, &st) == 0 && st.st_size <= 200, "rotated by size");
  CHECK(whole_lines(slurp(p1)) && count_lines(slurp(p1)) > 0,
        "FILE.1 holds whole lines");
  CHECK(access(p2, F_OK) == 0 && access(p3, F_OK) != 0,
        "keep = 2: FILE.2 kept, no FILE.3");
  CHECK(strstr(slurp(path), "\"i\":39}") != NULL, "the newest line in FILE");

  snprintf(path, sizeof path, "%s/age.jsonl", dir);
  snprintf(p1, sizeof p1, "%s.1", path);
  spit(path, "{\"time\":\"2001-01-01T00:00:00.000Z\",\"old\":1}\n");
  struct evlog_cfg age = {.max_age = 3600};
  evlog_open(path, &age, &l, &e);
  evlog_append(l, "{\"time\":\"2099-01-01T00:00:00.000Z\",\"new\":1}", &e);
  evlog_close(l);
  CHECK(strstr(slurp(p1), "\"old\"") && !strstr(slurp(path), "\"old\""),
        "rotated by age: an old first line moves to FILE.1");
  CHECK(count_lines(slurp(path)) == 1, "the new line starts the new FILE");
}

static void test_kill_mid_write(void) {
  char path[300];
  snprintf(path, sizeof path, "%s/kill.jsonl", dir);
  pid_t pid = fork();
  if (pid == 0) {
    struct evlog *l;
    struct ohm_error e;
    char line[3000];
    memset(line, 'x', sizeof line);
    memcpy(line, "{\"pad\":\"", 8);
    memcpy(line + sizeof line - 3, "\"}", 3);
    if (evlog_open(path, NULL, &l, &e) < 0) _exit(1);
    for (;;)
      evlog_append(l, line, &e);
  }
  usleep(300000);
  kill(pid, SIGKILL);
  waitpid(pid, NULL, 0);
  struct evlog *l;
  struct ohm_error e;
  evlog_open(path, NULL, &l, &e);
  evlog_close(l);
  const char *t = slurp(path);
  CHECK(count_lines(t) > 0 && whole_lines(t),
        "killed while writing: every line whole after the next open");
}

static void test_path_and_json(void) {
  char out[512];
  struct ohm_error e;
  setenv("XDG_STATE_HOME", "/x/state", 1);
  evlog_path(NULL, NULL, out, sizeof out, &e);
  CHECK_STR(out, "/x/state/ohm/events.jsonl", "XDG_STATE_HOME");
  unsetenv("XDG_STATE_HOME");
  setenv("HOME", "/home/u", 1);
  evlog_path(NULL, NULL, out, sizeof out, &e);
  CHECK_STR(out, "/home/u/.local/state/ohm/events.jsonl", "HOME");
  evlog_path("/tmp/given", NULL, out, sizeof out, &e);
  CHECK_STR(out, "/tmp/given", "--events-log wins");
  struct evbuf b = {0};
  evbuf_json_str(&b, "a\"b\\c\nd");
  CHECK_STR(b.s, "\"a\\\"b\\\\c\\u000ad\"", "JSON string escaping");
  evbuf_free(&b);
  evlog_time(1780000000.25, out, sizeof out);
  CHECK_STR(out, "2026-05-28T20:26:40.250Z", "ISO time in UTC, ms");
}

int main(void) {
  snprintf(dir, sizeof dir, "%s/evlogXXXXXX",
           getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
  if (!mkdtemp(dir)) return 1;
  test_append_and_torn_tail();
  test_rotation();
  test_kill_mid_write();
  test_path_and_json();
  char cmd[300];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  if (system(cmd)) return 1;
  T_DONE();
}
