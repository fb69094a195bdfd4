/* hub_node.c: this node's lease, and the other nodes' deaths (docs/scale-out.md#node-death).
 *
 * With several gateway nodes on one PostgreSQL, a node can die without a goodbye (kill -9 of its
 * nginx and programs, a power cut): no hook, no epoch sweep of its own ever runs for its rows,
 * and its users would stay online forever. So every hub-events process renews its node's lease
 * (pubsub.nodes, schema/015) every HUB_NODE_RENEW_MS while the node's nginx runs, and looks for
 * other nodes whose lease ran out (HUB_NODE_LEASE_MS). The first process to delete such a node's
 * row sweeps it in the same transaction (hub_store_nodes_reap): plain connections are removed
 * and their `disconnected` owed in the outbox in the same statement, then sent (hub_outbox.c:
 * once, and still sent if this process dies after the commit, docs/liveness.md);
 * reliable ones are kept for their retention time, so a client that reconnects through the load
 * balancer to another node takes its connection over there (hub_rel_takeover moves it to that
 * node) with every unacknowledged message replayed.
 *
 * A process that could not renew for a lease (the database was away, the process stalled) looks
 * at nobody for one more lease: the other nodes could not renew either, and must get the time
 * to do so before anyone judges them. */
#include "hub.h"
#include "hub_node.h"
#include "hub_store.h"

#include <stdio.h>

static long long next_tick;  /* monotonic ms */
static long long renewed_at; /* last successful renewal, 0: none yet */
static long long quiet_until;

void hub_node_tick(void)
{
    long long now = fn_mono_ms();
    if (now < next_tick) return;
    next_tick = now + HUB_NODE_RENEW_MS;
    long epoch = hub_node_epoch();
    if (epoch <= 0) return; /* our own nginx is down: no lease, and no judging the others */
    if (hub_store_node_renew(hub_node_id(), epoch, HUB_NODE_LEASE_MS) != 0) return;
    if (!renewed_at || now - renewed_at > HUB_NODE_LEASE_MS - HUB_NODE_RENEW_MS)
        quiet_until = now + HUB_NODE_LEASE_MS;
    renewed_at = now;
    if (now < quiet_until) return;
    int swept = 0;
    PGresult *r = hub_store_nodes_reap(hub_node_id(), &swept);
    if (!r) return;
    if (swept)
        fn_log("node sweep: %d node(s) stopped renewing their lease for %d ms: %d connection(s) "
               "removed, their reliable ones wait %ld ms for recovery",
               swept, HUB_NODE_LEASE_MS, PQntuples(r), hub_rel_retention_ms());
    PQclear(r);
    if (swept) hub_outbox_drain(); /* their `disconnected`, owed in the outbox (hub_outbox.c) */
}
