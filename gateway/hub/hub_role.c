/* hub_role.c: permission checks against a connection's roles
 * (docs/protocols.md#roles-and-permissions). */
#include "hub_role.h"

#include <stdio.h>
#include <string.h>
#include <json-c/json.h>

/* Wildcard role patterns (docs/protocols.md#roles-and-permissions): ? one char but '.', * a run
 * without '.', ** any run, backslash escapes. */
int hub_role_pattern_match(const char *p, const char *s)
{
    if (!*p) return !*s;
    if (p[0] == '*' && p[1] == '*') {
        for (const char *t = s;; t++) {
            if (hub_role_pattern_match(p + 2, t)) return 1;
            if (!*t) return 0;
        }
    }
    if (p[0] == '*') {
        for (const char *t = s;; t++) {
            if (hub_role_pattern_match(p + 1, t)) return 1;
            if (!*t || *t == '.') return 0;
        }
    }
    if (p[0] == '?') return *s && *s != '.' && hub_role_pattern_match(p + 1, s + 1);
    if (p[0] == '\\' && p[1]) p++;
    return *s == *p && hub_role_pattern_match(p + 1, s + 1);
}

int hub_role_allow(json_object *roles, const char *kind, const char *group)
{
    char exact[64], one[64], many[64];
    snprintf(exact, sizeof exact, "webpubsub.%s", kind);
    snprintf(one, sizeof one, "webpubsub.%s.", kind);
    snprintf(many, sizeof many, "webpubsub.%ss.", kind);
    size_t n = roles ? json_object_array_length(roles) : 0;
    for (size_t i = 0; i < n; i++) {
        const char *r = json_object_get_string(json_object_array_get_idx(roles, i));
        if (!r) continue;
        if (strcmp(r, exact) == 0) return 1;
        if (group && strncmp(r, one, strlen(one)) == 0 && strcmp(r + strlen(one), group) == 0)
            return 1;
        if (group && strncmp(r, many, strlen(many)) == 0) {
            int stars = 0;
            for (const char *q = r + strlen(many); *q; q++)
                stars += *q == '*';
            if (stars <= 5 && hub_role_pattern_match(r + strlen(many), group)) return 1;
        }
    }
    return 0;
}
