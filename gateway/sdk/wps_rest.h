/* wps_rest.h: every REST data-plane operation of Web PubSub
 * (docs/protocols.md#operations-and-status-codes), one plain function each, on a wps_client. Each
 * returns the HTTP status (the SDK-expected one is noted), or -1 on a transport error or a bad
 * argument (message in wps_client_error). Path parameters are percent-encoded; every call carries
 * api-version=WPS_API_VERSION and a fresh JWT whose aud is the URL exactly as sent. The WPS_PATH_*
 * templates are the request paths ("{}" = a path parameter, in order), shared with the tests. */
#ifndef WPS_REST_H
#define WPS_REST_H
#include "wps_client.h"

#define WPS_CT_JSON "application/json"
#define WPS_CT_TEXT "text/plain"
#define WPS_CT_BINARY "application/octet-stream"
#define WPS_REST_MAX_EXCLUDED 256 /* connection ids in one excluded list */

#define WPS_PATH_HEALTH "api/health"
#define WPS_PATH_SEND_ALL "api/hubs/{}/:send"
#define WPS_PATH_SEND_USER "api/hubs/{}/users/{}/:send"
#define WPS_PATH_SEND_CONNECTION "api/hubs/{}/connections/{}/:send"
#define WPS_PATH_SEND_GROUP "api/hubs/{}/groups/{}/:send"
#define WPS_PATH_CONNECTION "api/hubs/{}/connections/{}"
#define WPS_PATH_USER "api/hubs/{}/users/{}"
#define WPS_PATH_GROUP "api/hubs/{}/groups/{}"
#define WPS_PATH_CLOSE_ALL "api/hubs/{}/:closeConnections"
#define WPS_PATH_CLOSE_GROUP "api/hubs/{}/groups/{}/:closeConnections"
#define WPS_PATH_CLOSE_USER "api/hubs/{}/users/{}/:closeConnections"
#define WPS_PATH_GROUP_CONNECTION "api/hubs/{}/groups/{}/connections/{}"
#define WPS_PATH_CONNECTION_GROUPS "api/hubs/{}/connections/{}/groups"
#define WPS_PATH_USER_GROUP "api/hubs/{}/users/{}/groups/{}"
#define WPS_PATH_USER_GROUPS "api/hubs/{}/users/{}/groups"
#define WPS_PATH_GROUP_CONNECTIONS "api/hubs/{}/groups/{}/connections"
#define WPS_PATH_PERMISSION "api/hubs/{}/permissions/{}/connections/{}"
#define WPS_PATH_GENERATE_TOKEN "api/hubs/{}/:generateToken"
#define WPS_PATH_GROUP_MESSAGES "api/hubs/{}/groups/{}/messages" /* our history extension */
#define WPS_REST_HISTORY_DEPTH 64 /* JSON nesting accepted in a history page (envelopes + data) */
#define WPS_PATH_GROUP_MESSAGE "api/hubs/{}/groups/{}/messages/{}" /* ours: one stored message */
#define WPS_PATH_SEARCH_MESSAGES "api/hubs/{}/:searchMessages"     /* ours */
#define WPS_PATH_COUNT_MESSAGES "api/hubs/{}/:countMessages"       /* ours */
#define WPS_REST_MAX_GROUPS 1000 /* groups one search or count names (the hub's limit too) */

/* A JSON body holding o's compact text; valid while o is alive and unchanged. */
wps_body wps_body_json(json_object *o);
/* A text/plain body holding s (not copied). */
wps_body wps_body_text(const char *s);

int wps_rest_health(wps_client *c); /* HEAD, 200 */

/* Sends (POST, 202). msg NULL is an empty JSON-typed body; excluded = connection ids left out. */
int wps_rest_send_to_all(wps_client *c, const wps_body *msg, const char *const *excluded,
                         size_t nexcluded);
int wps_rest_send_to_user(wps_client *c, const char *user_id, const wps_body *msg);
int wps_rest_send_to_connection(wps_client *c, const char *connection_id, const wps_body *msg);
int wps_rest_send_to_group(wps_client *c, const char *group, const wps_body *msg,
                           const char *const *excluded, size_t nexcluded);

/* A group send with our extensions (docs/protocols.md#history), flags or'ed:
 * WPS_SEND_NO_PERSIST: ?persist=false, delivered but not stored in history;
 * WPS_SEND_AS_SERVER: ?from=server, delivered to the group's connections as a server message
 * ("from":"server", no group), never stored. 202. */
#define WPS_SEND_NO_PERSIST 1u
#define WPS_SEND_AS_SERVER 2u
int wps_rest_send_to_group_ex(wps_client *c, const char *group, const wps_body *msg,
                              const char *const *excluded, size_t nexcluded, unsigned flags);

/* Existence (HEAD): 200 exists, 404 not. */
int wps_rest_connection_exists(wps_client *c, const char *connection_id);
int wps_rest_user_exists(wps_client *c, const char *user_id);
int wps_rest_group_exists(wps_client *c, const char *group);

/* Closing (204). reason NULL = none. */
int wps_rest_close_connection(wps_client *c, const char *connection_id, const char *reason);
int wps_rest_close_all(wps_client *c, const char *const *excluded, size_t nexcluded,
                       const char *reason);
int wps_rest_close_group(wps_client *c, const char *group, const char *const *excluded,
                         size_t nexcluded, const char *reason);
int wps_rest_close_user(wps_client *c, const char *user_id, const char *const *excluded,
                        size_t nexcluded, const char *reason);

/* Group membership. add: 200 (404 = no such connection / user offline); remove: 204. */
int wps_rest_group_add_connection(wps_client *c, const char *group, const char *connection_id);
int wps_rest_group_remove_connection(wps_client *c, const char *group, const char *connection_id);
int wps_rest_remove_connection_from_all_groups(wps_client *c, const char *connection_id);
int wps_rest_group_add_user(wps_client *c, const char *group, const char *user_id);
int wps_rest_group_remove_user(wps_client *c, const char *group, const char *user_id);
int wps_rest_remove_user_from_all_groups(wps_client *c, const char *user_id);

/* Permissions ("sendToGroup" | "joinLeaveGroup"); target_name NULL = every group.
 * grant: 200, revoke: 204, check: 200 has / 404 has not. */
int wps_rest_grant_permission(wps_client *c, const char *permission, const char *connection_id,
                              const char *target_name);
int wps_rest_revoke_permission(wps_client *c, const char *permission, const char *connection_id,
                               const char *target_name);
int wps_rest_check_permission(wps_client *c, const char *permission, const char *connection_id,
                              const char *target_name);

/* GET one page (200) of {"value":[{"connectionId","userId"}],"nextLink"}; max_page_size <= 0
 * and continuation_token NULL are left out. On 200, *out (if out) is the parsed body. */
int wps_rest_list_group_connections(wps_client *c, const char *group, int max_page_size,
                                    const char *continuation_token, json_object **out);

/* Group message history, the hub's extension (not in Azure Web PubSub). GET one page (200) of
 * {"value":[<envelope with "id" and "time">, ...],"more":bool}, newest first: the limit newest
 * messages with id < before, or with after >= 0 the limit oldest with id > after (and < before).
 * before, after < 0 and limit <= 0 are left out (after = 0 is "from the first message"). On 200,
 * *out (if out) is the parsed body; with out NULL the body stays unparsed in
 * wps_client_response. DELETE: 204. */
int wps_rest_group_messages(wps_client *c, const char *group, long long before, long long after,
                            int limit, json_object **out);
int wps_rest_group_delete_messages(wps_client *c, const char *group);

/* One stored message of a group (id > 0), the hub's extension. On 200, *out (if out) is its
 * envelope (with "editedTime"/"deletedTime" when set; "data" null once deleted).
 * GET: 200 or 404. PUT (edit; data is the new payload, its dataType from its content type): 200
 * with the new envelope, 404, 409 when the message is deleted. DELETE: 204 (also when deleted
 * already) or 404; the data is erased. */
int wps_rest_group_message(wps_client *c, const char *group, long long id, json_object **out);
int wps_rest_group_message_edit(wps_client *c, const char *group, long long id,
                                const wps_body *data, json_object **out);
int wps_rest_group_message_delete(wps_client *c, const char *group, long long id);

/* :searchMessages (POST, 200): full-text search for q over the ngroups groups (at most
 * WPS_REST_MAX_GROUPS), ids below before (<= 0: from the newest), limit hits (<= 0: the hub's
 * default). On 200, *out (if out) is {"value":[{"group","id","time","fromUserId","dataType","data",
 * "editedTime"?,"highlight"}],"more":bool}, newest first. */
int wps_rest_search_messages(wps_client *c, const char *q, const char *const *groups,
                             size_t ngroups, long long before, int limit, json_object **out);
/* :countMessages (POST, 200): groups is a JSON object of group name to the id after which to
 * count (borrowed); except_user and contains (a JSON object, borrowed) may be NULL; max <= 0:
 * the hub's cap; objects_only: count only messages whose data is a JSON object (ours: chat
 * lines, not plain-string notices). On 200, *out (if out) is {"<group>":{"count","lastId"},...}. */
int wps_rest_count_messages(wps_client *c, json_object *groups, const char *except_user,
                            json_object *contains, int max, int objects_only, json_object **out);

/* :generateToken (POST, 200): on 200 *token is the malloc'd JWT from {"token":...}; a 200
 * without one is reported as -1. minutes <= 0 = WPS_TOKEN_DEFAULT_MINUTES. */
int wps_rest_generate_token(wps_client *c, const char *user_id, const char *const *roles,
                            size_t nroles, const char *const *groups, size_t ngroups, int minutes,
                            char **token);

#endif
