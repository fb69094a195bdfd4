/* mentions.c: telling mentioned users (docs/chat-features.md#mentions). A chat line goes from
 * the author's socket straight to the chat's group, so only connections that have the chat open
 * receive it. After its line is stored, the author's client sends the user event `mention`
 * {chatId, messageId}; this file then reads the line back from the hub's history and trusts only
 * what is stored there: the author (the hub's fromUserId, which must be the caller) and the
 * line's own `mentions`. Each mentioned user who is a member of the chat (the author excepted) is
 * sent the server chatEvent `mentioned` on all their sockets, once per message
 * (chatr.mention_notices, schema/016_mention_notices.sql). An edit that adds a mention tells
 * the newly named members the same way (message_events.c). */
#include "events.h"
#include "app_chat.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MENTION_IDS_MAX 20   /* entries of a line's "mentions" looked at (the composer's limit) */
#define MENTION_TEXT_MAX 200 /* characters of the line carried by `mentioned` */

/* The distinct user ids among the first MENTION_IDS_MAX entries of data's "mentions", the
 * author left out; a new array (empty when there are none). Entries that are not plausible user
 * ids are skipped: the line was written by a client, and naming nobody is no error. */
static json_object *named_users(json_object *data, const char *author)
{
    json_object *list, *out = json_object_new_array();
    if (!json_object_object_get_ex(data, "mentions", &list) ||
        !json_object_is_type(list, json_type_array))
        return out;
    size_t n = json_object_array_length(list);
    for (size_t i = 0; i < n && i < MENTION_IDS_MAX; i++) {
        json_object *u = json_object_array_get_idx(list, i);
        if (!json_object_is_type(u, json_type_string)) continue;
        const char *id = json_object_get_string(u);
        if (!*id || strlen(id) >= FN_MAX_USER_ID || !ev_valid_text(id, FN_MAX_USER_ID) ||
            strcmp(id, author) == 0)
            continue;
        int seen = 0;
        for (size_t j = 0; j < json_object_array_length(out) && !seen; j++)
            seen = strcmp(json_object_get_string(json_object_array_get_idx(out, j)), id) == 0;
        if (!seen) json_object_array_add(out, json_object_new_string(id));
    }
    return out;
}

/* {"chatId","chatName","messageId","fromUserId","fromUserName","text"} of `mentioned`. */
static json_object *mentioned_doc(const char *chat, const char *chat_name, long long id,
                                  const char *author, const char *author_name, const char *text)
{
    char cut[MENTION_TEXT_MAX * 4 + 1];
    ev_utf8_prefix(cut, sizeof cut, text, MENTION_TEXT_MAX);
    json_object *d = json_object_new_object();
    json_object_object_add(d, "chatId", json_object_new_string(chat));
    json_object_object_add(d, "chatName", json_object_new_string(chat_name));
    json_object_object_add(d, "messageId", json_object_new_int64(id));
    json_object_object_add(d, "fromUserId", json_object_new_string(author));
    json_object_object_add(d, "fromUserName", json_object_new_string(author_name));
    json_object_object_add(d, "text", json_object_new_string(cut));
    return d;
}

/* Forgets that user was told of the message: the send failed, so a later `mention` may try
 * again. */
static void unrecord(const char *chat, const char *idbuf, const char *user)
{
    const char *p[3] = {chat, idbuf, user};
    PGresult *r = fn_db_exec("DELETE FROM chatr.mention_notices WHERE chat_id = $1 AND "
                             "message_id = $2::bigint AND user_id = $3",
                             3, p);
    PQclear(r);
}

int ev_mentions_notify(const char *chat, long long id, const char *author, json_object *data)
{
    const char *text = ev_field(data, "message");
    json_object *named = named_users(data, author);
    if (!text || json_object_array_length(named) == 0) {
        json_object_put(named);
        return 0;
    }
    char idbuf[24];
    snprintf(idbuf, sizeof idbuf, "%lld", id);
    const char *p[4] = {chat, idbuf, json_object_to_json_string_ext(named, JSON_C_TO_STRING_PLAIN),
                        author};
    /* Members only (a private chat has its two), each recorded once: a row that exists already
     * means that user was told before, and the INSERT returns only the new ones. */
    PGresult *r = fn_db_exec(
        "WITH want AS (SELECT m.user_id FROM chatr.members m WHERE m.chat_id = $1 "
        "    AND m.user_id IN (SELECT json_array_elements_text($3::json))), "
        "ins AS (INSERT INTO chatr.mention_notices (chat_id, message_id, user_id) "
        "    SELECT $1, $2::bigint, user_id FROM want ON CONFLICT DO NOTHING RETURNING user_id) "
        "SELECT ins.user_id, c.name, coalesce(a.name, $4) FROM ins "
        "JOIN chatr.chats c ON c.id = $1 LEFT JOIN chatr.users a ON a.id = $4",
        4, p);
    json_object_put(named);
    if (!r) return -1;
    int told = 0;
    for (int i = 0; i < PQntuples(r); i++) {
        const char *user = PQgetvalue(r, i, 0);
        json_object *doc =
            mentioned_doc(chat, PQgetvalue(r, i, 1), id, author, PQgetvalue(r, i, 2), text);
        if (ev_hub_send_user(user, chat_event_encoded("mentioned", doc)) == 0)
            told++;
        else
            unrecord(chat, idbuf, user);
    }
    int failed = told < PQntuples(r);
    PQclear(r);
    return failed ? -2 : told;
}

int ev_mention(ev_ctx *ev)
{
    json_object *body = fn_body_json(ev->req, ev->res), *env = NULL, *data, *from;
    if (!body) return 0;
    const char *chat = ev_field(body, "chatId");
    long long id = app_message_id(body);
    if (!chat || !*chat || strlen(chat) > CHAT_ID_STORED_MAX) {
        fn_error(ev->res, 400, "mention: chatId must name a chat");
        goto done;
    }
    if (id < 0) {
        fn_error(ev->res, 400, "mention: messageId must be a message id (a positive integer)");
        goto done;
    }
    const char *p[2] = {chat, ev->user_id};
    PGresult *r = fn_db_exec("SELECT EXISTS (SELECT 1 FROM chatr.members m "
                             "  WHERE m.chat_id = c.id AND m.user_id = $2) "
                             "FROM chatr.chats c WHERE c.id = $1",
                             2, p);
    int member = r && PQntuples(r) == 1 && PQgetvalue(r, 0, 0)[0] == 't';
    if (!r)
        fn_error(ev->res, 500, "database unavailable");
    else if (PQntuples(r) == 0)
        fn_error(ev->res, 404, "mention: no chat %.80s", chat);
    else if (!member)
        fn_error(ev->res, 403, "mention: only the chat's members can do this");
    PQclear(r);
    if (!member) goto done;
    int st = ev_hub_message(chat, id, &env);
    if (st == 404) {
        fn_error(ev->res, 404, "mention: no message %lld in this chat", id);
        goto done;
    }
    if (st != 200) {
        fn_error(ev->res, 502, "mention: the chat's history is unavailable");
        goto done;
    }
    /* The author is who the hub says sent the line, never a field of the event or the line. */
    if (!json_object_object_get_ex(env, "fromUserId", &from) ||
        !json_object_is_type(from, json_type_string) ||
        strcmp(json_object_get_string(from), ev->user_id) != 0) {
        fn_error(ev->res, 403, "mention: only a message's author can send its mentions");
        goto done;
    }
    if (json_object_object_get_ex(env, "deletedTime", NULL)) {
        fn_error(ev->res, 409, "mention: message %lld is deleted", id);
        goto done;
    }
    if (!json_object_object_get_ex(env, "data", &data) ||
        !json_object_is_type(data, json_type_object) || !ev_field(data, "message")) {
        fn_error(ev->res, 400, "mention: message %lld is not a chat line", id);
        goto done;
    }
    int told = ev_mentions_notify(chat, id, ev->user_id, data);
    if (told == -1)
        fn_error(ev->res, 500, "database unavailable");
    else if (told == -2)
        fn_error(ev->res, 502, "mention: not every mentioned member could be told");
    else
        fn_text(ev->res, 200, NULL, "", 0);
done:
    json_object_put(env);
    json_object_put(body);
    return 0;
}
