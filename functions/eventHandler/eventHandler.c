/* eventHandler: the hub's upstream webhook (CloudEvents over HTTP). Verifies that a request
 * comes from our hub (ce-signature), answers the abuse-protection OPTIONS, and runs the chat
 * events of the original app's contract (CHATR-CONTRACT.md) with our stricter rules (DESIGN §4):
 * identity from ce-userId only, chats joined through the server, owners alone delete. */
#include "events.h"

#include <stdlib.h>
#include <string.h>
#include "wps_sig.h"

#define EVENT_NAME_MAX 128

static const char *access_key(void)
{
    static char key[256];
    if (key[0]) return key;
    const char *cs = getenv("WEBPUBSUB_CONNECTION_STRING");
    const char *p = cs ? strcasestr(cs, "AccessKey=") : NULL;
    if (!p) return NULL;
    p += strlen("AccessKey=");
    size_t n = strcspn(p, ";");
    if (n == 0 || n >= sizeof key) return NULL;
    memcpy(key, p, n);
    key[n] = '\0';
    return key;
}

/* Abuse protection (PROTOCOL §3.2): allow only the hub we are configured for. */
static int validate(fn_req *req, fn_res *res)
{
    const char *origin = fn_header(req, "WebHook-Request-Origin");
    const char *cs = getenv("WEBPUBSUB_CONNECTION_STRING");
    if (!origin || !*origin) {
        fn_error(res, 400, "WebHook-Request-Origin is required");
        return 0;
    }
    /* The hub's host[:port] appears in our connection string's Endpoint. */
    const char *ep = cs ? strcasestr(cs, "Endpoint=") : NULL;
    const char *host = ep ? strstr(ep, "://") : NULL;
    size_t hlen = host ? strcspn(host + 3, ";/") : 0;
    if (!host || strlen(origin) != hlen || strncasecmp(origin, host + 3, hlen) != 0) {
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

static const struct {
    const char *name;
    int (*run)(ev_ctx *);
} events[] = {
    {"connected", ev_connected},
    {"disconnected", ev_disconnected},
    {"userConnected", ev_user_connected},
    {"createChat", ev_create_chat},
    {"joinChat", ev_join_chat},
    {"leaveChat", ev_leave_chat},
    {"createPrivateChat", ev_create_private_chat},
    {"deleteChat", ev_delete_chat},
    {"userEnterIdle", ev_idle},
    {"userExitIdle", ev_idle},
    {"chatCommand", ev_chat_command},
};

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
    const char *key = access_key();
    const char *conn = fn_header(req, "ce-connectionId");
    const char *sig = fn_header(req, "ce-signature");
    if (!key || hub_init() != 0) {
        fn_error(res, 500, "WEBPUBSUB_CONNECTION_STRING is not usable");
        return 0;
    }
    if (!conn || !*conn || !sig || !wps_sig_check(key, conn, sig)) {
        fn_error(res, 401, "bad or missing ce-signature");
        return 0;
    }
    const char *name = fn_header(req, "ce-eventName"), *type = fn_header(req, "ce-type");
    if (name && type && strcmp(name, "echo") == 0 && strcmp(type, "azure.webpubsub.user.echo") == 0)
        return echo(req, res);
    const char *hub = fn_header(req, "ce-hub");
    const char *want = getenv("WEBPUBSUB_HUB");
    if (!hub || strcasecmp(hub, want && *want ? want : "chat") != 0) {
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
    for (size_t i = 0; i < sizeof events / sizeof events[0]; i++)
        if (strcmp(events[i].name, ev.event) == 0) return events[i].run(&ev);
    fn_error(res, 400, "unknown event %s", ev.event);
    return 0;
}

int main(void)
{
    return fn_run("eventHandler", event_handler);
}
