/* eventHandler: the hub's upstream webhook (CloudEvents over HTTP). Answers the
 * abuse-protection OPTIONS and runs the chat events of the original app's contract
 * (docs/protocols.md#chatrs-own-contract) with our stricter rules
 * (docs/protocols.md#our-stricter-rules): identity from ce-userId only, chats joined through the
 * server, owners alone delete.
 *
 * Who may call it, in depth (docs/webhooks.md): only nginx's internal unix-socket server routes
 * here (function.json "internal"; the public port answers 403); ce-connectionId must have the
 * hub's format, which a token's header.payload never has; ce-signature must be the hub's; and
 * the connection must be a live connection of ce-userId on this hub. */
#include "events.h"

#include <stdlib.h>
#include <string.h>
#include "fn_wps.h"
#include "hub.h"
#include "hub_store.h"
#include "wps_sig.h"

#define EVENT_NAME_MAX 128
#define CONN_ID_LEN 32 /* the hub's connection ids: nginx's $request_id, lowercase hex */

/* Is origin (host[:port]) the host[:port] of our endpoint (normalised by wps_connstr_parse, so
 * without the scheme's default port, which the hub's origin may still name)? */
static int origin_is_endpoint(const char *origin, const char *endpoint)
{
    const char *host = strstr(endpoint, "://");
    if (!host) return 0;
    host += 3;
    size_t n = strcspn(host, "/"), olen = strlen(origin);
    if (olen == n && strncasecmp(origin, host, n) == 0) return 1;
    const char *port = strncmp(endpoint, "https:", 6) == 0 ? ":443" : ":80";
    const char *colon = memrchr(host, ':', n), *bracket = memrchr(host, ']', n);
    if (colon && (!bracket || colon > bracket)) return 0; /* the endpoint names its port */
    return olen == n + strlen(port) && strncasecmp(origin, host, n) == 0 &&
           strcasecmp(origin + n, port) == 0;
}

/* Abuse protection (docs/protocols.md#abuse-protection): allow only the hub we are configured
 * for. */
static int validate(fn_req *req, fn_res *res)
{
    const char *origin = fn_header(req, "WebHook-Request-Origin");
    if (!origin || !*origin) {
        fn_error(res, 400, "WebHook-Request-Origin is required");
        return 0;
    }
    /* The hub's host[:port] is our connection string's Endpoint's. */
    const wps_connstr *cs = fn_wps_connstr();
    if (!cs || !origin_is_endpoint(origin, cs->endpoint)) {
        fn_error(res, 403, "origin %s is not our hub", origin);
        return 0;
    }
    fn_set_header(res, "WebHook-Allowed-Origin", "%s", origin);
    fn_text(res, 200, NULL, "", 0);
    return 0;
}

int ev_connected(ev_ctx *ev);
int ev_disconnected(ev_ctx *ev);
int ev_user_connected(ev_ctx *ev);
int ev_create_chat(ev_ctx *ev);
int ev_join_chat(ev_ctx *ev);
int ev_leave_chat(ev_ctx *ev);
int ev_create_private_chat(ev_ctx *ev);
int ev_delete_chat(ev_ctx *ev);
int ev_idle(ev_ctx *ev);
int ev_chat_command(ev_ctx *ev); /* bot.c */
int ev_react(ev_ctx *ev);        /* chat_state.c */
int ev_mark_read(ev_ctx *ev);
/* message_events.c */
int ev_edit_message(ev_ctx *ev);
int ev_delete_message(ev_ctx *ev);
int ev_mention(ev_ctx *ev); /* mentions.c */

static const struct {
    const char *name;
    int system; /* a system event (ce-type azure.webpubsub.sys.*) */
    int (*run)(ev_ctx *);
} events[] = {
    {"connected", 1, ev_connected},
    {"disconnected", 1, ev_disconnected},
    {"userConnected", 0, ev_user_connected},
    {"createChat", 0, ev_create_chat},
    {"joinChat", 0, ev_join_chat},
    {"leaveChat", 0, ev_leave_chat},
    {"createPrivateChat", 0, ev_create_private_chat},
    {"deleteChat", 0, ev_delete_chat},
    {"userEnterIdle", 0, ev_idle},
    {"userExitIdle", 0, ev_idle},
    {"chatCommand", 0, ev_chat_command},
    {"react", 0, ev_react},
    {"markRead", 0, ev_mark_read},
    {"editMessage", 0, ev_edit_message},
    {"deleteMessage", 0, ev_delete_message},
    {"mention", 0, ev_mention},
};

/* 32 lowercase hex digits, as nginx makes $request_id (a recovered reliable connection keeps
 * the id it was given). Anything else, above all a token's "header.payload", is refused before
 * any signature is computed. */
static int conn_id_valid(const char *id)
{
    return strnlen(id, CONN_ID_LEN + 1) == CONN_ID_LEN &&
           strspn(id, "0123456789abcdef") == CONN_ID_LEN;
}

/* The connection must be a live connection of ce-userId on this hub. `disconnected` may also
 * name a connection that is gone: the hub removes the row before it fires that event (DELETE ...
 * RETURNING decides who fires it, exactly once), and what the event does depends only on the
 * user's live connections (ev_disconnected), never on the event's word, so it can only make the
 * user's state true. Returns 1 when the event may run; otherwise answers and returns 0. */
static int connection_belongs(ev_ctx *ev, const char *hub)
{
    char user[HUB_MAX_USER_ID + 1], conn_hub[HUB_MAX_HUB_NAME + 1];
    int anonymous = 1;
    int found = hub_store_owner(ev->connection_id, user, sizeof user, &anonymous, conn_hub,
                                sizeof conn_hub);
    if (found < 0) {
        fn_error(ev->res, 500, "database unavailable");
        return 0;
    }
    int mine =
        found && !anonymous && strcmp(user, ev->user_id) == 0 && strcasecmp(conn_hub, hub) == 0;
    if (mine || (!found && strcmp(ev->event, "disconnected") == 0)) return 1;
    fn_error(ev->res, 403, "%s: connection %s is not an open connection of user %.128s", ev->event,
             ev->connection_id, ev->user_id);
    return 0;
}

/* User event `echo` (benchmarks, any hub): the same body and Content-Type back, which the hub
 * sends to the caller before the ack. No database work; the body limit is function.json's. */
static int echo(fn_req *req, fn_res *res)
{
    static const char *const types[] = {"application/json", "text/plain"};
    const char *ct = fn_header(req, "Content-Type"), *reply = "application/octet-stream";
    for (size_t i = 0; ct && i < sizeof types / sizeof types[0]; i++) {
        size_t n = strlen(types[i]);
        if (strncasecmp(ct, types[i], n) == 0 && (ct[n] == '\0' || ct[n] == ';')) reply = types[i];
    }
    fn_text(res, 200, reply, req->body, req->body_len);
    return 0;
}

static int event_handler(fn_req *req, fn_res *res)
{
    if (strcmp(req->method, "OPTIONS") == 0) return validate(req, res);
    const wps_connstr *cs = fn_wps_connstr();
    const char *key = cs ? cs->access_key : NULL;
    const char *conn = fn_header(req, "ce-connectionId");
    const char *sig = fn_header(req, "ce-signature");
    if (!key || ev_hub_init() != 0) {
        fn_error(res, 500, "WEBPUBSUB_CONNECTION_STRING is not usable");
        return 0;
    }
    if (!conn || !conn_id_valid(conn)) {
        fn_error(res, 400, "ce-connectionId is not a connection id of this hub");
        return 0;
    }
    if (!sig || !wps_sig_check(key, conn, sig)) {
        fn_error(res, 401, "bad or missing ce-signature");
        return 0;
    }
    const char *name = fn_header(req, "ce-eventName"), *type = fn_header(req, "ce-type");
    if (name && type && strcmp(name, "echo") == 0 && strcmp(type, "azure.webpubsub.user.echo") == 0)
        return echo(req, res);
    const char *hub = fn_header(req, "ce-hub");
    if (!hub || strcasecmp(hub, fn_wps_hub()) != 0) {
        fn_error(res, 400, "events for hub %s are not handled here", hub ? hub : "(none)");
        return 0;
    }
    ev_ctx ev = {.req = req,
                 .res = res,
                 .user_id = fn_header(req, "ce-userId"),
                 .connection_id = conn,
                 .event = fn_header(req, "ce-eventName")};
    if (!ev.event || strlen(ev.event) > EVENT_NAME_MAX) {
        fn_error(res, 400, "missing ce-eventName");
        return 0;
    }
    if (!ev.user_id || !*ev.user_id) {
        /* Chatr's clients always carry a user; anonymous connections have nothing to do here. */
        fn_error(res, 403, "event %s needs a connection with a user id", ev.event);
        return 0;
    }
    for (size_t i = 0; i < sizeof events / sizeof events[0]; i++) {
        if (strcmp(events[i].name, ev.event) != 0) continue;
        /* a client's user event named like a system event is not one */
        const char *prefix = events[i].system ? "azure.webpubsub.sys." : "azure.webpubsub.user.";
        size_t pl = strlen(prefix);
        if (!type || strncmp(type, prefix, pl) != 0 || strcmp(type + pl, ev.event) != 0) {
            fn_error(res, 400, "event %s needs ce-type %s%s", ev.event, prefix, ev.event);
            return 0;
        }
        if (!connection_belongs(&ev, hub)) return 0;
        return events[i].run(&ev);
    }
    fn_error(res, 400, "unknown event %s", ev.event);
    return 0;
}

int main(void)
{
    return fn_run("eventHandler", event_handler);
}
