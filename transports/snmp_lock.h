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
 * serve's); nothing that holds it waits for another thread.
 *
 * Who calls what (all under the lock):
 *  - pollers (`ohm serve`, `ohm poll` fleets, one-shot reads), snmp.c and
 *    snmp_req.c: snmp_sess_init/open/close (default session, USM user
 *    creation with localized keys, session ids), snmp_sess_async_send
 *    (v3 encoding: user and engine-time lookups), select_info2/read2/
 *    timeout (v3 decoding, engine-time updates, statistics, callbacks);
 *  - rule workers, jobs_trap.c: set_enginetime, snmpv3_generate_engineID,
 *    snmp_add_var (OID parser), open/send/close; an inform's wait through
 *    snmp_lock_synch;
 *  - the trap receiver, traps_v3.c: usm_parse_create_usmUser,
 *    snmp_sess_add, snmp_sess_read with the usm counters around it;
 *  - the agent thread, snmp_agent.c: the agent library (its session list,
 *    usm users, trap sessions).
 * Calls on memory ohm owns alone (snmp_pdu_create's ids aside, pdu
 * building and freeing, snmp_clone_pdu, generate_Ku) need no lock.
 *
 * Known limit: an SNMPv3 session whose engine id is not known yet (a v3
 * poller's first request, a v3 inform) has net-snmp probe for it inside
 * the first snmp_sess_async_send (Debian's 5.9; older ones in
 * snmp_sess_open), synchronously: that one discovery round
 * trip (up to timeout x tries when the agent is silent, again on each
 * request while it stays silent) holds the lock. Every other wait runs
 * without it. */
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
