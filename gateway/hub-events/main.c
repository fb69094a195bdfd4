/* hub-events: a client socket opened or closed (nchan_subscribe_request and
 * nchan_unsubscribe_request hooks). Opened: register the connection and its token groups,
 * send the `connected` system frame (JSON clients), fire the `connected` webhook. Closed: remove
 * the connection (and with it its memberships) and fire `disconnected` exactly once.
 * PROTOCOL.md §1.6, §3.5, §3.6. */
#include "hub.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static long swept_epoch = -1;

/* A node clears connections no live nginx of its own backs: at start, and when nginx changed. */
static void sweep_if_needed(void)
{
    long e = hub_node_epoch();
    if (e == swept_epoch) return;
    hub_db_sweep();
    swept_epoch = e;
}

typedef struct notice {
    char hub[HUB_MAX_HUB_NAME + 1];
    char conn_id[HUB_MAX_CONN_ID + 1];
    char *user, *protocol, *state, *reason;
} notice;

static void notice_free(notice *n)
{
    free(n->user);
    free(n->protocol);
    free(n->state);
    free(n->reason);
    free(n);
}

static void notify(notice *n, const char *event)
{
    const hub_settings *hs = hub_settings_get(n->hub);
    char url[2048];
    if (!hub_settings_handler(hs, n->hub, event, 1, url, sizeof url)) return;
    char *body;
    if (strcmp(event, "disconnected") == 0) {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "reason", json_object_new_string(n->reason ? n->reason : ""));
        body = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
        json_object_put(o);
    } else {
        body = strdup("{}");
    }
    hub_event ev = {.hub = n->hub, .conn_id = n->conn_id, .user = n->user, .event = event,
                    .system = 1, .protocol = n->protocol, .state = n->state,
                    .ctype = "application/json; charset=utf-8", .body = body,
                    .body_len = body ? strlen(body) : 0};
    hub_reply rep;
    if (hub_webhook(url, &ev, HUB_NOTIFY_TIMEOUT_MS, &rep) == 0) {
        if (rep.status < 200 || rep.status >= 300)
            fn_log("%s webhook for %s: HTTP %ld", event, n->conn_id, rep.status);
        hub_reply_free(&rep);
    }
    free(body);
}

static void after_disconnected(void *arg)
{
    notice *n = arg;
    notify(n, "disconnected");
    notice_free(n);
}

static int opened(fn_req *req, fn_res *res, const char *conn_id)
{
    hub_ctx ctx;
    if (hub_ctx_decode(fn_param(req, "HUB_CTX"), &ctx) != 0) {
        fn_error(res, 400, "no connection context");
        return 0;
    }
    sweep_if_needed();
    char epoch[32];
    snprintf(epoch, sizeof epoch, "%ld", swept_epoch);
    const char *roles = json_object_to_json_string_ext(ctx.roles, JSON_C_TO_STRING_PLAIN);
    const char *groups = json_object_to_json_string_ext(ctx.groups, JSON_C_TO_STRING_PLAIN);
    const char *p[] = {conn_id, ctx.hub, ctx.user, ctx.protocol, roles, ctx.state,
                       hub_node_id(), epoch, groups};
    PGresult *r = fn_db_exec(
        "WITH c AS (INSERT INTO pubsub.connections (id, hub, user_id, protocol, roles, state, node, epoch) "
        "  VALUES ($1, $2, $3, $4, ARRAY(SELECT json_array_elements_text($5::json)), $6, $7, $8) "
        "  ON CONFLICT (id) DO NOTHING RETURNING id) "
        "INSERT INTO pubsub.group_members (hub, group_name, conn_id) "
        "  SELECT DISTINCT $2, g, c.id FROM c, json_array_elements_text($9::json) AS g "
        "  ON CONFLICT DO NOTHING",
        9, p);
    if (!r) {
        hub_ctx_free(&ctx);
        fn_error(res, 500, "cannot register connection");
        return 0;
    }
    PQclear(r);
    if (hub_ctx_json(&ctx)) {
        size_t len;
        char own[HUB_MAX_CHANNEL];
        char *frame = hub_env_connected(ctx.user, conn_id, &len);
        hub_chan_conn(conn_id, own);
        if (!frame || hub_publish1(own, frame, len, "application/json") != 0)
            fn_log("connected frame for %s not sent", conn_id);
        free(frame);
    }
    /* The `connected` notification before the hook answers: nchan runs a socket's hooks one at
     * a time, so the handler sees `connected` before any event or `disconnected` of it. */
    notice n = {.user = ctx.user, .protocol = ctx.protocol[0] ? ctx.protocol : NULL, .state = ctx.state};
    snprintf(n.hub, sizeof n.hub, "%s", ctx.hub);
    snprintf(n.conn_id, sizeof n.conn_id, "%s", conn_id);
    notify(&n, "connected");
    hub_ctx_free(&ctx);
    fn_no_content(res);
    return 0;
}

static int closed(fn_req *req, fn_res *res, hub_after *after, const char *conn_id)
{
    (void)req;
    const char *p[] = {conn_id};
    PGresult *r = fn_db_exec("DELETE FROM pubsub.connections WHERE id = $1 "
                             "RETURNING hub, user_id, protocol, state, close_reason",
                             1, p);
    if (!r) {
        fn_error(res, 500, "cannot remove connection");
        return 0;
    }
    if (PQntuples(r) == 1) { /* exactly once: only the hook that removed the row notifies */
        notice *n = calloc(1, sizeof *n);
        if (n) {
            snprintf(n->hub, sizeof n->hub, "%s", PQgetvalue(r, 0, 0));
            snprintf(n->conn_id, sizeof n->conn_id, "%s", conn_id);
            n->user = PQgetisnull(r, 0, 1) ? NULL : strdup(PQgetvalue(r, 0, 1));
            n->protocol = PQgetvalue(r, 0, 2)[0] ? strdup(PQgetvalue(r, 0, 2)) : NULL;
            n->state = PQgetisnull(r, 0, 3) ? NULL : strdup(PQgetvalue(r, 0, 3));
            n->reason = strdup(PQgetisnull(r, 0, 4) ? "The connection ended." : PQgetvalue(r, 0, 4));
            after->fn = after_disconnected;
            after->arg = n;
        }
    }
    PQclear(r);
    fn_no_content(res);
    return 0;
}

static int handle(fn_req *req, fn_res *res, hub_after *after)
{
    const char *event = fn_param(req, "HUB_EVENT");
    const char *conn_id = fn_param(req, "REQUEST_ID");
    if (!event || !conn_id || strlen(conn_id) > HUB_MAX_CONN_ID) {
        fn_error(res, 400, "not a hook request");
        return 0;
    }
    if (strcmp(event, "opened") == 0) return opened(req, res, conn_id);
    if (strcmp(event, "closed") == 0) return closed(req, res, after, conn_id);
    fn_error(res, 400, "unknown hook %s", event);
    return 0;
}

static void start(void)
{
    sweep_if_needed();
}

int main(void)
{
    return hub_run("hub-events", handle, start);
}
