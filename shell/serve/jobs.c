/* Built-in jobs (see jobs.h): exec and syslog here, the libcurl ones in
 * jobs_curl.c. */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "jobs.h"
#include "nut_fsd.h"
#include "util/clock.h"

extern char **environ;

int job_curl_http(const struct job *j, struct ohm_error *e);
int job_curl_mail(const struct job *j, struct ohm_error *e);
int job_snmp_trap(const struct job *j, struct ohm_error *e);

const char *job_get(const struct job *j, const char *key) {
  for (size_t i = 0; i < j->nkv; i++)
    if (!strcmp(j->kv[i].key, key)) return j->kv[i].val;
  return NULL;
}

static int job_push(char ***v, size_t *n, char *s) {
  char **p = s ? realloc(*v, (*n + 2) * sizeof *p) : NULL;
  if (!p) {
    free(s);
    return OHM_ENOMEM;
  }
  p[(*n)++] = s;
  p[*n] = NULL;
  *v = p;
  return 0;
}

int job_add_kv(struct job *j, const char *key, const char *val) {
  struct ohm_kv *p = realloc(j->kv, (j->nkv + 1) * sizeof *p);
  if (!p) return OHM_ENOMEM;
  j->kv = p;
  p[j->nkv].key = strdup(key);
  p[j->nkv].val = strdup(val);
  if (!p[j->nkv].key || !p[j->nkv].val) {
    free(p[j->nkv].key);
    free(p[j->nkv].val);
    return OHM_ENOMEM;
  }
  j->nkv++;
  return 0;
}

int job_add_list(struct job *j, const char *s) {
  return job_push(&j->list, &j->nlist, strdup(s));
}

int job_add_env(struct job *j, const char *name, const char *val) {
  char *s = malloc(strlen(name) + strlen(val) + 2);
  if (s) sprintf(s, "%s=%s", name, val);
  return job_push(&j->env, &j->nenv, s);
}

void job_free(struct job *j) {
  if (!j) return;
  for (size_t i = 0; i < j->nlist; i++)
    free(j->list[i]);
  for (size_t i = 0; i < j->nenv; i++)
    free(j->env[i]);
  for (size_t i = 0; i < j->nkv; i++) {
    free(j->kv[i].key);
    free(j->kv[i].val);
  }
  free(j->list);
  free(j->env);
  free(j->kv);
  free(j->kind);
  free(j);
}

/* environ plus j's variables (j's win); the strings are borrowed. */
static char **exec_env(const struct job *j) {
  size_t n = 0;
  while (environ && environ[n])
    n++;
  char **env = calloc(n + j->nenv + 1, sizeof *env), **p = env;
  if (!env) return NULL;
  for (size_t i = 0; i < n; i++) {
    size_t k = strcspn(environ[i], "=");
    int shadowed = 0;
    for (size_t m = 0; m < j->nenv && !shadowed; m++)
      shadowed = !strncmp(j->env[m], environ[i], k + 1);
    if (!shadowed) *p++ = environ[i];
  }
  for (size_t m = 0; m < j->nenv; m++)
    *p++ = j->env[m];
  return env;
}

static int exec_spawn(const struct job *j, pid_t *pid, struct ohm_error *e) {
  posix_spawnattr_t at;
  posix_spawn_file_actions_t fa;
  sigset_t none, def;
  char **env = exec_env(j);
  if (!env) return ohm_error_set(e, OHM_ENOMEM, "out of memory");
  sigemptyset(&none);
  sigemptyset(&def); /* serve blocks and ignores these: give them back */
  sigaddset(&def, SIGPIPE);
  sigaddset(&def, SIGHUP);
  sigaddset(&def, SIGTERM);
  sigaddset(&def, SIGINT);
  posix_spawnattr_init(&at);
  posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
                                    POSIX_SPAWN_SETSIGDEF);
  posix_spawnattr_setpgroup(&at, 0);
  posix_spawnattr_setsigmask(&at, &none);
  posix_spawnattr_setsigdefault(&at, &def);
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
  int rc = posix_spawn(pid, j->list[0], &fa, &at, j->list, env);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&at);
  free(env);
  if (rc)
    return ohm_error_set(e, OHM_EIO, "cannot run %s (%s)", j->list[0],
                         strerror(rc));
  return 0;
}

/* argv[0] must be a path: no shell, no PATH search surprises. */
static int job_exec(const struct job *j, struct ohm_error *e) {
  pid_t pid;
  int st;
  if (!j->nlist) return ohm_error_set(e, OHM_EINVAL, "exec: no argv");
  int rc = exec_spawn(j, &pid, e);
  if (rc < 0) return rc;
  double end = ohm_mono() + j->timeout;
  while (waitpid(pid, &st, WNOHANG) == 0) {
    if (ohm_mono() >= end) {
      kill(-pid, SIGKILL);
      kill(pid, SIGKILL);
      waitpid(pid, &st, 0);
      return ohm_error_set(e, OHM_ETIMEDOUT, "killed at its timeout, %g s",
                           j->timeout);
    }
    nanosleep(&(struct timespec){0, 5000000}, NULL);
  }
  if (WIFEXITED(st) && WEXITSTATUS(st) == 0) return 0;
  if (WIFEXITED(st))
    return ohm_error_set(e, OHM_EIO, "exit %d", WEXITSTATUS(st));
  return ohm_error_set(e, OHM_EIO, "killed by signal %d", WTERMSIG(st));
}

static int syslog_severity(const char *s) {
  static const char *const names[] = {"emerg",   "alert",  "crit", "err",
                                      "warning", "notice", "info", "debug"};
  for (int i = 0; s && i < 8; i++)
    if (!strcmp(s, names[i])) return i;
  return LOG_WARNING;
}

/* RFC 5424 over UDP to server "HOST:PORT" (default port 514). */
static int syslog_udp(const char *server, int pri, const char *msg,
                      struct ohm_error *e) {
  char host[256], port[16] = "514", line[1536], ts[40], me[128];
  const char *c = strrchr(server, ':');
  struct addrinfo hints = {.ai_socktype = SOCK_DGRAM}, *res;
  snprintf(host, sizeof host, "%.*s", c ? (int)(c - server) : 255, server);
  if (c) snprintf(port, sizeof port, "%s", c + 1);
  if (getaddrinfo(host, port, &hints, &res))
    return ohm_error_set(e, OHM_EINVAL, "syslog: bad server '%s'", server);
  struct timespec now;
  struct tm tm;
  clock_gettime(CLOCK_REALTIME, &now);
  gmtime_r(&now.tv_sec, &tm);
  strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
  if (gethostname(me, sizeof me) < 0) snprintf(me, sizeof me, "-");
  int n = snprintf(line, sizeof line, "<%d>1 %s.%03ldZ %s ohm %d - - %s", pri,
                   ts, now.tv_nsec / 1000000, me, (int)getpid(), msg);
  int fd = socket(res->ai_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  ssize_t w =
      fd < 0 ? -1
             : sendto(fd, line,
                      (size_t)n < sizeof line ? (size_t)n : sizeof line - 1, 0,
                      res->ai_addr, res->ai_addrlen);
  int err = errno;
  if (fd >= 0) close(fd);
  freeaddrinfo(res);
  if (w < 0)
    return ohm_error_set(e, OHM_EIO, "syslog to %s: %s", server, strerror(err));
  return 0;
}

static int job_syslog(const struct job *j, struct ohm_error *e) {
  const char *server = job_get(j, "server"), *msg = job_get(j, "message");
  int sev = syslog_severity(job_get(j, "severity"));
  if (!msg) msg = "";
  if (server && *server) return syslog_udp(server, 3 * 8 + sev, msg, e);
  syslog(LOG_DAEMON | sev, "%s", msg);
  return 0;
}

static int job_device(const struct job *j, const struct job_host *h,
                      struct ohm_error *e) {
  const char *dev = job_get(j, "device");
  int is_set = !strcmp(j->kind, "set");
  if (!h || (is_set && !h->set) || (!is_set && !h->cmd))
    return ohm_error_set(e, OHM_ENOTSUP, "%s: no device access here", j->kind);
  if (is_set)
    return h->set(h->ctx, dev, job_get(j, "var"), job_get(j, "value"), e);
  return h->cmd(h->ctx, dev, job_get(j, "command"), e);
}

/* shutdown{command = {...}, hostsync = S}: FSD on the device for NUT
 * clients, wait until they have logged out (or hostsync, default 15 s,
 * passes), then the command if one is given. */
static int job_shutdown(const struct job *j, struct ohm_error *e) {
  const char *dev = job_get(j, "device"), *hs = job_get(j, "hostsync");
  double end = ohm_mono() + (hs ? atof(hs) : 15);
  if (!dev) return ohm_error_set(e, OHM_EINVAL, "shutdown: no device");
  nutf_set_fsd(dev);
  while (nutf_numlogins(dev) > 0 && ohm_mono() < end)
    nanosleep(&(struct timespec){0, 50000000}, NULL);
  if (!j->nlist) return 0; /* FSD set and waited: nothing else to run */
  return job_exec(j, e);
}

int job_run(const struct job *j, const struct job_host *h,
            struct ohm_error *e) {
  ohm_error_clear(e);
  if (!strcmp(j->kind, "exec")) return job_exec(j, e);
  if (!strcmp(j->kind, "syslog")) return job_syslog(j, e);
  if (!strcmp(j->kind, "http")) return job_curl_http(j, e);
  if (!strcmp(j->kind, "mail")) return job_curl_mail(j, e);
  if (!strcmp(j->kind, "trap")) return job_snmp_trap(j, e);
  if (!strcmp(j->kind, "cmd") || !strcmp(j->kind, "set"))
    return job_device(j, h, e);
  if (!strcmp(j->kind, "log")) return 0;
  if (!strcmp(j->kind, "shutdown")) return job_shutdown(j, e);
  return ohm_error_set(e, OHM_ENOTSUP, "%s jobs are not in this build",
                       j->kind);
}
