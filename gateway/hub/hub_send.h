/* hub_send.h: delivery to connections, users, groups and the whole hub, for client frames
 * (hub-router) and the REST API (hub-rest). docs/architecture.md#a-chat-message-end-to-end. */
#ifndef CHATR_HUB_SEND_H
#define CHATR_HUB_SEND_H

#include <stddef.h>
#include <stdint.h>

#include "hub_payload.h"

/* One group message, from a client socket (sendToGroup) or the REST API. The hub's settings
 * decide whether it is moderated (p is masked in place) and stored (history); a stored message
 * is in pubsub.messages before anyone receives it, and its envelope carries "id" and "time". */
typedef struct hub_send_msg {
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
} hub_send_msg;
enum hub_send_rc {
    HUB_SEND_OK = 0,
    HUB_SEND_FORBIDDEN, /* no sendToGroup permission for the group */
    HUB_SEND_DUPLICATE, /* ackId already processed */
    HUB_SEND_GONE,      /* the sending connection no longer exists */
    HUB_SEND_REJECTED,  /* moderation rejected it (reason in why) */
    HUB_SEND_FAILED,    /* database or nchan failure */
    HUB_SEND_QUOTA,     /* over the sender's history quota: nothing stored or delivered */
};
/* Sends m (stores it first when the hub keeps history). Anything but HUB_SEND_OK: why says what
 * went wrong, for the sender's error ack or the REST answer. */
enum hub_send_rc hub_send_group(const hub_send_msg *m, char *why, size_t whylen);
/* REST sends (from:server). 0 or -1. */
int hub_send_all(const char *hub, const hub_payload *p, char *const *excluded, size_t nexcluded);
int hub_send_user(const char *hub, const char *user, const hub_payload *p);
int hub_send_conn(const char *hub, const char *conn_id, const hub_payload *p);
/* A REST send to a group's connections delivered as from:server and never stored (our
 * ?from=server, docs/protocols.md#history): the app's live chatEvents about a chat. */
int hub_send_group_server(const char *hub, const char *group, const hub_payload *p,
                          char *const *excluded, size_t nexcluded);

#endif
