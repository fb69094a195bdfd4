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
#include <sys/stat.h>
#include <unistd.h>

const char *hub_node_id(void)
{
    const char *n = hub_conf_get()->node_id;
    return n && *n ? n : "node";
}

/* Reads the node's epoch from the pid file: the pid of its nginx master, 0 when none runs. Every
 * row carries the epoch of the nginx that holds its socket, and a new epoch sweeps the old ones
 * (hub_sweep.c), so a wrong answer would end live connections: the pid must name a running
 * process called nginx, not a zombie (a stale or half-written pid file names nothing, or something
 * else). /proc is read rather than kill(pid, 0), which fails with EPERM when nginx runs as another
 * user. */
static long epoch_read(const char *pidfile)
{
    FILE *f = fopen(pidfile, "r");
    long pid = 0;
    if (f) {
        if (fscanf(f, "%ld", &pid) != 1) pid = 0;
        fclose(f);
    }
    if (pid <= 0) return 0;
    /* /proc/<pid>/stat: "pid (comm) state ..."; a zombie (Z) or dead (X) master is no nginx */
    char path[64], stat[256] = "";
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

/* The last epoch read, and the pid file it came from (docs/performance.md#the-node-epoch-cache). */
static struct {
    dev_t dev;
    ino_t ino;
    off_t size;
    struct timespec mtime, ctime;
    long pid;          /* > 0: a running nginx was read */
    long long read_at; /* monotonic ms */
} cached;

static int same_file(const struct stat *st)
{
    return st->st_dev == cached.dev && st->st_ino == cached.ino && st->st_size == cached.size &&
           st->st_mtim.tv_sec == cached.mtime.tv_sec &&
           st->st_mtim.tv_nsec == cached.mtime.tv_nsec &&
           st->st_ctim.tv_sec == cached.ctime.tv_sec && st->st_ctim.tv_nsec == cached.ctime.tv_nsec;
}

/* Every handshake and hook asked for the epoch, which cost two files read (about ten system
 * calls). An nginx that starts writes its pid file anew (nginx truncates and rewrites it, a new
 * binary renames the old one away): one stat() of the file notices that, so a running nginx read
 * before is answered from memory while the file is unchanged. An nginx that died without a
 * successor leaves its file as it was: the read is repeated after HUB_NODE_EPOCH_RECHECK_MS, so
 * the idle work (leases, sweeps) sees it gone that much later at most. A request itself comes
 * from the running nginx. Nothing but a running nginx is cached. */
long hub_node_epoch(void)
{
    static char pidfile[1024];
    if (!pidfile[0]) {
        const char *sd = fn_settings_get()->state_dir;
        snprintf(pidfile, sizeof pidfile, "%s/run/nginx.pid", sd && *sd ? sd : ".");
    }
    struct stat st;
    if (stat(pidfile, &st) != 0) {
        cached.pid = 0;
        return 0;
    }
    long long now = fn_mono_ms();
    if (cached.pid > 0 && same_file(&st) && now - cached.read_at < HUB_NODE_EPOCH_RECHECK_MS)
        return cached.pid;
    long pid = epoch_read(pidfile);
    cached.dev = st.st_dev;
    cached.ino = st.st_ino;
    cached.size = st.st_size;
    cached.mtime = st.st_mtim;
    cached.ctime = st.st_ctim;
    cached.pid = pid;
    cached.read_at = now;
    return pid;
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
