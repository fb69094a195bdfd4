/* test_sdk_wire.c: REST requests as they leave the SDK, caught by a fake server on a unix socket
 * (WEBPUBSUB_UNIX_SOCKET): methods, paths, headers, bodies, the bearer token's aud, status and
 * body handling, and one kept-alive connection for all calls
 * (docs/protocols.md#rest-data-plane). */
#include "unit.h"
#include "wps_client.h"
#include "wps_jwt.h"
#include "wps_rest.h"

#include <pthread.h>
#include <stdlib.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#define KEY "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789ABCDEFGH"
#define CONNSTR "Endpoint=http://localhost;Port=8080;AccessKey=" KEY
#define MAX_REQS 8
#define REQ_MAX 4096
#define IO_TIMEOUT_S 5

typedef struct {
    int fd; /* listening socket */
    const char *replies[MAX_REQS];
    int nreplies;
    char reqs[MAX_REQS][REQ_MAX];
    int got, accepts;
} fake_server;

/* Reads one request (headers + Content-Length body) into buf; its length, or -1. */
static int read_request(int fd, char *buf, size_t cap)
{
    size_t len = 0, need = 0;
    buf[0] = '\0';
    for (;;) {
        const char *end = strstr(buf, "\r\n\r\n");
        if (end && !need) {
            const char *cl = strcasestr(buf, "\r\ncontent-length:");
            need = (size_t)(end - buf) + 4 + (cl && cl < end ? strtoul(cl + 17, NULL, 10) : 0);
        }
        if (need && len >= need) return (int)len;
        if (len + 1 >= cap) return -1;
        ssize_t n = read(fd, buf + len, cap - len - 1);
        if (n <= 0) return -1;
        len += (size_t)n;
        buf[len] = '\0';
    }
}

static void *serve(void *arg)
{
    fake_server *s = arg;
    struct timeval tv = {IO_TIMEOUT_S, 0};
    int conn = -1;
    while (s->got < s->nreplies) {
        if (conn < 0) {
            if ((conn = accept(s->fd, NULL, NULL)) < 0) break;
            setsockopt(conn, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
            s->accepts++;
        }
        if (read_request(conn, s->reqs[s->got], REQ_MAX) < 0) {
            close(conn);
            conn = -1;
            continue;
        }
        const char *r = s->replies[s->got++];
        if (write(conn, r, strlen(r)) < 0) break;
    }
    if (conn >= 0) close(conn);
    return NULL;
}

/* Listens on a fresh socket path under dir; 0 or -1. */
static int fake_listen(fake_server *s, char *dir, struct sockaddr_un *a)
{
    struct timeval tv = {IO_TIMEOUT_S, 0};
    if (!mkdtemp(dir)) return -1;
    a->sun_family = AF_UNIX;
    snprintf(a->sun_path, sizeof a->sun_path, "%.40s/hub.sock", dir);
    s->fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (s->fd < 0) return -1;
    setsockopt(s->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (bind(s->fd, (struct sockaddr *)a, sizeof *a) != 0 || listen(s->fd, 4) != 0) return -1;
    return 0;
}

/* 1 if the request's bearer token verifies with aud = url. */
static int bearer_for(const char *req, const char *url)
{
    const char *h = strstr(req, "\r\nAuthorization: Bearer ");
    if (!h) return 0;
    h += strlen("\r\nAuthorization: Bearer ");
    char tok[WPS_JWT_MAX_LEN + 1];
    size_t n = strcspn(h, "\r");
    if (n > WPS_JWT_MAX_LEN) return 0;
    memcpy(tok, h, n);
    tok[n] = '\0';
    const char *aud[] = {url};
    wps_jwt_claims c;
    int ok = wps_jwt_verify(KEY, tok, &(wps_jwt_expect){aud, 1, 0, 0}, &c, NULL, 0) == 0;
    wps_jwt_claims_free(&c);
    return ok;
}

static const char *body_of(const char *req)
{
    const char *e = strstr(req, "\r\n\r\n");
    return e ? e + 4 : "";
}

#define R202 "HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n"
#define R404                                                                                       \
    "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: 24\r\n\r\nUser `dev` "  \
    "is not found."
#define LIST "{\"value\":[{\"connectionId\":\"c1\",\"userId\":\"u1\"}]}"
#define R200L "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 47\r\n\r\n" LIST
#define R200T                                                                                      \
    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "                        \
    "15\r\n\r\n{\"token\":\"abc\"}"
#define R200H "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
#define R204 "HTTP/1.1 204 No Content\r\n\r\n"

UNIT_TEST(wire_requests_over_unix_socket)
{
    fake_server s = {.replies = {R202, R404, R200L, R200T, R200H, R204}, .nreplies = 6};
    char dir[] = "/tmp/chatr-sdk-XXXXXX";
    struct sockaddr_un addr;
    const char *path = addr.sun_path;
    pthread_t th;
    CHECK(strlen(LIST) == 47);
    if (fake_listen(&s, dir, &addr) != 0 || pthread_create(&th, NULL, serve, &s) != 0) {
        CHECK(!"fake server");
        return;
    }
    setenv(WPS_UNIX_SOCKET_ENV, path, 1);
    wps_client *c = wps_client_new(CONNSTR, "chat", NULL, 0);
    unsetenv(WPS_UNIX_SOCKET_ENV);
    json_object *msg = json_tokener_parse("{\"from\":\"a/b\",\"n\":1}"), *list = NULL;
    const char *ex[] = {"c 1", "c2"};
    wps_body b = wps_body_json(msg);
    char *tok = NULL;
    size_t len = 0;

    wps_request_id_set(NULL); /* none: no X-Request-Id */
    CHECK(wps_rest_send_to_group(c, "room 1", &b, ex, 2) == 202);
    wps_request_id_set("rid-1"); /* the request being served (docs/observability.md) */
    CHECK(wps_rest_group_add_user(c, "room1", "dev") == 404);
    wps_request_id_set("bad\r\nX-Injected: 1"); /* never a header split: none sent */
    CHECK_STR(wps_client_response(c, &len), "User `dev` is not found.");
    CHECK(len == 24);
    CHECK(wps_rest_list_group_connections(c, "room1", 10, NULL, &list) == 200);
    CHECK(list && json_object_array_length(json_object_object_get(list, "value")) == 1);
    const char *roles[] = {"webpubsub.sendToGroup"};
    CHECK(wps_rest_generate_token(c, "u1", roles, 1, NULL, 0, 0, &tok) == 200);
    CHECK_STR(tok, "abc");
    CHECK(wps_rest_user_exists(c, "u1") == 200);
    CHECK(wps_rest_close_connection(c, "c1", NULL) == 204);
    CHECK_STR(wps_client_error(c), "");
    wps_client_free(c);
    pthread_join(th, NULL);

    CHECK(s.got == 6);
    CHECK(s.accepts == 1); /* one kept-alive connection for every call */
    const char *u0 = "http://localhost:8080/api/hubs/chat/groups/room%201/:send?api-version="
                     "2024-12-01&excluded=c%201&excluded=c2";
    CHECK(!strncmp(s.reqs[0],
                   "POST /api/hubs/chat/groups/room%201/:send?api-version=2024-12-01"
                   "&excluded=c%201&excluded=c2 HTTP/1.1\r\n",
                   93));
    CHECK(strstr(s.reqs[0], "\r\nHost: localhost:8080\r\n") != NULL);
    CHECK(strstr(s.reqs[0], "\r\nContent-Type: application/json\r\n") != NULL);
    CHECK(strstr(s.reqs[0], "\r\nAccept: application/json\r\n") != NULL);
    CHECK(strstr(s.reqs[0], "Expect:") == NULL);
    CHECK(strcasestr(s.reqs[0], "X-Request-Id") == NULL);
    CHECK(strstr(s.reqs[1], "\r\nX-Request-Id: rid-1\r\n") != NULL);
    CHECK(strcasestr(s.reqs[2], "X-Request-Id") == NULL);
    CHECK(strcasestr(s.reqs[2], "X-Injected") == NULL);
    CHECK_STR(body_of(s.reqs[0]), "{\"from\":\"a/b\",\"n\":1}");
    CHECK(bearer_for(s.reqs[0], u0));
    CHECK(
        !bearer_for(s.reqs[0], "http://localhost:8080/api/hubs/chat/:send?api-version=2024-12-01"));
    CHECK(!strncmp(s.reqs[1], "PUT /api/hubs/chat/users/dev/groups/room1?api-version=2024-12-01 ",
                   65));
    CHECK(strstr(s.reqs[1], "\r\nContent-Length: 0\r\n") != NULL);
    CHECK(strcasestr(s.reqs[1], "Content-Type") == NULL);
    CHECK(bearer_for(s.reqs[1], "http://localhost:8080/api/hubs/chat/users/dev/groups/room1"
                                "?api-version=2024-12-01"));
    CHECK(!strncmp(s.reqs[2],
                   "GET /api/hubs/chat/groups/room1/connections?api-version=2024-12-01"
                   "&maxpagesize=10 HTTP/1.1\r\n",
                   91));
    CHECK(!strncmp(s.reqs[3],
                   "POST /api/hubs/chat/:generateToken?api-version=2024-12-01&userId=u1"
                   "&role=webpubsub.sendToGroup&minutesToExpire=60&clientType=Default ",
                   133));
    CHECK(!strncmp(s.reqs[4], "HEAD /api/hubs/chat/users/u1?api-version=2024-12-01 ", 52));
    CHECK(!strncmp(s.reqs[5], "DELETE /api/hubs/chat/connections/c1?api-version=2024-12-01 ", 60));
    json_object_put(msg);
    json_object_put(list);
    free(tok);
    unlink(path);
    rmdir(dir);
}

/* The history extension: GET a page (parsed, deeper than other REST bodies may be), DELETE. */
#define HIST                                                                                       \
    "{\"value\":[{\"type\":\"message\",\"from\":\"group\",\"group\":\"g\",\"dataType\":\"json\","  \
    "\"data\":{\"a\":[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]},\"id\":7,\"time\":\"t\"}],\"more\":true}"
#define R200M(len, body)                                                                           \
    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " len "\r\n\r\n" body

UNIT_TEST(wire_history_requests_over_unix_socket)
{
    fake_server s = {.replies = {R200M("152", HIST), R200M("2", "[]"), R200M("152", HIST), R204},
                     .nreplies = 4};
    char dir[] = "/tmp/chatr-sdk-XXXXXX";
    struct sockaddr_un addr;
    const char *path = addr.sun_path;
    pthread_t th;
    CHECK(strlen(HIST) == 152);
    if (fake_listen(&s, dir, &addr) != 0 || pthread_create(&th, NULL, serve, &s) != 0) {
        CHECK(!"fake server");
        return;
    }
    setenv(WPS_UNIX_SOCKET_ENV, path, 1);
    wps_client *c = wps_client_new(CONNSTR, "chat", NULL, 0);
    unsetenv(WPS_UNIX_SOCKET_ENV);
    json_object *page = NULL, *v;
    size_t len = 0;

    CHECK(wps_rest_group_messages(c, "room 1", 100, -1, 20, &page) == 200);
    CHECK(page && json_object_object_get_ex(page, "value", &v) && json_object_array_length(v) == 1);
    CHECK(page && json_object_object_get_ex(page, "more", &v) && json_object_get_boolean(v));
    json_object_put(page);
    CHECK(wps_rest_group_messages(c, "g", -1, 0, 0, &page) == -1); /* 200 that is not an object */
    CHECK(page == NULL);
    CHECK(wps_rest_group_messages(c, "g", -1, -1, -1, NULL) == 200); /* raw body kept */
    CHECK_STR(wps_client_response(c, &len), HIST);
    CHECK(wps_rest_group_delete_messages(c, "g") == 204);
    wps_client_free(c);
    pthread_join(th, NULL);

    CHECK(s.got == 4 && s.accepts == 1);
    CHECK(!strncmp(s.reqs[0],
                   "GET /api/hubs/chat/groups/room%201/messages?api-version=2024-12-01"
                   "&before=100&limit=20 HTTP/1.1\r\n",
                   97));
    CHECK(bearer_for(s.reqs[0], "http://localhost:8080/api/hubs/chat/groups/room%201/messages"
                                "?api-version=2024-12-01&before=100&limit=20"));
    CHECK(!strncmp(s.reqs[1],
                   "GET /api/hubs/chat/groups/g/messages?api-version=2024-12-01&after=0 ", 68));
    CHECK(!strncmp(s.reqs[2], "GET /api/hubs/chat/groups/g/messages?api-version=2024-12-01 ", 60));
    CHECK(
        !strncmp(s.reqs[3], "DELETE /api/hubs/chat/groups/g/messages?api-version=2024-12-01 ", 63));
    unlink(path);
    rmdir(dir);
}

/* The history extension's edits, deletions, search and counts, and group sends with
 * ?persist=false / ?from=server (docs/protocols.md#history). */
#define ENV1                                                                                       \
    "{\"type\":\"message\",\"from\":\"group\",\"group\":\"room 1\",\"dataType\":\"json\","         \
    "\"data\":null,\"id\":42,\"time\":\"t\",\"deletedTime\":\"t\"}"
#define R409 "HTTP/1.1 409 Conflict\r\nContent-Length: 0\r\n\r\n"

UNIT_TEST(wire_history_edits_over_unix_socket)
{
    fake_server s = {.replies = {R202, R200M("117", ENV1), R409, R204,
                                 R200M("25", "{\"value\":[],\"more\":false}"),
                                 R200M("28", "{\"g\":{\"count\":1,\"lastId\":7}}")},
                     .nreplies = 6};
    char dir[] = "/tmp/chatr-sdk-XXXXXX";
    struct sockaddr_un addr;
    const char *path = addr.sun_path;
    pthread_t th;
    CHECK(strlen(ENV1) == 117);
    if (fake_listen(&s, dir, &addr) != 0 || pthread_create(&th, NULL, serve, &s) != 0) {
        CHECK(!"fake server");
        return;
    }
    setenv(WPS_UNIX_SOCKET_ENV, path, 1);
    wps_client *c = wps_client_new(CONNSTR, "chat", NULL, 0);
    unsetenv(WPS_UNIX_SOCKET_ENV);
    json_object *msg = json_tokener_parse("{\"chatEvent\":\"x\"}"), *out = NULL, *v;
    wps_body b = wps_body_json(msg), t = wps_body_text("new text");
    const char *groups[] = {"a", "b c"};
    json_object *counts = json_tokener_parse("{\"g\":3}");
    json_object *contains = json_tokener_parse("{\"mentions\":[\"u1\"]}");

    CHECK(wps_rest_send_to_group_ex(c, "g", &b, NULL, 0,
                                    WPS_SEND_NO_PERSIST | WPS_SEND_AS_SERVER) == 202);
    CHECK(wps_rest_group_message(c, "room 1", 42, &out) == 200);
    CHECK(out && json_object_object_get_ex(out, "id", &v) && json_object_get_int64(v) == 42);
    json_object_put(out);
    CHECK(wps_rest_group_message_edit(c, "g", 42, &t, &out) == 409);
    CHECK(out == NULL);
    CHECK(wps_rest_group_message_delete(c, "g", 42) == 204);
    CHECK(wps_rest_search_messages(c, "zebra \"x\"", groups, 2, 10, 5, &out) == 200);
    CHECK(out && json_object_object_get_ex(out, "more", &v) && !json_object_get_boolean(v));
    json_object_put(out);
    CHECK(wps_rest_count_messages(c, counts, "u1", contains, 100, 1, &out) == 200);
    CHECK(out && json_object_object_get_ex(out, "g", &v) &&
          json_object_get_int(json_object_object_get(v, "count")) == 1);
    json_object_put(out);
    /* refused before anything is sent: no id, too many groups, groups not an object */
    CHECK(wps_rest_group_message(c, "g", 0, &out) == -1 && out == NULL);
    CHECK(wps_rest_search_messages(c, "x", groups, WPS_REST_MAX_GROUPS + 1, 0, 0, &out) == -1);
    CHECK(wps_rest_count_messages(c, contains ? json_object_object_get(contains, "mentions") : NULL,
                                  NULL, NULL, 0, 0, &out) == -1);
    wps_client_free(c);
    pthread_join(th, NULL);

    CHECK(s.got == 6 && s.accepts == 1);
    CHECK(!strncmp(s.reqs[0],
                   "POST /api/hubs/chat/groups/g/:send?api-version=2024-12-01&persist=false"
                   "&from=server HTTP/1.1\r\n",
                   94));
    CHECK(bearer_for(s.reqs[0], "http://localhost:8080/api/hubs/chat/groups/g/:send"
                                "?api-version=2024-12-01&persist=false&from=server"));
    CHECK(!strncmp(s.reqs[1], "GET /api/hubs/chat/groups/room%201/messages/42?api-version=", 59));
    CHECK(!strncmp(s.reqs[2], "PUT /api/hubs/chat/groups/g/messages/42?api-version=", 52));
    CHECK(strstr(s.reqs[2], "\r\nContent-Type: text/plain\r\n") != NULL);
    CHECK_STR(body_of(s.reqs[2]), "new text");
    CHECK(!strncmp(s.reqs[3], "DELETE /api/hubs/chat/groups/g/messages/42?api-version=", 55));
    CHECK(!strncmp(s.reqs[4], "POST /api/hubs/chat/:searchMessages?api-version=2024-12-01 ", 59));
    CHECK_STR(body_of(s.reqs[4]),
              "{\"q\":\"zebra \\\"x\\\"\",\"groups\":[\"a\",\"b c\"],\"before\":10,\"limit\":5}");
    CHECK(!strncmp(s.reqs[5], "POST /api/hubs/chat/:countMessages?api-version=2024-12-01 ", 58));
    CHECK_STR(body_of(s.reqs[5]), "{\"groups\":{\"g\":3},\"exceptUser\":\"u1\",\"contains\":"
                                  "{\"mentions\":[\"u1\"]},\"max\":100,\"objectsOnly\":true}");
    json_object_put(msg);
    json_object_put(counts);
    json_object_put(contains);
    unlink(path);
    rmdir(dir);
}

/* An https Endpoint reached through the unix socket (nginx's internal server, docs/tls.md):
 * plain http on the socket, while the token's aud stays the https URL the hub checks. */
UNIT_TEST(wire_https_endpoint_is_plain_http_on_the_unix_socket)
{
    fake_server s = {.replies = {R202}, .nreplies = 1};
    char dir[] = "/tmp/chatr-sdk-XXXXXX";
    struct sockaddr_un addr;
    const char *path = addr.sun_path;
    pthread_t th;
    if (fake_listen(&s, dir, &addr) != 0 || pthread_create(&th, NULL, serve, &s) != 0) {
        CHECK(!"fake server");
        return;
    }
    setenv(WPS_UNIX_SOCKET_ENV, path, 1);
    wps_client *c =
        wps_client_new("Endpoint=https://chat.example.com;AccessKey=" KEY, "chat", NULL, 0);
    unsetenv(WPS_UNIX_SOCKET_ENV);
    json_object *msg = json_tokener_parse("{\"n\":1}");
    wps_body b = wps_body_json(msg);
    CHECK(wps_rest_send_to_group(c, "g", &b, NULL, 0) == 202);
    CHECK_STR(wps_client_error(c), "");
    wps_client_free(c);
    pthread_join(th, NULL);
    CHECK(s.got == 1);
    CHECK(!strncmp(s.reqs[0], "POST /api/hubs/chat/groups/g/:send?api-version=2024-12-01 ", 58));
    CHECK(strstr(s.reqs[0], "\r\nHost: chat.example.com\r\n") != NULL);
    CHECK(bearer_for(
        s.reqs[0], "https://chat.example.com/api/hubs/chat/groups/g/:send?api-version=2024-12-01"));
    json_object_put(msg);
    unlink(path);
    rmdir(dir);
}
