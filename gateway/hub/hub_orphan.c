/* hub_orphan.c: connections whose socket is gone although their `closed` hook never ran.
 *
 * nchan runs one socket's hooks one at a time (its per-subscriber "requestmachine"). When the
 * socket closes while a hook is in flight (the `opened` hook waiting on the `connected` webhook,
 * a frame waiting on a user-event handler), the unsubscribe hook is queued behind it, and the
 * socket's teardown (nchan_subscriber_subrequest_cleanup -> nchan_requestmachine_abort) drops
 * every queued request: no `closed` hook, the row stays, `disconnected` never fires.
 *
 * So every hook puts its connection on this process's watch list; 3 s after the connection's
 * last hook the process asks nchan whether the connection's own channel still has a subscriber,
 * and once more at 20 s (when the socket lived in another nginx worker than the channel's owner,
 * nchan releases its subscription there seconds late): check_at.
 * Once it has none, the connection is removed as the `closed` hook would (hub_gone.c; the
 * DELETE ... RETURNING keeps `disconnected` exactly once if the hook runs after all); a reliable
 * connection is kept for recovery instead, and looked for on the socket that holds it now
 * (hub_reliable_orphan).
 *
 * A busy socket's hooks land on every process of the pools, and each of them would look for it
 * (one request to nchan per check: for a sender at 1 message/s, as many checks as frames). So the
 * processes of one node share the time of every connection's latest hook in a mapped file
 * (hookmap below): a process whose watch is due skips the check when a later hook ran anywhere,
 * because the process that ran it watches the connection now. Only the last one checks.
 *
 * The watch list dies with its process, and stops looking 20 s after the last hook: it is the
 * fast path. The node sweep (hub_sweep.c) is the guarantee, whatever process dies; see
 * docs/liveness.md. */
#include "hub_orphan.h"
#include "hub.h"
#include "hub_chan.h"
#include "hub_gone.h"
#include "hub_nchan.h"
#include "hub_reliable.h"
#include "fn.h"

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

typedef struct watch {
    char id[HUB_MAX_CONN_ID + 1]; /* "" = free slot */
    int64_t due;                  /* monotonic ms */
    int64_t hook_at;              /* when this process saw the hook */
    int tries;                    /* checks done since the last hook */
} watch;

/* Seconds after the last hook at which the socket is looked for. The first look waits 3 s, so a
 * socket that sends more often than that is never looked for (a later hook supersedes the
 * watch: before, a look at 1 s cost one channel request for about half the frames of a client
 * sending once a second). The second and last look comes after nchan has released another
 * worker's subscription (7-15 s after the socket closed in our measurements); whatever it
 * still misses is the node sweep's (docs/liveness.md, docs/performance.md#the-orphan-watch). */
static const int64_t check_at[HUB_ORPHAN_CHECKS] = {3, 20};

static watch table[HUB_ORPHAN_WATCH_MAX]; /* open addressing, linear probing */
static size_t used;
static int64_t earliest = INT64_MAX; /* lower bound of every due time */

static size_t slot_of(const char *id)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (const char *p = id; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ULL;
    return (size_t)(h % HUB_ORPHAN_WATCH_MAX);
}

/* ---- hookmap: the latest hook of each connection, node-wide ------------------------------
 * A direct-mapped table in a shared file: slot = hash % HOOKMAP_SLOTS holds (hash, time). Two
 * connections on one slot overwrite each other; a lookup that finds another hash (or a torn
 * read) answers "unknown", and unknown means check, so a collision costs a request, never a
 * missed orphan. CLOCK_MONOTONIC is the same clock in every process of the machine. */
#define HOOKMAP_SLOTS 65536
typedef struct hookslot {
    volatile uint64_t hash;
    volatile int64_t at;
} hookslot;
static hookslot *hookmap;
static int hookmap_tried;

static uint64_t id_hash(const char *id)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (const char *p = id; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ULL;
    return h | 1; /* 0 = empty */
}

static hookslot *hookmap_get(void)
{
    if (hookmap || hookmap_tried) return hookmap;
    hookmap_tried = 1;
    /* next to nginx's internal socket: the node's run directory */
    const char *sock = fn_settings_get()->nginx_socket;
    const char *slash = sock ? strrchr(sock, '/') : NULL;
    if (!slash) return NULL;
    char path[4096];
    snprintf(path, sizeof path, "%.*s/hub-hooks.map", (int)(slash - sock), sock);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    size_t size = HOOKMAP_SLOTS * sizeof(hookslot);
    if (fd < 0 || ftruncate(fd, (off_t)size) != 0) {
        fn_log("hook map %s: cannot open; every watch is checked", path);
        if (fd >= 0) close(fd);
        return NULL;
    }
    void *m = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    if (m == MAP_FAILED) return NULL;
    hookmap = m;
    return hookmap;
}

static void hookmap_set(const char *id, int64_t at)
{
    hookslot *m = hookmap_get();
    if (!m) return;
    uint64_t h = id_hash(id);
    hookslot *s = &m[h % HOOKMAP_SLOTS];
    s->hash = 0; /* readers see "unknown" while the pair changes */
    __atomic_thread_fence(__ATOMIC_RELEASE);
    s->at = at;
    __atomic_thread_fence(__ATOMIC_RELEASE);
    s->hash = h;
}

/* 1 when a hook later than at ran for id in some process of this node. */
static int hookmap_later(const char *id, int64_t at)
{
    hookslot *m = hookmap_get();
    if (!m) return 0;
    uint64_t h = id_hash(id);
    hookslot *s = &m[h % HOOKMAP_SLOTS];
    if (s->hash != h) return 0;
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
    int64_t t = s->at;
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
    return s->hash == h && t > at;
}

/* Frees slot i and moves later members of its cluster up (no tombstones). */
static void unwatch_slot(size_t i)
{
    table[i].id[0] = '\0';
    used--;
    for (size_t j = (i + 1) % HUB_ORPHAN_WATCH_MAX; table[j].id[0];
         j = (j + 1) % HUB_ORPHAN_WATCH_MAX) {
        size_t home = slot_of(table[j].id);
        /* j's entry may move to the hole i unless its home lies cyclically in (i, j]. */
        int stays = i <= j ? (home > i && home <= j) : (home > i || home <= j);
        if (stays) continue;
        table[i] = table[j];
        table[j].id[0] = '\0';
        i = j;
    }
}

/* 1 when the socket of conn_id is gone: its own channel has no subscriber (or no longer exists). */
static int socket_gone(const char *conn_id)
{
    char chan[HUB_MAX_CHANNEL];
    hub_chan_conn(conn_id, chan);
    return hub_nchan_subscribers(chan) == 0;
}

/* 1 when the connection is settled (removed, or already gone); 0 when its socket still counts. */
static int check(const char *conn_id)
{
    if (!socket_gone(conn_id)) return 0;
    /* A reliable connection outlives its socket (retention), and a later socket may hold it. */
    int rel = hub_reliable_orphan(conn_id);
    if (rel >= 0) return rel;
    hub_gone *g;
    if (hub_gone_remove(conn_id, &g) != 0 || !g) return 1;
    fn_log("connection %s: socket gone without a closed hook; removed", conn_id);
    hub_gone_notify(g);
    return 1;
}

static void put(const char *conn_id, int tries, int64_t due, int64_t hook_at);

void hub_orphan_tick(void)
{
    int64_t now = fn_mono_ms();
    if (now < earliest) return;
    int64_t next = INT64_MAX;
    for (size_t i = 0; i < HUB_ORPHAN_WATCH_MAX; i++) {
        if (!table[i].id[0]) continue;
        if (table[i].due > now) {
            if (table[i].due < next) next = table[i].due;
            continue;
        }
        char id[HUB_MAX_CONN_ID + 1];
        int tries = table[i].tries + 1;
        int64_t hook_at = table[i].hook_at;
        memcpy(id, table[i].id, sizeof id);
        unwatch_slot(i);
        if (table[i].id[0]) i--;                  /* an entry moved into slot i: look at it again */
        if (hookmap_later(id, hook_at)) continue; /* the process of the later hook watches it */
        /* Still counted: alive, or nchan has not caught up yet (another worker's subscription
         * is released a few seconds late). Ask again later, less and less often. */
        if (!check(id) && tries < HUB_ORPHAN_CHECKS) {
            int64_t later = now + (check_at[tries] - check_at[tries - 1]) * 1000;
            put(id, tries, later, hook_at);
            if (later < next) next = later;
        }
    }
    earliest = next;
}

static void put(const char *conn_id, int tries, int64_t due, int64_t hook_at)
{
    size_t n = strlen(conn_id);
    size_t i = slot_of(conn_id);
    while (table[i].id[0] && strcmp(table[i].id, conn_id) != 0)
        i = (i + 1) % HUB_ORPHAN_WATCH_MAX;
    if (!table[i].id[0]) {
        memcpy(table[i].id, conn_id, n + 1);
        used++;
    }
    table[i].due = due;
    table[i].hook_at = hook_at;
    table[i].tries = tries;
    if (due < earliest) earliest = due;
}

void hub_orphan_watch(const char *conn_id)
{
    size_t n = strlen(conn_id);
    if (n == 0 || n > HUB_MAX_CONN_ID) return;
    if (used >= HUB_ORPHAN_WATCH_MAX * 3 / 4) {
        hub_orphan_tick();
        if (used >= HUB_ORPHAN_WATCH_MAX * 3 / 4) {
            fn_log("orphan watch list full (%d): %s not watched", HUB_ORPHAN_WATCH_MAX, conn_id);
            return;
        }
    }
    int64_t now = fn_mono_ms();
    hookmap_set(conn_id, now);
    put(conn_id, 0, now + check_at[0] * 1000, now);
}

long hub_orphan_next_ms(void)
{
    if (used == 0) return -1;
    int64_t d = earliest - fn_mono_ms();
    return d < 0 ? 0 : (long)d;
}
