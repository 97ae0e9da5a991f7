/* The map loader's internals shared by map.c and map_keys.c. */
#ifndef OHM_DEVICES_MAP_INT_H
#define OHM_DEVICES_MAP_INT_H

#include <lua.h>

#include "map.h"

struct loader {
  const char *name; /* for messages */
  struct dev_map *m;
  struct ohm_error *e;
  size_t mem;
  long steps;
  char where[160]; /* "vars[12] (input.L1.current)" */
};

int map_fail(struct loader *ld, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int map_check_key(struct loader *ld, lua_State *L, const char *const *keys,
                  const char **key);
int map_get_str(struct loader *ld, lua_State *L, const char *key, char **out);
int map_get_int(struct loader *ld, lua_State *L, const char *key, long lo,
                long hi, int *out);

/* word_order, table, write of a var; the Modbus consistency rules once a
 * var is read; the map's signature. */
int map_get_order(struct loader *ld, lua_State *L, struct dev_var *v);
int map_get_modbus_key(struct loader *ld, lua_State *L, const char *k,
                       struct dev_var *v);
int map_var_modbus(struct loader *ld, struct dev_var *v, int has_type,
                   int *words);
int map_get_signature(struct loader *ld, lua_State *L);
int map_get_oid_unit(struct loader *ld, lua_State *L);
/* traps = {...} (map_traps.c) and its free. */
int map_get_traps(struct loader *ld, lua_State *L);
void map_traps_free(struct dev_traps *t);
/* agent = {...} (map_agent.c) and its free. */
int map_get_agent(struct loader *ld, lua_State *L);
void map_agent_free(struct dev_agent *a);

/* The SNMP table keys of a var (entry, column, index_columns): 1 if k is
 * none of them; the table rules once a var is read. */
int map_get_table_key(struct loader *ld, lua_State *L, const char *k,
                      struct dev_var *v);
int map_var_table(struct loader *ld, struct dev_var *v);
/* A command's oid and wait keys: 1 if k is neither. */
int map_get_cmd_key(struct loader *ld, lua_State *L, const char *k,
                    struct dev_cmd *c);

#endif
