/* hub_util.c: names, channel ids, the connection context, permissions, payloads, envelopes. */
#include "hub.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sodium.h>

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

int hub_group_valid(const char *group)
{
    size_t n = group ? strlen(group) : 0;
    if (n < 1 || n > HUB_MAX_GROUP_NAME) return 0;
    for (size_t i = 0; i < n; i++)
        if (!isspace((unsigned char)group[i])) return 1;
    return 0; /* whitespace only */
}

int hub_event_valid(const char *event)
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

/* ---- channel names (docs/liveness.md, "Channel names") ----------------------------------
 * Keyed: BLAKE2b (crypto_generichash) with a key derived from the access key and a label, so a
 * name cannot be computed from a hub, user or connection id without the secret, and whoever can
 * reach nginx's internal socket still cannot publish into a channel or delete it (close its
 * sockets). The kind ("a", "u", "c") is hashed first, so the three kinds never share a name. */
#define HUB_CHAN_LABEL "chatr/hub/channel-names/v1"
static unsigned char chan_key[crypto_generichash_KEYBYTES];
static int chan_key_ready;

void hub_chan_use_key(const char *access_key)
{
    if (!access_key || !*access_key) fn_log("channel names: no access key (names are guessable)");
    crypto_generichash_state st;
    crypto_generichash_init(&st, NULL, 0, sizeof chan_key);
    crypto_generichash_update(&st, (const unsigned char *)HUB_CHAN_LABEL, sizeof HUB_CHAN_LABEL);
    if (access_key)
        crypto_generichash_update(&st, (const unsigned char *)access_key, strlen(access_key));
    crypto_generichash_final(&st, chan_key, sizeof chan_key);
    chan_key_ready = 1;
}

static void hexhash(const char *kind, const char *a, const char *b, size_t bytes, char *out)
{
    if (!chan_key_ready) hub_chan_use_key(hub_access_key());
    unsigned char h[32];
    crypto_generichash_state st;
    crypto_generichash_init(&st, chan_key, sizeof chan_key, bytes);
    crypto_generichash_update(&st, (const unsigned char *)kind, strlen(kind) + 1);
    crypto_generichash_update(&st, (const unsigned char *)a, strlen(a));
    if (b) {
        crypto_generichash_update(&st, (const unsigned char *)"\0", 1);
        crypto_generichash_update(&st, (const unsigned char *)b, strlen(b));
    }
    crypto_generichash_final(&st, h, bytes);
    sodium_bin2hex(out, bytes * 2 + 1, h, bytes);
}

void hub_chan_all(const char *hub, int json, char *out)
{
    char hk[17];
    hexhash("a", hub, NULL, 8, hk);
    snprintf(out, HUB_MAX_CHANNEL, "a%c.%s", json ? 'j' : 's', hk);
}

void hub_chan_user(const char *hub, const char *user, int json, char *out)
{
    char hk[17], uk[33];
    hexhash("a", hub, NULL, 8, hk);
    hexhash("u", hub, user, 16, uk);
    snprintf(out, HUB_MAX_CHANNEL, "u%c.%s.%s", json ? 'j' : 's', hk, uk);
}

void hub_chan_conn(const char *conn_id, char *out)
{
    char ck[33];
    hexhash("c", conn_id, NULL, 16, ck);
    snprintf(out, HUB_MAX_CHANNEL, "c.%s", ck);
}

/* ---- context ---------------------------------------------------------------------------- */

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

/* ---- permissions ------------------------------------------------------------------------ */

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

int hub_roles_allow(json_object *roles, const char *kind, const char *group)
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

/* ---- payloads --------------------------------------------------------------------------- */

const char *hub_dt_name(enum hub_dt dt)
{
    return dt == HUB_DT_TEXT ? "text" : dt == HUB_DT_BINARY ? "binary" : "json";
}

int hub_dt_parse(const char *name, enum hub_dt *dt)
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

int hub_payload_from_json(hub_payload *p, enum hub_dt dt, json_object *data)
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

int hub_payload_from_bytes(hub_payload *p, enum hub_dt dt, const char *bytes, size_t len)
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

int hub_ctype_dt(const char *ctype, enum hub_dt *dt)
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

/* ---- envelopes -------------------------------------------------------------------------- */

static char *finish(json_object *o, size_t *len)
{
    size_t n;
    const char *s = json_object_to_json_string_length(o, JSON_C_TO_STRING_PLAIN, &n);
    char *out = strndup(s, n);
    if (len) *len = out ? n : 0;
    json_object_put(o);
    return out;
}

char *hub_env_server(const hub_payload *p, size_t *len)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "type", json_object_new_string("message"));
    json_object_object_add(o, "from", json_object_new_string("server"));
    json_object_object_add(o, "dataType", json_object_new_string(hub_dt_name(p->dt)));
    json_object_object_add(o, "data", json_object_get(p->data));
    return finish(o, len);
}

char *hub_env_group(const hub_payload *p, const char *group, const char *from_user, int with_from,
                    long long id, const char *time, size_t *len)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "type", json_object_new_string("message"));
    json_object_object_add(o, "from", json_object_new_string("group"));
    if (with_from && from_user) /* no sender (REST, anonymous): no key, as history lists it */
        json_object_object_add(o, "fromUserId", json_object_new_string(from_user));
    json_object_object_add(o, "group", json_object_new_string(group));
    json_object_object_add(o, "dataType", json_object_new_string(hub_dt_name(p->dt)));
    json_object_object_add(o, "data", json_object_get(p->data));
    if (id > 0) json_object_object_add(o, "id", json_object_new_int64(id));
    if (id > 0 && time) json_object_object_add(o, "time", json_object_new_string(time));
    return finish(o, len);
}

char *hub_env_ack(uint64_t ack_id, const char *err_name, const char *err_msg, size_t *len)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "type", json_object_new_string("ack"));
    json_object_object_add(o, "ackId", json_object_new_uint64(ack_id));
    json_object_object_add(o, "success", json_object_new_boolean(err_name == NULL));
    if (err_name) {
        json_object *e = json_object_new_object();
        json_object_object_add(e, "name", json_object_new_string(err_name));
        json_object_object_add(e, "message", json_object_new_string(err_msg ? err_msg : ""));
        json_object_object_add(o, "error", e);
    }
    return finish(o, len);
}

char *hub_env_connected(const char *user, const char *conn_id, size_t *len)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "type", json_object_new_string("system"));
    json_object_object_add(o, "event", json_object_new_string("connected"));
    json_object_object_add(o, "userId", user ? json_object_new_string(user) : NULL);
    json_object_object_add(o, "connectionId", json_object_new_string(conn_id));
    return finish(o, len);
}

char *hub_env_disconnected(const char *reason, size_t *len)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "type", json_object_new_string("system"));
    json_object_object_add(o, "event", json_object_new_string("disconnected"));
    json_object_object_add(o, "message", json_object_new_string(reason ? reason : ""));
    return finish(o, len);
}
