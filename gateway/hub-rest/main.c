/* hub-rest: the Web PubSub REST data plane, /api/hubs/{hub}/...
 * (docs/protocols.md#rest-data-plane), JWT bearer auth (docs/protocols.md#rest-authentication, aud
 * compared by path). Status codes are exactly those the SDK declares
 * (docs/protocols.md#operations-and-status-codes). */
#include "hub.h"
#include "hub_close.h"
#include "hub_conf.h"
#include "hub_loop.h"
#include "hub_name.h"
#include "hub_payload.h"
#include "hub_role.h"
#include "hub_send.h"
#include "hub_store.h"
#include "hub_token.h"
#include "fn.h"
#include "wps_jwt.h"
#include "metrics.h"
#include "observe.h"
#include "rest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <errno.h>
#include <stdint.h>
#include <json-c/json.h>

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

int rest_body_payload(rest *r, hub_payload *p)
{
    enum hub_payload_dt dt;
    if (hub_payload_ctype_dt(fn_header(r->req, "Content-Type"), &dt) != 0) {
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

static void close_rows(rest *r, PGresult *q)
{
    char reason[1024];
    reason_of(r, reason, sizeof reason);
    for (int i = 0; q && i < PQntuples(q); i++) {
        const char *id = PQgetvalue(q, i, 0);
        int skip = 0;
        for (size_t j = 0; j < r->nexcluded; j++)
            skip |= strcmp(r->excluded[j], id) == 0;
        if (!skip) hub_close_connection(id, PQgetvalue(q, i, 1), reason);
    }
    PQclear(q);
    fn_no_content(r->res);
}

static void head_result(rest *r, int found)
{
    if (found < 0)
        fn_error(r->res, 500, "database unavailable");
    else if (found)
        fn_text(r->res, 200, "text/plain", "", 0);
    else
        fn_error(r->res, 404, "not found");
}

static void store_result(rest *r, enum hub_store_rc rc, int status)
{
    if (rc == HUB_STORE_FAILED)
        fn_error(r->res, 500, "database unavailable");
    else if (status == 204)
        fn_no_content(r->res);
    else
        fn_text(r->res, status, "text/plain", "", 0);
}

static void send_result(rest *r, int rc)
{
    if (rc != 0)
        fn_error(r->res, 500, "message not delivered");
    else
        fn_text(r->res, 202, "text/plain", "", 0);
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
    snprintf(aud, sizeof aud, "%s/client/hubs/%s", hub_conf_public_url(), r->hub);
    json_object *roles = json_object_new_array(), *groups = json_object_new_array();
    const char *q = r->req->query;
    while (q && *q) {
        size_t n = strcspn(q, "&");
        int role = n > 5 && strncmp(q, "role=", 5) == 0,
            group = n > 6 && strncmp(q, "group=", 6) == 0;
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
    if (json_object_array_length(roles))
        json_object_object_add(c, "role", roles);
    else
        json_object_put(roles);
    if (json_object_array_length(groups))
        json_object_object_add(c, "webpubsub.group", groups);
    else
        json_object_put(groups);
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

static void op_list_group(rest *r)
{
    const char *group = r->seg[1];
    char buf[32], after[HUB_MAX_CONN_ID + 1] = "";
    long size = HUB_LIST_PAGE_MAX;
    if (fn_query(r->req, "maxpagesize", buf, sizeof buf)) size = atol(buf);
    if (fn_query(r->req, "top", buf, sizeof buf) && atol(buf) > 0 && atol(buf) < size)
        size = atol(buf);
    if (size < 1 || size > HUB_LIST_PAGE_MAX) size = HUB_LIST_PAGE_MAX;
    fn_query(r->req, "continuationToken", after, sizeof after);
    PGresult *q = hub_store_group_page(r->hub, group, after, size + 1);
    if (!q) {
        fn_error(r->res, 500, "database unavailable");
        return;
    }
    json_object *o = json_object_new_object(), *arr = json_object_new_array();
    int n = PQntuples(q);
    for (int i = 0; i < n && i < size; i++) {
        json_object *e = json_object_new_object();
        json_object_object_add(e, "connectionId", json_object_new_string(PQgetvalue(q, i, 0)));
        json_object_object_add(
            e, "userId", PQgetisnull(q, i, 1) ? NULL : json_object_new_string(PQgetvalue(q, i, 1)));
        json_object_array_add(arr, e);
    }
    json_object_object_add(o, "value", arr);
    if (n > size) {
        char link[2048];
        const char *uri = fn_param(r->req, "HUB_URI");
        size_t plen = uri ? strcspn(uri, "?") : 0;
        snprintf(link, sizeof link, "%s%.*s?maxpagesize=%ld&continuationToken=%s",
                 hub_conf_public_url(), (int)plen, uri ? uri : "", size,
                 PQgetvalue(q, (int)size - 1, 0));
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
    if (!json_object_object_get_ex(b, "groups", &groups) ||
        !json_object_is_type(groups, json_type_array)) {
        json_object_put(b);
        fn_error(r->res, 400, "groups must be an array");
        return;
    }
    const char *filter =
        json_object_object_get_ex(b, "filter", &f) ? json_object_get_string(f) : NULL;
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
        if (!hub_name_group_valid(json_object_get_string(json_object_array_get_idx(groups, i)))) {
            json_object_put(b);
            fn_error(r->res, 400, "invalid group name");
            return;
        }
    const char *gs = json_object_to_json_string_ext(groups, JSON_C_TO_STRING_PLAIN);
    enum hub_store_rc rc = hub_store_groups_filter(add, r->hub, gs, col, val);
    json_object_put(b);
    store_result(r, rc, 200);
}

/* The role a permission operation names (webpubsub.<perm>[.<targetName>]); 400 and -1 for an
 * unknown permission. */
static int permission_role(rest *r, char *role, size_t len, char *target, size_t tlen)
{
    const char *perm = r->seg[1];
    if (strcmp(perm, "sendToGroup") != 0 && strcmp(perm, "joinLeaveGroup") != 0) {
        fn_error(r->res, 400, "unknown permission %s", perm);
        return -1;
    }
    int has_target = fn_query(r->req, "targetName", target, tlen) && target[0];
    if (!has_target) target[0] = '\0';
    snprintf(role, len, "webpubsub.%s%s%s", perm, has_target ? "." : "", target);
    return 0;
}

static void op_grant(rest *r)
{
    char target[HUB_MAX_GROUP_NAME + 1], role[HUB_MAX_GROUP_NAME + 64];
    if (permission_role(r, role, sizeof role, target, sizeof target) != 0) return;
    enum hub_store_rc rc = hub_store_role(1, r->hub, r->seg[3], role);
    if (rc == HUB_STORE_NOT_FOUND)
        fn_error(r->res, 404, "connection %s does not exist", r->seg[3]);
    else
        store_result(r, rc, 200);
}

static void op_revoke(rest *r)
{
    char target[HUB_MAX_GROUP_NAME + 1], role[HUB_MAX_GROUP_NAME + 64];
    if (permission_role(r, role, sizeof role, target, sizeof target) != 0) return;
    store_result(r, hub_store_role(0, r->hub, r->seg[3], role), 204);
}

static void op_check_permission(rest *r)
{
    char target[HUB_MAX_GROUP_NAME + 1], role[HUB_MAX_GROUP_NAME + 64];
    if (permission_role(r, role, sizeof role, target, sizeof target) != 0) return;
    json_object *roles = hub_store_roles(r->seg[3]);
    int ok = roles && hub_role_allow(roles, r->seg[1], target[0] ? target : NULL);
    json_object_put(roles);
    head_result(r, ok);
}

/* A close of the connections scope selects; the excluded query parameter spares some. */
static void close_scope(rest *r, enum hub_store_scope scope, const char *name, int excluded)
{
    if (excluded) query_all(r, "excluded");
    close_rows(r, hub_store_conns(scope, r->hub, name));
}

static void op_close_all(rest *r)
{
    close_scope(r, HUB_STORE_HUB, NULL, 1);
}
static void op_close_user(rest *r)
{
    close_scope(r, HUB_STORE_USER, r->seg[1], 1);
}
static void op_close_conn(rest *r)
{
    close_scope(r, HUB_STORE_CONN, r->seg[1], 0);
}
static void op_close_group(rest *r)
{
    close_scope(r, HUB_STORE_GROUP, r->seg[1], 1);
}

static void op_user_exists(rest *r)
{
    head_result(r, hub_store_exists(HUB_STORE_USER, r->hub, r->seg[1]));
}
static void op_conn_exists(rest *r)
{
    head_result(r, hub_store_exists(HUB_STORE_CONN, r->hub, r->seg[1]));
}
static void op_group_exists(rest *r)
{
    head_result(r, hub_store_exists(HUB_STORE_GROUP, r->hub, r->seg[1]));
}

static void op_add_to_groups(rest *r)
{
    op_groups_filter(r, 1);
}
static void op_remove_from_groups(rest *r)
{
    op_groups_filter(r, 0);
}

static void op_send_all(rest *r)
{
    hub_payload p;
    if (rest_body_payload(r, &p) != 0) return;
    query_all(r, "excluded");
    send_result(r, hub_send_all(r->hub, &p, r->excluded, r->nexcluded));
    hub_payload_free(&p);
}

static void op_send_user(rest *r)
{
    hub_payload p;
    if (rest_body_payload(r, &p) != 0) return;
    send_result(r, hub_send_user(r->hub, r->seg[1], &p));
    hub_payload_free(&p);
}

static void op_send_conn(rest *r)
{
    hub_payload p;
    if (rest_body_payload(r, &p) != 0) return;
    send_result(r, hub_send_conn(r->hub, r->seg[1], &p));
    hub_payload_free(&p);
}

/* A boolean-like query parameter: 0 absent, 1 when it is yes, 2 when it is no, -1 otherwise. */
static int query_choice(rest *r, const char *name, const char *yes, const char *no)
{
    char v[16];
    if (!fn_query(r->req, name, v, sizeof v)) return 0;
    return strcmp(v, yes) == 0 ? 1 : strcmp(v, no) == 0 ? 2 : -1;
}

/* Our extensions of a group send (docs/protocols.md#history): ?persist=false, not stored in
 * history (as a client frame's "persist": false); ?from=server, delivered to the group's
 * connections in the shape of a server message and never stored (the app's live chatEvents). */
static void op_send_group(rest *r)
{
    int persist = query_choice(r, "persist", "true", "false"),
        server = query_choice(r, "from", "server", "group");
    if (persist < 0 || server < 0) {
        fn_error(r->res, 400, "persist must be true or false, from server or group");
        return;
    }
    hub_payload p;
    if (rest_body_payload(r, &p) != 0) return;
    query_all(r, "excluded");
    if (server == 1) {
        send_result(r, hub_send_group_server(r->hub, r->seg[1], &p, r->excluded, r->nexcluded));
        hub_payload_free(&p);
        return;
    }
    hub_send_msg m = {.hub = r->hub,
                      .group = r->seg[1],
                      .p = &p,
                      .excluded = r->excluded,
                      .nexcluded = r->nexcluded,
                      .persist = persist != 2};
    char why[256];
    enum hub_send_rc rc = hub_send_group(&m, why, sizeof why);
    if (rc == HUB_SEND_REJECTED)
        fn_error(r->res, 403, "%s", why);
    else
        send_result(r, rc == HUB_SEND_OK ? 0 : -1);
    hub_payload_free(&p);
}

static void op_user_join(rest *r)
{
    if (!hub_name_group_valid(r->seg[3])) {
        fn_error(r->res, 400, "invalid group name");
        return;
    }
    enum hub_store_rc rc = hub_store_user_join(r->hub, r->seg[1], r->seg[3]);
    if (rc == HUB_STORE_NOT_FOUND)
        fn_text(r->res, 404, "text/plain", "User is not found.", 18);
    else
        store_result(r, rc, 200);
}

static void op_user_leave(rest *r)
{
    store_result(r, hub_store_user_leave(r->hub, r->seg[1], r->seg[3]), 204);
}
static void op_user_leave_all(rest *r)
{
    store_result(r, hub_store_user_leave(r->hub, r->seg[1], NULL), 204);
}
static void op_conn_leave_all(rest *r)
{
    store_result(r, hub_store_conn_leave_all(r->hub, r->seg[1]), 204);
}

static void op_group_join(rest *r)
{
    const char *group = r->seg[1], *conn = r->seg[3];
    enum hub_store_rc rc = hub_store_join(r->hub, group, conn, HUB_MAX_GROUPS_PER_CONN);
    if (rc == HUB_STORE_OK)
        fn_text(r->res, 200, "text/plain", "", 0);
    else if (rc == HUB_STORE_LIMIT)
        fn_error(r->res, 400, "the connection is in too many groups");
    else if (rc == HUB_STORE_NOT_FOUND)
        fn_error(r->res, 404, "Connection id '%s' doesn't exist", conn);
    else
        fn_error(r->res, 500, "database unavailable");
}

static void op_group_leave(rest *r)
{
    if (hub_store_leave(r->hub, r->seg[1], r->seg[3]) != HUB_STORE_OK)
        fn_error(r->res, 500, "database unavailable");
    else
        fn_no_content(r->res);
}

static void op_clear_history(rest *r)
{
    store_result(r, hub_store_history_clear(r->hub, r->seg[1]), 204);
}

/* ---- the table of operations ------------------------------------------------------------ */

/* One REST operation: the method ("GET" also answers HEAD, "*" any method) and the path after
 * /api/hubs/{hub}, one pattern segment per path segment: a literal, or a {name} that matches
 * any segment (the handler reads it from r->seg). The first row that matches runs. */
typedef struct rest_op {
    const char *method;
    const char *path;
    void (*run)(rest *r);
} rest_op;

static const rest_op ops[] = {
    {"POST", ":send", op_send_all},
    {"POST", ":closeConnections", op_close_all},
    {"POST", ":generateToken", op_generate_token},
    {"POST", ":addToGroups", op_add_to_groups},
    {"POST", ":removeFromGroups", op_remove_from_groups},
    {"POST", "users/{user}/:send", op_send_user},
    {"GET", "users/{user}", op_user_exists},
    {"POST", "users/{user}/:closeConnections", op_close_user},
    {"PUT", "users/{user}/groups/{group}", op_user_join},
    {"DELETE", "users/{user}/groups/{group}", op_user_leave},
    {"DELETE", "users/{user}/groups", op_user_leave_all},
    {"POST", "connections/{conn}/:send", op_send_conn},
    {"GET", "connections/{conn}", op_conn_exists},
    {"DELETE", "connections/{conn}", op_close_conn},
    {"DELETE", "connections/{conn}/groups", op_conn_leave_all},
    {"POST", "groups/{group}/:send", op_send_group},
    {"HEAD", "groups/{group}", op_group_exists},
    {"POST", "groups/{group}/:closeConnections", op_close_group},
    {"GET", "groups/{group}/connections", op_list_group},
    {"GET", "groups/{group}/messages", hist_page},
    {"GET", "groups/{group}/messages/{id}", hist_get},
    {"PUT", "groups/{group}/messages/{id}", hist_edit},
    {"DELETE", "groups/{group}/messages/{id}", hist_delete},
    {"POST", ":searchMessages", hist_search},
    {"POST", ":countMessages", hist_count},
    {"DELETE", "groups/{group}/messages", op_clear_history},
    {"PUT", "groups/{group}/connections/{conn}", op_group_join},
    {"DELETE", "groups/{group}/connections/{conn}", op_group_leave},
    {"PUT", "permissions/{perm}/connections/{conn}", op_grant},
    {"DELETE", "permissions/{perm}/connections/{conn}", op_revoke},
    {"*", "permissions/{perm}/connections/{conn}", op_check_permission},
};

static int op_matches(const rest *r, const rest_op *o)
{
    if (strcmp(o->method, "*") != 0 && strcmp(o->method, r->method) != 0 &&
        !(strcmp(o->method, "GET") == 0 && strcmp(r->method, "HEAD") == 0))
        return 0;
    const char *p = o->path;
    size_t i = 0;
    for (; *p; i++) {
        size_t n = strcspn(p, "/");
        if (i >= r->nseg) return 0;
        if (*p != '{' && (strlen(r->seg[i]) != n || strncmp(r->seg[i], p, n) != 0)) return 0;
        p += n;
        if (*p == '/') p++;
    }
    return i == r->nseg;
}

static void route(rest *r)
{
    /* a group named in the path is checked before the operation is looked up */
    if (r->nseg >= 2 && strcmp(r->seg[0], "groups") == 0 && !hub_name_group_valid(r->seg[1])) {
        fn_error(r->res, 400, "invalid group name");
        return;
    }
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
        if (op_matches(r, &ops[i])) {
            ops[i].run(r);
            return;
        }
    fn_error(r->res, 404, "no such operation");
}

static int handle_rest(fn_req *req, fn_res *res);

/* A REST call the database could not serve (after the hold, fn_db.c) is answered 503 with
 * Retry-After instead of 500 (docs/storage.md, "Outages"). */
static int handle(fn_req *req, fn_res *res, hub_loop_after *after)
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
            if (!hub_name_valid(d))
                rc = 400;
            else
                hub_name_norm(d, r.hub, sizeof r.hub);
            free(d);
        } else {
            r.seg[r.nseg++] = d;
        }
    }
    free(path);
    if (rc == 400)
        fn_error(res, 400, "invalid path parameter");
    else if (rc)
        fn_error(res, rc, "no such operation");
    else
        route(&r);
    for (size_t i = 0; i < r.nseg; i++)
        free(r.seg[i]);
    for (size_t i = 0; i < r.nexcluded; i++)
        free(r.excluded[i]);
    return 0;
}

int main(void)
{
    return hub_loop_run("hub-rest", handle, NULL);
}
