/* wps_rest.c: the REST data-plane operations (docs/protocols.md#operations-and-status-codes,
 * #generatetoken): each builds its URL with wps_url_rest and sends it through
 * wps_client_request. */
#include "wps_rest.h"
#include "wps_url.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REST_JSON_DEPTH 16 /* nesting accepted in a response body */

wps_body wps_body_json(json_object *o)
{
    size_t len = 0;
    const char *s = json_object_to_json_string_length(
        o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
    return (wps_body){WPS_CT_JSON, s, s ? len : 0};
}

wps_body wps_body_text(const char *s)
{
    return (wps_body){WPS_CT_TEXT, s, s ? strlen(s) : 0};
}

static size_t placeholders(const char *path)
{
    size_t n = 0;
    for (const char *p = path; (p = strstr(p, "{}")) != NULL; p += 2)
        n++;
    return n;
}

/* URL of path for this client's hub; a1, a2 fill the placeholders after the hub. */
static char *url_of(wps_client *c, const char *path, const char *a1, const char *a2,
                    const wps_query *q, size_t nq)
{
    const char *args[] = {wps_client_hub(c), a1, a2};
    size_t n = placeholders(path);
    if (n > sizeof args / sizeof args[0]) return NULL;
    return wps_url_rest(wps_client_endpoint(c), path, args, n, q, nq);
}

static int call(wps_client *c, const char *method, const char *path, const char *a1, const char *a2,
                const wps_query *q, size_t nq, const wps_body *body)
{
    return wps_client_request(c, method, url_of(c, path, a1, a2, q, nq), body);
}

/* Calls with query "excluded" repeated for each id, then "reason" (if not NULL). */
static int call_excluding(wps_client *c, const char *method, const char *path, const char *a1,
                          const char *const *ex, size_t nex, const char *reason,
                          const wps_body *body)
{
    if (nex > WPS_REST_MAX_EXCLUDED) return wps_client_request(c, method, NULL, body);
    wps_query *q = calloc(nex + 1, sizeof *q);
    if (!q) return wps_client_request(c, method, NULL, body);
    for (size_t i = 0; i < nex; i++)
        q[i] = (wps_query){"excluded", ex[i]};
    q[nex] = (wps_query){"reason", reason};
    char *url = url_of(c, path, a1, NULL, q, nex + 1);
    free(q);
    return wps_client_request(c, method, url, body);
}

static const wps_body *msg_or_empty(const wps_body *msg)
{
    static const wps_body empty = {WPS_CT_JSON, "", 0};
    return msg ? msg : &empty;
}

int wps_rest_health(wps_client *c)
{
    return wps_client_request(
        c, "HEAD", wps_url_rest(wps_client_endpoint(c), WPS_PATH_HEALTH, NULL, 0, NULL, 0), NULL);
}

/* ---- sending ---- */

int wps_rest_send_to_all(wps_client *c, const wps_body *msg, const char *const *excluded,
                         size_t nexcluded)
{
    return call_excluding(c, "POST", WPS_PATH_SEND_ALL, NULL, excluded, nexcluded, NULL,
                          msg_or_empty(msg));
}

int wps_rest_send_to_user(wps_client *c, const char *user_id, const wps_body *msg)
{
    return call(c, "POST", WPS_PATH_SEND_USER, user_id, NULL, NULL, 0, msg_or_empty(msg));
}

int wps_rest_send_to_connection(wps_client *c, const char *connection_id, const wps_body *msg)
{
    return call(c, "POST", WPS_PATH_SEND_CONNECTION, connection_id, NULL, NULL, 0,
                msg_or_empty(msg));
}

int wps_rest_send_to_group(wps_client *c, const char *group, const wps_body *msg,
                           const char *const *excluded, size_t nexcluded)
{
    return call_excluding(c, "POST", WPS_PATH_SEND_GROUP, group, excluded, nexcluded, NULL,
                          msg_or_empty(msg));
}

int wps_rest_send_to_group_ex(wps_client *c, const char *group, const wps_body *msg,
                              const char *const *excluded, size_t nexcluded, unsigned flags)
{
    if (nexcluded > WPS_REST_MAX_EXCLUDED) return wps_client_request(c, "POST", NULL, msg);
    wps_query *q = calloc(nexcluded + 2, sizeof *q);
    if (!q) return wps_client_request(c, "POST", NULL, msg);
    for (size_t i = 0; i < nexcluded; i++)
        q[i] = (wps_query){"excluded", excluded[i]};
    q[nexcluded] = (wps_query){"persist", flags & WPS_SEND_NO_PERSIST ? "false" : NULL};
    q[nexcluded + 1] = (wps_query){"from", flags & WPS_SEND_AS_SERVER ? "server" : NULL};
    char *url = url_of(c, WPS_PATH_SEND_GROUP, group, NULL, q, nexcluded + 2);
    free(q);
    return wps_client_request(c, "POST", url, msg_or_empty(msg));
}

/* ---- existence ---- */

int wps_rest_connection_exists(wps_client *c, const char *connection_id)
{
    return call(c, "HEAD", WPS_PATH_CONNECTION, connection_id, NULL, NULL, 0, NULL);
}

int wps_rest_user_exists(wps_client *c, const char *user_id)
{
    return call(c, "HEAD", WPS_PATH_USER, user_id, NULL, NULL, 0, NULL);
}

int wps_rest_group_exists(wps_client *c, const char *group)
{
    return call(c, "HEAD", WPS_PATH_GROUP, group, NULL, NULL, 0, NULL);
}

/* ---- closing ---- */

int wps_rest_close_connection(wps_client *c, const char *connection_id, const char *reason)
{
    const wps_query q[] = {{"reason", reason}};
    return call(c, "DELETE", WPS_PATH_CONNECTION, connection_id, NULL, q, 1, NULL);
}

int wps_rest_close_all(wps_client *c, const char *const *excluded, size_t nexcluded,
                       const char *reason)
{
    return call_excluding(c, "POST", WPS_PATH_CLOSE_ALL, NULL, excluded, nexcluded, reason, NULL);
}

int wps_rest_close_group(wps_client *c, const char *group, const char *const *excluded,
                         size_t nexcluded, const char *reason)
{
    return call_excluding(c, "POST", WPS_PATH_CLOSE_GROUP, group, excluded, nexcluded, reason,
                          NULL);
}

int wps_rest_close_user(wps_client *c, const char *user_id, const char *const *excluded,
                        size_t nexcluded, const char *reason)
{
    return call_excluding(c, "POST", WPS_PATH_CLOSE_USER, user_id, excluded, nexcluded, reason,
                          NULL);
}

/* ---- group membership ---- */

int wps_rest_group_add_connection(wps_client *c, const char *group, const char *connection_id)
{
    return call(c, "PUT", WPS_PATH_GROUP_CONNECTION, group, connection_id, NULL, 0, NULL);
}

int wps_rest_group_remove_connection(wps_client *c, const char *group, const char *connection_id)
{
    return call(c, "DELETE", WPS_PATH_GROUP_CONNECTION, group, connection_id, NULL, 0, NULL);
}

int wps_rest_remove_connection_from_all_groups(wps_client *c, const char *connection_id)
{
    return call(c, "DELETE", WPS_PATH_CONNECTION_GROUPS, connection_id, NULL, NULL, 0, NULL);
}

int wps_rest_group_add_user(wps_client *c, const char *group, const char *user_id)
{
    return call(c, "PUT", WPS_PATH_USER_GROUP, user_id, group, NULL, 0, NULL);
}

int wps_rest_group_remove_user(wps_client *c, const char *group, const char *user_id)
{
    return call(c, "DELETE", WPS_PATH_USER_GROUP, user_id, group, NULL, 0, NULL);
}

int wps_rest_remove_user_from_all_groups(wps_client *c, const char *user_id)
{
    return call(c, "DELETE", WPS_PATH_USER_GROUPS, user_id, NULL, NULL, 0, NULL);
}

/* ---- permissions ---- */

static int permission(wps_client *c, const char *method, const char *perm, const char *conn,
                      const char *target)
{
    const wps_query q[] = {{"targetName", target}};
    return call(c, method, WPS_PATH_PERMISSION, perm, conn, q, 1, NULL);
}

int wps_rest_grant_permission(wps_client *c, const char *perm, const char *connection_id,
                              const char *target_name)
{
    return permission(c, "PUT", perm, connection_id, target_name);
}

int wps_rest_revoke_permission(wps_client *c, const char *perm, const char *connection_id,
                               const char *target_name)
{
    return permission(c, "DELETE", perm, connection_id, target_name);
}

int wps_rest_check_permission(wps_client *c, const char *perm, const char *connection_id,
                              const char *target_name)
{
    return permission(c, "HEAD", perm, connection_id, target_name);
}

/* ---- reading bodies ---- */

/* The last response body as a JSON object (nested at most depth), or NULL. */
static json_object *response_json_depth(wps_client *c, int depth)
{
    size_t len;
    const char *s = wps_client_response(c, &len);
    json_tokener *tok = json_tokener_new_ex(depth);
    if (!tok) return NULL;
    json_object *o = json_tokener_parse_ex(tok, s, (int)len);
    if (json_tokener_get_error(tok) != json_tokener_success ||
        json_tokener_get_parse_end(tok) != len || !json_object_is_type(o, json_type_object)) {
        json_object_put(o);
        o = NULL;
    }
    json_tokener_free(tok);
    return o;
}

static json_object *response_json(wps_client *c)
{
    return response_json_depth(c, REST_JSON_DEPTH);
}

int wps_rest_list_group_connections(wps_client *c, const char *group, int max_page_size,
                                    const char *continuation_token, json_object **out)
{
    char size[16];
    snprintf(size, sizeof size, "%d", max_page_size);
    const wps_query q[] = {{"maxpagesize", max_page_size > 0 ? size : NULL},
                           {"continuationToken", continuation_token}};
    if (out) *out = NULL;
    int st = call(c, "GET", WPS_PATH_GROUP_CONNECTIONS, group, NULL, q, 2, NULL);
    if (st == 200 && out && !(*out = response_json(c))) return -1;
    return st;
}

/* ---- history (our extension) ---- */

int wps_rest_group_messages(wps_client *c, const char *group, long long before, long long after,
                            int limit, json_object **out)
{
    char b[24], a[24], l[16];
    snprintf(b, sizeof b, "%lld", before);
    snprintf(a, sizeof a, "%lld", after);
    snprintf(l, sizeof l, "%d", limit);
    const wps_query q[] = {{"before", before >= 0 ? b : NULL},
                           {"after", after >= 0 ? a : NULL},
                           {"limit", limit > 0 ? l : NULL}};
    if (out) *out = NULL;
    int st = call(c, "GET", WPS_PATH_GROUP_MESSAGES, group, NULL, q, 3, NULL);
    if (st == 200 && out && !(*out = response_json_depth(c, WPS_REST_HISTORY_DEPTH))) return -1;
    return st;
}

int wps_rest_group_delete_messages(wps_client *c, const char *group)
{
    return call(c, "DELETE", WPS_PATH_GROUP_MESSAGES, group, NULL, NULL, 0, NULL);
}

/* A call on one stored message; on 200 *out (if out) is the envelope. */
static int message_call(wps_client *c, const char *method, const char *group, long long id,
                        const wps_body *body, json_object **out)
{
    char sid[24];
    snprintf(sid, sizeof sid, "%lld", id);
    if (out) *out = NULL;
    if (id <= 0) return wps_client_request(c, method, NULL, body);
    int st = call(c, method, WPS_PATH_GROUP_MESSAGE, group, sid, NULL, 0, body);
    if (st == 200 && out && !(*out = response_json_depth(c, WPS_REST_HISTORY_DEPTH))) return -1;
    return st;
}

int wps_rest_group_message(wps_client *c, const char *group, long long id, json_object **out)
{
    return message_call(c, "GET", group, id, NULL, out);
}

int wps_rest_group_message_edit(wps_client *c, const char *group, long long id,
                                const wps_body *data, json_object **out)
{
    return message_call(c, "PUT", group, id, msg_or_empty(data), out);
}

int wps_rest_group_message_delete(wps_client *c, const char *group, long long id)
{
    return message_call(c, "DELETE", group, id, NULL, NULL);
}

/* POSTs the JSON object body (owned) to path; on 200 *out (if out) is the answer. */
static int post_json(wps_client *c, const char *path, json_object *body, json_object **out)
{
    wps_body b = wps_body_json(body);
    if (out) *out = NULL;
    int st = call(c, "POST", path, NULL, NULL, NULL, 0, &b);
    json_object_put(body);
    if (st == 200 && out && !(*out = response_json_depth(c, WPS_REST_HISTORY_DEPTH))) return -1;
    return st;
}

int wps_rest_search_messages(wps_client *c, const char *q, const char *const *groups,
                             size_t ngroups, long long before, int limit, json_object **out)
{
    if (out) *out = NULL;
    if (!q || ngroups > WPS_REST_MAX_GROUPS) return wps_client_request(c, "POST", NULL, NULL);
    json_object *body = json_object_new_object(), *gs = json_object_new_array();
    json_object_object_add(body, "q", json_object_new_string(q));
    for (size_t i = 0; i < ngroups; i++)
        json_object_array_add(gs, json_object_new_string(groups[i]));
    json_object_object_add(body, "groups", gs);
    if (before > 0) json_object_object_add(body, "before", json_object_new_int64(before));
    if (limit > 0) json_object_object_add(body, "limit", json_object_new_int(limit));
    return post_json(c, WPS_PATH_SEARCH_MESSAGES, body, out);
}

int wps_rest_count_messages(wps_client *c, json_object *groups, const char *except_user,
                            json_object *contains, int max, int objects_only, json_object **out)
{
    if (out) *out = NULL;
    if (!json_object_is_type(groups, json_type_object) ||
        json_object_object_length(groups) > WPS_REST_MAX_GROUPS)
        return wps_client_request(c, "POST", NULL, NULL);
    json_object *body = json_object_new_object();
    json_object_object_add(body, "groups", json_object_get(groups));
    if (except_user)
        json_object_object_add(body, "exceptUser", json_object_new_string(except_user));
    if (contains) json_object_object_add(body, "contains", json_object_get(contains));
    if (max > 0) json_object_object_add(body, "max", json_object_new_int(max));
    if (objects_only) json_object_object_add(body, "objectsOnly", json_object_new_boolean(1));
    return post_json(c, WPS_PATH_COUNT_MESSAGES, body, out);
}

/* Query of :generateToken: userId, role*, minutesToExpire, group*, clientType
 * (docs/protocols.md#generatetoken). */
static char *token_url(wps_client *c, const char *user_id, const char *const *roles, size_t nroles,
                       const char *const *groups, size_t ngroups, const char *minutes)
{
    if (nroles > WPS_REST_MAX_EXCLUDED || ngroups > WPS_REST_MAX_EXCLUDED) return NULL;
    wps_query *q = calloc(nroles + ngroups + 3, sizeof *q);
    if (!q) return NULL;
    size_t n = 0;
    q[n++] = (wps_query){"userId", user_id};
    for (size_t i = 0; i < nroles; i++)
        q[n++] = (wps_query){"role", roles[i]};
    q[n++] = (wps_query){"minutesToExpire", minutes};
    for (size_t i = 0; i < ngroups; i++)
        q[n++] = (wps_query){"group", groups[i]};
    q[n++] = (wps_query){"clientType", "Default"};
    char *url = url_of(c, WPS_PATH_GENERATE_TOKEN, NULL, NULL, q, n);
    free(q);
    return url;
}

int wps_rest_generate_token(wps_client *c, const char *user_id, const char *const *roles,
                            size_t nroles, const char *const *groups, size_t ngroups, int minutes,
                            char **token)
{
    char mins[16];
    snprintf(mins, sizeof mins, "%d", minutes > 0 ? minutes : WPS_TOKEN_DEFAULT_MINUTES);
    *token = NULL;
    int st = wps_client_request(c, "POST",
                                token_url(c, user_id, roles, nroles, groups, ngroups, mins), NULL);
    if (st != 200) return st;
    json_object *o = response_json(c), *t;
    if (o && json_object_object_get_ex(o, "token", &t) && json_object_is_type(t, json_type_string))
        *token = strdup(json_object_get_string(t));
    json_object_put(o);
    return *token ? st : -1;
}
