/* hub-connect: the WebSocket handshake of /client/hubs/{hub} (nginx auth_request).
 * Checks the origin and the access token, runs the hub's blocking `connect` webhook, then
 * tells nginx (response headers, read with auth_request_set) which channels the socket
 * subscribes to, which subprotocol to echo, and the connection context for the hooks.
 * Registers the connection (every protocol, counted against the user's limit). A handshake the
 * database cannot serve gets 503 + Retry-After (docs/storage.md, "Outages"). A recovery
 * of a reliable connection (?awps_connection_id=&awps_reconnection_token=,
 * docs/protocols.md#the-reliable-subprotocol) is checked here instead of the access token and skips
 * the `connect` webhook. docs/protocols.md#the-handshake, #system-events;
 * docs/architecture.md#a-connection-from-handshake-to-close. */
#include "hub.h"
#include "hub_chan.h"
#include "hub_conf.h"
#include "hub_ctx.h"
#include "hub_env.h"
#include "hub_loop.h"
#include "hub_name.h"
#include "hub_nchan.h"
#include "hub_node.h"
#include "hub_orphan.h"
#include "hub_reliable.h"
#include "hub_revoke.h"
#include "hub_settings.h"
#include "hub_store.h"
#include "hub_token.h"
#include "hub_webhook.h"
#include "fn.h"
#include "wps_jwt.h"
#include "metrics.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <json-c/json.h>

/* A claim that may be a string or an array of strings -> new array (NULL if malformed). */
static json_object *str_or_array(json_object *claims, const char *key)
{
    json_object *v, *out = json_object_new_array();
    if (!json_object_object_get_ex(claims, key, &v) || !v) return out;
    if (json_object_is_type(v, json_type_string)) {
        json_object_array_add(out, json_object_get(v));
        return out;
    }
    if (!json_object_is_type(v, json_type_array)) goto bad;
    for (size_t i = 0; i < json_object_array_length(v); i++) {
        json_object *e = json_object_array_get_idx(v, i);
        if (!json_object_is_type(e, json_type_string)) goto bad;
        json_object_array_add(out, json_object_get(e));
    }
    return out;
bad:
    json_object_put(out);
    return NULL;
}

static json_object *list_to_json(const char *const *items, size_t n)
{
    json_object *a = json_object_new_array();
    for (size_t i = 0; i < n; i++)
        json_object_array_add(a, json_object_new_string(items[i]));
    return a;
}

static int groups_valid(json_object *groups)
{
    if (json_object_array_length(groups) > HUB_MAX_GROUPS_PER_CONN) return 0;
    for (size_t i = 0; i < json_object_array_length(groups); i++)
        if (!hub_name_group_valid(json_object_get_string(json_object_array_get_idx(groups, i))))
            return 0;
    return 1;
}

static int roles_valid(json_object *roles)
{
    if (json_object_array_length(roles) > HUB_MAX_ROLES) return 0;
    for (size_t i = 0; i < json_object_array_length(roles); i++)
        if (strlen(json_object_get_string(json_object_array_get_idx(roles, i))) > HUB_MAX_ROLE_LEN)
            return 0;
    return 1;
}

/* Does the comma-separated offer list contain proto? */
static int offered(const char *list, const char *proto)
{
    return fn_list_has(list, proto, 0);
}

static json_object *list_of(const char *s)
{
    json_object *a = json_object_new_array();
    json_object_array_add(a, json_object_new_string(s ? s : ""));
    return a;
}

/* The `connect` event body (docs/protocols.md#system-events): claims, query, headers, subprotocols,
 * clientCertificates. */
static char *connect_body(fn_req *req, json_object *claims, const char *offers, size_t *len)
{
    json_object *o = json_object_new_object(), *c = json_object_new_object();
    json_object_object_foreach(claims, k, v)
    {
        json_object *a = json_object_new_array();
        if (json_object_is_type(v, json_type_array)) {
            for (size_t i = 0; i < json_object_array_length(v); i++) {
                json_object *e = json_object_array_get_idx(v, i);
                json_object_array_add(a, json_object_new_string(json_object_get_string(e)));
            }
        } else {
            json_object_array_add(a, json_object_new_string(json_object_get_string(v)));
        }
        json_object_object_add(c, k, a);
    }
    json_object_object_add(o, "claims", c);
    json_object *q = json_object_new_object();
    for (const char *p = req->query; p && *p;) {
        size_t n = strcspn(p, "&");
        const char *eq = memchr(p, '=', n);
        size_t kl = eq ? (size_t)(eq - p) : n;
        char key[256], val[2048];
        if (kl < sizeof key && (n - kl) < sizeof val) {
            fn_url_decode(key, sizeof key, p, kl, 1);
            fn_url_decode(val, sizeof val, eq ? eq + 1 : p + n, eq ? n - kl - 1 : 0, 1);
            if (strcmp(key, "access_token") != 0 && key[0]) {
                json_object *arr;
                if (!json_object_object_get_ex(q, key, &arr)) {
                    arr = json_object_new_array();
                    json_object_object_add(q, key, arr);
                }
                json_object_array_add(arr, json_object_new_string(val));
            }
        }
        p += n;
        if (*p == '&') p++;
    }
    json_object_object_add(o, "query", q);
    json_object *h = json_object_new_object();
    static const char *const names[][2] = {
        {"HTTP_HOST", "Host"},
        {"HTTP_ORIGIN", "Origin"},
        {"HTTP_USER_AGENT", "User-Agent"},
        {"HTTP_SEC_WEBSOCKET_PROTOCOL", "Sec-WebSocket-Protocol"}};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        const char *hv = fn_param(req, names[i][0]);
        if (hv) json_object_object_add(h, names[i][1], list_of(hv));
    }
    json_object_object_add(o, "headers", h);
    json_object *subs = json_object_new_array();
    size_t m;
    for (const char *p; (p = fn_list_next(&offers, &m)) != NULL;)
        json_object_array_add(subs, json_object_new_string_len(p, (int)m));
    json_object_object_add(o, "subprotocols", subs);
    json_object_object_add(o, "clientCertificates", json_object_new_array());
    size_t n;
    const char *s = json_object_to_json_string_length(o, JSON_C_TO_STRING_PLAIN, &n);
    char *out = strndup(s, n);
    *len = n;
    json_object_put(o);
    return out;
}

/* Applies a 2xx `connect` reply (userId, groups, roles, subprotocol). 0 or an HTTP status. */
static int apply_connect_reply(const hub_webhook_reply *rep, hub_ctx *ctx, const char *offers)
{
    if (rep->len == 0) return 0;
    json_object *o = json_tokener_parse(rep->body), *v;
    if (!o || !json_object_is_type(o, json_type_object)) {
        json_object_put(o);
        return 500;
    }
    int rc = 0;
    if (json_object_object_get_ex(o, "userId", &v) && json_object_is_type(v, json_type_string)) {
        free(ctx->user);
        ctx->user = strdup(json_object_get_string(v));
    }
    json_object *g = str_or_array(o, "groups");
    if (!g || !groups_valid(g))
        rc = 500;
    else if (json_object_array_length(g) > 0) {
        json_object_put(ctx->groups);
        ctx->groups = json_object_get(g);
    }
    json_object_put(g);
    if (json_object_object_get_ex(o, "roles", &v)) {
        json_object *r = str_or_array(o, "roles");
        if (!r || !roles_valid(r))
            rc = 500;
        else {
            json_object_put(ctx->roles);
            ctx->roles = json_object_get(r);
        }
        json_object_put(r);
    }
    if (json_object_object_get_ex(o, "subprotocol", &v) &&
        json_object_is_type(v, json_type_string)) {
        const char *sp = json_object_get_string(v);
        if (!offered(offers, sp))
            rc = 500;
        else
            snprintf(ctx->protocol, sizeof ctx->protocol, "%s", sp);
    }
    json_object_put(o);
    return rc;
}

/* Why this handshake was refused (chatr_hub_handshakes_refused_total's reason), set where it
 * is decided; the protocol of an accepted one. Counted by handshake_counted. */
static const char *refusal;
static char accepted_protocol[40]; /* hub_ctx.protocol */

/* Rejects the handshake with status. nginx's auth_request passes only 401 and 403 through, so
 * any other status travels as 403 + X-Hub-Status and hub_socket.conf maps it back. */
static void deny(fn_res *res, int status, const char *why)
{
    fn_error(res, status == 401 ? 401 : 403, "%s", why);
    fn_set_header(res, "X-Hub-Status", "%d", status);
}

/* Why a handshake the database could not serve is refused: 503, and nginx adds Retry-After
 * (/_hub/status/503). */
static void deny_unavailable(fn_res *res, const char *hub)
{
    (void)hub;
    refusal = "unavailable";
    deny(res, 503, "the database is unavailable; retry later");
}

/* Registers the connection in the store: 0, 1 (its user is over HUB_MAX_CONNS_PER_USER) or -1.
 * A repeated hook finds it registered already: that is success too. */
static int register_row(const hub_ctx *ctx, const char *conn_id)
{
    switch (
        hub_store_register(ctx, conn_id, hub_node_id(), hub_node_epoch(), HUB_MAX_CONNS_PER_USER)) {
    case HUB_STORE_REG_OK:
    case HUB_STORE_REG_EXISTS:
        return 0;
    case HUB_STORE_REG_OVER_LIMIT:
        fn_log("hub %s user %s: over %d connections", ctx->hub, ctx->user, HUB_MAX_CONNS_PER_USER);
        return 1;
    case HUB_STORE_REG_FAILED:
        break;
    }
    return -1;
}

/* register_row's transaction for a reliable socket: the row and its `connected` frame (which
 * carries the reconnectionToken) together, so no sender sees the connection before the frame is
 * in the socket's channel; fn_db_tx runs it again whole after a lost connection. */
typedef struct reg {
    const hub_ctx *ctx;
    const char *conn_id, *own;
    int status; /* register_row's */
} reg;

static int register_reliable(void *arg)
{
    reg *g = arg;
    g->status = register_row(g->ctx, g->conn_id);
    if (g->status != 0) return -1;
    size_t len;
    char *frame = hub_reliable_connected_frame(g->ctx->user, g->conn_id, &len);
    int rc = frame ? hub_nchan_publish1(g->own, frame, len, "application/json") : -1;
    free(frame);
    if (rc != 0) g->status = -1;
    return rc;
}

/* Registers the connection before the upgrade and puts its `connected` frame (JSON and reliable
 * sockets) into its own new channel: the socket subscribes with `first_message oldest`
 * (hub_socket.conf), so that frame comes first, ahead of any broadcast published meanwhile, and
 * whoever the client tells its connection id finds it registered. (From the `opened` hook, a
 * broadcast could overtake the frame: the socket is on the hub channel by then.) The user's
 * connection limit is counted in the same statement (schema/008). If the upgrade never
 * completes, the orphan watch removes the row. 0, 1 (over the limit) or -1. */
static int register_conn(const hub_ctx *ctx, const char *conn_id, const char *own)
{
    if (hub_reliable_protocol(ctx->protocol)) {
        reg g = {.ctx = ctx, .conn_id = conn_id, .own = own, .status = -1};
        return fn_db_tx(register_reliable, &g) == 0 ? 0 : g.status == 1 ? 1 : -1;
    }
    if (!hub_ctx_json(ctx)) return register_row(ctx, conn_id);
    /* The frame goes in before the row: a send that finds the row (by connection, group, or in
     * Redis mode by user or hub, all through this channel) is published after it. The socket
     * cannot subscribe before this handshake answers, so nothing reads the channel early; a
     * refused registration deletes it again. */
    size_t len;
    char *frame = hub_env_connected(ctx->user, conn_id, &len);
    int rc = frame && hub_nchan_publish1(own, frame, len, "application/json") == 0 ? 0 : -1;
    free(frame);
    if (rc != 0) return -1;
    rc = register_row(ctx, conn_id);
    if (rc != 0) hub_nchan_delete(own);
    return rc;
}

/* Tells nginx what the socket subscribes to and which connection its hooks act as. */
static int answer(fn_res *res, const hub_ctx *ctx, const char *channels, const char *conn,
                  const char *own)
{
    size_t before = res->nheaders;
    fn_set_header(res, "X-Hub-Channels", "%s", channels);
    /* the socket's own (keyed) channel: nchan publishes hub-router's replies there */
    fn_set_header(res, "X-Hub-Own", "%s", own);
    fn_set_header(res, "X-Hub-Protocol", "%s", ctx->protocol);
    fn_set_header(res, "X-Hub-Conn", "%s", conn);
    char *enc = hub_ctx_encode(ctx);
    if (enc) fn_set_header(res, "X-Hub-Ctx", "%s", enc);
    free(enc);
    if (res->nheaders < before + 5) {
        refusal = "error";
        fn_error(res, 500, "connection context too large");
        return 0;
    }
    snprintf(accepted_protocol, sizeof accepted_protocol, "%s",
             ctx->protocol[0] ? ctx->protocol : "none");
    fn_text(res, 200, "text/plain", "", 0);
    return 0;
}

/* Recovery of a reliable connection (docs/protocols.md#the-reliable-subprotocol,
 * docs/architecture.md#a-reliable-recovery): ?awps_connection_id=&awps_reconnection_token= (the SDK
 * keeps the old access_token too; it is not looked at). The socket takes the logical connection
 * over: it subscribes to its own channel, its hooks act as the connection. A recovery that cannot
 * be done is still upgraded, then closed with 1008 (hub_reliable_refuse): the SDK stops recovering
 * only on 1008 and would retry anything else for 30 s. */
static int recover(fn_req *req, fn_res *res, hub_ctx *ctx, const char *id, const char *socket)
{
    const char *offers = fn_header(req, "Sec-WebSocket-Protocol");
    char token[HUB_MAX_TOKEN + 1];
    const char *why = NULL;
    size_t idlen = strlen(id);
    int id_ok = idlen >= 1 && idlen <= HUB_MAX_CONN_ID &&
                strspn(id, "0123456789abcdefghijklmnopqrstuvwxyz"
                           "ABCDEFGHIJKLMNOPQRSTUVWXYZ_-") == idlen;
    if (!offered(offers, HUB_PROTO_RELIABLE))
        why = "Only json.reliable.webpubsub.azure.v1 connections can be recovered.";
    else if (!id_ok || !fn_query(req, "awps_reconnection_token", token, sizeof token) ||
             !hub_reliable_token_ok(token, id))
        why = "Invalid reconnection token.";
    else if (hub_reliable_lookup(id, ctx->hub, ctx) != 0) {
        if (fn_db_unavailable()) { /* not a refusal: the SDK must try again, so no 1008 */
            deny_unavailable(res, ctx->hub);
            hub_ctx_free(ctx);
            return 0;
        }
        why = "The connection cannot be recovered: it is unknown, ended or expired.";
    }
    snprintf(ctx->protocol, sizeof ctx->protocol, "%s",
             offered(offers, HUB_PROTO_RELIABLE) ? HUB_PROTO_RELIABLE
             : offered(offers, HUB_PROTO_JSON)   ? HUB_PROTO_JSON
                                                 : "");
    ctx->roles = json_object_new_array();
    ctx->groups = json_object_new_array();
    char own[HUB_MAX_CHANNEL];
    hub_chan_conn(socket, own);
    if (why) {
        fn_log("recovery of %s refused: %s", id_ok ? id : "(invalid id)", why);
        fn_set_header(res, "X-Hub-Refused", "%s", why);
    }
    int rc = answer(res, ctx, own, why ? socket : id, own);
    hub_ctx_free(ctx);
    return rc;
}

/* ---- the handshake, step by step: each step answers the refusal it decides (and sets refusal)
 * and tells the next whether to go on. */

/* Parses the request: the hub (HUB_NAME, url-decoded, normalised into ctx->hub) and the socket's
 * id (REQUEST_ID, which becomes the connection id). NULL when either is missing or invalid: 400. */
static const char *parse_request(fn_req *req, fn_res *res, hub_ctx *ctx)
{
    const char *raw_hub = fn_param(req, "HUB_NAME");
    const char *conn_id = fn_param(req, "REQUEST_ID");
    char hub_buf[HUB_MAX_HUB_NAME * 3 + 1];
    if (raw_hub) fn_url_decode(hub_buf, sizeof hub_buf, raw_hub, strlen(raw_hub), 0);
    if (!raw_hub || !hub_name_valid(hub_buf) || !conn_id) {
        refusal = "bad_request";
        deny(res, 400, "invalid hub name");
        return NULL;
    }
    hub_name_norm(hub_buf, ctx->hub, sizeof ctx->hub);
    return conn_id;
}

/* The browser's Origin against the hub's allowed origins (hubs.json): 0, or -1 with 403. */
static int check_origin(fn_req *req, fn_res *res, const hub_settings *hs, const char *hub)
{
    const char *origin = fn_header(req, "Origin");
    if (hub_settings_origin_ok(hs, origin)) return 0;
    char why[512];
    snprintf(why, sizeof why, "origin %.200s is not allowed for hub %s", origin, hub);
    refusal = "origin";
    deny(res, 403, why);
    return -1;
}

/* Verifies the access token (?access_token=, else Authorization: Bearer) for the hub's audience
 * and its sign-in session (hub_revoke_refused): 0 with *tok filled (the caller frees it), or -1
 * with 401 (a missing, invalid or revoked token) or what hub_revoke_refused answered. */
static int verify_token(fn_req *req, fn_res *res, const char *hub, const char *conn_id,
                        wps_jwt_claims *tok)
{
    char token[HUB_MAX_TOKEN + 1];
    const char *auth = fn_header(req, "Authorization");
    if (!fn_query(req, "access_token", token, sizeof token)) {
        if (auth && strncasecmp(auth, "Bearer ", 7) == 0 && strlen(auth + 7) <= HUB_MAX_TOKEN)
            snprintf(token, sizeof token, "%s", auth + 7);
        else
            token[0] = '\0';
    }
    refusal = "token";
    if (!token[0]) {
        fn_error(res, 401, "missing access token");
        return -1;
    }
    char aud_path[HUB_MAX_HUB_NAME + 32], why[256];
    snprintf(aud_path, sizeof aud_path, "/client/hubs/%s", hub);
    if (hub_token_verify(token, aud_path, tok, why, sizeof why) != 0) {
        fn_error(res, 401, "invalid access token (%s)", why);
        return -1;
    }
    if (hub_revoke_refused(res, tok, conn_id)) { /* its session signed out */
        refusal = "revoked";
        return -1;
    }
    return 0;
}

/* The connection's user, roles and groups from the token, and the subprotocol it speaks (json
 * first, then reliable, of those offered). 0, or 400 for a role, group or user id the service
 * would refuse (docs/protocols.md#client-access-tokens). */
static int check_protocol_and_claims(const wps_jwt_claims *tok, const char *offers, hub_ctx *ctx)
{
    if (tok->user_id) ctx->user = strdup(tok->user_id);
    ctx->roles = list_to_json(tok->roles, tok->nroles);
    ctx->groups = list_to_json(tok->groups, tok->ngroups);
    int status = 0;
    if (!roles_valid(ctx->roles) || !groups_valid(ctx->groups) ||
        (ctx->user && strlen(ctx->user) > HUB_MAX_USER_ID))
        status = 400;
    refusal = status ? "invalid" : "webhook";
    if (offered(offers, HUB_PROTO_JSON))
        snprintf(ctx->protocol, sizeof ctx->protocol, HUB_PROTO_JSON);
    else if (offered(offers, HUB_PROTO_RELIABLE))
        snprintf(ctx->protocol, sizeof ctx->protocol, HUB_PROTO_RELIABLE);
    return status;
}

/* Runs the hub's connect webhook, when it has one: 0 (ctx takes the reply's roles, groups,
 * subprotocol and state), the handler's 4xx or 503 (its database is away: retry later), or 500
 * when it failed or answered anything else. */
static int run_connect_webhook(fn_req *req, const hub_settings *hs, hub_ctx *ctx,
                               const char *conn_id, json_object *claims, const char *offers)
{
    char url[2048];
    if (!hub_settings_handler(hs, ctx->hub, "connect", 1, url, sizeof url)) return 0;
    size_t blen;
    char *body = connect_body(req, claims, offers, &blen);
    hub_webhook_event ev = {.hub = ctx->hub,
                            .conn_id = conn_id,
                            .user = ctx->user,
                            .event = "connect",
                            .system = 1,
                            .ctype = "application/json; charset=utf-8",
                            .body = body,
                            .body_len = blen};
    hub_webhook_reply rep;
    int status;
    if (hub_webhook(url, &ev, HUB_WEBHOOK_TIMEOUT_MS, &rep) != 0)
        status = 500;
    else if ((rep.status >= 400 && rep.status < 500) || rep.status == 503)
        status = (int)rep.status; /* 503: the handler's database is away; retry later */
    else if (rep.status < 200 || rep.status >= 300)
        status = 500;
    else {
        status = apply_connect_reply(&rep, ctx, offers);
        if (rep.has_state && rep.state && strlen(rep.state) <= HUB_MAX_STATE)
            ctx->state = strdup(rep.state);
    }
    hub_webhook_reply_free(&rep);
    free(body);
    return status;
}

/* Registers the connection (register_conn) and answers nginx with the channels its socket
 * subscribes to: its own; for a non-reliable one also the hub's and its user's (a reliable one
 * gets every data message sequenced, on its own channel), except in Redis mode, where every
 * socket has its own channel only and hub and user sends come through it (hub_send.c,
 * docs/scale-out.md#one-channel-per-socket-in-redis-mode). A refused registration: 403 over the
 * user's connection limit, 503 without a database, else 500. Frees ctx. */
static int register_and_answer(fn_res *res, hub_ctx *ctx, const char *conn_id)
{
    int json = hub_ctx_json(ctx);
    char all[HUB_MAX_CHANNEL], user[HUB_MAX_CHANNEL], own[HUB_MAX_CHANNEL],
        chans[3 * HUB_MAX_CHANNEL];
    hub_chan_all(ctx->hub, json, all);
    hub_chan_conn(conn_id, own);
    if (ctx->user) hub_chan_user(ctx->hub, ctx->user, json, user);
    if (hub_reliable_protocol(ctx->protocol) || hub_conf_get()->redis_mode)
        snprintf(chans, sizeof chans, "%s", own);
    else
        snprintf(chans, sizeof chans, "%s,%s%s%s", own, all, ctx->user ? "," : "",
                 ctx->user ? user : "");
    int regd = register_conn(ctx, conn_id, own), rc = 0;
    if (regd == 1) {
        refusal = "user_limit";
        deny(res, 403, "too many connections for this user");
    } else if (regd != 0 && fn_db_unavailable()) {
        deny_unavailable(res, ctx->hub);
    } else if (regd != 0) {
        refusal = "error";
        deny(res, 500, "connection not registered");
    } else {
        hub_orphan_watch(conn_id);
        rc = answer(res, ctx, chans, conn_id, own);
    }
    hub_ctx_free(ctx);
    return rc;
}

/* The socket's handshake (nginx's auth_request): parse, check the origin, recover a reliable
 * connection or verify its token, check its claims and subprotocol, run the connect webhook,
 * register, answer. */
static int handshake(fn_req *req, fn_res *res, hub_loop_after *after)
{
    (void)after;
    hub_ctx ctx = {0};
    const char *conn_id = parse_request(req, res, &ctx);
    if (!conn_id) return 0;
    const hub_settings *hs = hub_settings_get(ctx.hub);
    if (check_origin(req, res, hs, ctx.hub) != 0) return 0;
    char rec_id[HUB_MAX_TOKEN + 1];
    if (fn_query(req, "awps_connection_id", rec_id, sizeof rec_id))
        return recover(req, res, &ctx, rec_id, conn_id);
    wps_jwt_claims tok;
    if (verify_token(req, res, ctx.hub, conn_id, &tok) != 0) return 0;
    const char *offers = fn_header(req, "Sec-WebSocket-Protocol");
    int status = check_protocol_and_claims(&tok, offers, &ctx);
    if (!status) status = run_connect_webhook(req, hs, &ctx, conn_id, tok.claims, offers);
    wps_jwt_claims_free(&tok);
    if (status) {
        hub_ctx_free(&ctx);
        deny(res, status, "handshake rejected");
        return 0;
    }
    return register_and_answer(res, &ctx, conn_id);
}

/* Counts every handshake: accepted by hub and protocol, refused by hub and reason
 * (docs/observability.md). */
static int handshake_counted(fn_req *req, fn_res *res, hub_loop_after *after)
{
    refusal = NULL;
    accepted_protocol[0] = '\0';
    int rc = handshake(req, res, after);
    const char *raw = fn_param(req, "HUB_NAME");
    char dec[HUB_MAX_HUB_NAME * 3 + 1], hub[HUB_MAX_HUB_NAME + 1] = "";
    if (raw) fn_url_decode(dec, sizeof dec, raw, strlen(raw), 0);
    if (raw && hub_name_valid(dec)) hub_name_norm(dec, hub, sizeof hub);
    char l[METRICS_MAX_LABELS];
    if (res->status == 200 && accepted_protocol[0])
        metrics_inc("chatr_hub_handshakes_accepted_total",
                    metrics_labels(l, sizeof l, "hub", hub_settings_metric_hub(hub), "protocol",
                                   accepted_protocol, NULL));
    else
        metrics_inc("chatr_hub_handshakes_refused_total",
                    metrics_labels(l, sizeof l, "hub", hub_settings_metric_hub(hub), "reason",
                                   refusal ? refusal : "error", NULL));
    return rc;
}

int main(void)
{
    return hub_loop_run("hub-connect", handshake_counted, NULL);
}
