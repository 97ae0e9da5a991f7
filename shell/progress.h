/* Progress of a batch upload on stderr (issue 5): on a terminal, one line
 * per active target (bytes, rate, ETA) under an overall bar, redrawn in
 * place; elsewhere one line per event, for logs. */
#ifndef OHM_SHELL_PROGRESS_H
#define OHM_SHELL_PROGRESS_H

#include <stdio.h>

#include "../lua/upgrade.h"

struct sh_progress {
  const struct upg_batch *b; /* borrowed */
  FILE *fp;
  int tty;
  int quiet;
  int drawn; /* lines of the live block on screen */
};

void sh_progress_init(struct sh_progress *p, const struct upg_batch *b,
                      int quiet);
/* xfer callbacks: ud is the struct sh_progress. */
void sh_progress_event(void *ud, const struct xfer_target *t,
                       enum xfer_event ev);
void sh_progress_tick(void *ud);
/* Erase the live block (before the report). */
void sh_progress_end(struct sh_progress *p);
/* A line about target t outside the transfers (check results). */
void sh_progress_note(struct sh_progress *p, const char *target,
                      const char *what);

/* "1.5 MiB", "512 B" into buf. */
const char *sh_human_bytes(double n, char *buf, size_t len);

#endif
