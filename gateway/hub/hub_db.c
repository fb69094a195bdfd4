/* hub_db.c: the pubsub schema operations shared by the hub programs (schema/002_pubsub.sql). */
#include "hub_db.h"
#include "hub.h"
#include "hub_ctx.h"
#include "hub_node.h"
#include "fn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

int hub_db_register(const hub_ctx *ctx, const char *conn_id, long epoch)
{
    char ep[32], max[16];
    snprintf(ep, sizeof ep, "%ld", epoch);
    snprintf(max, sizeof max, "%d", HUB_MAX_CONNS_PER_USER);
    const char *roles = json_object_to_json_string_ext(ctx->roles, JSON_C_TO_STRING_PLAIN);
    const char *groups = json_object_to_json_string_ext(ctx->groups, JSON_C_TO_STRING_PLAIN);
    const char *p[] = {conn_id,    ctx->hub,      ctx->user, ctx->protocol, roles,
                       ctx->state, hub_node_id(), ep,        groups,        max};
    /* The limit is counted under a per-user lock where the row is inserted (schema/008). */
    PGresult *r = fn_db_exec("SELECT pubsub.register($1, $2, $3, $4, $5::json, $6, $7, "
                             "$8::bigint, $9::json, $10::int)",
                             10, p);
    if (!r) return -1;
    int status = PQntuples(r) == 1 ? atoi(PQgetvalue(r, 0, 0)) : -1;
    PQclear(r);
    if (status == 1) {
        fn_log("hub %s user %s: over %d connections", ctx->hub, ctx->user, HUB_MAX_CONNS_PER_USER);
        return 1;
    }
    return status == 0 || status == 2 ? 0 : -1; /* 2: registered already (a repeated hook) */
}

json_object *hub_db_roles(const char *conn_id)
{
    const char *p[] = {conn_id};
    PGresult *r =
        fn_db_exec("SELECT array_to_json(roles) FROM pubsub.connections WHERE id = $1", 1, p);
    json_object *out = NULL;
    if (r && PQntuples(r) == 1) out = json_tokener_parse(PQgetvalue(r, 0, 0));
    PQclear(r);
    return out;
}

int hub_db_join(const char *hub, const char *group, const char *conn_id)
{
    char limit[16];
    snprintf(limit, sizeof limit, "%d", HUB_MAX_GROUPS_PER_CONN);
    const char *p[] = {hub, group, conn_id, limit};
    PGresult *r =
        fn_db_exec("WITH n AS (SELECT count(*) AS k FROM pubsub.group_members WHERE conn_id = $3), "
                   "ins AS (INSERT INTO pubsub.group_members (hub, group_name, conn_id) "
                   "  SELECT $1, $2, $3 FROM n WHERE n.k < $4::int "
                   "    AND EXISTS (SELECT 1 FROM pubsub.connections WHERE id = $3) "
                   "  ON CONFLICT DO NOTHING RETURNING 1) "
                   "SELECT (SELECT count(*) FROM ins), (SELECT k FROM n), "
                   "  EXISTS (SELECT 1 FROM pubsub.group_members WHERE hub = $1 AND group_name = "
                   "$2 AND conn_id = $3)",
                   4, p);
    if (!r) return -1;
    int inserted = atoi(PQgetvalue(r, 0, 0)), count = atoi(PQgetvalue(r, 0, 1));
    int member = PQgetvalue(r, 0, 2)[0] == 't';
    PQclear(r);
    if (inserted || member) return 0;
    return count >= HUB_MAX_GROUPS_PER_CONN ? 1 : -1;
}

int hub_db_leave(const char *hub, const char *group, const char *conn_id)
{
    const char *p[] = {hub, group, conn_id};
    PGresult *r = fn_db_exec(
        "DELETE FROM pubsub.group_members WHERE hub = $1 AND group_name = $2 AND conn_id = $3", 3,
        p);
    if (!r) return -1;
    PQclear(r);
    return 0;
}
