/* hub-router: every frame a client socket sends (nchan_publisher_upstream_request).
 * Speaks json.webpubsub.azure.v1 (docs/protocols.md#subprotocol-frames): joinGroup, leaveGroup,
 * sendToGroup, event, ping, sequenceAck; simple clients' frames become `message` events. nchan
 * publishes our 200 body to the socket's own channel (acks, pongs) and drops a 204
 * (docs/nchan.md#upstream-status); anything else closes the socket with 1008, so this program
 * answers 200 or 204 only, except to a refused recovery (hub_reliable.c), which it closes that way
 * on purpose. The per-connection rate (HUB_RATE_PER_SEC) is kept in nginx, by the frame gate
 * (docs/frame-gate.md): frames over it never reach this program. */
#include "hub.h"
#include "hub_chan.h"
#include "hub_close.h"
#include "hub_ctx.h"
#include "hub_env.h"
#include "hub_loop.h"
#include "hub_name.h"
#include "hub_nchan.h"
#include "hub_payload.h"
#include "hub_reliable.h"
#include "hub_role.h"
#include "hub_send.h"
#include "hub_settings.h"
#include "hub_store.h"
#include "hub_webhook.h"
#include "fn.h"
#include "metrics.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdarg.h>
#include <strings.h>
#include <json-c/json.h>

/* ---- replies ---------------------------------------------------------------------------- */

typedef struct frame_ctx {
    const char *conn_id;
    hub_ctx c;
    int has_ack;
    uint64_t ack_id;
    int claimed; /* the ackId is recorded (pubsub.acks): forget it again if the operation fails */
} frame_ctx;

/* ---- ackId dedupe (docs/protocols.md#ack-ids; schema/004_pubsub_acks.sql) ----------------
 * A socket's frames reach the router one at a time (nchan serialises its hooks), so claiming
 * the ackId before the operation and releasing it on failure cannot race with a repeat. */

/* 1: first time (claimed), 0: a repeat of an ackId that succeeded, -1: database error. */
static int ack_claim(frame_ctx *f)
{
    int fresh = hub_store_ack_claim(f->conn_id, f->ack_id);
    f->claimed = fresh == 1;
    return fresh;
}

static void ack_release(const frame_ctx *f)
{
    hub_store_ack_forget(f->conn_id, f->ack_id);
}

static void reply(fn_res *res, char *body, size_t len)
{
    if (!body) {
        fn_no_content(res);
        return;
    }
    res->status = 200;
    res->content_type = "application/json";
    res->body = body;
    res->body_len = len;
}

static void ack(fn_res *res, const frame_ctx *f, const char *err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void ack(fn_res *res, const frame_ctx *f, const char *err, const char *fmt, ...)
{
    if (!f->has_ack) {
        fn_no_content(res);
        return;
    }
    char msg[512] = "";
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
    }
    if (err && f->claimed) ack_release(f); /* failed operations are not remembered */
    size_t len = 0;
    char l[METRICS_MAX_LABELS];
    metrics_inc("chatr_hub_acks_total",
                metrics_labels(l, sizeof l, "hub", hub_settings_metric_hub(f->c.hub), "error",
                               err ? err : "none", NULL));
    char *body = hub_env_ack(f->ack_id, err, err ? msg : NULL, &len);
    reply(res, body, len);
}

/* A protocol violation: an error ack when the frame has an ackId, else close with a reason. */
static void violation(fn_res *res, const frame_ctx *f, const char *fmt, const char *detail)
{
    char msg[512];
    snprintf(msg, sizeof msg, fmt, detail ? detail : "");
    if (f->has_ack) {
        ack(res, f, "BadRequest", "%s", msg);
        return;
    }
    fn_log("closing %s: %s", f->conn_id, msg);
    hub_close_connection(f->conn_id, f->c.protocol, msg);
    fn_no_content(res);
}

static const char *get_str(json_object *o, const char *key)
{
    json_object *v;
    if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
        return NULL;
    return json_object_get_string(v);
}

/* ---- operations ------------------------------------------------------------------------- */

static int allowed(const frame_ctx *f, const char *kind, const char *group)
{
    json_object *roles = hub_store_roles(f->conn_id);
    int ok = roles && hub_role_allow(roles, kind, group);
    json_object_put(roles);
    return ok;
}

static void join_leave(fn_res *res, const frame_ctx *f, json_object *msg, int join)
{
    const char *group = get_str(msg, "group");
    if (!hub_name_group_valid(group)) {
        violation(res, f, "invalid group name%s", NULL);
        return;
    }
    if (!allowed(f, "joinLeaveGroup", group)) {
        ack(res, f, "Forbidden", "no permission to %s group %s", join ? "join" : "leave", group);
        return;
    }
    enum hub_store_rc rc =
        join ? hub_store_join(f->c.hub, group, f->conn_id, HUB_MAX_GROUPS_PER_CONN)
             : hub_store_leave(f->c.hub, group, f->conn_id);
    if (rc == HUB_STORE_LIMIT) {
        fn_log("connection %s: over %d groups", f->conn_id, HUB_MAX_GROUPS_PER_CONN);
        ack(res, f, "BadRequest", "a connection may join at most %d groups",
            HUB_MAX_GROUPS_PER_CONN);
    } else if (rc != HUB_STORE_OK) {
        ack(res, f, "InternalServerError", "membership not changed");
    } else {
        ack(res, f, NULL, NULL);
    }
}

/* The frame's dataType and data as a payload: 0, or -1 when they do not fit (answered as a
 * protocol violation). */
static int frame_payload(fn_res *res, const frame_ctx *f, json_object *msg, hub_payload *p)
{
    enum hub_payload_dt dt;
    json_object *data = NULL;
    if (hub_payload_dt_parse(get_str(msg, "dataType"), &dt) != 0) {
        violation(res, f, "unknown dataType%s", NULL);
        return -1;
    }
    json_object_object_get_ex(msg, "data", &data);
    if (hub_payload_from_json(p, dt, data) != 0) {
        violation(res, f, "data does not match dataType %s", hub_payload_dt_name(dt));
        return -1;
    }
    return 0;
}

static void send_to_group(fn_res *res, const frame_ctx *f, json_object *msg)
{
    const char *group = get_str(msg, "group");
    if (!hub_name_group_valid(group)) {
        violation(res, f, "invalid group name%s", NULL);
        return;
    }
    json_object *v;
    hub_payload p;
    if (frame_payload(res, f, msg, &p) != 0) return;
    /* "persist": false (our extension): delivered, never stored (typing indicators) */
    int persist = !(json_object_object_get_ex(msg, "persist", &v) &&
                    json_object_is_type(v, json_type_boolean) && !json_object_get_boolean(v));
    hub_send_msg m = {.hub = f->c.hub,
                      .group = group,
                      .p = &p,
                      .from_user = f->c.user,
                      .conn_id = f->conn_id,
                      .has_ack = f->has_ack,
                      .ack_id = f->ack_id,
                      .exclude_conn =
                          json_object_object_get_ex(msg, "noEcho", &v) && json_object_get_boolean(v)
                              ? f->conn_id
                              : NULL,
                      .persist = persist};
    char why[256];
    enum hub_send_rc rc = hub_send_group(&m, why, sizeof why);
    hub_payload_free(&p);
    switch (rc) {
    case HUB_SEND_OK:
        ack(res, f, NULL, NULL);
        break;
    case HUB_SEND_FORBIDDEN:
        ack(res, f, "Forbidden", "no permission to send to group %s", group);
        break;
    case HUB_SEND_REJECTED:
        fn_log("connection %s: message to group %s rejected by moderation", f->conn_id, group);
        ack(res, f, "Forbidden", "%s", why);
        break;
    case HUB_SEND_DUPLICATE:
        ack(res, f, "Duplicate", "Message with ack-id: %" PRIu64 " has been processed", f->ack_id);
        break;
    case HUB_SEND_GONE:
        ack(res, f, "InternalServerError", "the connection is closing");
        break;
    case HUB_SEND_QUOTA:
        ack(res, f, "Forbidden", "%s", why);
        break;
    default:
        fn_log("connection %s: message to group %s failed: %s", f->conn_id, group, why);
        ack(res, f, "InternalServerError", "%s", why);
    }
}

/* The upstream reply to a user event (docs/protocols.md#user-events): sent to this connection
 * before the ack. When the frame has no ack to follow and the connection is a plain JSON one,
 * res is given and the reply becomes this frame's 200 body, which nchan publishes to the
 * socket's own channel (docs/performance.md#the-event-reply-in-the-answer): one publish less. */
static int send_event_reply(const frame_ctx *f, const hub_webhook_reply *rep, fn_res *res)
{
    if (rep->len == 0) return 0;
    enum hub_payload_dt dt;
    if (!rep->ctype[0])
        dt = HUB_DT_BINARY;
    else if (hub_payload_ctype_dt(rep->ctype, &dt) != 0)
        return -1;
    hub_payload p;
    if (hub_payload_from_bytes(&p, dt, rep->body, rep->len) != 0) return -1;
    char own[HUB_MAX_CHANNEL];
    hub_chan_conn(f->conn_id, own);
    int rc;
    if (hub_ctx_json(&f->c)) {
        size_t len;
        char *env = hub_env_server(&p, &len);
        if (!env) {
            rc = -1;
        } else if (hub_reliable_protocol(f->c.protocol)) {
            rc = hub_reliable_send(&f->conn_id, 1, env, len); /* sequenced and kept for replay */
        } else if (res) {
            reply(res, env, len); /* the frame's answer (owns env now) */
            env = NULL;
            rc = 0;
        } else {
            rc = hub_nchan_publish1(own, env, len, "application/json");
        }
        free(env);
    } else {
        rc = hub_nchan_publish1(own, p.raw, p.raw_len, hub_payload_ctype(&p));
    }
    hub_payload_free(&p);
    return rc;
}

/* Calls the event handler; returns 0 when it succeeded (reply sent, or, with res, put in res
 * as the frame's answer: see send_event_reply). */
static int call_event(const frame_ctx *f, const char *event, const hub_payload *p, char *err,
                      size_t errlen, fn_res *res)
{
    const hub_settings *hs = hub_settings_get(f->c.hub);
    char url[2048];
    if (!hub_settings_handler(hs, f->c.hub, event, 0, url, sizeof url)) {
        snprintf(err, errlen, "no event handler for event %s", event);
        return -1;
    }
    hub_webhook_event ev = {.hub = f->c.hub,
                            .conn_id = f->conn_id,
                            .user = f->c.user,
                            .event = event,
                            .system = 0,
                            .protocol = f->c.protocol,
                            .state = f->c.state,
                            .ctype = hub_payload_ctype(p),
                            .body = p->raw,
                            .body_len = p->raw_len};
    hub_webhook_reply rep;
    if (hub_webhook(url, &ev, HUB_WEBHOOK_TIMEOUT_MS, &rep) != 0) {
        snprintf(err, errlen, "event handler unreachable");
        return -1;
    }
    int rc = 0;
    if (rep.status < 200 || rep.status >= 300) {
        snprintf(err, errlen, "event handler answered %ld", rep.status);
        rc = -1;
    } else if (send_event_reply(f, &rep, res) != 0) {
        snprintf(err, errlen, "event handler reply has an unsupported content type");
        rc = -1;
    } else if (rep.has_state && rep.state && strlen(rep.state) <= HUB_MAX_STATE) {
        hub_store_set_state(f->conn_id, rep.state);
    }
    hub_webhook_reply_free(&rep);
    return rc;
}

static void user_event(fn_res *res, const frame_ctx *f, json_object *msg)
{
    const char *event = get_str(msg, "event");
    if (!hub_name_event_valid(event)) {
        violation(res, f, "invalid event name%s", NULL);
        return;
    }
    hub_payload p;
    if (frame_payload(res, f, msg, &p) != 0) return;
    char err[256];
    /* without an ackId nothing follows the reply: it may be this frame's answer */
    int rc = call_event(f, event, &p, err, sizeof err, f->has_ack ? NULL : res);
    hub_payload_free(&p);
    if (rc == 0) {
        if (res->status == 0) ack(res, f, NULL, NULL); /* else the reply is the answer */
    } else if (f->has_ack) {
        fn_log("event %s of %s failed: %s", event, f->conn_id, err);
        ack(res, f, "InternalServerError", "%s", err);
    } else {
        fn_log("event %s of %s failed: %s", event, f->conn_id, err);
        hub_close_connection(f->conn_id, f->c.protocol, err);
        fn_no_content(res);
    }
}

/* sequenceAck (reliable subprotocol): everything up to sequenceId is acknowledged. Ignored on
 * other subprotocols. */
static void sequence_ack(fn_res *res, const frame_ctx *f, json_object *msg)
{
    json_object *v;
    if (!hub_reliable_protocol(f->c.protocol)) {
        fn_no_content(res);
        return;
    }
    if (!json_object_object_get_ex(msg, "sequenceId", &v) ||
        !json_object_is_type(v, json_type_int) || json_object_get_int64(v) < 0) {
        violation(res, f, "sequenceAck needs an unsigned integer sequenceId%s", NULL);
        return;
    }
    if (hub_reliable_ack(f->conn_id, json_object_get_uint64(v)) != 0)
        fn_log("connection %s: sequenceAck not recorded", f->conn_id);
    fn_no_content(res);
}

/* A simple client's frame: the `message` event with the raw bytes. */
static void simple_frame(fn_res *res, const frame_ctx *f, const fn_req *req)
{
    hub_payload p = {0};
    p.dt = fn_utf8_valid(req->body, req->body_len) ? HUB_DT_TEXT : HUB_DT_BINARY;
    p.raw = req->body;
    p.raw_len = req->body_len;
    char err[256];
    if (call_event(f, "message", &p, err, sizeof err, NULL) != 0) {
        fn_log("message of simple client %s failed: %s", f->conn_id, err);
        hub_close_connection(f->conn_id, "", err);
    }
    fn_no_content(res);
}

static int handle(fn_req *req, fn_res *res, hub_loop_after *after)
{
    (void)after;
    frame_ctx f = {0};
    const char *refused = fn_param(req, "HUB_REFUSED");
    if (refused && *refused) { /* refused recovery: 403 -> 1008 (docs/nchan.md#upstream-status) */
        fn_error(res, 403, "recovery refused");
        return 0;
    }
    f.conn_id = fn_param(req, "REQUEST_ID");
    if (!f.conn_id || strlen(f.conn_id) > HUB_MAX_CONN_ID ||
        hub_ctx_decode(fn_param(req, "HUB_CTX"), &f.c) != 0) {
        fn_log("frame without connection context");
        fn_no_content(res);
        return 0;
    }
    if (req->body_len > HUB_MAX_FRAME) {
        fn_log("closing %s: frame of %zu bytes over the %d limit", f.conn_id, req->body_len,
               HUB_MAX_FRAME);
        hub_close_connection(f.conn_id, f.c.protocol, "Message too large.");
        fn_no_content(res);
        goto out;
    }
    if (!hub_ctx_json(&f.c)) {
        simple_frame(res, &f, req);
        goto out;
    }
    json_tokener *tok = json_tokener_new_ex(HUB_JSON_DEPTH);
    json_object *msg = json_tokener_parse_ex(tok, req->body, (int)req->body_len);
    int parsed = json_tokener_get_error(tok) == json_tokener_success &&
                 (size_t)json_tokener_get_parse_end(tok) == req->body_len;
    json_tokener_free(tok);
    if (!parsed || !msg || !json_object_is_type(msg, json_type_object)) {
        json_object_put(msg);
        violation(res, &f, "the frame is not a JSON object%s", NULL);
        goto out;
    }
    json_object *v;
    if (json_object_object_get_ex(msg, "ackId", &v) && v) {
        if (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) < 0) {
            json_object_put(msg);
            violation(res, &f, "ackId must be an unsigned integer%s", NULL);
            goto out;
        }
        f.has_ack = 1;
        f.ack_id = json_object_get_uint64(v);
    }
    const char *type = get_str(msg, "type");
    /* sendToGroup claims its ackId in the same database round trip as the rest (hub_send.c) */
    int acked_op = type && f.has_ack &&
                   (strcmp(type, "joinGroup") == 0 || strcmp(type, "leaveGroup") == 0 ||
                    strcmp(type, "event") == 0);
    if (acked_op && ack_claim(&f) == 0)
        ack(res, &f, "Duplicate", "Message with ack-id: %" PRIu64 " has been processed", f.ack_id);
    else if (!type)
        violation(res, &f, "the frame has no type%s", NULL);
    else if (strcmp(type, "ping") == 0)
        reply(res, strdup("{\"type\":\"pong\"}"), 15);
    else if (strcmp(type, "sequenceAck") == 0)
        sequence_ack(res, &f, msg);
    else if (strcmp(type, "joinGroup") == 0)
        join_leave(res, &f, msg, 1);
    else if (strcmp(type, "leaveGroup") == 0)
        join_leave(res, &f, msg, 0);
    else if (strcmp(type, "sendToGroup") == 0)
        send_to_group(res, &f, msg);
    else if (strcmp(type, "event") == 0)
        user_event(res, &f, msg);
    else
        violation(res, &f, "unknown message type %s", type);
    json_object_put(msg);
out:
    hub_ctx_free(&f.c);
    return 0;
}

int main(void)
{
    return hub_loop_run("hub-router", handle, NULL);
}
