/* hub_payload.c: a message payload in its three data types (json, text, binary), from a client
 * frame or from raw bytes, and the Content-Type that goes with each (docs/protocols.md#data-types).
 */
#include "hub_payload.h"
#include "hub.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sodium.h>
#include <json-c/json.h>

const char *hub_payload_dt_name(enum hub_payload_dt dt)
{
    return dt == HUB_DT_TEXT ? "text" : dt == HUB_DT_BINARY ? "binary" : "json";
}

int hub_payload_dt_parse(const char *name, enum hub_payload_dt *dt)
{
    if (!name || strcmp(name, "json") == 0)
        *dt = HUB_DT_JSON;
    else if (strcmp(name, "text") == 0)
        *dt = HUB_DT_TEXT;
    else if (strcmp(name, "binary") == 0)
        *dt = HUB_DT_BINARY;
    else
        return -1;
    return 0;
}

int hub_payload_from_json(hub_payload *p, enum hub_payload_dt dt, json_object *data)
{
    memset(p, 0, sizeof *p);
    p->dt = dt;
    if (!data) return -1; /* absent or null */
    if (dt == HUB_DT_JSON) {
        size_t len;
        const char *s = json_object_to_json_string_length(data, JSON_C_TO_STRING_PLAIN, &len);
        p->raw = strndup(s, len);
        p->raw_len = len;
    } else {
        if (!json_object_is_type(data, json_type_string)) return -1;
        const char *s = json_object_get_string(data);
        size_t len = (size_t)json_object_get_string_len(data);
        if (dt == HUB_DT_TEXT) {
            p->raw = malloc(len + 1);
            if (p->raw) memcpy(p->raw, s, len + 1);
            p->raw_len = len;
        } else {
            p->raw = malloc(len + 1);
            size_t blen;
            if (!p->raw || sodium_base642bin((unsigned char *)p->raw, len + 1, s, len, "\n\r ",
                                             &blen, NULL, sodium_base64_VARIANT_ORIGINAL) != 0) {
                hub_payload_free(p);
                return -1;
            }
            p->raw_len = blen;
        }
    }
    if (!p->raw) return -1;
    p->data = json_object_get(data);
    return 0;
}

int hub_payload_from_bytes(hub_payload *p, enum hub_payload_dt dt, const char *bytes, size_t len)
{
    memset(p, 0, sizeof *p);
    p->dt = dt;
    p->raw = malloc(len + 1);
    if (!p->raw) return -1;
    memcpy(p->raw, bytes, len);
    p->raw[len] = '\0';
    p->raw_len = len;
    if (dt == HUB_DT_JSON) {
        json_tokener *tok = json_tokener_new_ex(HUB_JSON_DEPTH);
        p->data = json_tokener_parse_ex(tok, bytes, (int)len);
        int ok = json_tokener_get_error(tok) == json_tokener_success &&
                 (size_t)json_tokener_get_parse_end(tok) == len;
        json_tokener_free(tok);
        if (!ok || !p->data) { /* a JSON null is data too, but not a payload */
            hub_payload_free(p);
            return -1;
        }
    } else if (dt == HUB_DT_TEXT) {
        p->data = json_object_new_string_len(bytes, (int)len);
    } else {
        size_t cap = sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL);
        char *b64 = malloc(cap);
        if (!b64) {
            hub_payload_free(p);
            return -1;
        }
        sodium_bin2base64(b64, cap, (const unsigned char *)bytes, len,
                          sodium_base64_VARIANT_ORIGINAL);
        p->data = json_object_new_string(b64);
        free(b64);
    }
    return 0;
}

void hub_payload_free(hub_payload *p)
{
    json_object_put(p->data);
    free(p->raw);
    p->data = NULL;
    p->raw = NULL;
}

const char *hub_payload_ctype(const hub_payload *p)
{
    return p->dt == HUB_DT_BINARY ? "application/octet-stream"
           : p->dt == HUB_DT_TEXT ? "text/plain"
                                  : "application/json";
}

int hub_payload_ctype_dt(const char *ctype, enum hub_payload_dt *dt)
{
    if (!ctype || !*ctype) {
        *dt = HUB_DT_BINARY;
        return 0;
    }
    size_t n = strcspn(ctype, "; ");
    if (n == 16 && strncasecmp(ctype, "application/json", n) == 0)
        *dt = HUB_DT_JSON;
    else if (n == 10 && strncasecmp(ctype, "text/plain", n) == 0)
        *dt = HUB_DT_TEXT;
    else if (n == 24 && strncasecmp(ctype, "application/octet-stream", n) == 0)
        *dt = HUB_DT_BINARY;
    else
        return -1;
    return 0;
}
