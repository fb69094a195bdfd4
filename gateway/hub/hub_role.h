/* hub_role.h: permission checks against a connection's roles
 * (docs/protocols.md#roles-and-permissions). */
#ifndef CHATR_HUB_ROLE_H
#define CHATR_HUB_ROLE_H

#include <json-c/json.h>

/* 1 when roles (an array of strings) allow kind ("sendToGroup" or "joinLeaveGroup") on group. */
int hub_role_allow(json_object *roles, const char *kind, const char *group);
/* Wildcard role patterns: ? one char but '.', * a run without '.', ** any run, backslash
 * escapes. 1 when s matches pattern. */
int hub_role_pattern_match(const char *pattern, const char *s);

#endif
