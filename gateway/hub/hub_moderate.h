/* hub_moderate.h: the hub's word filter on group messages (gateway/moderation, configured per hub
 * in hubs.json). */
#ifndef CHATR_HUB_MODERATE_H
#define CHATR_HUB_MODERATE_H

#include <stddef.h>

#include "hub_payload.h"

/* Filters a group message payload with the hub's word list: text and every string of JSON data
 * (binary is not text and passes). Action mask: matches become '*' in place (data and raw).
 * Returns 0 (clean or masked) or -1 (action reject and something matched: reason in why). */
int hub_moderate(const char *hub, hub_payload *p, char *why, size_t whylen);

#endif
