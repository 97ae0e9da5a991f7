/* One process-wide lock around ohm's calls into net-snmp. Debian builds
 * libnetsnmp without its thread-safety option, and even the single-session
 * API (snmp_sess_*) shares library state between sessions: the USM user
 * list (a v3 session open copies its keys there, every v3 message is
 * encoded and checked with them), the engine-time list, the default
 * session settings, the statistics counters and the agent library's
 * session list. ohm calls net-snmp from the rule workers (trap job), the
 * trap receiver, the pollers of `ohm serve` and `ohm poll`, and the agent
 * thread: each holds this lock around a call into the library, never
 * while it waits for an answer (select). The lock is recursive: a
 * response callback (run under it) may send again.
 *
 * Lock order: this lock before any of the caller's own (the agent's,
 * serve's); nothing that holds it waits for another thread. */
#ifndef OHM_TRANSPORTS_SNMP_LOCK_H
#define OHM_TRANSPORTS_SNMP_LOCK_H

void snmp_lock(void);
void snmp_unlock(void);

struct snmp_pdu;
/* snmp_sess_synch_response without holding the lock while waiting: send
 * pdu (consumed) on sess and wait up to the session's timeout and retries.
 * STAT_SUCCESS with *resp (free with snmp_free_pdu), STAT_TIMEOUT or
 * STAT_ERROR (the session's error says why). Takes the lock itself. */
int snmp_lock_synch(void *sess, struct snmp_pdu *pdu, struct snmp_pdu **resp);

#endif
