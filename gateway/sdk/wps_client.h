/* wps_client.h: the Web PubSub service client, our equivalent of @azure/web-pubsub's
 * WebPubSubServiceClient: client access tokens (docs/protocols.md#client-access-tokens) and the
 * authenticated HTTP transport the REST operations in wps_rest.h run on
 * (docs/protocols.md#rest-authentication).
 *
 * Usage (REST operations are in wps_rest.h, which includes this header):
 *     char err[256];
 *     wps_client *c = wps_client_new(getenv("WEBPUBSUB_CONNECTION_STRING"), "chat", err, 256);
 *     if (!c) log("webpubsub: %s", err);
 *     const char *roles[] = {"webpubsub.sendToGroup", "webpubsub.joinLeaveGroup"};
 *     wps_token t;
 *     if (wps_client_token(c, user_id, roles, 2, NULL, 0, 60, &t) == 0) {
 *         json_object *body = wps_token_json(&t); // getToken's {"token","baseUrl","url"}
 *         ...
 *         json_object_put(body);
 *         wps_token_free(&t);
 *     }
 *     wps_body msg = wps_body_json(obj);
 *     int st = wps_rest_send_to_group(c, "room1", &msg, NULL, 0);
 *     if (st < 0) log("webpubsub: %s", wps_client_error(c)); // transport error
 *     else if (st != 202) ...                                 // the service refused
 *     wps_client_free(c);
 *
 * One client holds one keep-alive HTTP connection; use it from one thread at a time. If the
 * environment variable WEBPUBSUB_UNIX_SOCKET is set when the client is created, requests go
 * through that unix socket (our local nginx) while URLs and token audiences stay the endpoint's;
 * the socket speaks plain http even when the endpoint is https (TLS is for the network, the
 * socket is local: docs/tls.md). */
#ifndef WPS_CLIENT_H
#define WPS_CLIENT_H
#include <stddef.h>
#include <time.h>
#include <json-c/json.h>

#define WPS_UNIX_SOCKET_ENV "WEBPUBSUB_UNIX_SOCKET"
#define WPS_TOKEN_DEFAULT_MINUTES 60 /* client token lifetime when minutes <= 0 */
#define WPS_CLIENT_CONNECT_TIMEOUT_MS 5000
#define WPS_CLIENT_TIMEOUT_MS 30000       /* whole request, connect included */
#define WPS_CLIENT_MAX_RESPONSE (1 << 20) /* bytes of response body kept; more fails the call */
#define WPS_CLIENT_ERR_LEN 512

typedef struct wps_client wps_client;

/* The request id REST calls carry as X-Request-Id (process-wide; NULL or "" for none): the
 * function runtime sets it to the request being served, so one user action can be followed
 * from the function into hub-rest's log (docs/observability.md). At most 64 of [0-9A-Za-z-]. */
void wps_request_id_set(const char *id);

/* NULL with a message in err (may be NULL) on a bad connection string or hub name. */
wps_client *wps_client_new(const char *connection_string, const char *hub, char *err,
                           size_t errlen);
void wps_client_free(wps_client *c);

const char *wps_client_endpoint(const wps_client *c); /* "http://localhost:8080/" */
const char *wps_client_hub(const wps_client *c);
const char *wps_client_error(const wps_client *c); /* why the last call failed ("" if none) */

/* ---- client access tokens (docs/protocols.md#client-access-tokens) ---- */

typedef struct {
    char *base_url; /* "wss://host/client/hubs/<hub>" (ws:// for http endpoints) */
    char *token;    /* the JWT */
    char *url;      /* base_url + "?access_token=" + token */
} wps_token;

/* Signs a token for user_id (NULL = anonymous) with the given roles and groups, valid for
 * minutes (<= 0: WPS_TOKEN_DEFAULT_MINUTES). Returns 0, or -1 (see wps_client_error). */
int wps_client_token(wps_client *c, const char *user_id, const char *const *roles, size_t nroles,
                     const char *const *groups, size_t ngroups, int minutes, wps_token *out);
/* The same with iat = now (tests). */
int wps_client_token_at(wps_client *c, const char *user_id, const char *const *roles, size_t nroles,
                        const char *const *groups, size_t ngroups, int minutes, time_t now,
                        wps_token *out);
/* The same with extra claims (borrowed; the standard ones win a name clash): the platform's
 * extensions, such as the session binding getToken adds (docs/sign-in.md). */
int wps_client_token_extra(wps_client *c, const char *user_id, const char *const *roles,
                           size_t nroles, const char *const *groups, size_t ngroups, int minutes,
                           json_object *extra, wps_token *out);
/* {"token":…,"baseUrl":…,"url":…}, what getClientAccessToken resolves to; NULL on failure. */
json_object *wps_token_json(const wps_token *t);
void wps_token_free(wps_token *t);

/* ---- transport for REST operations (docs/protocols.md#rest-authentication) ---- */

typedef struct {
    const char *content_type; /* NULL = application/json */
    const void *data;
    size_t len;
} wps_body;

/* The bearer token for a request to url: {"iat":now,"exp":now+3600,"aud":url}. Malloc'd. */
char *wps_client_request_token(const wps_client *c, const char *url, time_t now);

/* Sends method (HEAD, GET, POST, PUT, DELETE) to url with a fresh bearer token and body (NULL
 * = none). Takes ownership of url (malloc'd, kept as wps_client_last_url); a NULL url counts as
 * an error ("cannot build URL"), so callers pass wps_url_rest(...) directly. Returns the HTTP
 * status, or -1 on a transport error (see wps_client_error). */
int wps_client_request(wps_client *c, const char *method, char *url, const wps_body *body);

/* The body of the last response (NUL-terminated, len may be NULL) and the last URL requested. */
const char *wps_client_response(const wps_client *c, size_t *len);
const char *wps_client_last_url(const wps_client *c);

#endif
