/* hub.c: eventHandler's calls into the hub, through the Web PubSub SDK (gateway/sdk), as the
 * original app's eventHandler calls @azure/web-pubsub. A failed call is logged and reported;
 * events treat delivery to the hub as best effort once their own state is stored. */
#include "events.h"

#include <stdlib.h>
#include <string.h>
#include "fn_wps.h"
#include "wps_rest.h"

#define GROUP_PAGE 200
#define GROUP_PAGES_MAX 50 /* 10,000 connections: far more than a chat has */

static wps_client *client; /* fn_wps_client(), once ev_hub_init succeeded */

int ev_hub_init(void)
{
    client = fn_wps_client();
    return client ? 0 : -1;
}

static int expect(int status, int want, const char *what, const char *target)
{
    if (status == want) return 0;
    if (status < 0)
        fn_log("hub %s %s: %s", what, target, wps_client_error(client));
    else
        fn_log("hub %s %s: status %d", what, target, status);
    return -1;
}

int ev_hub_send_all(json_object *msg)
{
    wps_body b = wps_body_json(msg);
    int rc = expect(wps_rest_send_to_all(client, &b, NULL, 0), 202, "send to all", "");
    json_object_put(msg);
    return rc;
}

int ev_hub_send_user(const char *user, json_object *msg)
{
    wps_body b = wps_body_json(msg);
    int rc = expect(wps_rest_send_to_user(client, user, &b), 202, "send to user", user);
    json_object_put(msg);
    return rc;
}

int ev_hub_send_connection(const char *conn, json_object *msg)
{
    wps_body b = wps_body_json(msg);
    int rc = expect(wps_rest_send_to_connection(client, conn, &b), 202, "send to connection", conn);
    json_object_put(msg);
    return rc;
}

int ev_hub_send_group(const char *group, json_object *msg)
{
    wps_body b = wps_body_json(msg);
    int rc = expect(wps_rest_send_to_group(client, group, &b, NULL, 0), 202, "send", group);
    json_object_put(msg);
    return rc;
}

int ev_hub_delete_history(const char *group)
{
    return expect(wps_rest_group_delete_messages(client, group), 204, "delete history", group);
}

int ev_hub_group_notice(const char *group, const char *text)
{
    /* A JSON string, as the original's group(id).sendToAll("...") sends it. */
    json_object *s = json_object_new_string(text);
    wps_body b = wps_body_json(s);
    int rc = expect(wps_rest_send_to_group(client, group, &b, NULL, 0), 202, "notice", group);
    json_object_put(s);
    return rc;
}

int ev_hub_join(const char *group, const char *conn)
{
    if (expect(wps_rest_group_add_connection(client, group, conn), 200, "join", group)) return -1;
    return expect(wps_rest_grant_permission(client, "sendToGroup", conn, group), 200, "grant",
                  group);
}

/* Calls fn for every connection in the group (paged). */
static int each_connection(const char *group, int (*fn)(const char *group, const char *conn))
{
    char *token = NULL;
    int rc = 0;
    for (int page = 0; page < GROUP_PAGES_MAX; page++) {
        json_object *body = NULL, *value, *next;
        int st = wps_rest_list_group_connections(client, group, GROUP_PAGE, token, &body);
        free(token);
        token = NULL;
        if (expect(st, 200, "list", group)) return -1;
        if (json_object_object_get_ex(body, "value", &value)) {
            for (size_t i = 0; i < json_object_array_length(value); i++) {
                json_object *c = json_object_array_get_idx(value, i), *id;
                if (json_object_object_get_ex(c, "connectionId", &id))
                    rc |= fn(group, json_object_get_string(id));
            }
        }
        /* nextLink carries the continuation token as a query parameter. */
        const char *link = json_object_object_get_ex(body, "nextLink", &next)
                               ? json_object_get_string(next)
                               : NULL;
        const char *ct = link ? strstr(link, "continuationToken=") : NULL;
        if (ct) {
            ct += strlen("continuationToken=");
            token = strndup(ct, strcspn(ct, "&"));
        }
        json_object_put(body);
        if (!token) return rc;
    }
    free(token);
    return rc;
}

static int grant(const char *group, const char *conn)
{
    return expect(wps_rest_grant_permission(client, "sendToGroup", conn, group), 200, "grant",
                  group);
}

static int evict(const char *group, const char *conn)
{
    int rc = expect(wps_rest_revoke_permission(client, "sendToGroup", conn, group), 204, "revoke",
                    group);
    return rc | expect(wps_rest_group_remove_connection(client, group, conn), 204, "remove", group);
}

int ev_hub_join_user(const char *group, const char *user)
{
    int st = wps_rest_group_add_user(client, group, user);
    if (st == 404) return 0; /* offline: they join when they open the chat */
    if (expect(st, 200, "add user", group)) return -1;
    return each_connection(group, grant);
}

int ev_hub_leave_user(const char *group, const char *user)
{
    /* Revoke what each of the user's connections in the group was granted, then remove them. */
    json_object *body = NULL, *value;
    int rc = 0;
    if (wps_rest_list_group_connections(client, group, GROUP_PAGE, NULL, &body) == 200 &&
        json_object_object_get_ex(body, "value", &value)) {
        for (size_t i = 0; i < json_object_array_length(value); i++) {
            json_object *c = json_object_array_get_idx(value, i), *id, *uid;
            if (json_object_object_get_ex(c, "connectionId", &id) &&
                json_object_object_get_ex(c, "userId", &uid) &&
                strcmp(json_object_get_string(uid) ? json_object_get_string(uid) : "", user) == 0)
                rc |= evict(group, json_object_get_string(id));
        }
    }
    json_object_put(body);
    return rc | expect(wps_rest_group_remove_user(client, group, user), 204, "remove user", group);
}

int ev_hub_dissolve(const char *group)
{
    return each_connection(group, evict);
}

int ev_hub_user_online(const char *user)
{
    int st = wps_rest_user_exists(client, user);
    if (st == 200) return 1;
    if (st == 404) return 0;
    expect(st, 200, "user exists", user);
    return -1;
}

/* ---- stored messages (docs/protocols.md#history) ---------------------------------------- */

/* A status the caller handles (want, or another the hub may answer) is returned as is; others
 * are logged. */
static int status_of(int st, const char *what, const char *group)
{
    if (st < 0 || st >= 500) expect(st, 0, what, group);
    return st;
}

int ev_hub_message(const char *group, long long id, json_object **env)
{
    return status_of(wps_rest_group_message(client, group, id, env), "message", group);
}

int ev_hub_message_edit(const char *group, long long id, json_object *data, json_object **env)
{
    wps_body b = wps_body_json(data);
    return status_of(wps_rest_group_message_edit(client, group, id, &b, env), "edit", group);
}

int ev_hub_message_delete(const char *group, long long id)
{
    return status_of(wps_rest_group_message_delete(client, group, id), "delete", group);
}

int ev_hub_send_group_live(const char *group, json_object *msg)
{
    wps_body b = wps_body_json(msg);
    int rc = expect(wps_rest_send_to_group_ex(client, group, &b, NULL, 0,
                                              WPS_SEND_NO_PERSIST | WPS_SEND_AS_SERVER),
                    202, "live send", group);
    json_object_put(msg);
    return rc;
}

json_object *chat_event(const char *type, json_object *data)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "chatEvent", json_object_new_string(type));
    json_object_object_add(o, "data", data);
    return o;
}

json_object *chat_event_encoded(const char *type, json_object *doc)
{
    json_object *s =
        json_object_new_string(json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PLAIN));
    json_object_put(doc);
    return chat_event(type, s);
}

/* ---- chat state (chat_state.c) ---------------------------------------------------------- */

long long ev_hub_newest_id(const char *group)
{
    json_object *page = NULL, *value, *mid;
    int st = wps_rest_group_messages(client, group, -1, -1, 1, &page);
    if (expect(st, 200, "newest message", group)) return -1;
    long long id = 0;
    if (json_object_object_get_ex(page, "value", &value) && json_object_array_length(value) > 0 &&
        json_object_object_get_ex(json_object_array_get_idx(value, 0), "id", &mid))
        id = json_object_get_int64(mid);
    json_object_put(page);
    return id;
}
