/* hub_gone.c: the end of a connection and the system notifications around it. Removing the row
 * (DELETE ... RETURNING) is what makes `disconnected` fire exactly once, whoever notices first:
 * the socket's `closed` hook or the orphan check (hub_orphan.c). See
 * docs/protocols.md#system-events. */
#include "hub.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct hub_gone {
    char hub[HUB_MAX_HUB_NAME + 1];
    char conn_id[HUB_MAX_CONN_ID + 1];
    char *user, *protocol, *state, *reason;
};

void hub_notify(const char *hub, const char *conn_id, const char *user, const char *protocol,
                const char *state, const char *event, const char *reason)
{
    const hub_settings *hs = hub_settings_get(hub);
    char url[2048];
    if (!hub_settings_handler(hs, hub, event, 1, url, sizeof url)) return;
    char *body;
    if (strcmp(event, "disconnected") == 0) {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "reason", json_object_new_string(reason ? reason : ""));
        body = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
        json_object_put(o);
    } else {
        body = strdup("{}");
    }
    hub_event ev = {.hub = hub,
                    .conn_id = conn_id,
                    .user = user,
                    .event = event,
                    .system = 1,
                    .protocol = protocol,
                    .state = state,
                    .ctype = "application/json; charset=utf-8",
                    .body = body,
                    .body_len = body ? strlen(body) : 0};
    hub_reply rep;
    if (hub_webhook(url, &ev, HUB_NOTIFY_TIMEOUT_MS, &rep) == 0) {
        if (rep.status < 200 || rep.status >= 300)
            fn_log("%s webhook for %s: HTTP %ld", event, conn_id, rep.status);
        hub_reply_free(&rep);
    }
    free(body);
}

int hub_conn_remove(const char *conn_id, hub_gone **out)
{
    *out = NULL;
    const char *p[] = {conn_id};
    PGresult *r = fn_db_exec("DELETE FROM pubsub.connections WHERE id = $1 "
                             "RETURNING hub, user_id, protocol, state, close_reason",
                             1, p);
    if (!r) return -1;
    hub_gone *g = PQntuples(r) == 1 ? calloc(1, sizeof *g) : NULL;
    if (g) {
        snprintf(g->hub, sizeof g->hub, "%s", PQgetvalue(r, 0, 0));
        snprintf(g->conn_id, sizeof g->conn_id, "%s", conn_id);
        g->user = PQgetisnull(r, 0, 1) ? NULL : strdup(PQgetvalue(r, 0, 1));
        g->protocol = PQgetvalue(r, 0, 2)[0] ? strdup(PQgetvalue(r, 0, 2)) : NULL;
        g->state = PQgetisnull(r, 0, 3) ? NULL : strdup(PQgetvalue(r, 0, 3));
        g->reason = strdup(PQgetisnull(r, 0, 4) ? "The connection ended." : PQgetvalue(r, 0, 4));
    }
    PQclear(r);
    *out = g;
    return 0;
}

void hub_gone_notify(hub_gone *g)
{
    if (!g) return;
    hub_notify(g->hub, g->conn_id, g->user, g->protocol, g->state, "disconnected", g->reason);
    free(g->user);
    free(g->protocol);
    free(g->state);
    free(g->reason);
    free(g);
}
