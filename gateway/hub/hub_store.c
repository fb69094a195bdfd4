/* hub_store.c: every statement on the pubsub schema (hub_store.h; schema/002_pubsub.sql
 * onwards; docs/storage.md). Every statement is parameterised and runs through fn_db_exec; the
 * transactions are the callers' (fn_db_tx), the statements in them are here. */
#include "hub_store.h"
#include "hub.h"
#include "hub_cache.h"
#include "hub_ctx.h"
#include "hub_payload.h"
#include "fn.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

static enum hub_store_rc done(PGresult *q)
{
    if (!q) return HUB_STORE_FAILED;
    PQclear(q);
    return HUB_STORE_OK;
}

/* Copies a result's text value (NULL: "") into buf. */
static void copy_value(PGresult *r, int row, int col, char *buf, size_t len)
{
    snprintf(buf, len, "%s", PQgetisnull(r, row, col) ? "" : PQgetvalue(r, row, col));
}

/* The one row of a lookup's answer r, its first two columns copied into the buffers ("" for
 * NULL) and *null0 (when given) whether the first is NULL: 1; 0 when r has no row; -1 when the
 * statement failed (r NULL). Clears r. */
static int one_row(PGresult *r, char *c0, size_t l0, char *c1, size_t l1, int *null0)
{
    if (!r) return -1;
    int found = PQntuples(r) == 1;
    if (found) {
        if (null0) *null0 = PQgetisnull(r, 0, 0);
        copy_value(r, 0, 0, c0, l0);
        copy_value(r, 0, 1, c1, l1);
    }
    PQclear(r);
    return found;
}

/* ---- connections ------------------------------------------------------------------------ */

/* Makes the statement's transaction commit without waiting for the WAL flush: for session rows
 * (a connection's registration and removal), which the node's sweeps put right after a crash
 * (docs/storage.md#session-rows-and-the-wal). Local to the transaction. */
#define HUB_STORE_NO_FLUSH "set_config('synchronous_commit', 'off', true)"

/* A statement that may change connections, memberships or roles, outside a transaction (it
 * has committed when it returns): unless it touched no row, the router's kept group-send answers
 * are stale from now on (hub_cache.h). Every such statement in this file goes through here; the
 * one transaction that changes them (the node reap) bumps after its COMMIT. The periodic ones
 * (retention expiry, sweeps) mostly touch nothing and so leave the cache alone; a failed
 * statement bumps too (it may have committed before its answer was lost). */
static PGresult *write_exec(const char *sql, int nparams, const char *const *params)
{
    PGresult *r = fn_db_exec(sql, nparams, params);
    const char *rows = r ? PQcmdTuples(r) : "";
    if (!r || !*rows || strcmp(rows, "0") != 0) hub_cache_bump();
    return r;
}

enum hub_store_reg hub_store_register(const hub_ctx *ctx, const char *conn_id, const char *node,
                                      long epoch, int max)
{
    char ep[32], mx[16];
    snprintf(ep, sizeof ep, "%ld", epoch);
    snprintf(mx, sizeof mx, "%d", max);
    const char *roles = json_object_to_json_string_ext(ctx->roles, JSON_C_TO_STRING_PLAIN);
    const char *groups = json_object_to_json_string_ext(ctx->groups, JSON_C_TO_STRING_PLAIN);
    const char *p[] = {conn_id,    ctx->hub, ctx->user, ctx->protocol, roles,
                       ctx->state, node,     ep,        groups,        mx};
    /* The limit is counted under a per-user lock where the row is inserted (schema/008). A
     * session row does not wait for the WAL flush (docs/storage.md#session-rows-and-the-wal). */
    PGresult *r = write_exec("SELECT pubsub.register($1, $2, $3, $4, $5::json, $6, $7, "
                             "$8::bigint, $9::json, $10::int), " HUB_STORE_NO_FLUSH,
                             10, p);
    if (!r) return HUB_STORE_REG_FAILED;
    int status = PQntuples(r) == 1 ? atoi(PQgetvalue(r, 0, 0)) : -1;
    PQclear(r);
    switch (status) {
    case HUB_STORE_REG_OK:
    case HUB_STORE_REG_OVER_LIMIT:
    case HUB_STORE_REG_EXISTS:
        return (enum hub_store_reg)status;
    }
    return HUB_STORE_REG_FAILED;
}

json_object *hub_store_roles(const char *conn_id)
{
    const char *p[] = {conn_id};
    PGresult *r =
        fn_db_exec("SELECT array_to_json(roles) FROM pubsub.connections WHERE id = $1", 1, p);
    json_object *out = NULL;
    if (r && PQntuples(r) == 1) out = json_tokener_parse(PQgetvalue(r, 0, 0));
    PQclear(r);
    return out;
}

enum hub_store_rc hub_store_join(const char *hub, const char *group, const char *conn_id, int max)
{
    char limit[16];
    snprintf(limit, sizeof limit, "%d", max);
    const char *p[] = {hub, group, conn_id, limit};
    PGresult *r =
        write_exec("WITH n AS (SELECT count(*) AS k FROM pubsub.group_members WHERE conn_id = $3), "
                   "ins AS (INSERT INTO pubsub.group_members (hub, group_name, conn_id) "
                   "  SELECT $1, $2, $3 FROM n WHERE n.k < $4::int "
                   "    AND EXISTS (SELECT 1 FROM pubsub.connections WHERE id = $3) "
                   "  ON CONFLICT DO NOTHING RETURNING 1) "
                   "SELECT (SELECT count(*) FROM ins), (SELECT k FROM n), "
                   "  EXISTS (SELECT 1 FROM pubsub.group_members WHERE hub = $1 AND group_name = "
                   "$2 AND conn_id = $3)",
                   4, p);
    if (!r) return HUB_STORE_FAILED;
    int inserted = atoi(PQgetvalue(r, 0, 0)), count = atoi(PQgetvalue(r, 0, 1));
    int member = PQgetvalue(r, 0, 2)[0] == 't';
    PQclear(r);
    if (inserted || member) return HUB_STORE_OK;
    return count >= max ? HUB_STORE_LIMIT : HUB_STORE_NOT_FOUND;
}

enum hub_store_rc hub_store_leave(const char *hub, const char *group, const char *conn_id)
{
    const char *p[] = {hub, group, conn_id};
    return done(write_exec(
        "DELETE FROM pubsub.group_members WHERE hub = $1 AND group_name = $2 AND conn_id = $3", 3,
        p));
}

enum hub_store_rc hub_store_set_state(const char *conn_id, const char *state)
{
    const char *p[] = {conn_id, state};
    return done(fn_db_exec("UPDATE pubsub.connections SET state = $2 WHERE id = $1", 2, p));
}

int hub_store_close(const char *conn_id, const char *reason, char *protocol, size_t protocol_len,
                    char *socket, size_t socket_len)
{
    const char *p[] = {conn_id, reason};
    return one_row(write_exec("UPDATE pubsub.connections c SET close_reason = $2 WHERE id = $1 "
                              "RETURNING protocol, "
                              "  (SELECT r.socket FROM pubsub.reliable r WHERE r.conn_id = c.id)",
                              2, p),
                   protocol, protocol_len, socket, socket_len, NULL);
}

PGresult *hub_store_remove(const char *conn_id)
{
    const char *p[] = {conn_id};
    /* docs/storage.md#session-rows-and-the-wal */
    return write_exec("WITH f AS (SELECT " HUB_STORE_NO_FLUSH ") "
                      "DELETE FROM pubsub.connections WHERE id = $1 AND EXISTS (SELECT 1 FROM f) "
                      "RETURNING hub, user_id, protocol, state, close_reason",
                      1, p);
}

int hub_store_owner(const char *conn_id, char *user, size_t user_len, int *anonymous, char *hub,
                    size_t hub_len)
{
    const char *p[] = {conn_id};
    return one_row(fn_db_exec("SELECT user_id, hub FROM pubsub.connections WHERE id = $1", 1, p),
                   user, user_len, hub, hub_len, anonymous);
}

/* ---- group messages and ackIds -------------------------------------------------------- */

PGresult *hub_store_group_send(const hub_store_msg *m)
{
    char slot[16], ack[24], qbytes[24], qwin[16];
    snprintf(qbytes, sizeof qbytes, "%lld", m->quota_bytes);
    snprintf(qwin, sizeof qwin, "%ld", m->quota_window_s);
    snprintf(slot, sizeof slot, "%" PRIu64, m->ack_id % HUB_ACK_WINDOW);
    snprintf(ack, sizeof ack, "%" PRIu64, m->ack_id);
    int acked = m->conn_id && m->has_ack;
    const char *q[] = {m->conn_id,
                       m->hub,
                       m->group,
                       m->allowed ? "t" : "f",
                       acked ? slot : NULL,
                       acked ? ack : NULL,
                       m->store ? "t" : "f",
                       m->from_user,
                       m->dt,
                       m->store ? m->data : "",
                       m->durable ? "t" : "f",
                       m->quoted ? qbytes : NULL,
                       m->quoted ? qwin : NULL};
    return fn_db_exec("SELECT status, msg_id, msg_time, member, protocol "
                      "FROM pubsub.group_send($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, "
                      "$12::bigint, $13::int)",
                      13, q);
}

/* A connection remembers its last HUB_ACK_WINDOW ackIds, one slot each (schema/004). */
static void ack_params(uint64_t ack_id, char *slot, size_t slot_len, char *id, size_t id_len)
{
    snprintf(slot, slot_len, "%" PRIu64, ack_id % HUB_ACK_WINDOW);
    snprintf(id, id_len, "%" PRIu64, ack_id);
}

int hub_store_ack_claim(const char *conn_id, uint64_t ack_id)
{
    char slot[24], id[24];
    ack_params(ack_id, slot, sizeof slot, id, sizeof id);
    const char *p[] = {conn_id, slot, id};
    PGresult *r =
        fn_db_exec("INSERT INTO pubsub.acks AS a (conn_id, slot, ack_id) VALUES ($1, $2, $3) "
                   "ON CONFLICT (conn_id, slot) DO UPDATE SET ack_id = EXCLUDED.ack_id "
                   "  WHERE a.ack_id <> EXCLUDED.ack_id RETURNING 1",
                   3, p);
    if (!r) return -1;
    int fresh = PQntuples(r) == 1;
    PQclear(r);
    return fresh;
}

void hub_store_ack_forget(const char *conn_id, uint64_t ack_id)
{
    char slot[24], id[24];
    ack_params(ack_id, slot, sizeof slot, id, sizeof id);
    const char *p[] = {conn_id, slot, id};
    PQclear(fn_db_exec("DELETE FROM pubsub.acks WHERE conn_id = $1 AND slot = $2 AND ack_id = $3",
                       3, p));
}

/* ---- the reliable subprotocol --------------------------------------------------------- */

PGresult *hub_store_reliable_push(const char *ids_json, const char *env, int max_msgs,
                                  long long max_bytes)
{
    char maxc[16], maxb[24];
    snprintf(maxc, sizeof maxc, "%d", max_msgs);
    snprintf(maxb, sizeof maxb, "%lld", max_bytes);
    const char *p[] = {ids_json, env, maxc, maxb};
    return fn_db_exec("SELECT conn_id, seq, socket, over "
                      "FROM pubsub.reliable_push($1::json, $2, $3::int, $4::bigint)",
                      4, p);
}

PGresult *hub_store_reliable_conns(const char *hub, const char *user)
{
    /* The protocol is part of the text, so even a generic plan of the prepared statement uses
     * the partial index connections_reliable (schema/006): no scan of the hub's connections. */
    const char *p[] = {hub, user};
    return fn_db_exec(user ? "SELECT id FROM pubsub.connections WHERE hub = $1 AND user_id = $2 "
                             "AND protocol = '" HUB_PROTO_RELIABLE "'"
                           : "SELECT id FROM pubsub.connections WHERE hub = $1 "
                             "AND protocol = '" HUB_PROTO_RELIABLE "'",
                      user ? 2 : 1, p);
}

int hub_store_reliable_ack(const char *conn_id, long long seq)
{
    char s[24];
    snprintf(s, sizeof s, "%lld", seq);
    const char *p[] = {conn_id, s};
    PGresult *r = fn_db_exec(
        "WITH d AS (DELETE FROM pubsub.reliable_messages WHERE conn_id = $1 AND seq <= $2::bigint "
        "           RETURNING octet_length(body) AS n) "
        "UPDATE pubsub.reliable SET unacked = unacked - (SELECT count(*) FROM d), "
        "  unacked_bytes = unacked_bytes - (SELECT coalesce(sum(n), 0) FROM d) "
        "WHERE conn_id = $1 AND EXISTS (SELECT 1 FROM d)",
        2, p);
    PQclear(r);
    return r ? 0 : -1;
}

int hub_store_reliable_find(const char *conn_id, const char *hub, long retention_ms, char **user,
                            char **state)
{
    char ret[24];
    snprintf(ret, sizeof ret, "%ld", retention_ms);
    const char *p[] = {conn_id, hub, ret};
    PGresult *r = fn_db_exec(
        "SELECT c.user_id, c.state FROM pubsub.connections c "
        "JOIN pubsub.reliable r ON r.conn_id = c.id "
        "WHERE c.id = $1 AND c.hub = $2 AND c.close_reason IS NULL "
        "  AND (r.socket IS NOT NULL OR r.dropped_at > now() - $3::bigint * interval '1 ms')",
        3, p);
    if (!r) return -1;
    int found = PQntuples(r) == 1;
    if (found) {
        *user = PQgetisnull(r, 0, 0) ? NULL : strdup(PQgetvalue(r, 0, 0));
        *state = PQgetisnull(r, 0, 1) ? NULL : strdup(PQgetvalue(r, 0, 1));
    }
    PQclear(r);
    return found;
}

int hub_store_reliable_lock(const char *conn_id, long retention_ms, char *old_socket,
                            size_t old_len, char *user, size_t user_len, int *anonymous)
{
    char ret[24];
    snprintf(ret, sizeof ret, "%ld", retention_ms);
    const char *p[] = {conn_id, ret};
    return one_row(
        fn_db_exec(
            "SELECT c.user_id, r.socket FROM pubsub.reliable r "
            "JOIN pubsub.connections c ON c.id = r.conn_id "
            "WHERE r.conn_id = $1 AND c.close_reason IS NULL "
            "  AND (r.socket IS NOT NULL OR r.dropped_at > now() - $2::bigint * interval '1 ms') "
            "FOR NO KEY UPDATE OF r",
            2, p),
        user, user_len, old_socket, old_len, anonymous);
}

int hub_store_reliable_move(const char *conn_id, const char *socket, const char *node,
                            const char *epoch)
{
    const char *p[] = {conn_id, socket, node, epoch};
    PGresult *r =
        fn_db_exec("WITH c AS (UPDATE pubsub.connections SET node = $3, epoch = $4::bigint "
                   "           WHERE id = $1) "
                   "UPDATE pubsub.reliable SET socket = $2, dropped_at = NULL WHERE conn_id = $1",
                   4, p);
    PQclear(r);
    return r ? 0 : -1;
}

PGresult *hub_store_reliable_unacked(const char *conn_id)
{
    const char *p[] = {conn_id};
    return fn_db_exec("SELECT seq, body FROM pubsub.reliable_messages "
                      "WHERE conn_id = $1 ORDER BY seq",
                      1, p);
}

int hub_store_reliable_drop(const char *conn_id, const char *socket, int *changed)
{
    const char *p[] = {conn_id, socket};
    PGresult *r = fn_db_exec(
        "WITH k AS (SELECT c.close_reason IS NOT NULL AS closing FROM pubsub.connections c "
        "           JOIN pubsub.reliable r ON r.conn_id = c.id WHERE c.id = $1), "
        "u AS (UPDATE pubsub.reliable r SET socket = NULL, dropped_at = now() FROM k "
        "      WHERE r.conn_id = $1 AND r.socket = $2 AND NOT k.closing RETURNING 1) "
        "SELECT k.closing, (SELECT count(*) FROM u) FROM k",
        2, p);
    if (!r) return -1;
    int kept = PQntuples(r) == 1 && PQgetvalue(r, 0, 0)[0] == 'f';
    *changed = kept && atoi(PQgetvalue(r, 0, 1)) == 1;
    PQclear(r);
    return kept;
}

int hub_store_reliable_socket(const char *conn_id, char *socket, size_t len)
{
    const char *p[] = {conn_id};
    PGresult *r = fn_db_exec("SELECT socket FROM pubsub.reliable WHERE conn_id = $1", 1, p);
    if (!r || PQntuples(r) != 1) {
        PQclear(r);
        return -1;
    }
    int held = !PQgetisnull(r, 0, 0);
    copy_value(r, 0, 0, socket, len);
    PQclear(r);
    return held;
}

PGresult *hub_store_reliable_expire(long retention_ms)
{
    char ret[24];
    snprintf(ret, sizeof ret, "%ld", retention_ms);
    const char *p[] = {ret};
    /* The reliable rows are locked first, in the order a takeover locks (reliable row, then the
     * connection), and rows a takeover holds are skipped: once it commits, the row has a socket
     * again. Judging by the reliable row as of the statement's start instead (a DELETE on the
     * connection joined with it) ended connections a takeover had just recovered: the DELETE
     * waited for the connection row, then re-read that row but not the reliable one. */
    return write_exec("WITH due AS (SELECT r.conn_id FROM pubsub.reliable r "
                      "  WHERE r.socket IS NULL "
                      "    AND r.dropped_at <= now() - $1::bigint * interval '1 ms' "
                      "  FOR UPDATE SKIP LOCKED) "
                      "DELETE FROM pubsub.connections c USING due WHERE c.id = due.conn_id "
                      "RETURNING c.id, c.hub, c.user_id, c.protocol, c.state",
                      1, p);
}

/* ---- the node's sweeps ---------------------------------------------------------------- */

int hub_store_sweep_claim(const char *node, long lease_ms, long holder, char *cursor, size_t len)
{
    char lease[24], who[24];
    snprintf(lease, sizeof lease, "%ld", lease_ms);
    snprintf(who, sizeof who, "%ld", holder);
    const char *p[] = {node, lease, who};
    PGresult *r =
        fn_db_exec("INSERT INTO pubsub.sweeps AS s (node, due, holder, claimed_at) "
                   "  VALUES ($1, now() + $2::bigint * interval '1 ms', $3, now()) "
                   "ON CONFLICT (node) DO UPDATE SET due = EXCLUDED.due, holder = EXCLUDED.holder, "
                   "  claimed_at = now() WHERE s.due <= now() "
                   "RETURNING s.cursor",
                   3, p);
    if (!r) return -1;
    int won = PQntuples(r) == 1;
    if (won) copy_value(r, 0, 0, cursor, len);
    PQclear(r);
    return won;
}

void hub_store_sweep_release(const char *node, const char *cursor, long every_ms)
{
    char every[24];
    snprintf(every, sizeof every, "%ld", every_ms);
    const char *p[] = {node, cursor, every};
    PQclear(fn_db_exec("UPDATE pubsub.sweeps SET cursor = $2, "
                       "  due = now() + $3::bigint * interval '1 ms' WHERE node = $1",
                       3, p));
}

PGresult *hub_store_sweep_batch(const char *node, long epoch, const char *cursor, long grace_ms,
                                int limit)
{
    char ep[32], grace[24], batch[16];
    snprintf(ep, sizeof ep, "%ld", epoch);
    snprintf(grace, sizeof grace, "%ld", grace_ms);
    snprintf(batch, sizeof batch, "%d", limit);
    const char *p[] = {node, ep, cursor, grace, batch};
    /* Rows younger than the grace may be handshakes whose socket has not subscribed yet; a
     * reliable connection without a socket is already waiting for recovery. */
    return fn_db_exec("SELECT c.id, coalesce(r.socket, c.id), r.conn_id IS NOT NULL "
                      "FROM pubsub.connections c LEFT JOIN pubsub.reliable r ON r.conn_id = c.id "
                      "WHERE c.node = $1 AND c.epoch = $2::bigint AND c.id > $3 "
                      "  AND c.created_at < now() - $4::bigint * interval '1 ms' "
                      "  AND (r.conn_id IS NULL OR r.socket IS NOT NULL) "
                      "ORDER BY c.id LIMIT $5::int",
                      5, p);
}

PGresult *hub_store_sweep_epoch(const char *node, long epoch)
{
    char ep[32];
    snprintf(ep, sizeof ep, "%ld", epoch);
    const char *p[] = {node, ep, "The connection ended: its gateway node restarted."};
    /* One statement: the reliable rows of older epochs are kept (retention starts now unless it
     * already runs), every other row of them is removed and its `disconnected` owed in the
     * outbox (hub_outbox.c), which survives this process.
     * A takeover may hold a reliable row's lock meanwhile (another process, a recovery through the
     * new nginx): the UPDATE waits for it, then looks again at the row as the takeover left it,
     * but at the connection row (c) as it was when the statement began, in the old epoch. So it
     * also compares the row's socket with the socket it saw (`seen`, as of the statement's start):
     * a takeover that committed meanwhile moved the connection to its new socket, which is not
     * ours to drop (docs/liveness.md, "Epochs"). The DELETE looks at c itself, which the takeover
     * moved to the new epoch: it is not removed either. */
    return write_exec(
        "WITH kept AS (UPDATE pubsub.reliable r SET socket = NULL, "
        "    dropped_at = coalesce(r.dropped_at, now()) "
        "  FROM pubsub.connections c JOIN pubsub.reliable seen ON seen.conn_id = c.id "
        "  WHERE r.conn_id = c.id AND c.node = $1 AND c.epoch <> $2::bigint "
        "    AND c.close_reason IS NULL AND r.socket IS NOT DISTINCT FROM seen.socket "
        "  RETURNING r.conn_id), "
        "gone AS (DELETE FROM pubsub.connections c WHERE c.node = $1 AND c.epoch <> $2::bigint "
        "  AND c.id NOT IN (SELECT conn_id FROM kept) "
        "  RETURNING c.id, c.hub, c.user_id, c.protocol, c.state), "
        "owed AS (INSERT INTO pubsub.outbox (conn_id, hub, user_id, protocol, state, reason) "
        "  SELECT id, hub, user_id, protocol, state, $3 FROM gone "
        "  ON CONFLICT (conn_id) DO NOTHING) "
        "SELECT id FROM gone",
        3, p);
}

PGresult *hub_store_outbox_claim(long hold_ms, int limit)
{
    char hold[24], lim[16];
    snprintf(hold, sizeof hold, "%ld", hold_ms);
    snprintf(lim, sizeof lim, "%d", limit);
    const char *p[] = {hold, lim};
    return fn_db_exec("UPDATE pubsub.outbox o SET due_at = now() + $1::bigint * interval '1 ms' "
                      "WHERE o.conn_id IN (SELECT conn_id FROM pubsub.outbox WHERE due_at <= now() "
                      "  ORDER BY due_at LIMIT $2::int FOR UPDATE SKIP LOCKED) "
                      "RETURNING o.conn_id, o.hub, o.user_id, o.protocol, o.state, o.reason",
                      2, p);
}

void hub_store_outbox_done(const char *conn_id)
{
    const char *p[] = {conn_id};
    PQclear(fn_db_exec("DELETE FROM pubsub.outbox WHERE conn_id = $1", 1, p));
}

/* ---- tokens bound to a sign-in session ------------------------------------------------ */

int hub_store_bind(const char *conn_id, const char *sid, int stale_s)
{
    char stale[16];
    snprintf(stale, sizeof stale, "%d", stale_s);
    const char *p[] = {conn_id, sid, stale};
    /* FOR KEY SHARE: a logout deleting the session waits for this statement's transaction, so
     * its list of bound connections (read after the delete) includes this one. */
    PGresult *r = fn_db_exec(
        "WITH s AS (SELECT sid FROM swa.sessions WHERE sid = $2 AND expires_at > now() "
        "           FOR KEY SHARE), "
        "stale AS (DELETE FROM pubsub.bound_connections b WHERE b.sid = $2 "
        "          AND b.created_at < now() - $3::int * interval '1 second' "
        "          AND NOT EXISTS (SELECT 1 FROM pubsub.connections c WHERE c.id = "
        "b.conn_id)), "
        "ins AS (INSERT INTO pubsub.bound_connections (conn_id, sid) SELECT $1, sid FROM s "
        "        ON CONFLICT (conn_id) DO NOTHING) "
        "SELECT count(*) FROM s",
        3, p);
    if (!r) return -1;
    int live = atoi(PQgetvalue(r, 0, 0)) == 1;
    PQclear(r);
    return live;
}

PGresult *hub_store_unbind(const char *sid)
{
    const char *p[] = {sid};
    return fn_db_exec("DELETE FROM pubsub.bound_connections WHERE sid = $1 RETURNING conn_id", 1,
                      p);
}

/* ---- the REST data plane -------------------------------------------------------------- */

PGresult *hub_store_conns(enum hub_store_scope scope, const char *hub, const char *name)
{
    const char *p[] = {hub, name};
    switch (scope) {
    case HUB_STORE_HUB:
        return fn_db_exec("SELECT id, protocol FROM pubsub.connections WHERE hub = $1", 1, p);
    case HUB_STORE_USER:
        return fn_db_exec(
            "SELECT id, protocol FROM pubsub.connections WHERE hub = $1 AND user_id = $2", 2, p);
    case HUB_STORE_CONN:
        return fn_db_exec("SELECT id, protocol FROM pubsub.connections WHERE hub = $1 AND id = $2",
                          2, p);
    case HUB_STORE_GROUP:
        return fn_db_exec(
            "SELECT c.id, c.protocol FROM pubsub.group_members m JOIN pubsub.connections c "
            "ON c.id = m.conn_id WHERE m.hub = $1 AND m.group_name = $2",
            2, p);
    }
    return NULL;
}

int hub_store_exists(enum hub_store_scope scope, const char *hub, const char *name)
{
    const char *p[] = {hub, name};
    PGresult *q = NULL;
    switch (scope) {
    case HUB_STORE_HUB: /* not asked: a hub always exists */
        return 1;
    case HUB_STORE_USER:
        q = fn_db_exec("SELECT 1 FROM pubsub.connections WHERE hub = $1 AND user_id = $2 LIMIT 1",
                       2, p);
        break;
    case HUB_STORE_CONN:
        q = fn_db_exec("SELECT 1 FROM pubsub.connections WHERE hub = $1 AND id = $2", 2, p);
        break;
    case HUB_STORE_GROUP:
        q = fn_db_exec(
            "SELECT 1 FROM pubsub.group_members WHERE hub = $1 AND group_name = $2 LIMIT 1", 2, p);
        break;
    }
    if (!q) return -1;
    int found = PQntuples(q) > 0;
    PQclear(q);
    return found;
}

PGresult *hub_store_group_page(const char *hub, const char *group, const char *after, long limit)
{
    char lim[24];
    snprintf(lim, sizeof lim, "%ld", limit);
    const char *p[] = {hub, group, after, lim};
    return fn_db_exec("SELECT c.id, c.user_id FROM pubsub.group_members m "
                      "JOIN pubsub.connections c ON c.id = m.conn_id "
                      "WHERE m.hub = $1 AND m.group_name = $2 AND c.id > $3 "
                      "ORDER BY c.id LIMIT $4::int",
                      4, p);
}

enum hub_store_rc hub_store_groups_filter(int add, const char *hub, const char *groups_json,
                                          const char *col, const char *val)
{
    const char *p[] = {hub, groups_json, col, val};
    return done(write_exec(
        add ? "INSERT INTO pubsub.group_members (hub, group_name, conn_id) "
              "SELECT $1, g, c.id FROM pubsub.connections c, json_array_elements_text($2::json) g "
              "WHERE c.hub = $1 AND ($3 = '' OR ($3 = 'userId' AND c.user_id = $4) "
              "  OR ($3 = 'connectionId' AND c.id = $4)) ON CONFLICT DO NOTHING"
            : "DELETE FROM pubsub.group_members m USING pubsub.connections c "
              "WHERE m.conn_id = c.id AND m.hub = $1 "
              "  AND m.group_name IN (SELECT json_array_elements_text($2::json)) "
              "  AND ($3 = '' OR ($3 = 'userId' AND c.user_id = $4) "
              "  OR ($3 = 'connectionId' AND c.id = $4))",
        4, p));
}

/* The write ran (q), then whether what it names exists (found: 1, 0, -1 when unknown): a write
 * that failed is FAILED, one that found nothing to name is NOT_FOUND. */
static enum hub_store_rc written(PGresult *q, int found)
{
    if (q && found == 0) {
        PQclear(q);
        return HUB_STORE_NOT_FOUND;
    }
    return done(q);
}

enum hub_store_rc hub_store_user_join(const char *hub, const char *user, const char *group)
{
    const char *p[] = {hub, user, group};
    PGresult *q =
        write_exec("INSERT INTO pubsub.group_members (hub, group_name, conn_id) "
                   "SELECT $1, $3, id FROM pubsub.connections WHERE hub = $1 AND user_id = $2 "
                   "ON CONFLICT DO NOTHING",
                   3, p);
    return written(q, hub_store_exists(HUB_STORE_USER, hub, user));
}

enum hub_store_rc hub_store_user_leave(const char *hub, const char *user, const char *group)
{
    const char *p[] = {hub, user, group};
    if (!group)
        return done(write_exec("DELETE FROM pubsub.group_members m USING pubsub.connections c "
                               "WHERE m.conn_id = c.id AND c.hub = $1 AND c.user_id = $2",
                               2, p));
    return done(write_exec("DELETE FROM pubsub.group_members m USING pubsub.connections c "
                           "WHERE m.conn_id = c.id AND c.hub = $1 AND c.user_id = $2 "
                           "AND m.group_name = $3",
                           3, p));
}

enum hub_store_rc hub_store_conn_leave_all(const char *hub, const char *conn_id)
{
    const char *p[] = {hub, conn_id};
    return done(
        write_exec("DELETE FROM pubsub.group_members WHERE hub = $1 AND conn_id = $2", 2, p));
}

enum hub_store_rc hub_store_role(int add, const char *hub, const char *conn_id, const char *role)
{
    const char *p[] = {conn_id, hub, role};
    if (!add)
        return done(write_exec("UPDATE pubsub.connections SET roles = array_remove(roles, $3) "
                               "WHERE id = $1 AND hub = $2",
                               3, p));
    PGresult *q = write_exec("UPDATE pubsub.connections SET roles = array_append(roles, $3) "
                             "WHERE id = $1 AND hub = $2 AND NOT ($3 = ANY (roles)) RETURNING 1",
                             3, p);
    return written(q, hub_store_exists(HUB_STORE_CONN, hub, conn_id));
}

/* A time column as the envelopes write it: ISO 8601 in UTC, milliseconds. */
#define STORE_TIME(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"
/* The payload of row m as the envelope's data (NULL for a deleted message). */
#define STORE_DATA "CASE WHEN m.data_type = 'json' THEN m.data::json ELSE to_json(m.data) END"
/* The history envelope of row m (hub_store.h: null fields are left out by the caller). */
#define STORE_ENVELOPE                                                                             \
    "json_build_object('type', 'message', 'from', 'group', 'fromUserId', m.from_user, "            \
    "'group', m.group_name, 'dataType', m.data_type, 'data', " STORE_DATA ", 'id', m.id, "         \
    "'time', " STORE_TIME("m.created_at") ", 'editedTime', " STORE_TIME(                           \
        "m.edited_at") ", 'deletedTime', " STORE_TIME("m.deleted_at") ")"

PGresult *hub_store_history(const char *hub, const char *group, long long before, long long after,
                            int forward, long long limit)
{
    char sb[24], sa[24], sl[24];
    snprintf(sb, sizeof sb, "%lld", before);
    snprintf(sa, sizeof sa, "%lld", after);
    snprintf(sl, sizeof sl, "%lld", limit);
    const char *q[] = {hub, group, sb, sa, sl, forward ? "t" : "f"};
    return fn_db_exec("SELECT coalesce(json_agg(e ORDER BY id DESC), '[]') FROM ("
                      "  SELECT m.id, " STORE_ENVELOPE " AS e FROM pubsub.messages m "
                      "  WHERE m.hub = $1 AND m.group_name = $2 AND m.id < $3::bigint "
                      "    AND m.id > $4::bigint "
                      "  ORDER BY CASE WHEN $6::boolean THEN m.id END ASC, m.id DESC "
                      "  LIMIT $5::int) page",
                      6, q);
}

enum hub_store_rc hub_store_history_clear(const char *hub, const char *group)
{
    const char *p[] = {hub, group};
    return done(fn_db_exec("DELETE FROM pubsub.messages WHERE hub = $1 AND group_name = $2", 2, p));
}

PGresult *hub_store_node_conns(const char *node)
{
    const char *q[] = {node};
    return fn_db_exec("SELECT hub, protocol, count(*) FROM pubsub.connections "
                      "WHERE node = $1 GROUP BY 1, 2",
                      1, q);
}

/* ---- history edits, deletions, search and counts (hub_store.h) ------------------------------ */

const char *hub_store_payload_text(const hub_payload *p)
{
    if (p->dt == HUB_DT_JSON)
        return json_object_to_json_string_ext(p->data, JSON_C_TO_STRING_PLAIN |
                                                           JSON_C_TO_STRING_NOSLASHESCAPE);
    return json_object_get_string(p->data);
}

PGresult *hub_store_message(const char *hub, const char *group, long long id)
{
    char sid[24];
    snprintf(sid, sizeof sid, "%lld", id);
    const char *q[] = {hub, group, sid};
    return fn_db_exec("SELECT " STORE_ENVELOPE " FROM pubsub.messages m "
                      "WHERE m.hub = $1 AND m.group_name = $2 AND m.id = $3::bigint",
                      3, q);
}

/* One statement: the update of a live message, and what the row was before it (column 1: NULL
 * no such message, t deleted, f live). */
enum hub_store_msg_rc hub_store_message_edit(const char *hub, const char *group, long long id,
                                             const hub_payload *p, PGresult **env)
{
    char sid[24];
    snprintf(sid, sizeof sid, "%lld", id);
    const char *q[] = {hub, group, sid, hub_payload_dt_name(p->dt), hub_store_payload_text(p)};
    *env = NULL;
    PGresult *r = fn_db_exec(
        "WITH u AS (UPDATE pubsub.messages m SET data_type = $4, data = $5, "
        "    edited_at = clock_timestamp() "
        "  WHERE m.hub = $1 AND m.group_name = $2 AND m.id = $3::bigint AND m.deleted_at IS NULL "
        "  RETURNING " STORE_ENVELOPE " AS e) "
        "SELECT (SELECT e FROM u), (SELECT m.deleted_at IS NOT NULL FROM pubsub.messages m "
        "  WHERE m.hub = $1 AND m.group_name = $2 AND m.id = $3::bigint)",
        5, q);
    if (!r) return HUB_STORE_MSG_FAILED;
    if (!PQgetisnull(r, 0, 0)) {
        *env = r;
        return HUB_STORE_MSG_OK;
    }
    /* not updated: unknown, deleted, or deleted meanwhile (the row read is the one before) */
    enum hub_store_msg_rc rc =
        PQgetisnull(r, 0, 1) ? HUB_STORE_MSG_NOT_FOUND : HUB_STORE_MSG_DELETED;
    PQclear(r);
    return rc;
}

enum hub_store_msg_rc hub_store_message_delete(const char *hub, const char *group, long long id)
{
    char sid[24];
    snprintf(sid, sizeof sid, "%lld", id);
    const char *q[] = {hub, group, sid};
    PGresult *r = fn_db_exec(
        "WITH u AS (UPDATE pubsub.messages m SET data = NULL, deleted_at = clock_timestamp() "
        "  WHERE m.hub = $1 AND m.group_name = $2 AND m.id = $3::bigint AND m.deleted_at IS NULL "
        "  RETURNING m.id) "
        "SELECT EXISTS (SELECT 1 FROM u) OR EXISTS (SELECT 1 FROM pubsub.messages m "
        "  WHERE m.hub = $1 AND m.group_name = $2 AND m.id = $3::bigint)",
        3, q);
    if (!r) return HUB_STORE_MSG_FAILED;
    int found = PQgetvalue(r, 0, 0)[0] == 't';
    PQclear(r);
    return found ? HUB_STORE_MSG_OK : HUB_STORE_MSG_NOT_FOUND;
}

/* The hits are chosen first (ids, through the messages_search index or the group index, as the
 * planner finds cheaper) and only they get a headline, the costly part. */
PGresult *hub_store_search(const char *hub, const char *q, const char *groups_json,
                           long long before, long long limit, const char *headline)
{
    char sb[24], sl[24];
    snprintf(sb, sizeof sb, "%lld", before);
    snprintf(sl, sizeof sl, "%lld", limit);
    const char *p[] = {hub, q, groups_json, sb, sl, headline};
    return fn_db_exec(
        "WITH tq AS (SELECT pubsub.search_query($2) AS tq), hits AS ("
        "  SELECT m.id FROM pubsub.messages m, tq "
        "  WHERE m.hub = $1 AND m.group_name IN (SELECT json_array_elements_text($3::json)) "
        "    AND m.id < $4::bigint AND m.deleted_at IS NULL AND m.data_type <> 'binary' "
        "    AND pubsub.message_words(m.data_type, m.data) @@ tq.tq "
        "  ORDER BY m.id DESC LIMIT $5::int) "
        "SELECT coalesce(json_agg(json_build_object('group', m.group_name, 'id', m.id, "
        "  'time', " STORE_TIME(
            "m.created_at") ", 'fromUserId', m.from_user, "
                            "  'dataType', m.data_type, 'data', " STORE_DATA ", "
                            "  'editedTime', " STORE_TIME(
                                "m.edited_at") ", "
                                               "  'highlight', ts_headline('simple'::regconfig, "
                                               "pubsub.message_text(m.data_type, m.data), "
                                               "    tq.tq, $6)) ORDER BY m.id DESC), '[]') "
                                               "FROM hits JOIN pubsub.messages m ON m.id = "
                                               "hits.id, tq",
        6, p);
}

/* ---- counts (:countMessages; docs/protocols.md#counts) ---------------------------------------
 * One statement for the unread and mention counts of the app's chat list. objectsOnly (ours,
 * issue 16) leaves out messages whose data is not a JSON object: the app's notices ("X has
 * joined the chat") are JSON strings, and a client shows them as notices, not as unread lines. */

PGresult *hub_store_count_messages(const char *hub, const char *groups_json,
                                   const char *except_user, const char *contains_json,
                                   long long max, int objects_only)
{
    char sm[24];
    snprintf(sm, sizeof sm, "%lld", max);
    const char *p[] = {hub,           groups_json, except_user,
                       contains_json, sm,          objects_only ? "true" : "false"};
    /* jsonb cannot hold \u0000: such data never contains anything (CASE keeps the cast away).
     * A JSON object is told by its first character, without parsing the data (stored JSON is
     * json-c's or the REST body's text, which may start with white space). */
    return fn_db_exec(
        "SELECT g.key, (SELECT count(*) FROM ("
        "    SELECT m.data_type, m.data FROM pubsub.messages m "
        "    WHERE m.hub = $1 AND m.group_name = g.key AND m.id > g.value::bigint "
        "      AND m.deleted_at IS NULL "
        "      AND ($3::text IS NULL OR m.from_user IS DISTINCT FROM $3::text) "
        "      AND (NOT $6::boolean OR (m.data_type = 'json' "
        "        AND left(ltrim(m.data, E' \\t\\r\\n'), 1) = '{')) "
        "    ORDER BY m.id LIMIT $5::int) w "
        "  WHERE $4::jsonb IS NULL OR CASE WHEN w.data_type = 'json' "
        "    AND strpos(w.data, '\\u0000') = 0 THEN w.data::jsonb @> $4::jsonb ELSE false END), "
        "  (SELECT max(m.id) FROM pubsub.messages m WHERE m.hub = $1 AND m.group_name = g.key) "
        "FROM json_each_text($2::json) g",
        6, p);
}

/* ---- gateway nodes and their leases (schema/015_nodes.sql, hub_node.c, docs/scale-out.md) --
 * Kept apart from the REST statements above: these run in hub-events' idle loop. */

int hub_store_node_renew(const char *node, long epoch, long lease_ms)
{
    char ep[32], lease[24];
    snprintf(ep, sizeof ep, "%ld", epoch);
    snprintf(lease, sizeof lease, "%ld", lease_ms);
    const char *p[] = {node, ep, lease};
    return done(fn_db_exec(
               "INSERT INTO pubsub.nodes AS n (node, epoch, expires_at) "
               "  VALUES ($1, $2::bigint, now() + $3::bigint * interval '1 ms') "
               "ON CONFLICT (node) DO UPDATE SET epoch = EXCLUDED.epoch, renewed_at = now(), "
               "  expires_at = EXCLUDED.expires_at",
               3, p)) == HUB_STORE_OK
               ? 0
               : -1;
}

/* One run of the reap transaction (fn_db_tx may run it again whole). */
typedef struct node_reap {
    const char *self;
    int swept;
    PGresult *gone;
} node_reap;

/* The nodes named by a JSON array parameter ($1). */
#define REAP_NODES "(SELECT json_array_elements_text($1::json))"

static int node_reap_body(void *arg)
{
    node_reap *a = arg;
    PQclear(a->gone);
    a->gone = NULL;
    a->swept = 0;
    const char *s[] = {a->self};
    /* Whoever deletes a lease sweeps its node: concurrent reapers wait on the row, then find it
     * gone. */
    PGresult *d = fn_db_exec("WITH d AS (DELETE FROM pubsub.nodes WHERE expires_at < now() "
                             "  AND node <> $1 RETURNING node) "
                             "SELECT count(*), coalesce(json_agg(node), '[]')::text FROM d",
                             1, s);
    if (!d) return -1;
    a->swept = atoi(PQgetvalue(d, 0, 0));
    char *nodes = a->swept ? strdup(PQgetvalue(d, 0, 1)) : NULL;
    PQclear(d);
    if (!a->swept) { /* nothing due: an empty answer */
        a->gone = fn_db_exec("SELECT NULL LIMIT 0", 0, NULL);
        return a->gone ? 0 : -1;
    }
    if (!nodes) return -1;
    const char *p[] = {nodes};
    /* The reliable rows first, locked in the order a takeover locks them (reliable, then
     * connections: hub_reliable.c), so the two never deadlock. A takeover that committed
     * meanwhile moved its connection to its own node: the statements below, with a fresh
     * snapshot, no longer see it as the dead node's. */
    PGresult *r = fn_db_exec("SELECT r.conn_id FROM pubsub.reliable r "
                             "JOIN pubsub.connections c ON c.id = r.conn_id "
                             "WHERE c.node IN " REAP_NODES " ORDER BY r.conn_id "
                             "FOR NO KEY UPDATE OF r",
                             1, p);
    if (r) {
        PQclear(r);
        r = fn_db_exec("UPDATE pubsub.reliable r SET socket = NULL, "
                       "  dropped_at = coalesce(r.dropped_at, now()) "
                       "FROM pubsub.connections c WHERE r.conn_id = c.id "
                       "  AND c.node IN " REAP_NODES " AND c.close_reason IS NULL",
                       1, p);
    }
    if (r) {
        PQclear(r);
        /* each removed connection's `disconnected` is owed in the outbox, in this statement:
         * it survives this process (hub_outbox.c) */
        const char *q[] = {nodes, "The connection ended: its gateway node stopped answering."};
        a->gone = fn_db_exec(
            "WITH gone AS (DELETE FROM pubsub.connections c WHERE c.node IN " REAP_NODES
            "  AND NOT (c.close_reason IS NULL AND EXISTS "
            "    (SELECT 1 FROM pubsub.reliable r WHERE r.conn_id = c.id)) "
            "  RETURNING c.id, c.hub, c.user_id, c.protocol, c.state, c.close_reason), "
            "owed AS (INSERT INTO pubsub.outbox (conn_id, hub, user_id, protocol, state, reason) "
            "  SELECT id, hub, user_id, protocol, state, coalesce(close_reason, $2) FROM gone "
            "  ON CONFLICT (conn_id) DO NOTHING) "
            "SELECT id FROM gone",
            2, q);
    }
    free(nodes);
    return a->gone ? 0 : -1;
}

PGresult *hub_store_nodes_reap(const char *self, int *swept)
{
    node_reap a = {.self = self};
    int rc = fn_db_tx(node_reap_body, &a);
    if (rc != 0 || a.swept) hub_cache_bump(); /* after the COMMIT (hub_cache.h) */
    *swept = a.swept;
    if (rc != 0) {
        PQclear(a.gone);
        return NULL;
    }
    return a.gone;
}
