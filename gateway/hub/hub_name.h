/* hub_name.h: valid hub, group and event names (docs/protocols.md#limits), and a hub name's
 * normal form. */
#ifndef CHATR_HUB_NAME_H
#define CHATR_HUB_NAME_H

#include <stddef.h>

#include "hub.h"

/* 1 when valid, 0 when not. */
int hub_name_valid(const char *hub);
int hub_name_group_valid(const char *group);
int hub_name_event_valid(const char *event);
/* Lower-cases hub into out (hubs are case-insensitive). */
void hub_name_norm(const char *hub, char *out, size_t outlen);

#endif
