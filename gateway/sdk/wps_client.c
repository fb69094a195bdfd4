/* wps_client.c: the Web PubSub service client: connection string and hub, client access tokens,
 * and one reused libcurl handle that carries every REST request with a per-request JWT. */
#include "wps_client.h"
#include "wps_connstr.h"
#include "wps_jwt.h"
#include "wps_url.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <curl/curl.h>
#include <sodium.h>

#define REST_TOKEN_TTL 3600 /* seconds, as the JS SDK's expiresIn: "1h" */

struct wps_client {
    wps_connstr cs;
    char *hub;
    char *unix_socket; /* from WPS_UNIX_SOCKET_ENV at creation, or NULL */
    CURL *curl;        /* created on first request, reused (keep-alive) */
    char *last_url;
    char *resp;
    size_t resp_len, resp_cap;
    char curl_err[CURL_ERROR_SIZE];
    char err[WPS_CLIENT_ERR_LEN];
};

static int set_err(wps_client *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->err, sizeof c->err, fmt, ap);
    va_end(ap);
    return -1;
}

wps_client *wps_client_new(const char *connection_string, const char *hub, char *err, size_t errlen)
{
    if (!wps_hub_name_ok(hub)) {
        if (err && errlen) snprintf(err, errlen, "invalid hub name '%s'", hub ? hub : "(null)");
        return NULL;
    }
    wps_client *c = calloc(1, sizeof *c);
    if (!c || wps_connstr_parse(connection_string, &c->cs, err, errlen) != 0) {
        free(c);
        return NULL;
    }
    /* Read once per client, when it is made (never per request), and here rather than in the
     * runtime's fn_settings: the SDK stands alone (programs outside the runtime use it), and the
     * unit tests point successive clients at different sockets. */
    const char *sock = getenv(WPS_UNIX_SOCKET_ENV);
    c->hub = strdup(hub);
    c->unix_socket = sock && sock[0] ? strdup(sock) : NULL;
    if (!c->hub || (sock && sock[0] && !c->unix_socket)) {
        if (err && errlen) snprintf(err, errlen, "out of memory");
        wps_client_free(c);
        return NULL;
    }
    return c;
}

void wps_client_free(wps_client *c)
{
    if (!c) return;
    if (c->curl) curl_easy_cleanup(c->curl);
    wps_connstr_free(&c->cs);
    free(c->hub);
    free(c->unix_socket);
    free(c->last_url);
    free(c->resp);
    free(c);
}

const char *wps_client_endpoint(const wps_client *c)
{
    return c->cs.endpoint;
}

const char *wps_client_hub(const wps_client *c)
{
    return c->hub;
}

const char *wps_client_error(const wps_client *c)
{
    return c->err;
}

/* ---- client access tokens ---- */

static int token_make(wps_client *c, const char *user_id, const char *const *roles, size_t nroles,
                      const char *const *groups, size_t ngroups, int minutes, time_t now,
                      json_object *extra, wps_token *out)
{
    memset(out, 0, sizeof *out);
    if (nroles > WPS_JWT_MAX_LIST || ngroups > WPS_JWT_MAX_LIST)
        return set_err(c, "token: more than %d roles or groups", WPS_JWT_MAX_LIST);
    long long ttl = 60LL * (minutes > 0 ? minutes : WPS_TOKEN_DEFAULT_MINUTES);
    char *aud = wps_url_client_aud(c->cs.endpoint, c->hub);
    json_object *claims =
        aud ? wps_jwt_claims_new(aud, user_id, roles, nroles, groups, ngroups, now, now + ttl)
            : NULL;
    if (claims && extra) {
        json_object_object_foreach(extra, k, v)
        {
            if (!json_object_object_get_ex(claims, k, NULL))
                json_object_object_add(claims, k, json_object_get(v));
        }
    }
    out->token = claims ? wps_jwt_sign(c->cs.access_key, claims) : NULL;
    out->base_url = wps_url_client_base(c->cs.endpoint, c->hub);
    json_object_put(claims);
    free(aud);
    if (!out->token || !out->base_url ||
        asprintf(&out->url, "%s?access_token=%s", out->base_url, out->token) < 0) {
        out->url = NULL;
        wps_token_free(out);
        return set_err(c, "token: out of memory");
    }
    return 0;
}

int wps_client_token_at(wps_client *c, const char *user_id, const char *const *roles, size_t nroles,
                        const char *const *groups, size_t ngroups, int minutes, time_t now,
                        wps_token *out)
{
    return token_make(c, user_id, roles, nroles, groups, ngroups, minutes, now, NULL, out);
}

int wps_client_token_extra(wps_client *c, const char *user_id, const char *const *roles,
                           size_t nroles, const char *const *groups, size_t ngroups, int minutes,
                           json_object *extra, wps_token *out)
{
    return token_make(c, user_id, roles, nroles, groups, ngroups, minutes, time(NULL), extra, out);
}

int wps_client_token(wps_client *c, const char *user_id, const char *const *roles, size_t nroles,
                     const char *const *groups, size_t ngroups, int minutes, wps_token *out)
{
    return wps_client_token_at(c, user_id, roles, nroles, groups, ngroups, minutes, time(NULL),
                               out);
}

json_object *wps_token_json(const wps_token *t)
{
    json_object *o = json_object_new_object();
    if (!o) return NULL;
    if (json_object_object_add(o, "token", json_object_new_string(t->token)) != 0 ||
        json_object_object_add(o, "baseUrl", json_object_new_string(t->base_url)) != 0 ||
        json_object_object_add(o, "url", json_object_new_string(t->url)) != 0) {
        json_object_put(o);
        return NULL;
    }
    return o;
}

void wps_token_free(wps_token *t)
{
    if (!t) return;
    free(t->base_url);
    free(t->token);
    free(t->url);
    memset(t, 0, sizeof *t);
}

/* ---- transport ---- */

char *wps_client_request_token(const wps_client *c, const char *url, time_t now)
{
    json_object *claims =
        wps_jwt_claims_new(url, NULL, NULL, 0, NULL, 0, now, now + REST_TOKEN_TTL);
    char *jwt = claims ? wps_jwt_sign(c->cs.access_key, claims) : NULL;
    json_object_put(claims);
    return jwt;
}

static size_t on_body(char *data, size_t size, size_t n, void *arg)
{
    wps_client *c = arg;
    size_t len = size * n;
    if (len > WPS_CLIENT_MAX_RESPONSE - c->resp_len) return 0; /* aborts: too large */
    if (c->resp_len + len + 1 > c->resp_cap) {
        size_t cap =
            c->resp_len + len + 1 > 2 * c->resp_cap ? c->resp_len + len + 1 : 2 * c->resp_cap;
        char *p = realloc(c->resp, cap);
        if (!p) return 0;
        c->resp = p;
        c->resp_cap = cap;
    }
    memcpy(c->resp + c->resp_len, data, len);
    c->resp_len += len;
    c->resp[c->resp_len] = '\0';
    return len;
}

static char request_id[65];

void wps_request_id_set(const char *id)
{
    size_t n =
        id ? strspn(id, "0123456789abcdefABCDEFGHIJKLMNOPQRSTUVWXYZghijklmnopqrstuvwxyz-") : 0;
    if (n == 0 || n >= sizeof request_id || id[n] != '\0') n = 0; /* never a header split */
    memcpy(request_id, id ? id : "", n);
    request_id[n] = '\0';
}

static struct curl_slist *headers(const char *jwt, const wps_body *body)
{
    char line[WPS_JWT_MAX_LEN + 64], ct[256], rid[96];
    snprintf(line, sizeof line, "Authorization: Bearer %s", jwt);
    snprintf(ct, sizeof ct, "Content-Type:%s%s", body ? " " : "",
             body ? (body->content_type ? body->content_type : "application/json") : "");
    struct curl_slist *h = NULL, *next;
    snprintf(rid, sizeof rid, "X-Request-Id:%s%s", request_id[0] ? " " : "", request_id);
    const char *all[] = {line, "Accept: application/json", ct, "Expect:", rid};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        if (!(next = curl_slist_append(h, all[i]))) {
            curl_slist_free_all(h);
            return NULL;
        }
        h = next;
    }
    return h;
}

/* Options for one request on a freshly reset handle. Through the unix socket an https endpoint
 * is reached as http (the socket is nginx's plain internal server, docs/tls.md): the URL libcurl
 * gets is the endpoint's with that scheme; the token's aud stays the endpoint's own URL. */
static int setup(wps_client *c, const char *method, const wps_body *body, struct curl_slist *h)
{
    CURL *k = c->curl;
    if (c->unix_socket && strncasecmp(c->last_url, "https://", 8) == 0) {
        char *plain;
        if (asprintf(&plain, "http://%s", c->last_url + 8) < 0) return -1;
        curl_easy_setopt(k, CURLOPT_URL, plain); /* libcurl copies it */
        free(plain);
    } else {
        curl_easy_setopt(k, CURLOPT_URL, c->last_url);
    }
    curl_easy_setopt(k, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(k, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(k, CURLOPT_CONNECTTIMEOUT_MS, (long)WPS_CLIENT_CONNECT_TIMEOUT_MS);
    curl_easy_setopt(k, CURLOPT_TIMEOUT_MS, (long)WPS_CLIENT_TIMEOUT_MS);
    curl_easy_setopt(k, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(k, CURLOPT_ERRORBUFFER, c->curl_err);
    curl_easy_setopt(k, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(k, CURLOPT_WRITEDATA, c);
    if (c->unix_socket) curl_easy_setopt(k, CURLOPT_UNIX_SOCKET_PATH, c->unix_socket);
    if (strcmp(method, "HEAD") == 0) {
        curl_easy_setopt(k, CURLOPT_NOBODY, 1L);
        return 0;
    }
    if (body || strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0) {
        curl_easy_setopt(k, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(body ? body->len : 0));
        curl_easy_setopt(k, CURLOPT_POSTFIELDS, body && body->data ? body->data : "");
    }
    if (strcmp(method, "GET") != 0 && strcmp(method, "POST") != 0)
        curl_easy_setopt(k, CURLOPT_CUSTOMREQUEST, method);
    return 0;
}

int wps_client_request(wps_client *c, const char *method, char *url, const wps_body *body)
{
    free(c->last_url);
    c->last_url = url;
    c->resp_len = 0;
    if (c->resp) c->resp[0] = '\0';
    c->err[0] = c->curl_err[0] = '\0';
    if (!url) return set_err(c, "%s: cannot build URL (bad or missing argument)", method);
    if (!c->curl && !(c->curl = curl_easy_init()))
        return set_err(c, "%s %s: curl init", method, url);
    char *jwt = wps_client_request_token(c, url, time(NULL));
    struct curl_slist *h = jwt ? headers(jwt, body) : NULL;
    free(jwt);
    if (!h) return set_err(c, "%s %s: out of memory", method, url);
    curl_easy_reset(c->curl);
    if (setup(c, method, body, h) != 0) {
        curl_slist_free_all(h);
        return set_err(c, "%s %s: out of memory", method, url);
    }
    CURLcode rc = curl_easy_perform(c->curl);
    long status = -1;
    if (rc == CURLE_OK) curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(h);
    if (rc == CURLE_WRITE_ERROR)
        return set_err(c, "%s %s: response over %d bytes (or out of memory)", method, url,
                       WPS_CLIENT_MAX_RESPONSE);
    if (rc != CURLE_OK)
        return set_err(c, "%s %s: %s", method, url,
                       c->curl_err[0] ? c->curl_err : curl_easy_strerror(rc));
    return (int)status;
}

const char *wps_client_response(const wps_client *c, size_t *len)
{
    if (len) *len = c->resp_len;
    return c->resp ? c->resp : "";
}

const char *wps_client_last_url(const wps_client *c)
{
    return c->last_url;
}
