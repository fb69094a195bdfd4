/* hub_ctx.c: what the handshake decided about a connection (hub, user, subprotocol, roles,
 * groups, state), carried to the hooks as $hub_ctx: base64url(JSON). */
#include "hub_ctx.h"
#include "hub.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>
#include <json-c/json.h>

char *hub_ctx_encode(const hub_ctx *c)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "h", json_object_new_string(c->hub));
    json_object_object_add(o, "u", c->user ? json_object_new_string(c->user) : NULL);
    json_object_object_add(o, "p", json_object_new_string(c->protocol));
    json_object_object_add(o, "r", json_object_get(c->roles));
    json_object_object_add(o, "g", json_object_get(c->groups));
    if (c->state) json_object_object_add(o, "s", json_object_new_string(c->state));
    size_t len;
    const char *s = json_object_to_json_string_length(o, JSON_C_TO_STRING_PLAIN, &len);
    size_t cap = sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    char *out = malloc(cap);
    if (out)
        sodium_bin2base64(out, cap, (const unsigned char *)s, len,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    json_object_put(o);
    return out;
}

static char *dup_str(json_object *o, const char *key)
{
    json_object *v;
    if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
        return NULL;
    return strdup(json_object_get_string(v));
}

int hub_ctx_decode(const char *s, hub_ctx *c)
{
    memset(c, 0, sizeof *c);
    if (!s || !*s) return -1;
    size_t n = strlen(s), blen;
    unsigned char *bin = malloc(n + 1);
    if (!bin) return -1;
    if (sodium_base642bin(bin, n, s, n, NULL, &blen, NULL,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0) {
        free(bin);
        return -1;
    }
    json_tokener *tok = json_tokener_new();
    json_object *o = json_tokener_parse_ex(tok, (const char *)bin, (int)blen);
    json_tokener_free(tok);
    free(bin);
    if (!o || !json_object_is_type(o, json_type_object)) {
        json_object_put(o);
        return -1;
    }
    char *hub = dup_str(o, "h");
    char *proto = dup_str(o, "p");
    c->user = dup_str(o, "u");
    c->state = dup_str(o, "s");
    json_object *v;
    c->roles = json_object_object_get_ex(o, "r", &v) && json_object_is_type(v, json_type_array)
                   ? json_object_get(v)
                   : json_object_new_array();
    c->groups = json_object_object_get_ex(o, "g", &v) && json_object_is_type(v, json_type_array)
                    ? json_object_get(v)
                    : json_object_new_array();
    json_object_put(o);
    int ok =
        hub && strlen(hub) <= HUB_MAX_HUB_NAME && (!proto || strlen(proto) < sizeof c->protocol);
    if (ok) {
        snprintf(c->hub, sizeof c->hub, "%s", hub);
        snprintf(c->protocol, sizeof c->protocol, "%s", proto ? proto : "");
    }
    free(hub);
    free(proto);
    if (!ok) {
        hub_ctx_free(c);
        return -1;
    }
    return 0;
}

void hub_ctx_free(hub_ctx *c)
{
    free(c->user);
    free(c->state);
    json_object_put(c->roles);
    json_object_put(c->groups);
    c->user = c->state = NULL;
    c->roles = c->groups = NULL;
}
