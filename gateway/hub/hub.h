/* hub.h: what every part of the Web PubSub emulator (gateway/hub and the hub programs hub-connect,
 * hub-events, hub-router, hub-rest) shares: the protocol's limits and subprotocol names. Nothing
 * else: each module of gateway/hub has its own header, named like its file, and its functions
 * carry the file's name as their prefix (hub_reliable.c: hub_reliable.h, hub_reliable_*). The
 * modules and what each owns: docs/architecture.md#modules. */
#ifndef CHATR_HUB_H
#define CHATR_HUB_H

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
#define HUB_RATE_BURST 2000 /* ... with this burst */
#define HUB_LIST_PAGE_MAX 200
#define HUB_HISTORY_PAGE 50      /* history messages per page by default ... */
#define HUB_HISTORY_PAGE_MAX 200 /* ... and at most (larger limits are clamped) */
#define HUB_ACK_WINDOW 1024      /* ackIds remembered per connection (schema/004) */
#define HUB_JSON_DEPTH 64        /* nesting of a frame's JSON (json-c's default is 32) */

/* The subprotocols (docs/protocols.md#subprotocol-frames, #the-reliable-subprotocol). */
#define HUB_PROTO_JSON "json.webpubsub.azure.v1"
#define HUB_PROTO_RELIABLE "json.reliable.webpubsub.azure.v1"

#endif
