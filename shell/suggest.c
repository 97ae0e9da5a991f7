/* The shell's "did you mean": variables, options and commands (see
 * suggest.h); the nearest-name rule is util/suggest.c's. */
#include "suggest.h"

#include <stdio.h>
#include <string.h>

#include "../util/suggest.h"
#include "shell.h"

const char *sh_suggest_var(const struct dev_map *m, const char *name) {
  struct ohm_suggest s;
  ohm_suggest_init(&s, name);
  for (size_t i = 0; m && i < m->nvars; i++)
    ohm_suggest_add(&s, m->vars[i].name);
  return s.best;
}

const char *sh_suggest_option(const struct option *opts, const char *arg) {
  static char buf[64];
  char word[64];
  struct ohm_suggest s;
  const char *best = NULL;
  if (!arg || strncmp(arg, "--", 2) != 0) return NULL;
  snprintf(word, sizeof word, "%.*s", (int)strcspn(arg + 2, "="), arg + 2);
  ohm_suggest_init(&s, word);
  for (size_t i = 0; opts && opts[i].name; i++)
    ohm_suggest_add(&s, opts[i].name);
  if (s.best && strlen(s.best) < sizeof buf - 2) {
    snprintf(buf, sizeof buf, "--%s", s.best);
    best = buf;
  }
  return best;
}

const char *sh_suggest_command(const char *word) {
  struct ohm_suggest s;
  ohm_suggest_init(&s, word);
  for (const struct sh_command *c = sh_commands; c->name; c++)
    if (c->run) ohm_suggest_add(&s, c->name);
  return s.best;
}

void sh_no_cmd(const char *device, const struct dev_map *m, const char *name) {
  struct ohm_suggest s;
  ohm_suggest_init(&s, name);
  for (size_t i = 0; m && i < m->ncmds; i++)
    ohm_suggest_add(&s, m->cmds[i].name);
  if (s.best)
    sh_errorf(device, "no command '%s' (did you mean %s? see ohm list %s)",
              name, s.best, device);
  else
    sh_errorf(device, "no command '%s' (see ohm list %s)", name, device);
}

void sh_no_var(const char *device, const struct dev_map *m, const char *name) {
  const char *best = sh_suggest_var(m, name);
  if (best)
    sh_errorf(device, "no variable '%s' (did you mean %s? see ohm list %s)",
              name, best, device);
  else
    sh_errorf(device, "no variable '%s' (see ohm list %s)", name, device);
}

/* The nearest variable of any built-in driver's map: for a VAR of poll,
 * record or watch, which read several devices (maps are cached, so this
 * costs nothing after the read). */
static const char *suggest_var_any(const char *name) {
  struct ohm_suggest s;
  struct ohm_error e;
  ohm_suggest_init(&s, name);
  for (const char *const *d = dev_driver_builtin(); *d; d++) {
    const struct dev_map *m;
    if (dev_driver_find(*d, &m, &e) == 0)
      for (size_t i = 0; i < m->nvars; i++)
        ohm_suggest_add(&s, m->vars[i].name);
  }
  return s.best;
}

void sh_no_match(const char *cmd, const char *pat) {
  const char *best = strpbrk(pat, "*?[") ? NULL : suggest_var_any(pat);
  if (best)
    sh_errorf(NULL,
              "%s: no variable matches '%s' (did you mean %s? "
              "see ohm list DEVICE)",
              cmd, pat, best);
  else
    sh_errorf(NULL, "%s: no variable matches '%s' (see ohm list DEVICE)", cmd,
              pat);
}
