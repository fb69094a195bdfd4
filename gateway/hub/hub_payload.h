/* hub_payload.h: a message payload in its three shapes (docs/protocols.md#data-types). */
#ifndef CHATR_HUB_PAYLOAD_H
#define CHATR_HUB_PAYLOAD_H

#include <stddef.h>
#include <json-c/json.h>

#include "hub.h"

enum hub_payload_dt { HUB_DT_JSON, HUB_DT_TEXT, HUB_DT_BINARY };
const char *hub_payload_dt_name(enum hub_payload_dt dt);
int hub_payload_dt_parse(const char *name, enum hub_payload_dt *dt); /* NULL name -> json */
typedef struct hub_payload {
    enum hub_payload_dt dt;
    json_object *data; /* the envelope's "data" value (owned) */
    char *raw;         /* bytes for simple clients and webhooks (owned) */
    size_t raw_len;
} hub_payload;
/* From a client frame's data value (borrowed). Returns 0, or -1 if data does not fit dt. */
int hub_payload_from_json(hub_payload *p, enum hub_payload_dt dt, json_object *data);
/* From raw bytes (REST body, webhook reply). Returns 0 or -1 (json that does not parse). */
int hub_payload_from_bytes(hub_payload *p, enum hub_payload_dt dt, const char *bytes, size_t len);
void hub_payload_free(hub_payload *p);
const char *hub_payload_ctype(const hub_payload *p); /* for raw bytes */
/* Content-Type -> dataType; -1 for an unsupported type. NULL/empty -> binary. */
int hub_payload_ctype_dt(const char *ctype, enum hub_payload_dt *dt);

#endif
