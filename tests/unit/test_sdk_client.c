/* test_sdk_client.c: the service client: client tokens and getToken's JSON
 * (docs/protocols.md#client-access-tokens), REST URLs and their per-request JWT (#rest-data-plane).
 * What goes on the wire is in test_sdk_wire.c. */
#include "unit.h"
#include "wps_client.h"
#include "wps_jwt.h"
#include "wps_rest.h"
#include "wps_url.h"

#include <stdlib.h>

#define KEY "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789ABCDEFGH"
#define CONNSTR "Endpoint=http://localhost;Port=8080;AccessKey=" KEY ";Version=1.0;"
#define T0 1700000000
#define API "?api-version=" WPS_API_VERSION
#define BASE "http://localhost:8080/"
#define VECTOR_CLIENT                                                                              \
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."                                                        \
    "eyJyb2xlIjpbIndlYnB1YnN1Yi5zZW5kVG9Hcm91cCIsIndlYnB1YnN1"                                     \
    "Yi5qb2luTGVhdmVHcm91cCJdLCJpYXQiOjE3MDAwMDAwMDAsImV4cCI6MTcwMDAwMzYwMCwiYXVkIjoiaHR0cDovL2xv" \
    "Y2FsaG9zdDo4MDgwL2NsaWVudC9odWJzL2NoYXQiLCJzdWIiOiJ1c2VyMSJ9.ueThyP1Djzx5XqN-"                \
    "9Gja5fOITDUYjJ8zb"                                                                            \
    "MmFr8tSpFA"
#define VECTOR_REST                                                                                \
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."                                                        \
    "eyJpYXQiOjE3MDAwMDAwMDAsImV4cCI6MTcwMDAwMzYwMCwiYXVkIjoi"                                     \
    "aHR0cDovL2xvY2FsaG9zdDo4MDgwL2FwaS9odWJzL2NoYXQvOnNlbmQ_YXBpLXZlcnNpb249MjAyNC0xMi0wMSJ9.md_" \
    "k"                                                                                            \
    "yvmghoXMP7fZ1djIXxMyhU63EnRPdKDq_Rhb6K0"

static const char *const chatr_roles[] = {"webpubsub.sendToGroup", "webpubsub.joinLeaveGroup"};

/* A client whose requests go to the unix socket at sock (NULL = over TCP as usual). */
static wps_client *client_via(const char *sock)
{
    if (sock) setenv(WPS_UNIX_SOCKET_ENV, sock, 1);
    wps_client *c = wps_client_new(CONNSTR, "chat", NULL, 0);
    unsetenv(WPS_UNIX_SOCKET_ENV);
    return c;
}

UNIT_TEST(client_new_reports_errors)
{
    char err[256] = "";
    CHECK(wps_client_new(CONNSTR, "1chat", err, sizeof err) == NULL);
    CHECK_STR(err, "invalid hub name '1chat'");
    CHECK(wps_client_new(CONNSTR, NULL, err, sizeof err) == NULL);
    CHECK(wps_client_new("Endpoint=http://a", "chat", err, sizeof err) == NULL);
    CHECK_STR(err, "connection string missing access key");
    wps_client *c = wps_client_new(CONNSTR, "Chat_1.a`b,[c]", err, sizeof err);
    CHECK(c != NULL);
    wps_client_free(c);
    c = client_via(NULL);
    CHECK_STR(wps_client_endpoint(c), BASE);
    CHECK_STR(wps_client_hub(c), "chat");
    CHECK_STR(wps_client_error(c), "");
    wps_client_free(c);
}

UNIT_TEST(client_hub_name_pattern)
{
    CHECK(wps_hub_name_ok("chat"));
    CHECK(wps_hub_name_ok("a"));
    CHECK(!wps_hub_name_ok(""));
    CHECK(!wps_hub_name_ok("_chat"));
    CHECK(!wps_hub_name_ok("chat room"));
    CHECK(!wps_hub_name_ok("chat/x"));
    char name[WPS_HUB_MAX_LEN + 2];
    memset(name, 'h', sizeof name - 1);
    name[sizeof name - 1] = '\0';
    CHECK(!wps_hub_name_ok(name));
    name[WPS_HUB_MAX_LEN] = '\0';
    CHECK(wps_hub_name_ok(name));
}

UNIT_TEST(client_token_reproduces_vector)
{
    wps_client *c = client_via(NULL);
    wps_token t;
    CHECK(wps_client_token_at(c, "user1", chatr_roles, 2, NULL, 0, 60, T0, &t) == 0);
    CHECK_STR(t.token, VECTOR_CLIENT);
    CHECK_STR(t.base_url, "ws://localhost:8080/client/hubs/chat");
    CHECK_STR(t.url, "ws://localhost:8080/client/hubs/chat?access_token=" VECTOR_CLIENT);
    json_object *o = wps_token_json(&t), *v;
    CHECK(json_object_object_length(o) == 3);
    CHECK(json_object_object_get_ex(o, "token", &v) && !strcmp(json_object_get_string(v), t.token));
    CHECK(json_object_object_get_ex(o, "baseUrl", &v) &&
          !strcmp(json_object_get_string(v), t.base_url));
    CHECK(json_object_object_get_ex(o, "url", &v) && !strcmp(json_object_get_string(v), t.url));
    json_object_put(o);
    wps_token_free(&t);
    CHECK(t.token == NULL);
    wps_client_free(c);
}

UNIT_TEST(client_token_claims_and_defaults)
{
    wps_client *c = wps_client_new("Endpoint=x.example.com;AccessKey=k", "chat", NULL, 0);
    const char *groups[] = {"room1", "room 2"};
    wps_token t;
    CHECK(wps_client_token_at(c, NULL, NULL, 0, groups, 2, 0, T0, &t) == 0);
    CHECK_STR(t.base_url, "wss://x.example.com/client/hubs/chat");
    char *aud = wps_url_client_aud(wps_client_endpoint(c), "chat");
    CHECK_STR(aud, "https://x.example.com/client/hubs/chat");
    const char *auds[] = {aud};
    wps_jwt_claims cl;
    CHECK(wps_jwt_verify("k", t.token, &(wps_jwt_expect){auds, 1, 1, T0}, &cl, NULL, 0) == 0);
    CHECK(cl.user_id == NULL && cl.nroles == 0 && cl.ngroups == 2);
    CHECK_STR(cl.groups[1], "room 2");
    json_object *exp;
    CHECK(json_object_object_get_ex(cl.claims, "exp", &exp) &&
          json_object_get_int64(exp) == T0 + 60 * WPS_TOKEN_DEFAULT_MINUTES);
    wps_jwt_claims_free(&cl);
    wps_token_free(&t);
    /* Real clock, 5 minutes. */
    CHECK(wps_client_token(c, "u", chatr_roles, 2, NULL, 0, 5, &t) == 0);
    CHECK(wps_jwt_verify("k", t.token, &(wps_jwt_expect){auds, 1, 1, 0}, &cl, NULL, 0) == 0);
    CHECK(json_object_object_get_ex(cl.claims, "exp", &exp) &&
          json_object_get_int64(exp) <= time(NULL) + 300 &&
          json_object_get_int64(exp) > time(NULL));
    wps_jwt_claims_free(&cl);
    wps_token_free(&t);
    const char *many[WPS_JWT_MAX_LIST + 1] = {0};
    CHECK(wps_client_token(c, "u", many, WPS_JWT_MAX_LIST + 1, NULL, 0, 5, &t) == -1);
    CHECK(strstr(wps_client_error(c), "roles or groups") != NULL);
    free(aud);
    wps_client_free(c);
}

UNIT_TEST(client_rest_url_and_token_vector)
{
    const char *hub[] = {"chat"};
    char *url = wps_url_rest(BASE, WPS_PATH_SEND_ALL, hub, 1, NULL, 0);
    CHECK_STR(url, BASE "api/hubs/chat/:send" API);
    wps_client *c = client_via(NULL);
    char *jwt = wps_client_request_token(c, url, T0);
    CHECK_STR(jwt, VECTOR_REST); /* aud = the full URL as sent */
    free(jwt);
    free(url);
    wps_client_free(c);
}

UNIT_TEST(client_rest_url_encoding_and_query)
{
    const char *args[] = {"chat", "room 1/é?&", "c:1"};
    const wps_query q[] = {{"excluded", "a b"}, {"excluded", "c&d"}, {"reason", NULL}, {"x", ""}};
    char *url = wps_url_rest(BASE, WPS_PATH_GROUP_CONNECTION, args, 3, q, 4);
    CHECK_STR(url, BASE "api/hubs/chat/groups/room%201%2F%C3%A9%3F%26/connections/c%3A1" API
                        "&excluded=a%20b&excluded=c%26d&x=");
    free(url);
    CHECK(wps_url_rest(BASE, WPS_PATH_GROUP_CONNECTION, args, 2, NULL, 0) == NULL); /* too few */
    CHECK(wps_url_rest(BASE, WPS_PATH_SEND_ALL, args, 2, NULL, 0) == NULL);         /* too many */
    const char *empty[] = {"chat", ""}, *null[] = {"chat", NULL};
    CHECK(wps_url_rest(BASE, WPS_PATH_SEND_USER, empty, 2, NULL, 0) == NULL);
    CHECK(wps_url_rest(BASE, WPS_PATH_SEND_USER, null, 2, NULL, 0) == NULL);
    char *big = malloc(WPS_URL_MAX_LEN + 1);
    memset(big, 'u', WPS_URL_MAX_LEN);
    big[WPS_URL_MAX_LEN] = '\0';
    const char *bigargs[] = {"chat", big};
    CHECK(wps_url_rest(BASE, WPS_PATH_SEND_USER, bigargs, 2, NULL, 0) == NULL);
    free(big);
    url = wps_url_client_base("https://h:8443/p/", "chat");
    CHECK_STR(url, "wss://h:8443/p/client/hubs/chat");
    free(url);
}

/* Every operation's method and URL, seen through a transport error (a socket that is not there). */
UNIT_TEST(client_rest_operation_urls)
{
    wps_client *c = client_via("/nonexistent/chatr-test.sock");
    const wps_body msg = {WPS_CT_TEXT, "hi", 2};
    const char *ex[] = {"c1", "c2"};
    const char *roles[] = {"webpubsub.sendToGroup"}, *groups[] = {"g"};
    char *tok = NULL;
    json_object *list = NULL;
#define EXPECT_URL(call, url)                                                                      \
    do {                                                                                           \
        CHECK((call) == -1);                                                                       \
        CHECK_STR(wps_client_last_url(c), url);                                                    \
        CHECK(strstr(wps_client_error(c), url) != NULL);                                           \
    } while (0)
    EXPECT_URL(wps_rest_health(c), BASE "api/health" API);
    EXPECT_URL(wps_rest_send_to_all(c, &msg, ex, 2),
               BASE "api/hubs/chat/:send" API "&excluded=c1&excluded=c2");
    EXPECT_URL(wps_rest_send_to_user(c, "u 1", NULL), BASE "api/hubs/chat/users/u%201/:send" API);
    EXPECT_URL(wps_rest_send_to_connection(c, "c1", &msg),
               BASE "api/hubs/chat/connections/c1/:send" API);
    EXPECT_URL(wps_rest_send_to_group(c, "g", &msg, NULL, 0),
               BASE "api/hubs/chat/groups/g/:send" API);
    EXPECT_URL(wps_rest_connection_exists(c, "c1"), BASE "api/hubs/chat/connections/c1" API);
    EXPECT_URL(wps_rest_user_exists(c, "u"), BASE "api/hubs/chat/users/u" API);
    EXPECT_URL(wps_rest_group_exists(c, "g"), BASE "api/hubs/chat/groups/g" API);
    EXPECT_URL(wps_rest_close_connection(c, "c1", "bye now"),
               BASE "api/hubs/chat/connections/c1" API "&reason=bye%20now");
    EXPECT_URL(wps_rest_close_all(c, ex, 1, NULL),
               BASE "api/hubs/chat/:closeConnections" API "&excluded=c1");
    EXPECT_URL(wps_rest_close_group(c, "g", NULL, 0, "r"),
               BASE "api/hubs/chat/groups/g/:closeConnections" API "&reason=r");
    EXPECT_URL(wps_rest_close_user(c, "u", ex, 2, "r"), BASE
               "api/hubs/chat/users/u/:closeConnections" API "&excluded=c1&excluded=c2&reason=r");
    EXPECT_URL(wps_rest_group_add_connection(c, "g", "c1"),
               BASE "api/hubs/chat/groups/g/connections/c1" API);
    EXPECT_URL(wps_rest_group_remove_connection(c, "g", "c1"),
               BASE "api/hubs/chat/groups/g/connections/c1" API);
    EXPECT_URL(wps_rest_remove_connection_from_all_groups(c, "c1"),
               BASE "api/hubs/chat/connections/c1/groups" API);
    EXPECT_URL(wps_rest_group_add_user(c, "g", "u"), BASE "api/hubs/chat/users/u/groups/g" API);
    EXPECT_URL(wps_rest_group_remove_user(c, "g", "u"), BASE "api/hubs/chat/users/u/groups/g" API);
    EXPECT_URL(wps_rest_remove_user_from_all_groups(c, "u"),
               BASE "api/hubs/chat/users/u/groups" API);
    EXPECT_URL(wps_rest_grant_permission(c, "sendToGroup", "c1", "g"),
               BASE "api/hubs/chat/permissions/sendToGroup/connections/c1" API "&targetName=g");
    EXPECT_URL(wps_rest_revoke_permission(c, "joinLeaveGroup", "c1", NULL),
               BASE "api/hubs/chat/permissions/joinLeaveGroup/connections/c1" API);
    EXPECT_URL(wps_rest_check_permission(c, "sendToGroup", "c1", "g"),
               BASE "api/hubs/chat/permissions/sendToGroup/connections/c1" API "&targetName=g");
    EXPECT_URL(wps_rest_list_group_connections(c, "g", 10, "t", &list),
               BASE "api/hubs/chat/groups/g/connections" API "&maxpagesize=10&continuationToken=t");
    EXPECT_URL(wps_rest_group_messages(c, "g", 9, 3, 50, &list),
               BASE "api/hubs/chat/groups/g/messages" API "&before=9&after=3&limit=50");
    EXPECT_URL(wps_rest_group_delete_messages(c, "g"), BASE "api/hubs/chat/groups/g/messages" API);
    EXPECT_URL(
        wps_rest_generate_token(c, "u", roles, 1, groups, 1, 0, &tok),
        BASE "api/hubs/chat/:generateToken" API
             "&userId=u&role=webpubsub.sendToGroup&minutesToExpire=60&group=g&clientType=Default");
#undef EXPECT_URL
    CHECK(list == NULL && tok == NULL);
    /* A missing path parameter never reaches the network. */
    CHECK(wps_rest_send_to_user(c, NULL, &msg) == -1);
    CHECK(wps_client_last_url(c) == NULL);
    CHECK(strstr(wps_client_error(c), "cannot build URL") != NULL);
    wps_client_free(c);
}
