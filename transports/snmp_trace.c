/* -v: SNMP PDUs as text for the shell's tracer, e.g.
 *   GET reqid 1234: .1.3.6.1.2.1.33.1.2.1.0 .1.3.6.1.2.1.33.1.2.2.0
 *   RESPONSE reqid 1234 errstat 0: .1.3.6.1.2.1.33.1.2.1.0 = INTEGER: 2
 * Community and USM secrets are not in a PDU, so none can show. */
#include <stdio.h>
#include <stdlib.h>

#include "../util/clock.h"
#include "snmp_int.h"

static const char *pdu_name(int command) {
  switch (command) {
  case SNMP_MSG_GET:
    return "GET";
  case SNMP_MSG_GETNEXT:
    return "GETNEXT";
  case SNMP_MSG_GETBULK:
    return "GETBULK";
  case SNMP_MSG_SET:
    return "SET";
  case SNMP_MSG_RESPONSE:
    return "RESPONSE";
  case SNMP_MSG_REPORT:
    return "REPORT";
  default:
    return "PDU";
  }
}

/* One varbind: its OID, and " = TYPE: value" where it carries one. */
static void put_vb(FILE *f, const netsnmp_variable_list *vb) {
  char *o = snmp_oid_text(vb->name, vb->name_length);
  u_char *buf = NULL;
  size_t cap = 0, len = 0;
  fprintf(f, " %s", o ? o : "?");
  free(o);
  if (vb->type == ASN_NULL) return;
  if (sprint_realloc_value(&buf, &cap, &len, 1, vb->name, vb->name_length,
                           vb) &&
      buf)
    fprintf(f, " = %s", (char *)buf);
  free(buf);
}

void snmp_trace_pdu(const struct tp *t, char dir, const netsnmp_pdu *pdu,
                    double t0) {
  char *text = NULL;
  size_t n = 0;
  FILE *f;
  if (!t || !t->opts.trace || !pdu || !(f = open_memstream(&text, &n))) return;
  fprintf(f, "%s reqid %ld", pdu_name(pdu->command), (long)pdu->reqid);
  if (pdu->command == SNMP_MSG_RESPONSE)
    fprintf(f, " errstat %ld errindex %ld", pdu->errstat, pdu->errindex);
  fputc(':', f);
  for (const netsnmp_variable_list *vb = pdu->variables; vb;
       vb = vb->next_variable)
    put_vb(f, vb);
  if (fclose(f) == 0) tp_trace(t, dir, NULL, 0, text, t0);
  free(text);
}
