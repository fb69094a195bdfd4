/* hub_store.c: the REST data plane's statements on the pubsub schema (hub_store.h;
 * schema/002_pubsub.sql, 005_history.sql; docs/storage.md). Every statement is parameterised
 * and runs through fn_db_exec. */
#include "hub_store.h"
#include "fn.h"

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

PGresult *hub_store_history(const char *hub, const char *group, long long before, long long after,
                            int forward, long long limit)
{
    char sb[24], sa[24], sl[24];
    snprintf(sb, sizeof sb, "%lld", before);
    snprintf(sa, sizeof sa, "%lld", after);
    snprintf(sl, sizeof sl, "%lld", limit);
    const char *q[] = {hub, group, sb, sa, sl, forward ? "t" : "f"};
    return fn_db_exec(
        "SELECT coalesce(json_agg(e ORDER BY id DESC), '[]') FROM ("
        "  SELECT id, CASE WHEN from_user IS NULL THEN "
        "    json_build_object('type', 'message', 'from', 'group', 'group', group_name, "
        "      'dataType', data_type, 'data', CASE WHEN data_type = 'json' THEN data::json ELSE "
        "to_json(data) END, "
        "      'id', id, 'time', to_char(created_at AT TIME ZONE 'UTC', "
        "'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')) "
        "  ELSE json_build_object('type', 'message', 'from', 'group', 'fromUserId', from_user, "
        "'group', group_name, "
        "      'dataType', data_type, 'data', CASE WHEN data_type = 'json' THEN data::json ELSE "
        "to_json(data) END, "
        "      'id', id, 'time', to_char(created_at AT TIME ZONE 'UTC', "
        "'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')) "
        "  END AS e "
        "  FROM pubsub.messages WHERE hub = $1 AND group_name = $2 AND id < $3::bigint AND id > "
        "$4::bigint "
        "  ORDER BY CASE WHEN $6::boolean THEN id END ASC, id DESC LIMIT $5::int) page",
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
