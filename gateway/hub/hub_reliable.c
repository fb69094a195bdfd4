/* hub_reliable.c: the reliable subprotocol json.reliable.webpubsub.azure.v1
 * (docs/protocols.md#the-reliable-subprotocol, schema/006_reliable.sql).
 *
 * A reliable connection is logical: it outlives its socket for HUB_RELIABLE_RETENTION_MS and a
 * new socket may take it over (recovery). Its sockets subscribe to their own channel only, so
 * every data message to it passes through hub_reliable_send: next sequenceId and the message stored
 * (pubsub.reliable_push), published to the socket holding the connection, all while the
 * connection's pubsub.reliable row is locked by this process's open transaction. Two senders
 * therefore never publish sequenceId 11 before 10 (the client drops any id at or below the
 * highest it has seen: out of order means lost), and a recovery, which takes the same lock to
 * replay what is unacknowledged, cannot interleave with a sender: no gap, no reorder.
 *
 * nchan cannot tell the `closed` hook the close code of a socket, so every close of a reliable
 * socket keeps the connection for the retention time (a clean 1000 close too); only a close by
 * the hub (REST close, capacity, protocol violation: close_reason set) ends it at once. */
#include "hub_reliable.h"
#include "hub.h"
#include "hub_chan.h"
#include "hub_close.h"
#include "hub_conf.h"
#include "hub_ctx.h"
#include "hub_env.h"
#include "hub_key.h"
#include "hub_nchan.h"
#include "hub_notify.h"
#include "hub_store.h"
#include "hub_token.h"
#include "fn.h"
#include "wps_jwt.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <json-c/json.h>

long hub_reliable_retention_ms(void)
{
    return hub_conf_get()->retention_ms;
}

/* ---- tokens and frames ------------------------------------------------------------------ */

char *hub_reliable_token(const char *conn_id)
{
    long long now = (long long)time(NULL);
    json_object *c =
        wps_jwt_claims_new(conn_id, NULL, NULL, 0, NULL, 0, now, now + HUB_RELIABLE_TOKEN_TTL);
    char *t = c ? hub_token_sign(c) : NULL;
    json_object_put(c);
    return t;
}

int hub_reliable_token_ok(const char *token, const char *conn_id)
{
    const char *aud[] = {conn_id};
    wps_jwt_expect ex = {.aud = aud, .naud = 1};
    wps_jwt_claims cl;
    if (wps_jwt_verify(hub_key_access(), token, &ex, &cl, NULL, 0) != 0) return 0;
    wps_jwt_claims_free(&cl);
    return 1;
}

char *hub_reliable_connected_frame(const char *user, const char *conn_id, size_t *len)
{
    char *token = hub_reliable_token(conn_id);
    if (!token) return NULL;
    json_object *o = json_object_new_object();
    json_object_object_add(o, "type", json_object_new_string("system"));
    json_object_object_add(o, "event", json_object_new_string("connected"));
    json_object_object_add(o, "userId", user ? json_object_new_string(user) : NULL);
    json_object_object_add(o, "connectionId", json_object_new_string(conn_id));
    json_object_object_add(o, "reconnectionToken", json_object_new_string(token));
    free(token);
    size_t n;
    const char *s = json_object_to_json_string_length(o, JSON_C_TO_STRING_PLAIN, &n);
    char *out = strndup(s, n);
    *len = out ? n : 0;
    json_object_put(o);
    return out;
}

/* Publishes {"sequenceId":seq, + the rest of env (which starts with '{') to c.<socket>. */
static int publish_seq(const char *socket, long long seq, const char *env, size_t len)
{
    char head[48], chan[HUB_MAX_CHANNEL];
    int hl = snprintf(head, sizeof head, "{\"sequenceId\":%lld%s", seq, len > 2 ? "," : "");
    char *body = malloc((size_t)hl + len);
    if (!body) return -1;
    memcpy(body, head, (size_t)hl);
    memcpy(body + hl, env + 1, len - 1);
    hub_chan_conn(socket, chan);
    int rc = hub_nchan_publish1(chan, body, (size_t)hl + len - 1, "application/json");
    free(body);
    return rc;
}

/* ---- sending ---------------------------------------------------------------------------- */

/* One run of hub_reliable_send's transaction (fn_db_tx may run it again whole after a connection
 * lost before COMMIT: the push was rolled back then, so it draws the same sequenceIds, and a
 * client drops an id it has already seen. A connection lost during COMMIT is not run again: the
 * message was published in the body, and a second run after a commit that did happen would
 * publish it again under new sequenceIds, which no client can tell from a new message). */
typedef struct rel_push {
    const char *ids; /* JSON array */
    const char *env;
    size_t len;
    PGresult *r; /* conn_id, seq, socket, over */
} rel_push;

static int rel_push_body(void *arg)
{
    rel_push *a = arg;
    PQclear(a->r);
    a->r = hub_store_reliable_push(a->ids, a->env, HUB_RELIABLE_MAX_MSGS, HUB_RELIABLE_MAX_BYTES);
    if (!a->r) return -1;
    /* Published while the rows stay locked (until COMMIT): see the comment at the top. */
    for (int i = 0; i < PQntuples(a->r); i++) {
        if (PQgetvalue(a->r, i, 3)[0] == 't') continue;
        if (PQgetisnull(a->r, i, 2)) continue; /* away: stored, replayed on recovery */
        if (publish_seq(PQgetvalue(a->r, i, 2), atoll(PQgetvalue(a->r, i, 1)), a->env, a->len) != 0)
            fn_log("reliable %s: message %s stored, not published", PQgetvalue(a->r, i, 0),
                   PQgetvalue(a->r, i, 1));
    }
    return 0;
}

int hub_reliable_send(const char *const *conn_ids, size_t n, const char *env, size_t len)
{
    if (n == 0) return 0;
    if (!env || len < 2 || env[0] != '{' || strlen(env) != len) return -1;
    json_object *ids = json_object_new_array_ext((int)n);
    for (size_t i = 0; i < n; i++)
        json_object_array_add(ids, json_object_new_string(conn_ids[i]));
    rel_push a = {
        .ids = json_object_to_json_string_ext(ids, JSON_C_TO_STRING_PLAIN), .env = env, .len = len};
    int rc = fn_db_tx(rel_push_body, &a);
    if (rc == FN_DB_TX_UNKNOWN) rc = 0; /* published in the body, stored or not: see above */
    json_object_put(ids);
    for (int i = 0; rc == 0 && i < PQntuples(a.r); i++) {
        if (PQgetvalue(a.r, i, 3)[0] != 't') continue;
        const char *id = PQgetvalue(a.r, i, 0);
        fn_log("reliable %s: over %d unacknowledged messages or %d bytes: closing", id,
               HUB_RELIABLE_MAX_MSGS, HUB_RELIABLE_MAX_BYTES);
        hub_close_connection(id, HUB_PROTO_RELIABLE,
                             "Too many unacknowledged messages: the connection is closed.");
    }
    PQclear(a.r);
    return rc;
}

int hub_reliable_send_hub(const char *hub, const char *user, char *const *excluded,
                          size_t nexcluded, const char *env, size_t len)
{
    PGresult *r = hub_store_reliable_conns(hub, user);
    if (!r) return -1;
    size_t n = (size_t)PQntuples(r), k = 0;
    if (n == 0) {
        PQclear(r);
        return 0;
    }
    const char **ids = malloc(n * sizeof *ids);
    int rc = -1;
    if (ids) {
        for (size_t i = 0; i < n; i++) {
            const char *id = PQgetvalue(r, (int)i, 0);
            int skip = 0;
            for (size_t j = 0; j < nexcluded && !skip; j++)
                skip = strcmp(excluded[j], id) == 0;
            if (!skip) ids[k++] = id;
        }
        rc = hub_reliable_send(ids, k, env, len);
    }
    free(ids);
    PQclear(r);
    return rc;
}

int hub_reliable_ack(const char *conn_id, uint64_t seq)
{
    return hub_store_reliable_ack(conn_id, seq > INT64_MAX ? INT64_MAX : (long long)seq);
}

/* ---- sockets come and go ---------------------------------------------------------------- */

int hub_reliable_lookup(const char *conn_id, const char *hub, hub_ctx *ctx)
{
    char *user = NULL, *state = NULL;
    if (hub_store_reliable_find(conn_id, hub, hub_reliable_retention_ms(), &user, &state) != 1)
        return -1;
    free(ctx->user);
    free(ctx->state);
    ctx->user = user;
    ctx->state = state;
    return 0;
}

/* One run of hub_reliable_takeover's transaction (fn_db_tx may run it again whole). */
typedef struct rel_take {
    const char *conn_id, *socket, *node, *epoch;
    char old[HUB_MAX_CONN_ID + 1]; /* the socket that held it */
    int replayed;
} rel_take;

static int rel_take_body(void *arg)
{
    rel_take *a = arg;
    char user[HUB_MAX_USER_ID + 1];
    int anonymous = 0;
    if (hub_store_reliable_lock(a->conn_id, hub_reliable_retention_ms(), a->old, sizeof a->old,
                                user, sizeof user, &anonymous) != 1)
        return -1;
    if (hub_store_reliable_move(a->conn_id, a->socket, a->node, a->epoch) != 0) return -1;
    PGresult *m = hub_store_reliable_unacked(a->conn_id);
    if (!m) return -1;
    char chan[HUB_MAX_CHANNEL];
    hub_chan_conn(a->socket, chan);
    size_t len;
    char *frame = hub_reliable_connected_frame(anonymous ? NULL : user, a->conn_id, &len);
    int rc = frame ? hub_nchan_publish1(chan, frame, len, "application/json") : -1;
    free(frame);
    for (int i = 0; rc == 0 && i < PQntuples(m); i++)
        rc = publish_seq(a->socket, atoll(PQgetvalue(m, i, 0)), PQgetvalue(m, i, 1),
                         (size_t)PQgetlength(m, i, 1));
    a->replayed = PQntuples(m);
    PQclear(m);
    return rc; /* the socket does not get everything: it must not hold the connection */
}

int hub_reliable_takeover(const char *conn_id, const char *socket, const char *node,
                          const char *epoch)
{
    rel_take a = {.conn_id = conn_id, .socket = socket, .node = node, .epoch = epoch};
    if (fn_db_tx(rel_take_body, &a) != 0) return -1;
    fn_log("reliable %s recovered by socket %s (%d messages replayed)", conn_id, socket,
           a.replayed);
    if (a.old[0] && strcmp(a.old, socket) != 0) { /* a half-open socket still held it: close it */
        char chan[HUB_MAX_CHANNEL];
        hub_chan_conn(a.old, chan);
        hub_nchan_delete(chan);
    }
    return 0;
}

/* Refused sockets of this process that have not closed yet: a client that never sends a frame
 * (the SDK does, within a second) is closed after HUB_RELIABLE_REFUSED_CLOSE_MS (at most the
 * retention) by deleting its channel (close 1000) in hub_reliable_expire. A fixed ring: when full,
 * the oldest is forgotten (it is a fallback; the client may keep that socket). */
#define REFUSED_RING 256
static struct refused {
    char socket[HUB_MAX_CONN_ID + 1];
    long long due; /* monotonic ms; 0 = free */
} refused[REFUSED_RING];
static size_t refused_next;

static void refused_close_due(void)
{
    long long now = fn_mono_ms();
    for (size_t i = 0; i < REFUSED_RING; i++) {
        if (!refused[i].due || refused[i].due > now) continue;
        char chan[HUB_MAX_CHANNEL];
        hub_chan_conn(refused[i].socket, chan);
        hub_nchan_delete(chan); /* 404 (already closed) is fine */
        refused[i].due = 0;
    }
}

void hub_reliable_refuse(const char *socket, const char *reason)
{
    long wait = hub_reliable_retention_ms() < HUB_RELIABLE_REFUSED_CLOSE_MS
                    ? hub_reliable_retention_ms()
                    : HUB_RELIABLE_REFUSED_CLOSE_MS;
    struct refused *slot = &refused[refused_next++ % REFUSED_RING];
    snprintf(slot->socket, sizeof slot->socket, "%s", socket);
    slot->due = fn_mono_ms() + wait;
    char chan[HUB_MAX_CHANNEL];
    hub_chan_conn(socket, chan);
    size_t len;
    char *frame = hub_env_disconnected(reason, &len);
    if (frame) hub_nchan_publish1(chan, frame, len, "application/json");
    free(frame);
    static const char probe[] = "{\"sequenceId\":0,\"type\":\"message\",\"from\":\"server\","
                                "\"dataType\":\"text\",\"data\":\"\"}";
    hub_nchan_publish1(chan, probe, sizeof probe - 1, "application/json");
}

int hub_reliable_drop(const char *conn_id, const char *socket)
{
    int changed = 0;
    int kept = hub_store_reliable_drop(conn_id, socket, &changed);
    if (kept == 1 && changed)
        fn_log("reliable %s: socket %s gone, kept for %ld ms", conn_id, socket,
               hub_reliable_retention_ms());
    return kept;
}

int hub_reliable_orphan(const char *conn_id)
{
    char socket[HUB_MAX_CONN_ID + 1];
    int held = hub_store_reliable_socket(conn_id, socket, sizeof socket);
    if (held < 0) return -1;
    if (!held) return 1;                /* retention runs (hub_reliable_expire) */
    if (strcmp(socket, conn_id) != 0) { /* a later socket holds it: is that one there? */
        char chan[HUB_MAX_CHANNEL];
        hub_chan_conn(socket, chan);
        if (hub_nchan_subscribers(chan) != 0) return 0;
    }
    int kept = hub_reliable_drop(conn_id, socket);
    return kept == 1 ? 1 : kept == 0 ? -1 : 0;
}

void hub_reliable_expire(void)
{
    refused_close_due();
    long retention = hub_reliable_retention_ms();
    PGresult *r = hub_store_reliable_expire(retention);
    for (int i = 0; r && i < PQntuples(r); i++) {
        fn_log("reliable %s: not recovered within %ld ms; ended", PQgetvalue(r, i, 0), retention);
        hub_notify(PQgetvalue(r, i, 1), PQgetvalue(r, i, 0),
                   PQgetisnull(r, i, 2) ? NULL : PQgetvalue(r, i, 2), PQgetvalue(r, i, 3),
                   PQgetisnull(r, i, 4) ? NULL : PQgetvalue(r, i, 4), "disconnected",
                   "The connection ended: the client did not reconnect in time.");
    }
    PQclear(r);
}
