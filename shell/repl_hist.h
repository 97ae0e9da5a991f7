/* The REPL's persistent history: $XDG_STATE_HOME/ohm/history (default
 * ~/.local/state/ohm/history), written atomically (temp file + rename),
 * and never holding a secret: a line with a password in a URI, an SNMP
 * community, or a password/pass/secret/community assignment is not kept. */
#ifndef OHM_SHELL_REPL_HIST_H
#define OHM_SHELL_REPL_HIST_H

/* Whether line carries something that must not be stored. */
int sh_line_has_secret(const char *line);

/* Add line to the session's history unless empty or secret. */
void sh_history_add(const char *line);

void sh_history_load(void);
/* Write the history file; failures are silent (history is a comfort). */
void sh_history_save(void);

#endif
