/* hub_node.c: which gateway node this process belongs to (CHATR_NODE_ID), the node's epoch,
 * the nginx master that holds its sockets now (docs/liveness.md, "Epochs"), and its lease.
 *
 * Leases (docs/scale-out.md#node-death): with several gateway nodes on one PostgreSQL, a node can
 * die without a goodbye (kill -9 of its nginx and programs, a power cut): no hook, no epoch sweep
 * of its own ever runs for its rows, and its users would stay online forever. So every hub-events
 * process renews its node's lease (pubsub.nodes, schema/015) every HUB_NODE_RENEW_MS while the
 * node's nginx runs, and looks for other nodes whose lease ran out (HUB_NODE_LEASE_MS). The first
 * process to delete such a node's row sweeps it in the same transaction (hub_store_nodes_reap):
 * plain connections are removed and their `disconnected` owed in the outbox in the same
 * statement, then sent (hub_outbox.c: once, and still sent if this process dies after the
 * commit, docs/liveness.md); reliable ones are kept for their retention time, so a client that
 * reconnects through the load balancer to another node takes its connection over there
 * (hub_reliable_takeover moves it to that node) with every unacknowledged message replayed.
 *
 * A process that could not renew for a lease (the database was away, the process stalled) looks
 * at nobody for one more lease: the other nodes could not renew either, and must get the time
 * to do so before anyone judges them. */
#include "hub_node.h"
#include "hub_conf.h"
#include "hub_notify.h"
#include "hub_outbox.h"
#include "hub_reliable.h"
#include "hub_store.h"
#include "fn.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

const char *hub_node_id(void)
{
    const char *n = hub_conf_get()->node_id;
    return n && *n ? n : "node";
}

/* The node's epoch: the pid of its nginx master (run/nginx.pid), 0 when none runs. Every row
 * carries the epoch of the nginx that holds its socket, and a new epoch sweeps the old ones
 * (hub_sweep.c), so a wrong answer would end live connections: the pid must name a running
 * process called nginx, not a zombie (a stale or half-written pid file names nothing, or something
 * else). /proc is read rather than kill(pid, 0), which fails with EPERM when nginx runs as another
 * user. */
long hub_node_epoch(void)
{
    const char *sd = fn_settings_get()->state_dir;
    char path[1024];
    snprintf(path, sizeof path, "%s/run/nginx.pid", sd && *sd ? sd : ".");
    FILE *f = fopen(path, "r");
    long pid = 0;
    if (f) {
        if (fscanf(f, "%ld", &pid) != 1) pid = 0;
        fclose(f);
    }
    if (pid <= 0) return 0;
    /* /proc/<pid>/stat: "pid (comm) state ..."; a zombie (Z) or dead (X) master is no nginx */
    char stat[256] = "";
    snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    f = fopen(path, "r");
    if (!f && access("/proc/self/stat", R_OK) != 0) /* no /proc here: ask the kernel instead */
        return kill((pid_t)pid, 0) == 0 || errno == EPERM ? pid : 0;
    if (f) {
        if (!fgets(stat, sizeof stat, f)) stat[0] = '\0';
        fclose(f);
    }
    const char *lp = strchr(stat, '('), *rp = strrchr(stat, ')');
    if (!lp || !rp || rp - lp != 6 || strncmp(lp + 1, "nginx", 5) != 0) return 0;
    return rp[1] == ' ' && rp[2] && !strchr("ZX", rp[2]) ? pid : 0;
}

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
               swept, HUB_NODE_LEASE_MS, PQntuples(r), hub_reliable_retention_ms());
    PQclear(r);
    if (swept) hub_outbox_drain(); /* their `disconnected`, owed in the outbox (hub_outbox.c) */
}
