/* message_events.c: the events that change a stored chat line
 * (docs/chat-features.md#edit-and-delete): editMessage {chatId, messageId, text, mentions?} by the
 * line's author, deleteMessage {chatId, messageId} by its author or the chat's owner. The caller is
 * ce-userId and must be a member of the chat; the author is the fromUserId the hub stored with the
 * line, never a data field. The change is made in the hub's history (REST), then told live to the
 * chat's connections as a server chatEvent that is never stored (messageEdited, messageDeleted).
 * Bad input answers 400, not a member or not allowed 403, unknown 404, a deleted line 409: the hub
 * makes an error ack. */
#include "events.h"
#include "app_chat.h"
#include "files.h"

#include <stdlib.h>
#include <string.h>

#define MESSAGE_TEXT_MAX 4000 /* characters of a chat line (the web app's MESSAGE_MAX) */
#define MENTIONS_MAX 20       /* user ids in one line's "mentions" */

typedef struct msg_ev {
    ev_ctx *ev;
    json_object *body;
    const char *chat;
    long long id;
    int owner; /* the caller owns the chat */
} msg_ev;

/* A chat line's text: valid UTF-8, 1..MESSAGE_TEXT_MAX characters, not only white space, no
 * control characters but line feed and tab (the composer is a text area). */
static int valid_line(const char *s)
{
    size_t chars = 0, left = strlen(s);
    int blank = 1;
    const unsigned char *p = (const unsigned char *)s;
    while (left) {
        uint32_t cp;
        size_t len = fn_utf8_next(p, left, &cp);
        if (len == 0 || ((cp < 0x20 && cp != '\n' && cp != '\t') || cp == 0x7f)) return 0;
        if (cp != ' ' && cp != '\n' && cp != '\t') blank = 0;
        p += len, left -= len;
        chars++;
    }
    return chars >= 1 && chars <= MESSAGE_TEXT_MAX && !blank;
}

/* Parses the body, checks chatId and messageId, and that the caller is a member of the chat
 * (m->owner: whether they own it). 0, or -1 with the answer given (m->body freed). */
static int begin(msg_ev *m, ev_ctx *ev)
{
    *m = (msg_ev){.ev = ev};
    if (!(m->body = fn_body_json(ev->req, ev->res))) return -1;
    m->chat = ev_field(m->body, "chatId");
    m->id = app_message_id(m->body);
    if (!m->chat || !*m->chat || strlen(m->chat) > CHAT_ID_STORED_MAX) {
        fn_error(ev->res, 400, "%s: chatId must name a chat", ev->event);
    } else if (m->id < 0) {
        fn_error(ev->res, 400, "%s: messageId must be a message id (a positive integer)",
                 ev->event);
    } else {
        const char *p[2] = {m->chat, ev->user_id};
        PGresult *r = fn_db_exec("SELECT c.owner = $2, EXISTS (SELECT 1 FROM chatr.members x "
                                 "  WHERE x.chat_id = c.id AND x.user_id = $2) "
                                 "FROM chatr.chats c WHERE c.id = $1",
                                 2, p);
        if (!r)
            fn_error(ev->res, 500, "database unavailable");
        else if (PQntuples(r) == 0)
            fn_error(ev->res, 404, "%s: no chat %.80s", ev->event, m->chat);
        else if (PQgetvalue(r, 0, 1)[0] != 't')
            fn_error(ev->res, 403, "%s: only the chat's members can change its messages",
                     ev->event);
        else
            m->owner = PQgetvalue(r, 0, 0)[0] == 't';
        int member = r && PQntuples(r) == 1 && PQgetvalue(r, 0, 1)[0] == 't';
        PQclear(r);
        if (member) return 0;
    }
    json_object_put(m->body);
    m->body = NULL;
    return -1;
}

/* The stored line (*env, owned) and whether the caller wrote it; -1 with the answer given. */
static int stored_line(msg_ev *m, json_object **env, int *mine)
{
    json_object *from;
    int st = ev_hub_message(m->chat, m->id, env);
    if (st == 404) {
        fn_error(m->ev->res, 404, "%s: no message %lld in this chat", m->ev->event, m->id);
        return -1;
    }
    if (st != 200) {
        fn_error(m->ev->res, 502, "%s: the chat's history is unavailable", m->ev->event);
        return -1;
    }
    *mine = json_object_object_get_ex(*env, "fromUserId", &from) &&
            json_object_is_type(from, json_type_string) &&
            strcmp(json_object_get_string(from), m->ev->user_id) == 0;
    return 0;
}

static const char *env_string(json_object *env, const char *name)
{
    json_object *v;
    return json_object_object_get_ex(env, name, &v) && json_object_is_type(v, json_type_string)
               ? json_object_get_string(v)
               : NULL;
}

/* The event's "mentions" checked: NULL when absent, else a new array of at most MENTIONS_MAX
 * distinct user ids; *bad set when it is malformed. */
static json_object *mentions_of(json_object *body, int *bad)
{
    json_object *v;
    *bad = 0;
    if (!json_object_object_get_ex(body, "mentions", &v) || !v) return NULL;
    if (!json_object_is_type(v, json_type_array) || json_object_array_length(v) > MENTIONS_MAX) {
        *bad = 1;
        return NULL;
    }
    json_object *out = json_object_new_array();
    for (size_t i = 0; i < json_object_array_length(v); i++) {
        json_object *u = json_object_array_get_idx(v, i);
        const char *id = json_object_is_type(u, json_type_string) ? json_object_get_string(u) : "";
        if (!*id || strlen(id) >= FN_MAX_USER_ID || !ev_valid_text(id, FN_MAX_USER_ID)) {
            *bad = 1;
            json_object_put(out);
            return NULL;
        }
        int seen = 0;
        for (size_t j = 0; j < json_object_array_length(out); j++)
            seen |= strcmp(json_object_get_string(json_object_array_get_idx(out, j)), id) == 0;
        if (!seen) json_object_array_add(out, json_object_new_string(id));
    }
    return out;
}

int ev_edit_message(ev_ctx *ev)
{
    msg_ev m;
    if (begin(&m, ev) != 0) return 0;
    json_object *env = NULL, *data = NULL, *edited = NULL, *msg;
    const char *text = ev_field(m.body, "text");
    int bad = 0, mine = 0;
    json_object *mentions = mentions_of(m.body, &bad);
    if (!text || !valid_line(text)) {
        fn_error(ev->res, 400,
                 "editMessage: text must be 1-%d characters (to remove a message, "
                 "delete it)",
                 MESSAGE_TEXT_MAX);
        goto done;
    }
    if (bad) {
        fn_error(ev->res, 400, "editMessage: mentions must be at most %d user ids", MENTIONS_MAX);
        goto done;
    }
    if (stored_line(&m, &env, &mine) != 0) goto done;
    if (!mine) {
        fn_error(ev->res, 403, "editMessage: only its author can edit a message");
        goto done;
    }
    if (env_string(env, "deletedTime")) {
        fn_error(ev->res, 409, "editMessage: message %lld is deleted", m.id);
        goto done;
    }
    /* The stored data keeps its shape (fromUserId, fromUserName, file, ...): message replaced,
     * mentions replaced by the new ones (or dropped: they belonged to the old text). */
    if (!json_object_object_get_ex(env, "data", &data) ||
        !json_object_is_type(data, json_type_object) || !ev_field(data, "message")) {
        fn_error(ev->res, 400, "editMessage: message %lld is not a chat line", m.id);
        goto done;
    }
    json_object_object_add(data, "message", json_object_new_string(text));
    json_object_object_del(data, "mentions");
    if (mentions) json_object_object_add(data, "mentions", json_object_get(mentions));
    int st = ev_hub_message_edit(m.chat, m.id, data, &edited);
    if (st != 200) {
        if (st == 404 || st == 409 || st == 403)
            fn_error(ev->res, st, "editMessage: the hub refused the edit (%d)", st);
        else
            fn_error(ev->res, 502, "editMessage: the chat's history is unavailable");
        goto done;
    }
    /* What the hub stored (its word filter may have masked words), told live. */
    json_object *now = json_object_object_get(edited, "data");
    json_object *doc = json_object_new_object();
    json_object_object_add(doc, "chatId", json_object_new_string(m.chat));
    json_object_object_add(doc, "messageId", json_object_new_int64(m.id));
    json_object_object_add(
        doc, "text",
        json_object_new_string(ev_field(now, "message") ? ev_field(now, "message") : text));
    if (json_object_object_get_ex(now, "mentions", &msg))
        json_object_object_add(doc, "mentions", json_object_get(msg));
    const char *when = env_string(edited, "editedTime");
    json_object_object_add(doc, "editedTime", when ? json_object_new_string(when) : NULL);
    ev_hub_send_group_live(m.chat, chat_event_encoded("messageEdited", doc));
    /* A member the edit names for the first time is told like one named in a new line; those
     * told before are not told again (docs/chat-features.md#mentions). Best effort: the edit
     * stands either way. */
    if (now && ev_mentions_notify(m.chat, m.id, ev->user_id, now) < 0)
        fn_log("editMessage: mentions of %lld in %.80s not all told", m.id, m.chat);
    fn_text(ev->res, 200, NULL, "", 0);
done:
    json_object_put(mentions);
    json_object_put(env);
    json_object_put(edited);
    json_object_put(m.body);
    return 0;
}

/* A deleted message's rows in the app's tables: its reactions (chat_state.c) and the mention
 * notices sent for it (mentions.c). Logged on failure; the message stays deleted. */
static void forget_message(const char *chat, long long id)
{
    char idbuf[24];
    snprintf(idbuf, sizeof idbuf, "%lld", id);
    const char *p[2] = {chat, idbuf};
    PGresult *r = fn_db_exec(
        "WITH gone AS (DELETE FROM chatr.reactions WHERE chat_id = $1 AND message_id = $2::bigint) "
        "DELETE FROM chatr.mention_notices WHERE chat_id = $1 AND message_id = $2::bigint",
        2, p);
    if (!r) fn_log("reactions and mention records of message %lld in %.80s not deleted", id, chat);
    PQclear(r);
}

int ev_delete_message(ev_ctx *ev)
{
    msg_ev m;
    if (begin(&m, ev) != 0) return 0;
    json_object *env = NULL, *gone = NULL;
    int mine = 0;
    if (stored_line(&m, &env, &mine) != 0) goto done;
    if (!mine && !m.owner) {
        fn_error(ev->res, 403,
                 "deleteMessage: only its author or the chat's owner can delete "
                 "a message");
        goto done;
    }
    if (env_string(env, "deletedTime")) { /* deleted already: nothing changes, nobody is told */
        fn_text(ev->res, 200, NULL, "", 0);
        goto done;
    }
    int st = ev_hub_message_delete(m.chat, m.id);
    if (st != 204) {
        if (st == 404)
            fn_error(ev->res, 404, "deleteMessage: no message %lld in this chat", m.id);
        else
            fn_error(ev->res, 502, "deleteMessage: the chat's history is unavailable");
        goto done;
    }
    forget_message(m.chat, m.id); /* its reactions and mention records go with it */
    /* the file the line shared goes with it: only a file of this chat that the line's author
     * uploaded (docs/files.md#deletion); a failure is logged, the line stays deleted */
    ev_files_release(m.chat, env_string(env, "fromUserId"), json_object_object_get(env, "data"));
    /* the tombstone's time as stored, for every member's view */
    const char *when =
        ev_hub_message(m.chat, m.id, &gone) == 200 ? env_string(gone, "deletedTime") : NULL;
    json_object *doc = json_object_new_object();
    json_object_object_add(doc, "chatId", json_object_new_string(m.chat));
    json_object_object_add(doc, "messageId", json_object_new_int64(m.id));
    json_object_object_add(doc, "deletedTime", when ? json_object_new_string(when) : NULL);
    ev_hub_send_group_live(m.chat, chat_event_encoded("messageDeleted", doc));
    fn_text(ev->res, 200, NULL, "", 0);
done:
    json_object_put(env);
    json_object_put(gone);
    json_object_put(m.body);
    return 0;
}
