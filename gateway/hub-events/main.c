/* hub-events: a client socket opened or closed (nchan_subscribe_request and
 * nchan_unsubscribe_request hooks). Opened: fire the `connected` webhook (hub-connect registered
 * the connection, a reliable one too, and sent its `connected` frame). Closed:
 * remove the connection (and with it its memberships) and fire `disconnected` exactly once.
 * Reliable connections (hub_reliable.c, docs/protocols.md#the-reliable-subprotocol): closed keeps
 * one for the retention time unless the hub closed it for good; opened of a recovering socket takes
 * it over and replays what is unacknowledged (no `connected` webhook); a refused recovery gets its
 * `disconnected` frame. Between requests (hub_loop_idle): retention expiry, the node's sweeps
 * (hub_sweep.c: ghosts whose socket is gone, rows of an nginx that restarted), the node's lease
 * with the sweep of other nodes that died (hub_node.c), and the `disconnected` notifications the
 * latter two owe, kept in the outbox until sent (hub_outbox.c). docs/protocols.md#system-events;
 * docs/architecture.md#a-connection-from-handshake-to-close; docs/liveness.md. */
#include "hub.h"
#include "hub_chan.h"
#include "hub_ctx.h"
#include "hub_gone.h"
#include "hub_loop.h"
#include "hub_nchan.h"
#include "hub_node.h"
#include "hub_notify.h"
#include "hub_outbox.h"
#include "hub_reliable.h"
#include "hub_sweep.h"
#include "fn.h"
#include "hub_node.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static long swept_epoch = -1;

/* A node clears connections no live nginx of its own backs: at start, and when nginx changed
 * (plain ones end, reliable ones wait for recovery: hub_sweep.c). */
static void sweep_if_needed(void)
{
    long e = hub_node_epoch();
    if (e == swept_epoch) return;
    hub_sweep_epoch(e);
    swept_epoch = e;
}

/* Between requests the epoch is looked at too (a restarted nginx sends no hook until a client
 * connects), but only a running nginx seen twice in a row counts: a pid file read while nginx
 * writes it must not end every connection. */
static void sweep_if_restarted(void)
{
    static long seen = -1;
    long e = hub_node_epoch();
    if (e > 0 && e != swept_epoch && e == seen) sweep_if_needed();
    seen = e;
}

static int opened(fn_req *req, fn_res *res, const char *conn_id)
{
    const char *socket = fn_param(req, "HUB_SOCKET"), *refused = fn_param(req, "HUB_REFUSED");
    if (!socket || !*socket) socket = conn_id;
    if (refused && *refused) { /* a recovery hub-connect refused: close it with 1008 */
        fn_log("recovery refused for socket %s: %s", socket, refused);
        hub_reliable_refuse(socket, refused);
        fn_no_content(res);
        return 0;
    }
    hub_ctx ctx;
    if (hub_ctx_decode(fn_param(req, "HUB_CTX"), &ctx) != 0) {
        fn_error(res, 400, "no connection context");
        return 0;
    }
    sweep_if_needed();
    if (strcmp(socket, conn_id) != 0) { /* recovery of reliable connection conn_id */
        char epoch[32];
        snprintf(epoch, sizeof epoch, "%ld", swept_epoch);
        if (hub_reliable_takeover(conn_id, socket, hub_node_id(), epoch) != 0) {
            /* ended since the handshake: close the socket; its next recovery is refused */
            char own[HUB_MAX_CHANNEL];
            hub_chan_conn(socket, own);
            hub_nchan_delete(own);
        }
        hub_ctx_free(&ctx);
        fn_no_content(res); /* no `connected` webhook: the connection is not new */
        return 0;
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

static int closed(fn_req *req, fn_res *res, hub_loop_after *after, const char *conn_id)
{
    const char *refused = fn_param(req, "HUB_REFUSED"), *socket = fn_param(req, "HUB_SOCKET");
    if (refused && *refused) { /* a refused recovery registered nothing */
        fn_no_content(res);
        return 0;
    }
    hub_ctx ctx;
    int reliable =
        hub_ctx_decode(fn_param(req, "HUB_CTX"), &ctx) == 0 && hub_reliable_protocol(ctx.protocol);
    hub_ctx_free(&ctx);
    if (reliable) { /* kept for recovery unless the hub closed it for good */
        int kept = hub_reliable_drop(conn_id, socket && *socket ? socket : conn_id);
        if (kept != 0) {
            if (kept < 0)
                fn_error(res, 500, "cannot update connection");
            else
                fn_no_content(res);
            return 0;
        }
    }
    hub_gone *g;
    if (hub_gone_remove(conn_id, &g) != 0) {
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
    hub_outbox_drain();
}

static int dispatch(fn_req *req, fn_res *res, hub_loop_after *after);

/* Connections a sweep cleared get their `disconnected` after a response (nginx is up then). */
static int handle(fn_req *req, fn_res *res, hub_loop_after *after)
{
    int rc = dispatch(req, res, after);
    if (!after->fn && hub_outbox_pending()) after->fn = after_sweep;
    return rc;
}

static int dispatch(fn_req *req, fn_res *res, hub_loop_after *after)
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

/* Between requests: reliable connections whose retention ran out end (hub_reliable.c), the
 * `disconnected` notifications the sweeps owe go out once nginx answers (this process's own, and
 * any a process that died left in the outbox: hub_outbox.c), and one batch of the ghost sweep
 * runs when it is due and this process holds its lease (hub_sweep.c). */
static void idle(void)
{
    hub_reliable_expire();
    sweep_if_restarted();
    hub_outbox_tick();
    hub_sweep_ghosts();
    hub_node_tick(); /* this node's lease; nodes that died (hub_node.c, docs/scale-out.md) */
}

static void start(void)
{
    sweep_if_needed();
    long every = hub_reliable_retention_ms() / 4;
    hub_loop_idle(idle,
                  every < HUB_RELIABLE_EXPIRE_EVERY_MS ? every : HUB_RELIABLE_EXPIRE_EVERY_MS);
}

int main(void)
{
    return hub_loop_run("hub-events", handle, start);
}
