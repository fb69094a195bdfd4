/* hub_store.h: every statement on the `pubsub` schema (the hub's own state: connections,
 * groups, ackIds, history, the reliable protocol's sequence state, the node's sweeps, session
 * bindings), and the names of what the schema's functions answer (docs/storage.md). Callers hold
 * no SQL: they ask for an operation and get a named result or the rows (columns as described).
 * Statements that must run in one transaction with something else (a publish under a row lock)
 * are called from the caller's fn_db_tx body, never alone (docs/storage.md, "Transactions and
 * retries"). */
#ifndef CHATR_HUB_STORE_H
#define CHATR_HUB_STORE_H

#include <stddef.h>
#include <stdint.h>
#include <libpq-fe.h>
#include <json-c/json.h>

#include "hub_ctx.h"

/* What pubsub.group_send answers in its status column: produced by schema/005_history.sql
 * (0-4) and schema/008_quotas.sql (5, the quota); read by hub_send_group (hub_send.c). */
enum hub_store_gs {
    HUB_STORE_GS_SENT = 0,      /* one row per member */
    HUB_STORE_GS_FORBIDDEN = 1, /* no sendToGroup permission */
    HUB_STORE_GS_DUPLICATE = 2, /* ackId already processed */
    HUB_STORE_GS_GONE = 3,      /* the sending connection is gone */
    HUB_STORE_GS_WILDCARD =
        4,                  /* wildcard roles: the caller decides and asks again with p_allowed */
    HUB_STORE_GS_QUOTA = 5, /* over the sender's history quota */
};

/* What a write answers. */
enum hub_store_rc {
    HUB_STORE_FAILED = -1,   /* the database failed (fn_db_unavailable tells whether it is away) */
    HUB_STORE_OK = 0,        /* done (also when there was nothing to change) */
    HUB_STORE_NOT_FOUND = 1, /* the connection or user it names does not exist in the hub */
    HUB_STORE_LIMIT = 2,     /* over a limit (groups per connection) */
};

/* Which connections of a hub an operation selects: all, a user's, one by id, a group's members. */
enum hub_store_scope { HUB_STORE_HUB, HUB_STORE_USER, HUB_STORE_CONN, HUB_STORE_GROUP };

/* ---- connections (hub-connect, hub-events, hub-router, the cleanup paths) ------------------ */

/* What pubsub.register answers (schema/008_quotas.sql), and FAILED when the database failed. */
enum hub_store_reg {
    HUB_STORE_REG_FAILED = -1,
    HUB_STORE_REG_OK = 0,         /* registered */
    HUB_STORE_REG_OVER_LIMIT = 1, /* its user has max connections in the hub already */
    HUB_STORE_REG_EXISTS = 2,     /* the id is registered already (a repeated hook) */
};
/* Registers connection conn_id of ctx (its token groups and, for a reliable one, its
 * pubsub.reliable row) on node with epoch, unless its user has max connections in the hub
 * (counted under a per-user lock, schema/008). */
enum hub_store_reg hub_store_register(const hub_ctx *ctx, const char *conn_id, const char *node,
                                      long epoch, int max);
/* Roles of a connection (a new array) or NULL when it does not exist or the database failed. */
json_object *hub_store_roles(const char *conn_id);
/* Adds connection conn_id of hub to group unless it is in max groups: OK (also when it was a
 * member), LIMIT, NOT_FOUND (no such connection) or FAILED. */
enum hub_store_rc hub_store_join(const char *hub, const char *group, const char *conn_id, int max);
/* Removes connection conn_id of hub from group: OK or FAILED. */
enum hub_store_rc hub_store_leave(const char *hub, const char *group, const char *conn_id);
/* Stores a connection's ce-connectionState (an event handler's answer). */
enum hub_store_rc hub_store_set_state(const char *conn_id, const char *state);
/* The connection the hub closes: its close_reason is set (it ends for good), then 1 with its
 * protocol ("" for simple clients) and, for a reliable one, the socket holding it ("" when away)
 * written into the buffers; 0 when it does not exist, -1 when the database failed. */
int hub_store_close(const char *conn_id, const char *reason, char *protocol, size_t protocol_len,
                    char *socket, size_t socket_len);
/* Removes a connection (and with it its memberships, ackIds and reliable state): the removed row
 * (columns hub, user_id, protocol, state, close_reason), no row when it was gone already, NULL
 * when the database failed. Whoever gets the row fires `disconnected`. */
PGresult *hub_store_remove(const char *conn_id);
/* Who holds connection conn_id: 1 with its user (NULL user: anonymous, written as "") and hub
 * written into the buffers, 0 when it does not exist, -1 when the database failed. For the
 * chat's event handler, which checks that an event names a connection of its ce-userId. */
int hub_store_owner(const char *conn_id, char *user, size_t user_len, int *anonymous, char *hub,
                    size_t hub_len);

/* ---- group messages and ackIds (hub_send.c, hub-router) ------------------------------------ */

/* One call of pubsub.group_send (schema/005_history.sql, 008_quotas.sql): the permission, the
 * ackId claim, the quota, the stored message and the member list in one statement. */
typedef struct hub_store_msg {
    const char *conn_id; /* the sender; NULL: the REST API (no permission, ackId or quota) */
    const char *hub, *group;
    int allowed; /* the caller checked wildcard roles itself (HUB_STORE_GS_WILDCARD) */
    int has_ack;
    uint64_t ack_id;
    int store;             /* kept in history */
    const char *from_user; /* the sender's user id, NULL: none */
    const char *dt;        /* "json", "text" or "binary" */
    const char *data;      /* as stored: JSON text, the text, base64 */
    int durable;           /* the commit waits for the WAL flush */
    int quoted;            /* counted against the quota below */
    long long quota_bytes;
    long quota_window_s;
} hub_store_msg;
/* Rows: status (enum hub_store_gs), msg_id, msg_time, member, protocol. NULL when the database
 * failed. */
PGresult *hub_store_group_send(const hub_store_msg *m);
/* Claims ackId ack_id of connection conn_id (the last HUB_ACK_WINDOW are remembered): 1 claimed
 * now, 0 a repeat of one that was claimed, -1 when the database failed. */
int hub_store_ack_claim(const char *conn_id, uint64_t ack_id);
/* Forgets a claim again (the operation failed: a retry must not be called a duplicate). */
void hub_store_ack_forget(const char *conn_id, uint64_t ack_id);

/* ---- the reliable subprotocol (hub_reliable.c; schema/006_reliable.sql) ------------------- */

/* Inside the caller's transaction: the next sequenceId of every reliable connection in ids_json
 * (a JSON array) that is not closing, env stored for it, the rows locked until COMMIT. Rows:
 * conn_id, seq, socket (NULL: away), over ('t': over max_msgs or max_bytes, nothing stored).
 * NULL when the database failed. */
PGresult *hub_store_reliable_push(const char *ids_json, const char *env, int max_msgs,
                                  long long max_bytes);
/* The reliable connections of a hub (user NULL) or of one user in it: column 0 id. */
PGresult *hub_store_reliable_conns(const char *hub, const char *user);
/* sequenceAck: forgets the stored messages up to seq. 0 or -1. */
int hub_store_reliable_ack(const char *conn_id, long long seq);
/* A recovery's handshake: 1 when conn_id is a reliable connection of hub that is held or away
 * for less than retention_ms and not closing, its user (anonymous: NULL) and state copied
 * (malloc'd) into *user and *state; 0 when not; -1 when the database failed. */
int hub_store_reliable_find(const char *conn_id, const char *hub, long retention_ms, char **user,
                            char **state);
/* Inside the takeover's transaction: locks the reliable row of conn_id if it can be recovered
 * (as hub_store_reliable_find), 1 with the socket that held it ("" when away) and its user
 * written into the buffers (*anonymous: no user); 0 when it cannot; -1 when the database
 * failed. */
int hub_store_reliable_lock(const char *conn_id, long retention_ms, char *old_socket,
                            size_t old_len, char *user, size_t user_len, int *anonymous);
/* Inside the takeover's transaction: the connection is held by socket on node, epoch. 0 or -1. */
int hub_store_reliable_move(const char *conn_id, const char *socket, const char *node,
                            const char *epoch);
/* The unacknowledged messages of conn_id in sequence order: columns seq, body. */
PGresult *hub_store_reliable_unacked(const char *conn_id);
/* The socket `socket` of conn_id is gone: the connection is kept away (retention starts) unless
 * it is closing. 1 kept (*changed: this call dropped it; 0 when another socket holds it or it
 * was away already), 0 it is closing or gone (remove it), -1 when the database failed. */
int hub_store_reliable_drop(const char *conn_id, const char *socket, int *changed);
/* The socket holding conn_id: 1 written into socket, 0 away, -1 no such reliable connection or
 * the database failed. */
int hub_store_reliable_socket(const char *conn_id, char *socket, size_t len);
/* Removes the reliable connections away for retention_ms or longer: the removed rows (columns
 * id, hub, user_id, protocol, state), for their `disconnected`. NULL when the database failed. */
PGresult *hub_store_reliable_expire(long retention_ms);

/* ---- the node's sweeps (hub_sweep.c; schema/009) ----------------------------------------- */

/* Claims the next batch of node's ghost sweep for lease_ms: 1 with the pass's cursor written
 * into cursor, 0 when another process has it or it is not due, -1 when the database failed. */
int hub_store_sweep_claim(const char *node, long lease_ms, long holder, char *cursor, size_t len);
/* Ends the batch: the next one is due after every_ms, the pass goes on from cursor ("": over). */
void hub_store_sweep_release(const char *node, const char *cursor, long every_ms);
/* One batch: node's connections of epoch after cursor, older than grace_ms, not away, by id, at
 * most limit: columns id, socket (the one to look for), reliable ('t'). */
PGresult *hub_store_sweep_batch(const char *node, long epoch, const char *cursor, long grace_ms,
                                int limit);
/* nginx restarted: node's connections of other epochs than epoch end, except reliable ones,
 * which are kept away for their retention (a takeover that commits meanwhile keeps its new
 * socket); each removed one's `disconnected` is owed in the outbox (hub_outbox.c). The removed
 * rows' ids. */
PGresult *hub_store_sweep_epoch(const char *node, long epoch);
/* The outbox (schema/017_outbox.sql): claims up to limit due rows for hold_ms (FOR UPDATE SKIP
 * LOCKED): columns conn_id, hub, user_id, protocol, state, reason. */
PGresult *hub_store_outbox_claim(long hold_ms, int limit);
/* A row's notification was sent. */
void hub_store_outbox_done(const char *conn_id);

/* ---- tokens bound to a sign-in session (hub_revoke.c; docs/sign-in.md) -------------------- */

/* Records that connection conn_id was opened with a token of session sid (and forgets bindings
 * older than stale_s whose handshake never registered), unless the session has signed out or
 * expired: 1 recorded, 0 the session is gone, -1 when the database failed. */
int hub_store_bind(const char *conn_id, const char *sid, int stale_s);
/* The session signed out: its bindings are removed; column 0 the connection ids. */
PGresult *hub_store_unbind(const char *sid);

/* ---- the REST data plane (hub-rest) ------------------------------------------------------- */

/* The connections of scope in hub (name: the user, connection id or group; unused for
 * HUB_STORE_HUB): column 0 id, column 1 protocol. NULL when the database failed. */
PGresult *hub_store_conns(enum hub_store_scope scope, const char *hub, const char *name);
/* 1 when scope has a connection in hub (for HUB_STORE_GROUP: a member), 0 when not, -1 when
 * the database failed. HUB_STORE_HUB: 1 without asking. */
int hub_store_exists(enum hub_store_scope scope, const char *hub, const char *name);
/* One page of a group's members with an id above after, by id: column 0 id, column 1 user id
 * (NULL for anonymous); at most limit rows. NULL when the database failed. */
PGresult *hub_store_group_page(const char *hub, const char *group, const char *after, long limit);
/* Adds to (add) or removes from the groups of groups_json (a JSON array of names) every
 * connection of hub, or only those whose col ("userId" or "connectionId") is val (col ""). */
enum hub_store_rc hub_store_groups_filter(int add, const char *hub, const char *groups_json,
                                          const char *col, const char *val);
/* Adds every connection of user in hub to group; NOT_FOUND when the user has none. */
enum hub_store_rc hub_store_user_join(const char *hub, const char *user, const char *group);
/* Removes user's connections in hub from group (NULL: from every group). */
enum hub_store_rc hub_store_user_leave(const char *hub, const char *user, const char *group);
/* Removes connection conn_id of hub from every group. */
enum hub_store_rc hub_store_conn_leave_all(const char *hub, const char *conn_id);
/* Grants (add) or revokes role on connection conn_id of hub; a grant answers NOT_FOUND when the
 * connection does not exist. */
enum hub_store_rc hub_store_role(int add, const char *hub, const char *conn_id, const char *role);
/* A group's stored history with ids between after and before (both excluded) as a JSON array
 * of envelopes in row 0, column 0, newest first: at most limit of them, the newest ones, or
 * (forward) the oldest ones. NULL when the database failed. */
PGresult *hub_store_history(const char *hub, const char *group, long long before, long long after,
                            int forward, long long limit);
/* Deletes a group's stored history. */
enum hub_store_rc hub_store_history_clear(const char *hub, const char *group);
/* The open connections registered by node, by hub and protocol: columns hub, protocol, count.
 * NULL when the database failed. */
PGresult *hub_store_node_conns(const char *node);

/* ---- history edits, deletions, search and counts (schema/012_history_edits.sql;
 * docs/protocols.md#history). Envelopes are JSON text in the history page's shape, with
 * "fromUserId", "editedTime" and "deletedTime" always present (null when not set: the caller
 * leaves them out) and "data" null for a deleted message. ---------------------------------- */

struct hub_payload;
/* The payload as history stores it: JSON text (json-c's), the text, or base64. */
const char *hub_store_payload_text(const struct hub_payload *p);

/* What an operation on one stored message answers. */
enum hub_store_msg_rc {
    HUB_STORE_MSG_FAILED = -1,   /* the database failed */
    HUB_STORE_MSG_OK = 0,        /* done */
    HUB_STORE_MSG_NOT_FOUND = 1, /* no such message in the group */
    HUB_STORE_MSG_DELETED = 2,   /* it is deleted (an edit is refused) */
};
/* Message id of group in hub: its envelope in row 0, column 0 (no row: not found). NULL when
 * the database failed. */
PGresult *hub_store_message(const char *hub, const char *group, long long id);
/* Replaces the data (and dataType) of a live message and sets its edited time; on OK, *env is
 * the result whose row 0, column 0 is the new envelope (the caller clears it). */
enum hub_store_msg_rc hub_store_message_edit(const char *hub, const char *group, long long id,
                                             const struct hub_payload *p, PGresult **env);
/* Erases a message's data and sets its deleted time; OK also when it was deleted already. */
enum hub_store_msg_rc hub_store_message_delete(const char *hub, const char *group, long long id);
/* The newest live messages of the groups of groups_json (a JSON array) whose searchable text
 * matches q (pubsub.search_query), with ids below before: at most limit of them, newest first,
 * as a JSON array in row 0, column 0 of {"group","id","time","fromUserId","dataType","data",
 * "editedTime","highlight"} (hits in highlight between \x02 and \x03; headline: ts_headline's
 * options). NULL when the database failed. */
PGresult *hub_store_search(const char *hub, const char *q, const char *groups_json,
                           long long before, long long limit, const char *headline);

/* ---- counts (:countMessages; docs/protocols.md#counts) ----------------------------------- */

/* Per group of groups_json (a JSON object of group name to id): column 0 the group, column 1 how
 * many live messages it has after that id, not from except_user (NULL: anyone), with
 * objects_only only those whose data is a JSON object (not the app's plain-string notices), and,
 * unless contains_json is NULL, whose JSON data contains it (jsonb @>), counting among the first
 * max such messages only; column 2 the group's newest message id (NULL when it has none). NULL
 * when the database failed. */
PGresult *hub_store_count_messages(const char *hub, const char *groups_json,
                                   const char *except_user, const char *contains_json,
                                   long long max, int objects_only);

/* ---- gateway nodes and their leases (schema/015_nodes.sql, hub_node.c, docs/scale-out.md) -- */

/* Renews node's lease until lease_ms from now (creates it on the first renewal). 0 or -1. */
int hub_store_node_renew(const char *node, long epoch, long lease_ms);
/* Sweeps every node but self whose lease ran out, in one transaction: deletes its lease (so one
 * process sweeps it, once), keeps its reliable connections for recovery (retention from now,
 * unless it already runs) and removes its other connections, their `disconnected` owed in the
 * outbox (hub_outbox.c). Returns the removed ones' ids (zero rows when no node was due) and, in
 * *swept, how many nodes were swept. NULL when the database failed. */
PGresult *hub_store_nodes_reap(const char *self, int *swept);

#endif
