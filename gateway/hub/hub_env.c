/* hub_env.c: the JSON envelopes the hub sends to subprotocol clients: server and group
 * messages, acks, the connected and disconnected system frames
 * (docs/protocols.md#subprotocol-frames). */
#include "hub_env.h"
#include "hub_payload.h"

#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>
#include <stdint.h>

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
    json_object_object_add(o, "dataType", json_object_new_string(hub_payload_dt_name(p->dt)));
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
    json_object_object_add(o, "dataType", json_object_new_string(hub_payload_dt_name(p->dt)));
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
