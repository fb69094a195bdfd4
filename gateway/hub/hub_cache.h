/* hub_cache.h: the hub's memory of read-only answers about connections (issue 14,
 * docs/performance.md#the-hub-cache). The member rows of a group send that writes nothing (no
 * ackId, no history) with the sender's permission, and the connections of a user, a group, a
 * connection or the hub that REST sends read: each kept in the process that read it and reused
 * while nothing that could change it was written on the node.
 *
 * Every write that changes a connection, a membership or a role (hub_store.c, the one owner of
 * the pubsub schema) bumps a generation counter in a small shared file of the node
 * (hub_cache_bump, after its commit and before the writer answers anyone); a kept answer is used
 * only while the counter is what it was before the answer was read. So a send after an acked
 * join, a leave, a revoke or a close sees the change, in any process of the node. Off with several
 * nodes (CHATR_REDIS_URL: another node's writes do not reach this counter) and with
 * CHATR_HUB_CACHE=0. */
#ifndef CHATR_HUB_CACHE_H
#define CHATR_HUB_CACHE_H

#include <stdint.h>
#include <libpq-fe.h>

/* Kept rows per process at most; an answer that does not fit is not kept. */
#define HUB_CACHE_MAX_ROWS 50000

/* Maps the generation file at path (created if missing): 0, or -1 (logged; the cache is off).
 * The first hub_cache_* call maps <CHATR_STATE_DIR>/run/hub-cache unless this came first (the
 * unit tests give their own file). */
int hub_cache_map(const char *path);
/* The node's generation, read before the answer that is to be kept; 0: the cache is off. */
uint64_t hub_cache_gen(void);
/* After a committed write that changes connections, memberships or roles. */
void hub_cache_bump(void);

/* The kept answer of kind ("group_send", "user", "group", "conn", "hub": what was read, a
 * metric label too) about (hub, name), current at this generation, or NULL; with a sender, only
 * when that connection's permission to send there was remembered at this generation too. The
 * answer is the cache's: valid until the next hub_cache_put, never cleared by the caller. */
PGresult *hub_cache_get(const char *kind, const char *hub, const char *name, const char *sender);
/* Keeps r, read when the generation was gen (hub_cache_gen before the query), and remembers that
 * sender (if any) was allowed: 1, and the cache owns r from now on (valid as hub_cache_get's); 0,
 * r not kept and still the caller's. */
int hub_cache_put(const char *kind, const char *hub, const char *name, const char *sender,
                  uint64_t gen, PGresult *r);

#endif
