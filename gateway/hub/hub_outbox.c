/* hub_outbox.c: the `disconnected` notifications of the node and epoch sweeps, made durable
 * (schema/017_outbox.sql,
 * docs/liveness.md#notifications-a-sweep-owes).
 *
 * A sweep removes connections in one statement and used to notify from memory after its commit:
 * a process that died in between (the epoch sweep waits for nginx to answer, which may take a
 * while) lost those `disconnected` for good. Now the same statement writes one pubsub.outbox row
 * per removed connection, and every hub-events process drains the outbox: right after its own
 * sweep, after a request when it swept, and every HUB_OUTBOX_EVERY_MS between requests while
 * its nginx answers (webhooks to the node's own functions go through it). A drain claims due
 * rows (FOR UPDATE SKIP LOCKED, due_at moved HUB_OUTBOX_HOLD_MS on), sends each, and deletes
 * it: whoever claims a row sends it, and a claim that dies with its process runs out and the row
 * is sent by someone else. */
#include "hub_outbox.h"
#include "hub_nchan.h"
#include "hub_node.h"
#include "hub_store.h"
#include "fn.h"

#include <stdio.h>

static long long next_drain; /* monotonic ms */
static int owed;             /* this process swept: drain after the request */

void hub_outbox_owed(void)
{
    owed = 1;
}

int hub_outbox_pending(void)
{
    return owed;
}

int hub_outbox_drain(void)
{
    owed = 0;
    int sent = 0;
    for (;;) {
        PGresult *r = hub_store_outbox_claim(HUB_OUTBOX_HOLD_MS, HUB_OUTBOX_BATCH);
        if (!r) return -1;
        int n = PQntuples(r);
        for (int i = 0; i < n; i++) {
            const char *id = PQgetvalue(r, i, 0);
            hub_notify(PQgetvalue(r, i, 1), id, PQgetisnull(r, i, 2) ? NULL : PQgetvalue(r, i, 2),
                       PQgetvalue(r, i, 3)[0] ? PQgetvalue(r, i, 3) : NULL,
                       PQgetisnull(r, i, 4) ? NULL : PQgetvalue(r, i, 4), "disconnected",
                       PQgetvalue(r, i, 5));
            hub_store_outbox_done(id);
            sent++;
        }
        PQclear(r);
        if (n < HUB_OUTBOX_BATCH) break;
    }
    return sent;
}

void hub_outbox_tick(void)
{
    long long now = fn_mono_ms();
    if (now < next_drain && !owed) return;
    next_drain = now + HUB_OUTBOX_EVERY_MS;
    /* webhooks to this node's functions go through its nginx: only while it answers */
    if (hub_node_epoch() <= 0 || hub_nchan_subscribers("c.-") < 0) return;
    int n = hub_outbox_drain();
    if (n > 0) fn_log("outbox: sent %d disconnected notification(s) a sweep owed", n);
}
