/* events.h: what the eventHandler function's files share: the event context and the calls into
 * the hub (Web PubSub REST API, through the SDK) that the chat events make. */
#ifndef CHATR_EVENTS_H
#define CHATR_EVENTS_H

#include "fn.h"

#define CHAT_NAME_MAX 100 /* characters */
#define CHAT_ID_MAX 64    /* client-made ids (UUIDs) */
#define USER_NAME_MAX 64
#define NOTICE_MAX 400

/* One upstream event, as the hub's CloudEvents headers describe it. */
typedef struct ev_ctx {
    fn_req *req;
    fn_res *res;
    const char *user_id;       /* ce-userId: authenticated by the hub */
    const char *connection_id; /* ce-connectionId */
    const char *event;         /* ce-eventName */
} ev_ctx;

/* Hub calls (hub.c). Each returns 0 on success, -1 on failure (logged). */
int ev_hub_init(void);
int ev_hub_send_all(json_object *msg);                    /* takes ownership */
int ev_hub_send_user(const char *user, json_object *msg); /* takes ownership */
int ev_hub_send_connection(const char *conn, json_object *msg);
int ev_hub_send_group(const char *group, json_object *msg); /* takes ownership; stored in history */
int ev_hub_delete_history(const char *group);
int ev_hub_group_notice(const char *group, const char *text);
int ev_hub_join(const char *group, const char *conn); /* add + grant sendToGroup */
int ev_hub_leave_user(const char *group, const char *user);
int ev_hub_join_user(const char *group, const char *user); /* all of the user's connections */
int ev_hub_dissolve(const char *group);                    /* everyone out, permissions revoked */
/* 1 when the user still has a live connection, 0 when not, -1 on error. */
int ev_hub_user_online(const char *user);

/* Stored messages of a chat's group, the hub's history extension (docs/protocols.md#history):
 * each returns the hub's HTTP status (-1 when the call failed, logged); on 200 *env is the
 * message's envelope (the caller puts it). */
int ev_hub_message(const char *group, long long id, json_object **env);
int ev_hub_message_edit(const char *group, long long id, json_object *data, json_object **env);
int ev_hub_message_delete(const char *group, long long id); /* 204 */
/* A chatEvent to the group's connections as a server message, never stored: the live change of
 * a message (docs/chat-features.md#edit-and-delete), a reaction (#reactions). Takes ownership. */
int ev_hub_send_group_live(const char *group, json_object *msg);

/* Input checks and lookups shared by the events (chat_events.c). */
int ev_valid_text(const char *s, size_t max_chars);     /* UTF-8, no control characters, 1..max */
const char *ev_field(json_object *o, const char *name); /* a string member, or NULL */
char *ev_user_name(const char *user, char *buf, size_t len); /* NULL if unknown */
void ev_utf8_prefix(char *dst, size_t dstlen, const char *src, size_t max_chars);
/* Answers 500 "database unavailable" (a lookup failed); 0, what an event handler returns. */
int ev_db_fail(ev_ctx *ev);

/* Chat state: reactions and read state (chat_state.c, emoji.c; docs/chat-features.md). */
#define EV_EMOJI_MAX_BYTES 32    /* one reaction's emoji, UTF-8 */
#define EV_REACTION_KINDS_MAX 20 /* kinds on one message: chatr.reaction_kinds_max() */
/* 0 with in's canonical form in out when in is one emoji a reaction may be, else -1. */
int ev_emoji_canonical(const char *in, char *out, size_t outlen);
/* A member who just joined chat has read everything so far (called by joinChat). */
void ev_state_joined(const char *chat, const char *user);
/* The id of the group's newest stored message, 0 when it has none, -1 on failure. */
long long ev_hub_newest_id(const char *group);

/* Mentions (mentions.c; docs/chat-features.md#mentions). Tells the members of chat named in the
 * stored line's data ("mentions"; author: the hub's fromUserId) with the `mentioned` chatEvent,
 * each at most once per message: the number told, -1 on a database failure, -2 when a send to
 * a user failed (that user may be told by a later call). */
int ev_mentions_notify(const char *chat, long long id, const char *author, json_object *data);

/* A server message in the original app's shape: {"chatEvent": type, "data": data}. */
json_object *chat_event(const char *type, json_object *data);
/* data as a JSON document encoded in a string (the original client JSON.parses it). */
json_object *chat_event_encoded(const char *type, json_object *doc);

#endif
