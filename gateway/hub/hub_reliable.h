/* hub_reliable.h: the reliable subprotocol json.reliable.webpubsub.azure.v1
 * (docs/protocols.md#the-reliable-subprotocol, schema/006_reliable.sql).
 *
 * Reliable sockets subscribe to their own channel only: every data message to them is sequenced
 * and stored, then published there. A connection id is the $request_id of the socket that opened
 * it; a recovering socket takes the logical connection over, so the hooks get REQUEST_ID = the
 * connection id (X-Hub-Conn of the handshake) and HUB_SOCKET = the socket's own $request_id (its
 * channel c.<socket>). */
#ifndef CHATR_HUB_RELIABLE_H
#define CHATR_HUB_RELIABLE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "hub.h"
#include "hub_ctx.h"

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

/* 1 when protocol is the reliable subprotocol. */
static inline int hub_reliable_protocol(const char *protocol)
{
    return protocol && strcmp(protocol, HUB_PROTO_RELIABLE) == 0;
}
long hub_reliable_retention_ms(void);
/* The reconnectionToken of a connection: HS256 JWT, aud = conn_id (malloc'd, NULL on failure). */
char *hub_reliable_token(const char *conn_id);
int hub_reliable_token_ok(const char *token, const char *conn_id); /* 1 valid for conn_id */
/* The `connected` system frame of a reliable connection (with a new reconnectionToken). */
char *hub_reliable_connected_frame(const char *user, const char *conn_id, size_t *len);
/* Handshake of a recovery: 0 when conn_id is a live or retained reliable connection of hub
 * (ctx->user/state filled from it), -1 when it cannot be recovered. */
int hub_reliable_lookup(const char *conn_id, const char *hub, hub_ctx *ctx);
/* `opened` of a recovering socket: takes the connection over (row lock held), sends `connected`
 * then every unacknowledged message in order to c.<socket>. 0, or -1 when it cannot. */
int hub_reliable_takeover(const char *conn_id, const char *socket, const char *node,
                          const char *epoch);
/* `opened` of a refused recovery: the `disconnected` frame, then a data message with sequenceId
 * 0 (every client drops it, and @azure/web-pubsub-client answers it with a sequenceAck, which
 * hub-router refuses: nchan closes the socket with 1008). Runs in hub-events, whose idle
 * hub_reliable_expire closes the socket later if it never sends a frame. */
void hub_reliable_refuse(const char *socket, const char *reason);
/* Sends one data envelope (JSON text without sequenceId) to reliable connections: next
 * sequenceId, stored, published to the socket holding each one. 0 or -1. */
int hub_reliable_send(const char *const *conn_ids, size_t n, const char *env, size_t len);
/* The same to every reliable connection of a hub (user NULL) or of one user of it. */
int hub_reliable_send_hub(const char *hub, const char *user, char *const *excluded,
                          size_t nexcluded, const char *env, size_t len);
int hub_reliable_ack(const char *conn_id, uint64_t seq); /* sequenceAck: forget ids <= seq */
/* The socket `socket` of reliable connection conn_id closed. 1: the connection is kept (retention
 * starts, or another socket holds it), 0: it ends (closing for good): remove it, -1: error. */
int hub_reliable_drop(const char *conn_id, const char *socket);
/* Orphan check (hub_orphan.c) of a connection whose first socket's channel has no subscriber:
 * 1 settled, 0 a later socket still holds it, -1 not a kept reliable connection (remove it). */
int hub_reliable_orphan(const char *conn_id);
/* Ends reliable connections whose retention ran out: removed, `disconnected` fired once. Also
 * closes this process's refused recoveries that sent nothing (HUB_RELIABLE_REFUSED_CLOSE_MS). */
void hub_reliable_expire(void);

#endif
