/* hub-rest: the Web PubSub REST data plane, /api/hubs/{hub}/... (PROTOCOL.md §4), JWT bearer
 * auth (§4.1, aud compared by path). Status codes are exactly those the SDK declares (§4.3). */
#include "hub.h"
#include "metrics.h"
#include "observe.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <errno.h>
#include <stdint.h>

#define MAX_SEGS 8
#define MAX_EXCLUDED 1024

typedef struct rest {
    fn_req *req;
    fn_res *res;
    const char *method;
    char hub[HUB_MAX_HUB_NAME + 1];
    char *seg[MAX_SEGS]; /* decoded path segments after the hub */
    size_t nseg;
    char *excluded[MAX_EXCLUDED];
    size_t nexcluded;
} rest;

static int is(const rest *r, const char *method, size_t nseg, const char *s0, const char *s1,
              const char *s2)
{
    if (strcmp(r->method, method) != 0 && !(strcmp(method, "GET") == 0 && strcmp(r->method, "HEAD") == 0))
        return 0;
    if (r->nseg != nseg) return 0;
    const char *want[] = {s0, s1, s2};
    for (size_t i = 0; i < nseg && i < 3; i++)
        if (want[i] && strcmp(r->seg[i], want[i]) != 0) return 0;
    return 1;
}

/* All values of a repeated query parameter (excluded=a&excluded=b). */
static void query_all(rest *r, const char *name)
{
    const char *q = r->req->query;
    size_t nlen = strlen(name);
    while (q && *q && r->nexcluded < MAX_EXCLUDED) {
        size_t n = strcspn(q, "&");
        if (n > nlen && strncmp(q, name, nlen) == 0 && q[nlen] == '=') {
            char *v = malloc(n - nlen);
            if (v) {
                fn_url_decode(v, n - nlen, q + nlen + 1, n - nlen - 1, 1);
                r->excluded[r->nexcluded++] = v;
            }
        }
        q += n;
        if (*q == '&') q++;
    }
}

static int body_payload(rest *r, hub_payload *p)
{
    enum hub_dt dt;
    if (hub_ctype_dt(fn_header(r->req, "Content-Type"), &dt) != 0) {
        fn_error(r->res, 415, "unsupported Content-Type");
        return -1;
    }
    if (hub_payload_from_bytes(p, dt, r->req->body, r->req->body_len) != 0) {
        fn_error(r->res, 400, "the body is not valid JSON");
        return -1;
    }
    return 0;
}

static int reason_of(rest *r, char *buf, size_t len)
{
    if (!fn_query(r->req, "reason", buf, len)) snprintf(buf, len, "Closed by the server.");
    return 0;
}

static PGresult *conns_where(const char *sql, const char *a, const char *b)
{
    const char *p[] = {a, b};
    return fn_db_exec(sql, b ? 2 : 1, p);
}

static void close_rows(rest *r, PGresult *q)
{
    char reason[1024];
    reason_of(r, reason, sizeof reason);
    for (int i = 0; q && i < PQntuples(q); i++) {
        const char *id = PQgetvalue(q, i, 0);
        int skip = 0;
        for (size_t j = 0; j < r->nexcluded; j++) skip |= strcmp(r->excluded[j], id) == 0;
        if (!skip) hub_close_connection(id, PQgetvalue(q, i, 1), reason);
    }
    PQclear(q);
    fn_no_content(r->res);
}

static int exists(const char *sql, const char *a, const char *b, const char *c)
{
    const char *p[] = {a, b, c};
    PGresult *q = fn_db_exec(sql, c ? 3 : b ? 2 : 1, p);
    int ok = q && PQntuples(q) > 0;
    PQclear(q);
    return q ? ok : -1;
}

static void head_result(rest *r, int found)
{
    if (found < 0) fn_error(r->res, 500, "database unavailable");
    else if (found) fn_text(r->res, 200, "text/plain", "", 0);
    else fn_error(r->res, 404, "not found");
}

static void exec_status(rest *r, PGresult *q, int status)
{
    if (!q) fn_error(r->res, 500, "database unavailable");
    else if (status == 204) fn_no_content(r->res);
    else fn_text(r->res, status, "text/plain", "", 0);
    PQclear(q);
}

static void send_result(rest *r, int rc)
{
    if (rc != 0) fn_error(r->res, 500, "message not delivered");
    else fn_text(r->res, 202, "text/plain", "", 0);
}

/* ---- operations ------------------------------------------------------------------------- */

static void op_generate_token(rest *r)
{
    char user[HUB_MAX_USER_ID + 1], minutes[16];
    json_object *c = json_object_new_object();
    time_t now = time(NULL);
    long mins = fn_query(r->req, "minutesToExpire", minutes, sizeof minutes) ? atol(minutes) : 60;
    if (mins < 1) mins = 60;
    char aud[1024];
    snprintf(aud, sizeof aud, "%s/client/hubs/%s", hub_public_url(), r->hub);
    json_object *roles = json_object_new_array(), *groups = json_object_new_array();
    const char *q = r->req->query;
    while (q && *q) {
        size_t n = strcspn(q, "&");
        int role = n > 5 && strncmp(q, "role=", 5) == 0, group = n > 6 && strncmp(q, "group=", 6) == 0;
        if (role || group) {
            size_t off = role ? 5 : 6;
            char v[HUB_MAX_GROUP_NAME + 64];
            if (n - off < sizeof v) {
                fn_url_decode(v, sizeof v, q + off, n - off, 1);
                json_object_array_add(role ? roles : groups, json_object_new_string(v));
            }
        }
        q += n;
        if (*q == '&') q++;
    }
    if (json_object_array_length(roles)) json_object_object_add(c, "role", roles);
    else json_object_put(roles);
    if (json_object_array_length(groups)) json_object_object_add(c, "webpubsub.group", groups);
    else json_object_put(groups);
    json_object_object_add(c, "iat", json_object_new_int64(now));
    json_object_object_add(c, "exp", json_object_new_int64(now + mins * 60));
    json_object_object_add(c, "aud", json_object_new_string(aud));
    if (fn_query(r->req, "userId", user, sizeof user) && user[0])
        json_object_object_add(c, "sub", json_object_new_string(user));
    char *tok = hub_token_sign(c);
    json_object_put(c);
    if (!tok) {
        fn_error(r->res, 500, "cannot sign");
        return;
    }
    json_object *o = json_object_new_object();
    json_object_object_add(o, "token", json_object_new_string(tok));
    free(tok);
    fn_json(r->res, 200, o);
}

static void op_list_group(rest *r, const char *group)
{
    char buf[32], after[HUB_MAX_CONN_ID + 1] = "";
    long size = HUB_LIST_PAGE_MAX;
    if (fn_query(r->req, "maxpagesize", buf, sizeof buf)) size = atol(buf);
    if (fn_query(r->req, "top", buf, sizeof buf) && atol(buf) > 0 && atol(buf) < size) size = atol(buf);
    if (size < 1 || size > HUB_LIST_PAGE_MAX) size = HUB_LIST_PAGE_MAX;
    fn_query(r->req, "continuationToken", after, sizeof after);
    snprintf(buf, sizeof buf, "%ld", size + 1);
    const char *p[] = {r->hub, group, after, buf};
    PGresult *q = fn_db_exec("SELECT c.id, c.user_id FROM pubsub.group_members m "
                             "JOIN pubsub.connections c ON c.id = m.conn_id "
                             "WHERE m.hub = $1 AND m.group_name = $2 AND c.id > $3 "
                             "ORDER BY c.id LIMIT $4::int", 4, p);
    if (!q) {
        fn_error(r->res, 500, "database unavailable");
        return;
    }
    json_object *o = json_object_new_object(), *arr = json_object_new_array();
    int n = PQntuples(q);
    for (int i = 0; i < n && i < size; i++) {
        json_object *e = json_object_new_object();
        json_object_object_add(e, "connectionId", json_object_new_string(PQgetvalue(q, i, 0)));
        json_object_object_add(e, "userId", PQgetisnull(q, i, 1) ? NULL : json_object_new_string(PQgetvalue(q, i, 1)));
        json_object_array_add(arr, e);
    }
    json_object_object_add(o, "value", arr);
    if (n > size) {
        char link[2048];
        const char *uri = fn_param(r->req, "HUB_URI");
        size_t plen = uri ? strcspn(uri, "?") : 0;
        snprintf(link, sizeof link, "%s%.*s?maxpagesize=%ld&continuationToken=%s", hub_public_url(),
                 (int)plen, uri ? uri : "", size, PQgetvalue(q, (int)size - 1, 0));
        json_object_object_add(o, "nextLink", json_object_new_string(link));
    }
    PQclear(q);
    fn_json(r->res, 200, o);
}

/* :addToGroups / :removeFromGroups with a minimal OData filter: absent, or
 * "userId eq '<id>'" / "connectionId eq '<id>'". */
static void op_groups_filter(rest *r, int add)
{
    json_object *b = fn_body_json(r->req, r->res), *groups, *f;
    if (!b) return;
    if (!json_object_object_get_ex(b, "groups", &groups) || !json_object_is_type(groups, json_type_array)) {
        json_object_put(b);
        fn_error(r->res, 400, "groups must be an array");
        return;
    }
    const char *filter = json_object_object_get_ex(b, "filter", &f) ? json_object_get_string(f) : NULL;
    char col[16] = "", val[HUB_MAX_USER_ID + 1] = "";
    if (filter && *filter) {
        int n = 0;
        if (sscanf(filter, " %15[A-Za-z] eq '%1024[^']'%n", col, val, &n) != 2 ||
            (strcmp(col, "userId") != 0 && strcmp(col, "connectionId") != 0)) {
            json_object_put(b);
            fn_error(r->res, 400, "unsupported filter");
            return;
        }
    }
    for (size_t i = 0; i < json_object_array_length(groups); i++)
        if (!hub_group_valid(json_object_get_string(json_object_array_get_idx(groups, i)))) {
            json_object_put(b);
            fn_error(r->res, 400, "invalid group name");
            return;
        }
    const char *gs = json_object_to_json_string_ext(groups, JSON_C_TO_STRING_PLAIN);
    const char *p[] = {r->hub, gs, col, val};
    PGresult *q = fn_db_exec(
        add ? "INSERT INTO pubsub.group_members (hub, group_name, conn_id) "
              "SELECT $1, g, c.id FROM pubsub.connections c, json_array_elements_text($2::json) g "
              "WHERE c.hub = $1 AND ($3 = '' OR ($3 = 'userId' AND c.user_id = $4) "
              "  OR ($3 = 'connectionId' AND c.id = $4)) ON CONFLICT DO NOTHING"
            : "DELETE FROM pubsub.group_members m USING pubsub.connections c "
              "WHERE m.conn_id = c.id AND m.hub = $1 "
              "  AND m.group_name IN (SELECT json_array_elements_text($2::json)) "
              "  AND ($3 = '' OR ($3 = 'userId' AND c.user_id = $4) "
              "  OR ($3 = 'connectionId' AND c.id = $4))",
        4, p);
    json_object_put(b);
    exec_status(r, q, 200);
}

/* A non-negative integer query parameter: 0 absent, 1 present (*out), -1 invalid. */
static int query_id(rest *r, const char *name, long long *out)
{
    char buf[32];
    if (!fn_query(r->req, name, buf, sizeof buf)) return 0;
    char *end;
    errno = 0;
    long long v = strtoll(buf, &end, 10);
    if (!buf[0] || *end || errno || v < 0) return -1;
    *out = v;
    return 1;
}

/* History extension (DESIGN.md §5): GET .../groups/{group}/messages?before=&after=&limit=, one
 * page listed newest first: {"value":[envelope...],"more":bool}. Only before (or nothing): the
 * newest messages below before; with after: the oldest ones above after (walk forward). */
static void op_messages(rest *r, const char *group)
{
    long long before = 0, after = 0, limit = HUB_HISTORY_PAGE;
    int hb = query_id(r, "before", &before), ha = query_id(r, "after", &after);
    int hl = query_id(r, "limit", &limit);
    if (hb < 0 || ha < 0 || hl < 0 || (hl && limit == 0)) {
        fn_error(r->res, 400, "before, after and limit must be non-negative integers (limit > 0)");
        return;
    }
    if (limit > HUB_HISTORY_PAGE_MAX) limit = HUB_HISTORY_PAGE_MAX;
    char sb[24], sa[24], sl[24];
    snprintf(sb, sizeof sb, "%lld", hb ? before : (long long)INT64_MAX);
    snprintf(sa, sizeof sa, "%lld", ha ? after : 0LL);
    snprintf(sl, sizeof sl, "%lld", limit + 1); /* one more than asked tells whether there is more */
    const char *q[] = {r->hub, group, sb, sa, sl, ha ? "t" : "f"};
    PGresult *res = fn_db_exec(
        "SELECT coalesce(json_agg(e ORDER BY id DESC), '[]') FROM ("
        "  SELECT id, CASE WHEN from_user IS NULL THEN "
        "    json_build_object('type', 'message', 'from', 'group', 'group', group_name, "
        "      'dataType', data_type, 'data', CASE WHEN data_type = 'json' THEN data::json ELSE to_json(data) END, "
        "      'id', id, 'time', to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')) "
        "  ELSE json_build_object('type', 'message', 'from', 'group', 'fromUserId', from_user, 'group', group_name, "
        "      'dataType', data_type, 'data', CASE WHEN data_type = 'json' THEN data::json ELSE to_json(data) END, "
        "      'id', id, 'time', to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')) "
        "  END AS e "
        "  FROM pubsub.messages WHERE hub = $1 AND group_name = $2 AND id < $3::bigint AND id > $4::bigint "
        "  ORDER BY CASE WHEN $6::boolean THEN id END ASC, id DESC LIMIT $5::int) page",
        6, q);
    if (!res) {
        fn_error(r->res, 500, "database unavailable");
        return;
    }
    /* The page nests each message's data three levels deeper than its frame did: parse with
     * room for data as deep as a frame may carry (json-c's default depth is 32). */
    json_tokener *tok = json_tokener_new_ex(HUB_JSON_DEPTH + 8);
    json_object *value = tok ? json_tokener_parse_ex(tok, PQgetvalue(res, 0, 0), PQgetlength(res, 0, 0) + 1) : NULL;
    if (tok) json_tokener_free(tok);
    PQclear(res);
    if (!value || !json_object_is_type(value, json_type_array)) {
        json_object_put(value);
        fn_error(r->res, 500, "history not readable");
        return;
    }
    int more = json_object_array_length(value) > (size_t)limit;
    if (more) /* drop the extra one: the oldest (backwards) or the newest (forwards) */
        json_object_array_del_idx(value, ha ? 0 : json_object_array_length(value) - 1, 1);
    json_object *body = json_object_new_object();
    json_object_object_add(body, "value", value);
    json_object_object_add(body, "more", json_object_new_boolean(more));
    fn_json(r->res, 200, body);
}

static void op_permission(rest *r, const char *perm, const char *conn)
{
    if (strcmp(perm, "sendToGroup") != 0 && strcmp(perm, "joinLeaveGroup") != 0) {
        fn_error(r->res, 400, "unknown permission %s", perm);
        return;
    }
    char target[HUB_MAX_GROUP_NAME + 1], role[HUB_MAX_GROUP_NAME + 64];
    int has_target = fn_query(r->req, "targetName", target, sizeof target) && target[0];
    snprintf(role, sizeof role, "webpubsub.%s%s%s", perm, has_target ? "." : "", has_target ? target : "");
    const char *p[] = {conn, r->hub, role};
    if (strcmp(r->method, "PUT") == 0) {
        PGresult *q = fn_db_exec("UPDATE pubsub.connections SET roles = array_append(roles, $3) "
                                 "WHERE id = $1 AND hub = $2 AND NOT ($3 = ANY (roles)) RETURNING 1", 3, p);
        int found = exists("SELECT 1 FROM pubsub.connections WHERE id = $1 AND hub = $2", conn, r->hub, NULL);
        if (q && found == 0) {
            PQclear(q);
            fn_error(r->res, 404, "connection %s does not exist", conn);
            return;
        }
        exec_status(r, q, 200);
    } else if (strcmp(r->method, "DELETE") == 0) {
        exec_status(r, fn_db_exec("UPDATE pubsub.connections SET roles = array_remove(roles, $3) "
                                  "WHERE id = $1 AND hub = $2", 3, p), 204);
    } else {
        json_object *roles = hub_db_roles(conn);
        int ok = roles && (has_target ? hub_roles_allow(roles, perm, target)
                                      : hub_roles_allow(roles, perm, NULL));
        json_object_put(roles);
        head_result(r, ok);
    }
}

static void route(rest *r)
{
    const char *s0 = r->nseg > 0 ? r->seg[0] : "", *s1 = r->nseg > 1 ? r->seg[1] : "";
    const char *s2 = r->nseg > 2 ? r->seg[2] : "", *s3 = r->nseg > 3 ? r->seg[3] : "";
    hub_payload p;
    if (is(r, "POST", 1, ":send", 0, 0)) {
        if (body_payload(r, &p) == 0) {
            query_all(r, "excluded");
            send_result(r, hub_send_all(r->hub, &p, r->excluded, r->nexcluded));
            hub_payload_free(&p);
        }
    } else if (is(r, "POST", 1, ":closeConnections", 0, 0)) {
        query_all(r, "excluded");
        close_rows(r, conns_where("SELECT id, protocol FROM pubsub.connections WHERE hub = $1", r->hub, NULL));
    } else if (is(r, "POST", 1, ":generateToken", 0, 0)) {
        op_generate_token(r);
    } else if (is(r, "POST", 1, ":addToGroups", 0, 0) || is(r, "POST", 1, ":removeFromGroups", 0, 0)) {
        op_groups_filter(r, strcmp(s0, ":addToGroups") == 0);
    } else if (strcmp(s0, "users") == 0 && r->nseg >= 2) {
        if (is(r, "POST", 3, 0, 0, ":send")) {
            if (body_payload(r, &p) == 0) {
                send_result(r, hub_send_user(r->hub, s1, &p));
                hub_payload_free(&p);
            }
        } else if (is(r, "GET", 2, 0, 0, 0)) {
            head_result(r, exists("SELECT 1 FROM pubsub.connections WHERE hub = $1 AND user_id = $2 LIMIT 1",
                                  r->hub, s1, NULL));
        } else if (is(r, "POST", 3, 0, 0, ":closeConnections")) {
            query_all(r, "excluded");
            close_rows(r, conns_where("SELECT id, protocol FROM pubsub.connections WHERE hub = $1 AND user_id = $2",
                                      r->hub, s1));
        } else if (is(r, "PUT", 4, 0, 0, "groups")) {
            if (!hub_group_valid(s3)) {
                fn_error(r->res, 400, "invalid group name");
                return;
            }
            const char *q[] = {r->hub, s1, s3};
            PGresult *res = fn_db_exec("INSERT INTO pubsub.group_members (hub, group_name, conn_id) "
                                       "SELECT $1, $3, id FROM pubsub.connections WHERE hub = $1 AND user_id = $2 "
                                       "ON CONFLICT DO NOTHING", 3, q);
            int found = exists("SELECT 1 FROM pubsub.connections WHERE hub = $1 AND user_id = $2 LIMIT 1",
                               r->hub, s1, NULL);
            if (res && found == 0) {
                PQclear(res);
                fn_text(r->res, 404, "text/plain", "User is not found.", 18);
                return;
            }
            exec_status(r, res, 200);
        } else if (is(r, "DELETE", 4, 0, 0, "groups")) {
            const char *q[] = {r->hub, s1, s3};
            exec_status(r, fn_db_exec("DELETE FROM pubsub.group_members m USING pubsub.connections c "
                                      "WHERE m.conn_id = c.id AND c.hub = $1 AND c.user_id = $2 "
                                      "AND m.group_name = $3", 3, q), 204);
        } else if (is(r, "DELETE", 3, 0, 0, "groups")) {
            const char *q[] = {r->hub, s1};
            exec_status(r, fn_db_exec("DELETE FROM pubsub.group_members m USING pubsub.connections c "
                                      "WHERE m.conn_id = c.id AND c.hub = $1 AND c.user_id = $2", 2, q), 204);
        } else {
            fn_error(r->res, 404, "no such operation");
        }
    } else if (strcmp(s0, "connections") == 0 && r->nseg >= 2) {
        if (is(r, "POST", 3, 0, 0, ":send")) {
            if (body_payload(r, &p) == 0) {
                send_result(r, hub_send_conn(r->hub, s1, &p));
                hub_payload_free(&p);
            }
        } else if (is(r, "GET", 2, 0, 0, 0)) {
            head_result(r, exists("SELECT 1 FROM pubsub.connections WHERE hub = $1 AND id = $2", r->hub, s1, NULL));
        } else if (is(r, "DELETE", 2, 0, 0, 0)) {
            close_rows(r, conns_where("SELECT id, protocol FROM pubsub.connections WHERE hub = $1 AND id = $2",
                                      r->hub, s1));
        } else if (is(r, "DELETE", 3, 0, 0, "groups")) {
            const char *q[] = {r->hub, s1};
            exec_status(r, fn_db_exec("DELETE FROM pubsub.group_members WHERE hub = $1 AND conn_id = $2", 2, q), 204);
        } else {
            fn_error(r->res, 404, "no such operation");
        }
    } else if (strcmp(s0, "groups") == 0 && r->nseg >= 2) {
        if (!hub_group_valid(s1)) {
            fn_error(r->res, 400, "invalid group name");
        } else if (is(r, "POST", 3, 0, 0, ":send")) {
            if (body_payload(r, &p) == 0) {
                query_all(r, "excluded");
                hub_group_msg m = {.hub = r->hub, .group = s1, .p = &p, .excluded = r->excluded,
                                   .nexcluded = r->nexcluded, .persist = 1};
                char why[256];
                enum hub_send_rc rc = hub_group_send(&m, why, sizeof why);
                if (rc == HUB_SEND_REJECTED) fn_error(r->res, 403, "%s", why);
                else send_result(r, rc == HUB_SENT ? 0 : -1);
                hub_payload_free(&p);
            }
        } else if (is(r, "GET", 2, 0, 0, 0) && strcmp(r->method, "HEAD") == 0) {
            head_result(r, exists("SELECT 1 FROM pubsub.group_members WHERE hub = $1 AND group_name = $2 LIMIT 1",
                                  r->hub, s1, NULL));
        } else if (is(r, "POST", 3, 0, 0, ":closeConnections")) {
            query_all(r, "excluded");
            close_rows(r, conns_where("SELECT c.id, c.protocol FROM pubsub.group_members m JOIN pubsub.connections c "
                                      "ON c.id = m.conn_id WHERE m.hub = $1 AND m.group_name = $2", r->hub, s1));
        } else if (is(r, "GET", 3, 0, 0, "connections")) {
            op_list_group(r, s1);
        } else if (is(r, "GET", 3, 0, 0, "messages")) {
            op_messages(r, s1);
        } else if (is(r, "DELETE", 3, 0, 0, "messages")) {
            const char *q[] = {r->hub, s1};
            exec_status(r, fn_db_exec("DELETE FROM pubsub.messages WHERE hub = $1 AND group_name = $2",
                                      2, q), 204);
        } else if (is(r, "PUT", 4, 0, 0, "connections")) {
            int rc = hub_db_join(r->hub, s1, s3);
            if (rc == 0) fn_text(r->res, 200, "text/plain", "", 0);
            else if (rc == 1) fn_error(r->res, 400, "the connection is in too many groups");
            else if (exists("SELECT 1 FROM pubsub.connections WHERE id = $1 AND hub = $2", s3, r->hub, NULL) == 0)
                fn_error(r->res, 404, "Connection id '%s' doesn't exist", s3);
            else fn_error(r->res, 500, "database unavailable");
        } else if (is(r, "DELETE", 4, 0, 0, "connections")) {
            if (hub_db_leave(r->hub, s1, s3) != 0) fn_error(r->res, 500, "database unavailable");
            else fn_no_content(r->res);
        } else {
            fn_error(r->res, 404, "no such operation");
        }
    } else if (strcmp(s0, "permissions") == 0 && r->nseg == 4 && strcmp(s2, "connections") == 0) {
        op_permission(r, s1, s3);
    } else {
        fn_error(r->res, 404, "no such operation");
    }
}

static int handle_rest(fn_req *req, fn_res *res);

/* A REST call the database could not serve (after the hold, fn_db.c) is answered 503 with
 * Retry-After instead of 500 (docs/storage.md, "Outages"). */
static int handle(fn_req *req, fn_res *res, hub_after *after)
{
    (void)after;
    const char *uri = fn_param(req, "HUB_URI");
    /* GET /.chatr/metrics and /.chatr/ready (observe.c; docs/observability.md) */
    if (uri && strcmp(uri, "/.chatr/metrics") == 0) {
        obs_metrics(req, res);
        return 0;
    }
    if (uri && strcmp(uri, "/.chatr/ready") == 0) {
        obs_ready(req, res);
        return 0;
    }
    fn_db_clear_error();
    int rc = handle_rest(req, res);
    fn_db_unavailable_503(res);
    obs_rest_count(uri, req->method, res->status ? res->status : 500);
    return rc;
}

static int handle_rest(fn_req *req, fn_res *res)
{
    const char *uri = fn_param(req, "HUB_URI");
    rest r = {.req = req, .res = res, .method = req->method};
    if (!uri) {
        fn_error(res, 400, "no request URI");
        return 0;
    }
    size_t plen = strcspn(uri, "?");
    if (plen == 11 && strncmp(uri, "/api/health", 11) == 0) {
        fn_text(res, 200, "text/plain", "", 0);
        return 0;
    }
    const char *auth = fn_header(req, "Authorization");
    char *path = strndup(uri, plen);
    wps_jwt_claims tok;
    int ok = path && auth && strncasecmp(auth, "Bearer ", 7) == 0 &&
             hub_token_verify(auth + 7, path, &tok, NULL, 0) == 0;
    if (ok) wps_jwt_claims_free(&tok);
    if (!ok) {
        free(path);
        fn_error(res, 401, "a valid bearer token for this URL is required");
        return 0;
    }
    /* /api/hubs/{hub}/seg... ; segments decoded one by one (a group may hold an encoded '/').
     * HUB_URI is the raw $request_uri: nginx matched the decoded one, so check the prefix. */
    if (strncmp(path, "/api/hubs/", strlen("/api/hubs/")) != 0) {
        free(path);
        fn_error(res, 404, "no such operation");
        return 0;
    }
    char *p = path + strlen("/api/hubs/");
    char *segs[MAX_SEGS + 1];
    size_t n = 0;
    for (char *t = p; n <= MAX_SEGS;) {
        char *slash = strchr(t, '/');
        if (slash) *slash = '\0';
        segs[n++] = t;
        if (!slash) break;
        t = slash + 1;
    }
    int rc = 0;
    if (n < 1 || n > MAX_SEGS) rc = 404;
    for (size_t i = 0; !rc && i < n; i++) {
        size_t len = strlen(segs[i]);
        char *d = malloc(len + 1);
        if (!d) {
            rc = 500;
            break;
        }
        size_t dl = fn_url_decode(d, len + 1, segs[i], len, 0);
        if (dl != strlen(d) || (i > 0 && dl == 0)) { /* NUL inside, or an empty segment */
            free(d);
            rc = 400;
            break;
        }
        if (i == 0) {
            if (!hub_name_valid(d)) rc = 400;
            else hub_name_norm(d, r.hub, sizeof r.hub);
            free(d);
        } else {
            r.seg[r.nseg++] = d;
        }
    }
    free(path);
    if (rc == 400) fn_error(res, 400, "invalid path parameter");
    else if (rc) fn_error(res, rc, "no such operation");
    else route(&r);
    for (size_t i = 0; i < r.nseg; i++) free(r.seg[i]);
    for (size_t i = 0; i < r.nexcluded; i++) free(r.excluded[i]);
    return 0;
}

int main(void)
{
    return hub_run("hub-rest", handle, NULL);
}
