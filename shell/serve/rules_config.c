/* The config_diff job of the rules (issue 15's scheduled config diff):
 *   every("0 6 * * *", config_diff{"pdu1", "pdu2", file = "/etc/ohm/pdu.lua"})
 *   on("*", "CONFIGDRIFT", mail{to = "ops@example.com"})
 * Each device is compared with the saved file (`ohm config save`) through
 * the host, serialised with the poller. The outcome in the event log is ok
 * when all are equal, else failed with the drift ("pdu2:
 * input.L1.current.high.critical 12 (file 16)"); each drifted device also
 * gets a CONFIGDRIFT event whose ev.trap holds the drifted variables. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../lua/config.h"
#include "rules_int.h"

struct cd_dev {
  const struct cfg_file *f;
  struct cfg_plan plan;
};

static int cd_compare(struct dev *d, void *arg, struct ohm_error *e) {
  struct cd_dev *c = arg;
  return cfg_plan(d, c->f, NULL, 0, &c->plan, e);
}

/* CONFIGDRIFT on dev, ev.trap = { VAR = "DEVICE (file FILE)" ... }. */
static void cd_event(struct rules *r, const char *dev,
                     const struct cfg_plan *p) {
  const char **names = calloc(p->n + 1, sizeof *names);
  char **texts = calloc(p->n + 1, sizeof *texts);
  unsigned char *isnum = calloc(p->n + 1, 1);
  size_t k = 0;
  for (; names && texts && isnum && k < p->n; k++) {
    names[k] = p->ch[k].var->name;
    if (asprintf(&texts[k], "%s (file %s)", p->ch[k].dev_text,
                 p->ch[k].file_text) < 0) {
      texts[k] = NULL;
      break;
    }
  }
  if (names && texts && isnum && k == p->n)
    rules_trap(r, dev, "CONFIGDRIFT", k, names, (const char *const *)texts,
               isnum);
  for (size_t i = 0; texts && i < k; i++)
    free(texts[i]);
  free(names);
  free(texts);
  free(isnum);
}

/* "; " between items of the detail, cut (with "...") where it is full. */
static void cd_add(char *buf, size_t n, const char *fmt, const char *a,
                   const char *b, const char *c) {
  size_t len = strlen(buf);
  if (len + 4 >= n) return;
  int w = snprintf(buf + len, n - len, fmt, len ? "; " : "", a, b, c);
  if (w < 0 || (size_t)w >= n - len) snprintf(buf + n - 4, 4, "...");
}

static void cd_one(struct rules *r, const struct cfg_file *f, const char *dev,
                   char *det, size_t n, int *drift, int *failed) {
  struct cd_dev c = {f, {0}};
  struct ohm_error e;
  const struct job_host *h = &r->cfg.host;
  ohm_error_clear(&e);
  int rc = h->with_dev ? h->with_dev(h->ctx, dev, cd_compare, &c, &e)
                       : ohm_error_set(&e, OHM_ENOTSUP, "no device access");
  if (rc < 0) {
    (*failed)++;
    cd_add(det, n, "%s%s: %s%s", dev, ohm_error_text(&e), "");
    return;
  }
  for (size_t k = 0; k < c.plan.n; k++) {
    char what[400];
    snprintf(what, sizeof what, "%s %s (file %s)", c.plan.ch[k].var->name,
             c.plan.ch[k].dev_text[0] ? c.plan.ch[k].dev_text : "-",
             c.plan.ch[k].file_text);
    cd_add(det, n, k ? "%s%s%s%s" : "%s%s: %s%s", k ? "" : dev, what, "");
  }
  if (c.plan.n) {
    (*drift)++;
    cd_event(r, dev, &c.plan);
  }
  cfg_plan_free(&c.plan);
}

int rl_config_diff(struct rules *r, const struct job *j, struct ohm_error *e) {
  const char *file = job_get(j, "file");
  struct cfg_file *f;
  char det[sizeof e->msg - 16] = "";
  int drift = 0, failed = 0;
  if (!file) return ohm_error_set(e, OHM_EINVAL, "config_diff: no file");
  if (cfg_load(file, &f, e) < 0) return e->code;
  for (size_t i = 0; i < j->nlist; i++)
    cd_one(r, f, j->list[i], det, sizeof det, &drift, &failed);
  cfg_free(f);
  if (!drift && !failed) return 0;
  return ohm_error_set(e, OHM_EDEVICE, "%s%s", drift ? "drift: " : "", det);
}
