/* hub_moderate.c: applies a hub's moderation settings (hubs.json "moderation") to group
 * messages, using the word filter of gateway/moderation. */
#include "hub_moderate.h"
#include "hub_payload.h"
#include "hub_settings.h"
#include "moderation.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

int hub_moderate(const char *hub, hub_payload *p, char *why, size_t whylen)
{
    int reject = 0;
    const mod_filter *f = hub_settings_filter(hub, &reject);
    if (!f || p->dt == HUB_DT_BINARY || !p->data) return 0;
    char first[64] = "";
    int hits;
    if (p->dt == HUB_DT_JSON) {
        hits = mod_scan_json(f, p->data, !reject, first, sizeof first);
    } else {
        /* text: the payload's string, masked in a copy and set back */
        size_t len = (size_t)json_object_get_string_len(p->data);
        char *copy = malloc(len + 1);
        if (!copy) return 0;
        memcpy(copy, json_object_get_string(p->data), len + 1);
        hits = mod_scan(f, copy, len, !reject, first, sizeof first);
        if (hits > 0 && !reject) json_object_set_string_len(p->data, copy, (int)len);
        free(copy);
    }
    if (hits <= 0) return 0;
    if (reject) {
        snprintf(why, whylen, "the message contains a blocked word (%s)", first);
        return -1;
    }
    /* masked: rebuild the raw bytes simple clients receive */
    size_t len;
    const char *s = p->dt == HUB_DT_JSON
                        ? json_object_to_json_string_length(p->data, JSON_C_TO_STRING_PLAIN, &len)
                        : json_object_get_string(p->data);
    if (p->dt != HUB_DT_JSON) len = (size_t)json_object_get_string_len(p->data);
    char *raw = malloc(len + 1);
    if (!raw) return 0;
    memcpy(raw, s, len);
    raw[len] = '\0';
    free(p->raw);
    p->raw = raw;
    p->raw_len = len;
    return 0;
}
