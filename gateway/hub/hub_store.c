/* hub_store.c: the REST data plane's statements on the pubsub schema (hub_store.h;
 * schema/002_pubsub.sql, 005_history.sql; docs/storage.md). Every statement is parameterised
 * and runs through fn_db_exec. */
#include "hub.h"
#include "hub_store.h"

#include <stdio.h>

static enum hub_store_rc done(PGresult *q)
{
    if (!q) return HUB_STORE_FAILED;
    PQclear(q);
    return HUB_STORE_OK;
}

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
    return done(fn_db_exec(
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
        fn_db_exec("INSERT INTO pubsub.group_members (hub, group_name, conn_id) "
                   "SELECT $1, $3, id FROM pubsub.connections WHERE hub = $1 AND user_id = $2 "
                   "ON CONFLICT DO NOTHING",
                   3, p);
    return written(q, hub_store_exists(HUB_STORE_USER, hub, user));
}

enum hub_store_rc hub_store_user_leave(const char *hub, const char *user, const char *group)
{
    const char *p[] = {hub, user, group};
    if (!group)
        return done(fn_db_exec("DELETE FROM pubsub.group_members m USING pubsub.connections c "
                               "WHERE m.conn_id = c.id AND c.hub = $1 AND c.user_id = $2",
                               2, p));
    return done(fn_db_exec("DELETE FROM pubsub.group_members m USING pubsub.connections c "
                           "WHERE m.conn_id = c.id AND c.hub = $1 AND c.user_id = $2 "
                           "AND m.group_name = $3",
                           3, p));
}

enum hub_store_rc hub_store_conn_leave_all(const char *hub, const char *conn_id)
{
    const char *p[] = {hub, conn_id};
    return done(
        fn_db_exec("DELETE FROM pubsub.group_members WHERE hub = $1 AND conn_id = $2", 2, p));
}

enum hub_store_rc hub_store_role(int add, const char *hub, const char *conn_id, const char *role)
{
    const char *p[] = {conn_id, hub, role};
    if (!add)
        return done(fn_db_exec("UPDATE pubsub.connections SET roles = array_remove(roles, $3) "
                               "WHERE id = $1 AND hub = $2",
                               3, p));
    PGresult *q = fn_db_exec("UPDATE pubsub.connections SET roles = array_append(roles, $3) "
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
enum hub_store_msg hub_store_message_edit(const char *hub, const char *group, long long id,
                                          const hub_payload *p, PGresult **env)
{
    char sid[24];
    snprintf(sid, sizeof sid, "%lld", id);
    const char *q[] = {hub, group, sid, hub_dt_name(p->dt), hub_store_payload_text(p)};
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
    enum hub_store_msg rc = PQgetisnull(r, 0, 1) ? HUB_STORE_MSG_NOT_FOUND : HUB_STORE_MSG_DELETED;
    PQclear(r);
    return rc;
}

enum hub_store_msg hub_store_message_delete(const char *hub, const char *group, long long id)
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
