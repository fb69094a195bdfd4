/* hub_sweep.c: the node's sweeps, which keep pubsub.connections true to the sockets nginx holds
 * whatever process dies (docs/liveness.md). Both run in hub-events, between requests.
 *
 * The ghost sweep. A connection's row normally goes with nchan's `closed` hook, or with the
 * orphan watch (hub_orphan.c) when nchan dropped that hook; but the watch list lives in one
 * process's memory, and when that process dies (or nchan's worker dies with every socket and no
 * hook at all) nobody ever looks again: the row stays, userExists answers 200, the user stays
 * online. So every HUB_SWEEP_EVERY_MS the node's rows are compared with nchan: a row whose
 * socket's own channel has no subscriber is a ghost, and is removed as the `closed` hook would
 * have (DELETE ... RETURNING: `disconnected` fires once, whoever removes it). A reliable
 * connection is not removed but dropped: it waits for recovery, and hub_reliable_expire ends it
 * when its retention runs out. The work is split into batches of HUB_SWEEP_BATCH connections, and a
 * lease in PostgreSQL (pubsub.sweeps, schema/009) gives each batch to one process: no process
 * holds state, a process that dies holding the lease delays the next batch by a lease at most.
 *
 * The epoch sweep. nginx's master pid is the node's epoch, stored with every row. When it
 * changes (nginx restarted: every socket of the old one is gone), rows of older epochs are
 * swept: plain connections are removed (their `disconnected` waits until nginx answers again,
 * the way to the event handler), reliable ones are kept for their retention time from now, so a
 * client that reconnects with its connection id and reconnection token recovers, with replay. */
#include "hub_sweep.h"
#include "hub.h"
#include "hub_chan.h"
#include "hub_conf.h"
#include "hub_gone.h"
#include "hub_nchan.h"
#include "hub_node.h"
#include "hub_notify.h"
#include "hub_outbox.h"
#include "hub_reliable.h"
#include "hub_store.h"
#include "fn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

long hub_sweep_every_ms(void)
{
    return hub_conf_get()->sweep_ms;
}

/* ---- the ghost sweep -------------------------------------------------------------------- */

/* Claims the next batch: 1 with the pass's cursor in cursor, 0 when another process has it or
 * it is not due, -1 on a database error. */
static int claim(char *cursor, size_t len)
{
    return hub_store_sweep_claim(hub_node_id(), hub_sweep_every_ms() * HUB_SWEEP_LEASES,
                                 (long)getpid(), cursor, len);
}

/* Ends the batch: the next one is due now (the pass goes on from cursor) or, when the pass is
 * over (cursor ""), after the interval. */
static void release(const char *cursor)
{
    hub_store_sweep_release(hub_node_id(), cursor, cursor[0] ? 0L : hub_sweep_every_ms());
}

/* A connection whose socket is gone: removed (its `disconnected` queued in gone), or a reliable
 * one kept for recovery. */
static void bury(const char *conn_id, const char *socket, int reliable, hub_gone **gone, int *ng)
{
    if (reliable) {
        if (hub_reliable_drop(conn_id, socket) != 0)
            return; /* kept for recovery (it logs), or error */
    }
    hub_gone *g;
    if (hub_gone_remove(conn_id, &g) != 0 || !g) return;
    fn_log("sweep: connection %s: its socket is gone (no subscriber); removed", conn_id);
    gone[(*ng)++] = g;
}

void hub_sweep_ghosts(void)
{
    long epoch = hub_node_epoch();
    if (epoch <= 0) return; /* nginx is down: nothing to ask (the epoch sweep follows) */
    char cursor[HUB_MAX_CONN_ID + 1];
    if (claim(cursor, sizeof cursor) != 1) return;
    PGresult *r =
        hub_store_sweep_batch(hub_node_id(), epoch, cursor, HUB_SWEEP_GRACE_MS, HUB_SWEEP_BATCH);
    if (!r) {
        release(cursor);
        return;
    }
    hub_gone *gone[HUB_SWEEP_BATCH];
    int ng = 0, n = PQntuples(r), i = 0;
    for (; i < n; i++) {
        const char *id = PQgetvalue(r, i, 0), *socket = PQgetvalue(r, i, 1);
        char chan[HUB_MAX_CHANNEL];
        hub_chan_conn(socket, chan);
        int subs = hub_nchan_subscribers(chan);
        if (subs < 0) break; /* nginx cannot be asked: go on from here next time */
        if (subs == 0) bury(id, socket, PQgetvalue(r, i, 2)[0] == 't', gone, &ng);
    }
    /* the pass goes on after the last row looked at, or starts again when this was its end */
    if (i < n)
        snprintf(cursor, sizeof cursor, "%s", i ? PQgetvalue(r, i - 1, 0) : cursor);
    else
        snprintf(cursor, sizeof cursor, "%s", n == HUB_SWEEP_BATCH ? PQgetvalue(r, n - 1, 0) : "");
    PQclear(r);
    release(cursor);
    for (int k = 0; k < ng; k++)
        hub_gone_notify(gone[k]); /* after the lease is free */
}

/* ---- the epoch sweep -------------------------------------------------------------------- */

void hub_sweep_epoch(long epoch)
{
    PGresult *r = hub_store_sweep_epoch(hub_node_id(), epoch);
    if (!r) return;
    int n = PQntuples(r);
    PQclear(r);
    if (n == 0) return;
    fn_log("node %s restarted (epoch %ld): cleared %d connections; reliable ones wait %ld ms for "
           "recovery",
           hub_node_id(), epoch, n, hub_reliable_retention_ms());
    hub_outbox_owed(); /* their `disconnected`, sent once nginx answers (hub_outbox.c) */
}
