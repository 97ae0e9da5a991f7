/* SNMP values printed as snmpwalk/snmpget -On do
 * (`.1.3.6.1.2.1.1.1.0 = STRING: "text"`), --json an array of {oid, type,
 * value}, --csv oid,type,value rows: shared by ohm walk and ohm snmp. */
#ifndef OHM_SHELL_SNMP_OUT_H
#define OHM_SHELL_SNMP_OUT_H

#include "../transports/snmp.h"
#include "output.h"

struct sh_snmp_out {
  struct sh_out out;
  enum sh_mode mode;
  size_t n; /* printed so far; JSON closes with "\n]\n" when n > 0 */
};

/* Print one value (a tp_snmp_walk_fn); always 0. */
int sh_snmp_print(void *ud, const struct tp_snmp_val *v);

#endif
