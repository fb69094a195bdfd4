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
     * a time, so the handler sees `connected` before any event or `disconnected` of it. (A close
     * meanwhile loses nchan's `closed` hook: hub_orphan.c notices, hub_loop watches every hook.) */
    hub_notify(ctx.hub, conn_id, ctx.user, ctx.protocol[0] ? ctx.protocol : NULL, ctx.state,
               "connected", NULL);
    hub_ctx_free(&ctx);
    fn_no_content(res);
    return 0;
}

static void after_gone(void *g)
{
    hub_gone_notify(g);
}

static int closed(fn_res *res, hub_after *after, const char *conn_id)
{
    hub_gone *g;
    if (hub_conn_remove(conn_id, &g) != 0) {
        fn_error(res, 500, "cannot remove connection");
        return 0;
    }
    if (g) { /* exactly once: only whoever removed the row notifies */
        after->fn = after_gone;
        after->arg = g;
    }
    fn_no_content(res);
    return 0;
}

static void after_sweep(void *unused)
{
    (void)unused;
    hub_db_sweep_notify();
}

static int dispatch(fn_req *req, fn_res *res, hub_after *after);

/* Connections a sweep cleared get their `disconnected` after a response (nginx is up then). */
static int handle(fn_req *req, fn_res *res, hub_after *after)
{
    int rc = dispatch(req, res, after);
    if (!after->fn && hub_db_sweep_pending()) after->fn = after_sweep;
    return rc;
}

static int dispatch(fn_req *req, fn_res *res, hub_after *after)
{
    const char *event = fn_param(req, "HUB_EVENT");
    const char *conn_id = fn_param(req, "REQUEST_ID");
    if (!event || !conn_id || strlen(conn_id) > HUB_MAX_CONN_ID) {
        fn_error(res, 400, "not a hook request");
        return 0;
    }
    if (strcmp(event, "opened") == 0) return opened(req, res, conn_id);
    if (strcmp(event, "closed") == 0) return closed(res, after, conn_id);
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
