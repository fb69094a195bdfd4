/* chat_state.c: the events that keep per-message and per-reader state of a chat
 * (docs/chat-features.md): `react` (an emoji reaction on a message, live to the chat) and
 * `markRead` (the newest message a member has read, live to that member's other tabs and
 * devices). Both are for members only, name a message the hub keeps in that chat's history, and
 * change chatr.reactions / chatr.read_state (schema/013_chat_state.sql). */
#include "events.h"
#include "app_chat.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SQLSTATE_KINDS "CR001" /* chatr.reactions_bound_kinds: too many kinds on the message */
#define SQLSTATE_FK "23503"    /* foreign key: the member left meanwhile */

/* ---- input ------------------------------------------------------------------------------- */

/* The chatId and messageId every chat-state event carries, checked; NULL chat when bad (400
 * answered). */
static const char *chat_and_message(ev_ctx *ev, json_object *body, long long *id)
{
    const char *chat = ev_field(body, "chatId");
    if (!chat || !*chat || strlen(chat) > CHAT_ID_STORED_MAX) {
        fn_error(ev->res, 400, "chatId must be a chat id");
        return NULL;
    }
    if ((*id = app_message_id(body)) < 0) {
        fn_error(ev->res, 400, "messageId must be a message id (a positive integer)");
        return NULL;
    }
    return chat;
}

/* 0 when the caller is a member of chat; otherwise -1 with 404 (no such chat), 403 or 500. */
static int check_member(ev_ctx *ev, const char *chat)
{
    char denied[128];
    snprintf(denied, sizeof denied, "%s: only the chat's members can do this", ev->event);
    return app_chat_member(ev->res, chat, ev->user_id, denied);
}

/* 0 when message id is in the chat's history (and, with live, not deleted); otherwise -1 with
 * 404, 409 or 502 answered. */
static int check_message(ev_ctx *ev, const char *chat, long long id, int live)
{
    json_object *msg = NULL, *data, *deleted;
    int st = ev_hub_message(chat, id, &msg);
    int rc = -1;
    if (st == 404) {
        fn_error(ev->res, 404, "no message %lld in chat %.80s", id, chat);
    } else if (st != 200) {
        fn_error(ev->res, 502, "the chat's history is unavailable");
    } else if (live && (json_object_object_get_ex(msg, "deletedTime", &deleted) ||
                        (json_object_object_get_ex(msg, "data", &data) && !data))) {
        fn_error(ev->res, 409, "message %lld was deleted", id);
    } else {
        rc = 0;
    }
    json_object_put(msg);
    return rc;
}

static void ok(ev_ctx *ev)
{
    fn_text(ev->res, 200, NULL, "", 0);
}

/* ---- react -------------------------------------------------------------------------------- */

/* {"chatId","messageId","emoji","userId","on","count"} as the `reaction` chatEvent carries it. */
static json_object *reaction_doc(const char *chat, long long id, const char *emoji,
                                 const char *user, int on, long long count)
{
    json_object *d = json_object_new_object();
    json_object_object_add(d, "chatId", json_object_new_string(chat));
    json_object_object_add(d, "messageId", json_object_new_int64(id));
    json_object_object_add(d, "emoji", json_object_new_string(emoji));
    json_object_object_add(d, "userId", json_object_new_string(user));
    json_object_object_add(d, "on", json_object_new_boolean(on));
    json_object_object_add(d, "count", json_object_new_int64(count));
    return d;
}

/* Adds or removes the caller's reaction. Returns 1 when it changed (*count: the kind's count
 * after it), 0 when it was already so, -1 with an error answered (409: the message has its most
 * kinds of reaction and this would be a new one). */
static int store_reaction(ev_ctx *ev, const char *chat, long long id, const char *emoji, int on,
                          long long *count)
{
    char idbuf[24];
    snprintf(idbuf, sizeof idbuf, "%lld", id);
    const char *p[4] = {chat, idbuf, emoji, ev->user_id};
    /* The outer SELECT sees the rows as they were before the change (one snapshot). A new kind
     * beyond the limit is not inserted (third column false); chatr.reactions_bound_kinds refuses
     * it too when two new kinds race (SQLSTATE_KINDS). */
    PGresult *r = fn_db_exec(
        on ? "WITH k AS (SELECT count(DISTINCT emoji) < chatr.reaction_kinds_max() "
             "  OR coalesce(bool_or(emoji = $3), false) AS room FROM chatr.reactions "
             "  WHERE chat_id = $1 AND message_id = $2::bigint), "
             "c AS (INSERT INTO chatr.reactions (chat_id, message_id, emoji, user_id) "
             "  SELECT $1, $2::bigint, $3, $4 FROM k WHERE k.room "
             "  ON CONFLICT DO NOTHING RETURNING 1) "
             "SELECT (SELECT count(*) FROM c), (SELECT count(*) FROM chatr.reactions "
             "  WHERE chat_id = $1 AND message_id = $2::bigint AND emoji = $3), "
             "  (SELECT room FROM k)"
           : "WITH c AS (DELETE FROM chatr.reactions WHERE chat_id = $1 AND message_id = "
             "  $2::bigint AND emoji = $3 AND user_id = $4 RETURNING 1) "
             "SELECT (SELECT count(*) FROM c), (SELECT count(*) FROM chatr.reactions "
             "  WHERE chat_id = $1 AND message_id = $2::bigint AND emoji = $3), true",
        4, p);
    int full = 0;
    if (!r) {
        if (strcmp(fn_db_sqlstate(), SQLSTATE_KINDS) != 0) return ev_db_fail(ev), -1;
        fn_db_clear_error();
        full = 1;
    } else if (PQgetvalue(r, 0, 2)[0] != 't') {
        full = 1;
    }
    if (full) {
        PQclear(r);
        fn_error(ev->res, 409, "message %lld already has %d kinds of reaction", id,
                 EV_REACTION_KINDS_MAX);
        return -1;
    }
    long long changed = atoll(PQgetvalue(r, 0, 0)), before = atoll(PQgetvalue(r, 0, 1));
    PQclear(r);
    *count = on ? before + changed : before - changed;
    return changed > 0;
}

int ev_react(ev_ctx *ev)
{
    json_object *body = fn_body_json(ev->req, ev->res), *on_v;
    if (!body) return 0;
    long long id;
    char emoji[EV_EMOJI_MAX_BYTES + 1];
    const char *chat = chat_and_message(ev, body, &id), *raw = ev_field(body, "emoji");
    if (!chat) {
        /* answered */
    } else if (!raw || ev_emoji_canonical(raw, emoji, sizeof emoji) != 0) {
        fn_error(ev->res, 400, "emoji must be one emoji (at most %d bytes, no ASCII)",
                 EV_EMOJI_MAX_BYTES);
    } else if (!json_object_object_get_ex(body, "on", &on_v) ||
               !json_object_is_type(on_v, json_type_boolean)) {
        fn_error(ev->res, 400, "on must be true (add) or false (remove)");
    } else if (check_member(ev, chat) == 0) {
        int on = json_object_get_boolean(on_v);
        long long count = 0;
        /* Removing needs no live message: a reaction on a message deleted meanwhile can go. */
        int changed =
            check_message(ev, chat, id, on) ? -1 : store_reaction(ev, chat, id, emoji, on, &count);
        if (changed >= 0) {
            if (changed)
                ev_hub_send_group_live(
                    chat, chat_event_encoded(
                              "reaction", reaction_doc(chat, id, emoji, ev->user_id, on, count)));
            ok(ev);
        }
    }
    json_object_put(body);
    return 0;
}

/* ---- read state --------------------------------------------------------------------------- */

static json_object *read_doc(const char *chat, long long id)
{
    json_object *d = json_object_new_object();
    json_object_object_add(d, "chatId", json_object_new_string(chat));
    json_object_object_add(d, "messageId", json_object_new_int64(id));
    return d;
}

/* Stores max(old, id) as user's read position in chat. 1 when it moved forward, 0 when not, -1
 * on a database error, -2 when the user is not a member (any more). */
static int store_read(const char *chat, const char *user, long long id)
{
    char idbuf[24];
    snprintf(idbuf, sizeof idbuf, "%lld", id);
    const char *p[3] = {chat, user, idbuf};
    PGresult *r = fn_db_exec(
        "INSERT INTO chatr.read_state (chat_id, user_id, last_read_id) VALUES ($1, $2, $3) "
        "ON CONFLICT (chat_id, user_id) DO UPDATE SET last_read_id = EXCLUDED.last_read_id, "
        "  updated_at = now() WHERE chatr.read_state.last_read_id < EXCLUDED.last_read_id "
        "RETURNING last_read_id",
        3, p);
    if (!r) {
        if (strcmp(fn_db_sqlstate(), SQLSTATE_FK) != 0) return -1;
        fn_db_clear_error();
        return -2;
    }
    int moved = PQntuples(r) > 0;
    PQclear(r);
    return moved;
}

int ev_mark_read(ev_ctx *ev)
{
    json_object *body = fn_body_json(ev->req, ev->res);
    if (!body) return 0;
    long long id;
    const char *chat = chat_and_message(ev, body, &id);
    /* A deleted message is still a place in the chat: it may be marked read. */
    if (chat && check_member(ev, chat) == 0 && check_message(ev, chat, id, 0) == 0) {
        int moved = store_read(chat, ev->user_id, id);
        if (moved == -1) {
            ev_db_fail(ev);
        } else if (moved == -2) {
            fn_error(ev->res, 403, "markRead: only the chat's members can do this");
        } else {
            /* Every tab and device of the user, this one included, learns the new position. */
            if (moved)
                ev_hub_send_user(ev->user_id, chat_event_encoded("readState", read_doc(chat, id)));
            ok(ev);
        }
    }
    json_object_put(body);
    return 0;
}

void ev_state_joined(const char *chat, const char *user)
{
    /* Best effort: without it the member's unread count starts from the chat's first message. */
    long long newest = ev_hub_newest_id(chat);
    if (newest < 0 || store_read(chat, user, newest) < 0)
        fn_log("read state of %.128s in %.80s not set at join", user, chat);
}
