/* The parts of net-snmp the agent uses, for shell/serve/snmp_agent.c and
 * the generated util/lazy_netsnmpagent.c (scripts/gen-lazy.sh). */
#ifndef OHM_SHELL_SERVE_SNMP_AGENT_LIB_H
#define OHM_SHELL_SERVE_SNMP_AGENT_LIB_H

#include <net-snmp/net-snmp-config.h>
#include <net-snmp/net-snmp-includes.h>
#include <net-snmp/agent/net-snmp-agent-includes.h>
#include <net-snmp/agent/agent_callbacks.h>
#include <net-snmp/library/vacm.h>

/* libnetsnmpagent's AgentX client (agentx/subagent.h, not installed) */
int subagent_open_master_session(void);
int subagent_init(void);
extern netsnmp_session *main_session;
/* agent_trap.c, not in agent_trap.h: a v1/v2c sink as "udp:HOST:PORT" */
int create_trap_session2(const char *sink, const char *sinkport, char *com,
                         int version, int pdutype);

#endif
