/* hub_store.h: the statements on the `pubsub` schema that the REST data plane (hub-rest) runs,
 * and the names of what the schema's functions answer (docs/storage.md). Callers hold no SQL:
 * they ask for an operation and get a named result. */
#ifndef CHATR_HUB_STORE_H
#define CHATR_HUB_STORE_H

#include <libpq-fe.h>

/* What pubsub.group_send answers in its status column: produced by schema/005_history.sql
 * (0-4) and schema/008_quotas.sql (5, the quota); read by hub_group_send (hub_send.c). */
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
};

/* Which connections of a hub an operation selects: all, a user's, one by id, a group's members. */
enum hub_store_scope { HUB_STORE_HUB, HUB_STORE_USER, HUB_STORE_CONN, HUB_STORE_GROUP };

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
enum hub_store_msg {
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
enum hub_store_msg hub_store_message_edit(const char *hub, const char *group, long long id,
                                          const struct hub_payload *p, PGresult **env);
/* Erases a message's data and sets its deleted time; OK also when it was deleted already. */
enum hub_store_msg hub_store_message_delete(const char *hub, const char *group, long long id);
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

#endif
