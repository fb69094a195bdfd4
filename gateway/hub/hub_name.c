/* hub_name.c: which hub, group and event names are valid, and a hub's normal form (hub names
 * are case-insensitive). docs/protocols.md#limits. */
#include "hub_name.h"
#include "hub.h"

#include <ctype.h>
#include <string.h>

int hub_name_valid(const char *hub)
{
    size_t n = hub ? strlen(hub) : 0;
    if (n < 1 || n > HUB_MAX_HUB_NAME || !isalpha((unsigned char)hub[0])) return 0;
    for (size_t i = 1; i < n; i++) {
        unsigned char c = (unsigned char)hub[i];
        if (!isalnum(c) && !strchr("_`,.[]", c)) return 0;
    }
    return 1;
}

int hub_name_group_valid(const char *group)
{
    size_t n = group ? strlen(group) : 0;
    if (n < 1 || n > HUB_MAX_GROUP_NAME) return 0;
    for (size_t i = 0; i < n; i++)
        if (!isspace((unsigned char)group[i])) return 1;
    return 0; /* whitespace only */
}

int hub_name_event_valid(const char *event)
{
    size_t n = event ? strlen(event) : 0;
    if (n < 1 || n > HUB_MAX_EVENT_NAME || !isalpha((unsigned char)event[0])) return 0;
    for (size_t i = 1; i < n; i++) {
        unsigned char c = (unsigned char)event[i];
        if (!isalnum(c) && c != '_' && c != '.' && c != '-') return 0;
    }
    return 1;
}

void hub_name_norm(const char *hub, char *out, size_t outlen)
{
    size_t i = 0;
    for (; hub[i] && i + 1 < outlen; i++)
        out[i] = (char)tolower((unsigned char)hub[i]);
    out[i] = '\0';
}
