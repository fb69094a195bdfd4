/* hub.h: the Web PubSub emulator's shared code (gateway/hub), used by the hub programs
 * hub-connect (handshake), hub-events (socket opened/closed), hub-router (client frames) and
 * hub-rest (REST data plane). See docs/architecture.md, docs/nchan.md and docs/protocols.md.
 *
 * Channels (nchan): every socket subscribes to its hub's broadcast channel, its user's channel
 * and its own connection channel. Simple (no-subprotocol) sockets and JSON sockets get
 * different broadcast/user channels, because they receive different bytes for one message:
 *   a<k>.<hubkey>            broadcast, k = j (JSON subprotocol) or s (simple)
 *   u<k>.<hubkey>.<userkey>  all connections of one user
 *   c.<socketkey>            one socket (its nginx $request_id, hashed)
 * hubkey/userkey/socketkey are short keyed hashes (hub_util.c, docs/liveness.md): they never
 * carry the channel-list delimiter, and only the hub programs can compute them.
 *
 * Reliable sockets (json.reliable.webpubsub.azure.v1, hub_reliable.c) subscribe to their own
 * channel only: every data message to them is sequenced and stored, then published there. A
 * connection id is the $request_id of the socket that opened it; a recovering socket takes the
 * logical connection over, so the hooks get REQUEST_ID = the connection id (X-Hub-Conn of the
 * handshake) and HUB_SOCKET = the socket's own $request_id (its channel c.<socket>). */
#ifndef CHATR_HUB_H
#define CHATR_HUB_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <json-c/json.h>

#include "fn.h"
#include "wps_jwt.h"

/* Limits (docs/protocols.md#limits; every network input is bounded). Over a limit: error ack or
 * close. */
#define HUB_MAX_FRAME (1024 * 1024) /* one WebSocket message, as the service */
#define HUB_MAX_HUB_NAME 128        /* ^[A-Za-z][A-Za-z0-9_`,.[\]]{0,127}$ */
#define HUB_MAX_GROUP_NAME 1024     /* 1-1024 chars, not whitespace only */
#define HUB_MAX_USER_ID 1024
#define HUB_MAX_CONN_ID 64
#define HUB_MAX_EVENT_NAME 128      /* ^[a-z][a-z0-9_.-]{0,127}$, case-insensitive */
#define HUB_MAX_GROUPS_PER_CONN 256 /* joined groups per connection */
#define HUB_MAX_ROLES 64
#define HUB_MAX_ROLE_LEN 1100
#define HUB_MAX_CONNS_PER_USER 64     /* live connections of one user in one hub */
#define HUB_MAX_TOKEN WPS_JWT_MAX_LEN /* access/bearer token length */
#define HUB_MAX_STATE 4096            /* ce-connectionState */
#define HUB_RATE_PER_SEC 200          /* client messages per second per connection ... */
/* HUB_RATE_BURST: the token bucket lives in nginx, shared by its workers (gateway/nginx/module,
 * the frame gate, whose build reads both numbers from these two lines). */
#define HUB_RATE_BURST 2000          /* ... with this burst */
#define HUB_CHANNELS_PER_PUBLISH 255 /* nchan's limit: docs/nchan.md#multi-channel-limits */
#define HUB_WEBHOOK_TIMEOUT_MS 30000 /* blocking webhooks (connect, user events) */
#define HUB_NOTIFY_TIMEOUT_MS 5000   /* connected / disconnected notifications */
#define HUB_MAX_WEBHOOK_REPLY (16 * 1024 * 1024)
#define HUB_LIST_PAGE_MAX 200
#define HUB_HISTORY_PAGE 50       /* history messages per page by default ... */
#define HUB_HISTORY_PAGE_MAX 200  /* ... and at most (larger limits are clamped) */
#define HUB_ACK_WINDOW 1024       /* ackIds remembered per connection (schema/004) */
#define HUB_ORPHAN_CHECKS 7       /* looks for a socket after its last hook (1 s ... 30 s) */
#define HUB_ORPHAN_WATCH_MAX 4096 /* connections watched per process (hub_orphan.c) */
/* History quota per sender and hub, unless hubs.json's "historyQuota" says otherwise
 * (docs/storage.md, "Quotas"): bytes of stored group messages per fixed window. */
#define HUB_HISTORY_QUOTA_BYTES (8L * 1024 * 1024)
#define HUB_HISTORY_QUOTA_WINDOW_S 3600

/* Reliable subprotocol (docs/protocols.md#the-reliable-subprotocol, schema/006_reliable.sql). */
#define HUB_RELIABLE_MAX_MSGS 1000 /* unacknowledged messages per connection ... */
#define HUB_RELIABLE_MAX_BYTES                                                                     \
    (16 * 1024 * 1024) /* ... and bytes; over either: closed for good                              \
                        */
#define HUB_RELIABLE_RETENTION_MS                                                                  \
    30000 /* a dropped connection waits this long for recovery                                     \
           * (CHATR_RELIABLE_RETENTION_MS overrides, for tests) */
#define HUB_RELIABLE_TOKEN_TTL (7 * 24 * 3600) /* reconnectionToken lifetime, seconds */
#define HUB_RELIABLE_EXPIRE_EVERY_MS 1000      /* retention expiry runs at least this often */
#define HUB_RELIABLE_REFUSED_CLOSE_MS 10000    /* a refused recovery that sends nothing closes */

#define HUB_JSON_DEPTH 64 /* nesting of a frame's JSON (json-c's default is 32) */

#define HUB_PROTO_JSON "json.webpubsub.azure.v1"
#define HUB_PROTO_RELIABLE "json.reliable.webpubsub.azure.v1"

/* ---- hub_util.c: names, channels, the connection context ------------------------------- */

int hub_name_valid(const char *hub);
int hub_group_valid(const char *group);
int hub_event_valid(const char *event);
/* Lower-cases hub into out (hubs are case-insensitive). */
void hub_name_norm(const char *hub, char *out, size_t outlen);
/* Channel names; out must hold HUB_MAX_CHANNEL bytes. json: 1 for subprotocol sockets. */
#define HUB_MAX_CHANNEL 96
void hub_chan_all(const char *hub, int json, char *out);
void hub_chan_user(const char *hub, const char *user, int json, char *out);
void hub_chan_conn(const char *conn_id, char *out);
/* The names are keyed (hub_util.c, docs/liveness.md): derived from access_key. The hub programs
 * use hub_access_key() unless this was called first (unit tests). */
void hub_chan_use_key(const char *access_key);

/* What the handshake decided about one connection; travels to the hooks as $hub_ctx. */
typedef struct hub_ctx {
    char hub[HUB_MAX_HUB_NAME + 1]; /* normalised */
    char *user;                     /* NULL: anonymous */
    char protocol[40];              /* "" = simple client */
    json_object *roles;             /* array of strings (owned) */
    json_object *groups;            /* array of strings (owned) */
    char *state;                    /* ce-connectionState or NULL */
} hub_ctx;
/* Encodes as base64url(JSON); returns malloc'd string. */
char *hub_ctx_encode(const hub_ctx *c);
int hub_ctx_decode(const char *s, hub_ctx *c);
void hub_ctx_free(hub_ctx *c);
static inline int hub_ctx_json(const hub_ctx *c)
{
    return c->protocol[0] != '\0';
}

/* Permission check (docs/protocols.md#roles-and-permissions): kind "sendToGroup" or
 * "joinLeaveGroup". */
int hub_roles_allow(json_object *roles, const char *kind, const char *group);
int hub_role_pattern_match(const char *pattern, const char *s);

/* A message payload in its three shapes (docs/protocols.md#data-types). */
enum hub_dt { HUB_DT_JSON, HUB_DT_TEXT, HUB_DT_BINARY };
const char *hub_dt_name(enum hub_dt dt);
int hub_dt_parse(const char *name, enum hub_dt *dt); /* NULL name -> json */
typedef struct hub_payload {
    enum hub_dt dt;
    json_object *data; /* the envelope's "data" value (owned) */
    char *raw;         /* bytes for simple clients and webhooks (owned) */
    size_t raw_len;
} hub_payload;
/* From a client frame's data value (borrowed). Returns 0, or -1 if data does not fit dt. */
int hub_payload_from_json(hub_payload *p, enum hub_dt dt, json_object *data);
/* From raw bytes (REST body, webhook reply). Returns 0 or -1 (json that does not parse). */
int hub_payload_from_bytes(hub_payload *p, enum hub_dt dt, const char *bytes, size_t len);
void hub_payload_free(hub_payload *p);
const char *hub_payload_ctype(const hub_payload *p); /* for raw bytes */
/* Content-Type -> dataType; -1 for an unsupported type. NULL/empty -> binary. */
int hub_ctype_dt(const char *ctype, enum hub_dt *dt);

/* Envelopes (malloc'd JSON text). from_user may be NULL. */
char *hub_env_server(const hub_payload *p, size_t *len);
/* id > 0: a stored message; its "id" and "time" are added (our history extension). */
char *hub_env_group(const hub_payload *p, const char *group, const char *from_user, int with_from,
                    long long id, const char *time, size_t *len);
char *hub_env_ack(uint64_t ack_id, const char *err_name, const char *err_msg, size_t *len);
char *hub_env_connected(const char *user, const char *conn_id, size_t *len);
char *hub_env_disconnected(const char *reason, size_t *len);

/* ---- hub_send.c: delivery to connections, users, groups, the hub ------------------------ */

/* One group message, from a client socket (sendToGroup) or the REST API. The hub's settings
 * decide whether it is moderated (p is masked in place) and stored (history); a stored message
 * is in pubsub.messages before anyone receives it, and its envelope carries "id" and "time". */
typedef struct hub_group_msg {
    const char *hub; /* normalised */
    const char *group;
    hub_payload *p;
    const char *from_user; /* the envelope's fromUserId (client sends); NULL: the server */
    const char *conn_id;   /* sending connection: permission and ackId checks; NULL: REST */
    int has_ack;
    uint64_t ack_id;
    const char *exclude_conn; /* noEcho */
    char *const *excluded;    /* REST excluded connection ids */
    size_t nexcluded;
    int persist; /* 0: never stored (the sender's "persist": false) */
} hub_group_msg;
enum hub_send_rc {
    HUB_SENT = 0,
    HUB_SEND_FORBIDDEN, /* no sendToGroup permission for the group */
    HUB_SEND_DUPLICATE, /* ackId already processed */
    HUB_SEND_GONE,      /* the sending connection no longer exists */
    HUB_SEND_REJECTED,  /* moderation rejected it (reason in why) */
    HUB_SEND_FAILED,    /* database or nchan failure */
    HUB_SEND_QUOTA,     /* over the sender's history quota: nothing stored or delivered */
};
/* Sends m (stores it first when the hub keeps history). Anything but HUB_SENT: why says what
 * went wrong, for the sender's error ack or the REST answer. */
enum hub_send_rc hub_group_send(const hub_group_msg *m, char *why, size_t whylen);
/* REST sends (from:server). */
int hub_send_all(const char *hub, const hub_payload *p, char *const *excluded, size_t nexcluded);
int hub_send_user(const char *hub, const char *user, const hub_payload *p);
int hub_send_conn(const char *hub, const char *conn_id, const hub_payload *p);
/* A REST send to a group's connections delivered as from:server and never stored (our
 * ?from=server, docs/protocols.md#history): the app's live chatEvents about a chat. */
int hub_send_group_server(const char *hub, const char *group, const hub_payload *p,
                          char *const *excluded, size_t nexcluded);

/* ---- hub_reliable.c: the reliable subprotocol (docs/protocols.md#the-reliable-subprotocol) */

static inline int hub_proto_reliable(const char *protocol)
{
    return protocol && strcmp(protocol, HUB_PROTO_RELIABLE) == 0;
}
long hub_rel_retention_ms(void);
/* The reconnectionToken of a connection: HS256 JWT, aud = conn_id (malloc'd, NULL on failure). */
char *hub_rel_token(const char *conn_id);
int hub_rel_token_ok(const char *token, const char *conn_id); /* 1 valid for conn_id */
/* The `connected` system frame of a reliable connection (with a new reconnectionToken). */
char *hub_rel_connected_frame(const char *user, const char *conn_id, size_t *len);
/* Handshake of a recovery: 0 when conn_id is a live or retained reliable connection of hub
 * (ctx->user/state filled from it), -1 when it cannot be recovered. */
int hub_rel_lookup(const char *conn_id, const char *hub, hub_ctx *ctx);
/* `opened` of a recovering socket: takes the connection over (row lock held), sends `connected`
 * then every unacknowledged message in order to c.<socket>. 0, or -1 when it cannot. */
int hub_rel_takeover(const char *conn_id, const char *socket, const char *node, const char *epoch);
/* `opened` of a refused recovery: the `disconnected` frame, then a data message with sequenceId
 * 0 (every client drops it, and @azure/web-pubsub-client answers it with a sequenceAck, which
 * hub-router refuses: nchan closes the socket with 1008). Runs in hub-events, whose idle
 * hub_rel_expire closes the socket later if it never sends a frame. */
void hub_rel_refuse(const char *socket, const char *reason);
/* Sends one data envelope (JSON text without sequenceId) to reliable connections: next
 * sequenceId, stored, published to the socket holding each one. 0 or -1. */
int hub_rel_send(const char *const *conn_ids, size_t n, const char *env, size_t len);
/* The same to every reliable connection of a hub (user NULL) or of one user of it. */
int hub_rel_send_hub(const char *hub, const char *user, char *const *excluded, size_t nexcluded,
                     const char *env, size_t len);
int hub_rel_ack(const char *conn_id, uint64_t seq); /* sequenceAck: forget ids <= seq */
/* The socket `socket` of reliable connection conn_id closed. 1: the connection is kept (retention
 * starts, or another socket holds it), 0: it ends (closing for good): remove it, -1: error. */
int hub_rel_drop(const char *conn_id, const char *socket);
/* Orphan check (hub_orphan.c) of a connection whose first socket's channel has no subscriber:
 * 1 settled, 0 a later socket still holds it, -1 not a kept reliable connection (remove it). */
int hub_rel_orphan(const char *conn_id);
/* Ends reliable connections whose retention ran out: removed, `disconnected` fired once. Also
 * closes this process's refused recoveries that sent nothing (HUB_RELIABLE_REFUSED_CLOSE_MS). */
void hub_rel_expire(void);

/* ---- hub_settings.c: gateway/hubs.json --------------------------------------------------- */

typedef struct hub_settings hub_settings;
/* Settings of one hub (falls back to "default"); loaded once per process. */
const hub_settings *hub_settings_get(const char *hub);
/* The hub as a metrics label: its name when hubs.json lists it, else "other" (any client may
 * name any hub: the label set stays bounded; docs/observability.md). */
const char *hub_metric_hub(const char *hub);
/* The handler URL for an event (system: connect/connected/disconnected), or NULL. Writes the
 * resolved URL into out. */
const char *hub_settings_handler(const hub_settings *s, const char *hub, const char *event,
                                 int system, char *out, size_t outlen);
int hub_settings_origin_ok(const hub_settings *s, const char *origin);
/* "history": true — group messages are stored (schema/005_history.sql). */
int hub_settings_history(const hub_settings *s);
/* The history quota of a hub (hubs.json "historyQuota": {"bytes": n, "windowSeconds": s}, each
 * defaulting to HUB_HISTORY_QUOTA_BYTES / HUB_HISTORY_QUOTA_WINDOW_S). */
void hub_settings_quota(const hub_settings *s, long long *bytes, long *window_s);
/* "moderation": {"wordList": <path relative to hubs.json>, "action": "mask" | "reject"}: the
 * hub's word filter (loaded once per process), or NULL when the hub has none. */
struct mod_filter;
const struct mod_filter *hub_settings_filter(const char *hub, int *reject);

/* ---- hub_moderate.c: the hub's word filter (gateway/moderation) ------------------------- */

/* Filters a group message payload with the hub's word list: text and every string of JSON data
 * (binary is not text and passes). Action mask: matches become '*' in place (data and raw).
 * Returns 0 (clean or masked) or -1 (action reject and something matched: reason in why). */
int hub_moderate(const char *hub, hub_payload *p, char *why, size_t whylen);

/* ---- hub_nchan.c: publishing through nginx's internal server ----------------------------- */

/* Publishes body to every channel (batches of 255), stored like every message on a connection
 * channel: nchan 1.3.6 loses a stored message published after a live one on the same channel
 * (measured: the ack after a live group message never arrived), and the socket's own replies
 * are stored. Returns 0 or -1. */
int hub_publish(const char *const *channels, size_t n, const char *body, size_t len,
                const char *ctype);
/* Publishes to one channel and keeps the message (16 deep, 30 s): a socket's own frames from its
 * hooks (the `connected` frame is published before nchan has registered the socket). */
int hub_publish1(const char *channel, const char *body, size_t len, const char *ctype);
/* For the shared hub/user channels: not stored, so later sockets never see it. */
int hub_publish_live(const char *channel, const char *body, size_t len, const char *ctype);
/* Subscribers of one channel (0 when it does not exist), -1 when nchan cannot be asked. */
int hub_channel_subscribers(const char *channel);
/* Deletes channels: their sockets close. */
int hub_delete_channel(const char *channel);
/* nchan's own figures (nchan_stub_status on the internal socket, /.chatr/nchan) into buf:
 * "name: value" lines. Returns 0, or -1 when nginx did not answer (docs/observability.md). */
#define HUB_NCHAN_STATUS_MAX 2048
int hub_nchan_status(char *buf, size_t len);

/* hub_close.c: disconnected frame (JSON clients), reason for the webhook, then the socket
 * closes. protocol is a hint used when the connection is not registered (yet). */
int hub_close_connection(const char *conn_id, const char *protocol, const char *reason);

/* ---- hub_gone.c: a connection ended ------------------------------------------------------ */

/* The connected/disconnected notification of a connection (nothing if the hub has no handler). */
void hub_notify(const char *hub, const char *conn_id, const char *user, const char *protocol,
                const char *state, const char *event, const char *reason);
typedef struct hub_gone hub_gone;
/* Removes the connection (and its memberships). *out: what `disconnected` needs, or NULL when the
 * row was already gone (someone else notifies). Returns 0, or -1 on a database error. */
int hub_conn_remove(const char *conn_id, hub_gone **out);
/* Fires `disconnected` for a removed connection and frees g. */
void hub_gone_notify(hub_gone *g);

/* ---- hub_orphan.c: sockets that closed while one of their hooks was in flight ------------- */

/* Watch a connection that just had a hook: a second later, and then up to HUB_ORPHAN_CHECKS
 * times over 30 s, if its socket is gone but its row is not (nchan dropped the `closed` hook),
 * remove it and fire `disconnected`. */
void hub_orphan_watch(const char *conn_id);
void hub_orphan_tick(void);    /* checks what is due; cheap when nothing is */
long hub_orphan_next_ms(void); /* ms until something is due, -1 when nothing is watched */

/* ---- hub_sweep.c: the node's sweeps (docs/liveness.md) ----------------------------------- */

#define HUB_SWEEP_EVERY_MS                                                                         \
    10000                   /* a pass over the node's connections starts this often                \
                             * (CHATR_HUB_SWEEP_MS overrides, for tests) ... */
#define HUB_SWEEP_BATCH 128 /* ... in batches of this many, one lease claim each */
#define HUB_SWEEP_LEASES 3  /* a claim holds the lease this many intervals at most */
#define HUB_SWEEP_GRACE_MS                                                                         \
    5000 /* younger rows are not looked at (handshake not subscribed yet)                          \
          */
long hub_sweep_every_ms(void);
/* One batch of the ghost sweep, if it is due and this process wins the lease: rows of this node
 * whose socket's channel has no subscriber are removed (`disconnected` once), reliable ones are
 * kept for recovery. Cheap when not due (one UPDATE). */
void hub_sweep_ghosts(void);
/* nginx restarted (epoch = hub_node_epoch()): rows of older epochs are removed, their
 * `disconnected` waiting for hub_sweep_epoch_notify; reliable ones are kept for their retention. */
void hub_sweep_epoch(long epoch);
int hub_sweep_epoch_pending(void);
void hub_sweep_epoch_notify(void);

/* ---- hub_webhook.c: CloudEvents to the upstream event handler ---------------------------- */

typedef struct hub_event {
    const char *hub;
    const char *conn_id;
    const char *user;  /* NULL: none */
    const char *event; /* connect, connected, disconnected, or the user event name */
    int system;
    const char *protocol; /* NULL/"" none */
    const char *state;    /* ce-connectionState, NULL none */
    const char *ctype;
    const char *body;
    size_t body_len;
} hub_event;
typedef struct hub_reply {
    long status; /* HTTP status, 0 when unreachable/invalid */
    char *body;  /* malloc'd */
    size_t len;
    char ctype[128];
    char *state; /* ce-connectionState response header, malloc'd */
    int has_state;
} hub_reply;
/* Sends one event to url (validating it first with OPTIONS, once per process). */
int hub_webhook(const char *url, const hub_event *ev, long timeout_ms, hub_reply *out);
void hub_reply_free(hub_reply *r);

/* ---- hub_key.c: settings from the environment ------------------------------------------- */

const char *hub_access_key(void); /* from WEBPUBSUB_CONNECTION_STRING */
const char *hub_public_url(void); /* CHATR_PUBLIC_URL */
const char *hub_node_id(void);
long hub_node_epoch(void); /* pid of this node's nginx master, 0 if not running */

/* ---- hub_jwt.c: token checks (the SDK's wps_jwt with the hub's audience rule) ----------- */

/* Verifies an HS256 token with the access key (wps_jwt_verify: signature, alg, exp/nbf with
 * WPS_JWT_CLOCK_SKEW, role/webpubsub.group as string or array) and its aud leniently: only the
 * path of an audience is compared with path (case-insensitive, trailing slash and query
 * ignored). Returns 0 (release out with wps_jwt_claims_free) or -1 with a reason in err. */
int hub_token_verify(const char *token, const char *path, wps_jwt_claims *out, char *err,
                     size_t errlen);
/* Signs claims (borrowed) into a token (malloc'd), NULL on failure. */
char *hub_token_sign(json_object *claims);

/* ---- hub_db.c ---------------------------------------------------------------------------- */

/* Registers a connection, its token groups and, for a reliable one, its pubsub.reliable row
 * (nothing if it exists), unless its user has HUB_MAX_CONNS_PER_USER connections in the hub
 * (counted under a per-user lock, schema/008). epoch: this node's nginx (hub_node_epoch).
 * Returns 0, 1 (over the user's limit) or -1. hub-connect registers every socket before the
 * upgrade (a reliable one in one transaction with its `connected` frame). */
int hub_db_register(const hub_ctx *ctx, const char *conn_id, long epoch);
/* Roles of a connection (new ref) or NULL if it does not exist. */
json_object *hub_db_roles(const char *conn_id);
int hub_db_join(const char *hub, const char *group, const char *conn_id); /* 0, -1, 1 = limit */
int hub_db_leave(const char *hub, const char *group, const char *conn_id);

/* ---- hub_loop.c: FastCGI accept loop with work after the response ------------------------ */

typedef struct hub_after {
    void (*fn)(void *arg);
    void *arg;
} hub_after;
typedef int (*hub_handler)(fn_req *req, fn_res *res, hub_after *after);
int hub_run(const char *name, hub_handler handler, void (*on_start)(void));
/* fn runs every every_ms between requests (and when idle); call before or from on_start. */
void hub_loop_idle(void (*fn)(void), long every_ms);

/* ---- hub_revoke.c: tokens bound to a sign-in session (docs/sign-in.md) ------------------ */

#define HUB_SID_CLAIM "chatr.sid" /* getToken's binding claim: a hash, never the session id */
#define HUB_SID_LEN 32            /* its length, lowercase hex */
/* Handshake of a verified token: a bound one is refused when its session is gone (401), and
 * otherwise recorded as bound, for logout. 1: refused, answered, tok released; 0: go on. */
int hub_revoke_refused(fn_res *res, wps_jwt_claims *tok, const char *conn_id);
/* Logout of session sid: closes every connection its tokens opened. Returns how many, -1 when
 * one could not be closed. */
int hub_revoke_session(const char *sid);

/* ---- hub_conf.c: the hub programs' own settings, read once ------------------------------ */

/* Read from the environment on first use (hub_run reads them before its loop; the fuzz targets on
 * their first request) and never again, beside the runtime's (fn_settings: DATABASE_URL,
 * CHATR_PUBLIC_URL, CHATR_NGINX_SOCKET, CHATR_STATE_DIR, ...). Not the per-hub settings of
 * hubs.json (hub_settings). Strings are NULL when unset (copies otherwise). */
typedef struct hub_conf {
    const char *node_id;       /* CHATR_NODE_ID (hub_node_id: "node" when unset or empty) */
    const char *settings_file; /* CHATR_HUB_SETTINGS: hubs.json (hub_settings.c) */
    long sweep_ms;             /* CHATR_HUB_SWEEP_MS (> 0), else HUB_SWEEP_EVERY_MS */
    long retention_ms;   /* CHATR_RELIABLE_RETENTION_MS (> 0), else HUB_RELIABLE_RETENTION_MS */
    int history_durable; /* CHATR_HISTORY_DURABLE=1: history commits wait for the WAL flush */
} hub_conf;
const hub_conf *hub_conf_get(void);

#endif
