/* chat_events.c: the Chatr events (docs/protocols.md#events) run by eventHandler. Each validates
 * its input, changes chatr.* in PostgreSQL, then tells the hub; a bad input changes nothing and
 * answers 4xx, which the hub turns into an error ack for the client. */
#include "events.h"

#include <stdio.h>
#include <string.h>

/* ---- input checks ---------------------------------------------------------------------- */

/* Valid UTF-8 (strict: fn_utf8_next) without control characters, 1..max characters. */
int ev_valid_text(const char *s, size_t max_chars)
{
    size_t chars = 0, left = strlen(s);
    const unsigned char *p = (const unsigned char *)s;
    while (left) {
        uint32_t cp;
        size_t len = fn_utf8_next(p, left, &cp);
        if (len == 0 || cp < 0x20 || cp == 0x7f) return 0;
        p += len, left -= len;
        chars++;
    }
    return chars >= 1 && chars <= max_chars;
}

static int valid_chat_id(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > CHAT_ID_MAX) return 0;
    return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_") == n;
}

/* The body of a text event (dataType text): the chat id, without surrounding whitespace. */
static const char *text_body(ev_ctx *ev)
{
    char *b = ev->req->body;
    size_t n = ev->req->body_len;
    while (n && (b[n - 1] == ' ' || b[n - 1] == '\n' || b[n - 1] == '\r'))
        b[--n] = '\0';
    /* The original client may send a JSON string; accept "id" as well as id. */
    if (n >= 2 && b[0] == '"' && b[n - 1] == '"') {
        b[n - 1] = '\0';
        return b + 1;
    }
    return b;
}

const char *ev_field(json_object *o, const char *name)
{
    json_object *v;
    if (!json_object_object_get_ex(o, name, &v) || !json_object_is_type(v, json_type_string))
        return NULL;
    return json_object_get_string(v);
}

int ev_db_fail(ev_ctx *ev)
{
    fn_error(ev->res, 500, "database unavailable");
    return 0;
}

static void ok(ev_ctx *ev)
{
    fn_text(ev->res, 200, NULL, "", 0);
}

/* ---- presence ----------------------------------------------------------------------------- */

static json_object *user_doc(PGresult *r, int row)
{
    json_object *u = json_object_new_object();
    json_object_object_add(u, "userId", json_object_new_string(PQgetvalue(r, row, 0)));
    json_object_object_add(u, "userName", json_object_new_string(PQgetvalue(r, row, 1)));
    json_object_object_add(u, "userProvider", json_object_new_string(PQgetvalue(r, row, 2)));
    json_object_object_add(u, "idle", json_object_new_boolean(PQgetvalue(r, row, 3)[0] == 't'));
    return u;
}

/* Marks the user online. Everyone hears userOnline when the user came online; a further tab of
 * a user already online hears it alone (the client shows itself online when its id comes back). */
static int come_online(ev_ctx *ev)
{
    const char *p[1] = {ev->user_id};
    PGresult *r =
        fn_db_exec("WITH before AS (SELECT online FROM chatr.users WHERE id = $1) "
                   "UPDATE chatr.users u SET online = true, idle = false, last_seen = now() "
                   "FROM before WHERE u.id = $1 "
                   "RETURNING u.id, u.name, u.provider, u.idle, before.online",
                   1, p);
    if (!r) return ev_db_fail(ev);
    if (PQntuples(r) == 0) {
        PQclear(r);
        fn_error(ev->res, 404, "unknown user %s (sign in and get a token first)", ev->user_id);
        return 0;
    }
    int was_online = PQgetvalue(r, 0, 4)[0] == 't';
    json_object *msg = chat_event_encoded("userOnline", user_doc(r, 0));
    PQclear(r);
    if (was_online)
        ev_hub_send_connection(ev->connection_id, msg);
    else
        ev_hub_send_all(msg);
    ok(ev);
    return 0;
}

int ev_connected(ev_ctx *ev)
{
    return come_online(ev);
}

int ev_user_connected(ev_ctx *ev)
{
    /* Accepted for compatibility: names come from our records, never from this message. */
    return come_online(ev);
}

int ev_disconnected(ev_ctx *ev)
{
    int online = ev_hub_user_online(ev->user_id);
    if (online != 0) {
        ok(ev); /* another tab is still open, or we cannot tell: stay online */
        return 0;
    }
    const char *p[1] = {ev->user_id};
    PGresult *r =
        fn_db_exec("UPDATE chatr.users SET online = false, idle = false, last_seen = now() "
                   "WHERE id = $1 AND online RETURNING id",
                   1, p);
    if (!r) return ev_db_fail(ev);
    int changed = PQntuples(r) > 0;
    PQclear(r);
    if (changed) ev_hub_send_all(chat_event("userOffline", json_object_new_string(ev->user_id)));
    ok(ev);
    return 0;
}

int ev_idle(ev_ctx *ev)
{
    int idle = strcmp(ev->event, "userEnterIdle") == 0;
    /* The body names a user id in the original; only the caller's own state may change. */
    const char *body = text_body(ev);
    if (*body && strcmp(body, ev->user_id) != 0) {
        fn_error(ev->res, 403, "you can only change your own idle state");
        return 0;
    }
    const char *p[2] = {ev->user_id, idle ? "true" : "false"};
    PGresult *r = fn_db_exec("UPDATE chatr.users SET idle = $2::boolean, last_seen = now() "
                             "WHERE id = $1 AND idle <> $2::boolean RETURNING id",
                             2, p);
    if (!r) return ev_db_fail(ev);
    int changed = PQntuples(r) > 0;
    PQclear(r);
    if (changed)
        ev_hub_send_all(
            chat_event(idle ? "userIsIdle" : "userNotIdle", json_object_new_string(ev->user_id)));
    ok(ev);
    return 0;
}

/* ---- chats -------------------------------------------------------------------------------- */

static json_object *chat_doc(const char *id, const char *name, const char *owner)
{
    json_object *c = json_object_new_object();
    json_object_object_add(c, "id", json_object_new_string(id));
    json_object_object_add(c, "name", json_object_new_string(name));
    json_object_object_add(c, "members", json_object_new_object());
    json_object_object_add(c, "owner", json_object_new_string(owner));
    return c;
}

int ev_create_chat(ev_ctx *ev)
{
    json_object *body = fn_body_json(ev->req, ev->res);
    if (!body) return 0;
    const char *id = ev_field(body, "id"), *name = ev_field(body, "name");
    if (!id || !valid_chat_id(id) || strncmp(id, "private_", 8) == 0) {
        fn_error(ev->res, 400, "chat id must be 1-%d letters, digits, '-' or '_', not private_*",
                 CHAT_ID_MAX);
    } else if (!name || !ev_valid_text(name, CHAT_NAME_MAX)) {
        fn_error(ev->res, 400, "chat name must be 1-%d characters of text", CHAT_NAME_MAX);
    } else {
        const char *p[3] = {id, name, ev->user_id};
        PGresult *r = fn_db_exec("INSERT INTO chatr.chats (id, name, owner) VALUES ($1, $2, $3) "
                                 "ON CONFLICT (id) DO NOTHING RETURNING id",
                                 3, p);
        if (!r) {
            ev_db_fail(ev);
        } else if (PQntuples(r) == 0) {
            fn_error(ev->res, 409, "chat %s already exists", id);
        } else {
            ev_hub_send_all(chat_event_encoded("chatCreated", chat_doc(id, name, ev->user_id)));
            ok(ev);
        }
        PQclear(r);
    }
    json_object_put(body);
    return 0;
}

/* The user's name, for notices; NULL if unknown. */
char *ev_user_name(const char *user, char *buf, size_t len)
{
    const char *p[1] = {user};
    PGresult *r = fn_db_exec("SELECT name FROM chatr.users WHERE id = $1", 1, p);
    if (!r || PQntuples(r) == 0) {
        PQclear(r);
        return NULL;
    }
    snprintf(buf, len, "%s", PQgetvalue(r, 0, 0));
    PQclear(r);
    return buf;
}

int ev_join_chat(ev_ctx *ev)
{
    const char *chat = text_body(ev);
    const char *p[2] = {chat, ev->user_id};
    /* Public chats are open to all; a private chat only to its two members. */
    PGresult *r = fn_db_exec("SELECT c.private, EXISTS (SELECT 1 FROM chatr.members m "
                             "  WHERE m.chat_id = c.id AND m.user_id = $2) "
                             "FROM chatr.chats c WHERE c.id = $1",
                             2, p);
    if (!r) return ev_db_fail(ev);
    if (PQntuples(r) == 0) {
        PQclear(r);
        fn_error(ev->res, 404, "no chat %.80s", chat);
        return 0;
    }
    int is_private = PQgetvalue(r, 0, 0)[0] == 't', member = PQgetvalue(r, 0, 1)[0] == 't';
    PQclear(r);
    if (is_private && !member) {
        fn_error(ev->res, 403, "private chat");
        return 0;
    }
    r = fn_db_exec("INSERT INTO chatr.members (chat_id, user_id) VALUES ($1, $2) "
                   "ON CONFLICT DO NOTHING RETURNING user_id",
                   2, p);
    if (!r) return ev_db_fail(ev);
    int joined = PQntuples(r) > 0;
    PQclear(r);
    if (ev_hub_join(chat, ev->connection_id) != 0) {
        fn_error(ev->res, 500, "could not join the chat's group");
        return 0;
    }
    char name[USER_NAME_MAX * 4 + 1], notice[NOTICE_MAX];
    if (joined && ev_user_name(ev->user_id, name, sizeof name)) {
        snprintf(notice, sizeof notice, "%s has joined the chat", name);
        ev_hub_group_notice(chat, notice);
    }
    if (joined) ev_state_joined(chat, ev->user_id); /* after the notice: read up to it */
    ok(ev);
    return 0;
}

int ev_leave_chat(ev_ctx *ev)
{
    json_object *body = fn_body_json(ev->req, ev->res);
    if (!body) return 0;
    const char *chat = ev_field(body, "chatId");
    if (!chat || !*chat) {
        fn_error(ev->res, 400, "chatId is required");
        json_object_put(body);
        return 0;
    }
    const char *p[2] = {chat, ev->user_id};
    PGresult *r = fn_db_exec("DELETE FROM chatr.members WHERE chat_id = $1 AND user_id = $2 "
                             "RETURNING user_id",
                             2, p);
    if (!r) {
        json_object_put(body);
        return ev_db_fail(ev);
    }
    int left = PQntuples(r) > 0;
    PQclear(r);
    ev_hub_leave_user(chat, ev->user_id);
    char name[USER_NAME_MAX * 4 + 1], notice[NOTICE_MAX];
    if (left && ev_user_name(ev->user_id, name, sizeof name)) {
        snprintf(notice, sizeof notice, "%s has left the chat", name);
        ev_hub_group_notice(chat, notice);
    }
    json_object_put(body);
    ok(ev);
    return 0;
}

/* Copies at most max_chars UTF-8 characters of src (valid UTF-8) into dst. */
void ev_utf8_prefix(char *dst, size_t dstlen, const char *src, size_t max_chars)
{
    size_t i = 0, chars = 0;
    while (src[i] && chars < max_chars) {
        size_t len = 1;
        while ((src[i + len] & 0xc0) == 0x80)
            len++;
        if (i + len >= dstlen) break;
        i += len;
        chars++;
    }
    memcpy(dst, src, i);
    dst[i] = '\0';
}

static json_object *private_doc(const char *id, const char *name, int grab)
{
    json_object *c = json_object_new_object();
    json_object_object_add(c, "id", json_object_new_string(id));
    json_object_object_add(c, "name", json_object_new_string(name));
    json_object_object_add(c, "grabFocus", json_object_new_boolean(grab));
    return c;
}

int ev_create_private_chat(ev_ctx *ev)
{
    json_object *body = fn_body_json(ev->req, ev->res);
    if (!body) return 0;
    const char *initiator = ev_field(body, "initiatorUserId"),
               *target = ev_field(body, "targetUserId");
    char a_name[USER_NAME_MAX * 4 + 1], b_name[USER_NAME_MAX * 4 + 1];
    if (initiator && strcmp(initiator, ev->user_id) != 0) {
        fn_error(ev->res, 403, "you can only start private chats as yourself");
    } else if (!target || !*target || strcmp(target, ev->user_id) == 0) {
        fn_error(ev->res, 400, "targetUserId must name another user");
    } else if (!ev_user_name(ev->user_id, a_name, sizeof a_name) ||
               !ev_user_name(target, b_name, sizeof b_name)) {
        fn_error(ev->res, 404, "unknown user");
    } else {
        const char *lo = strcmp(ev->user_id, target) < 0 ? ev->user_id : target;
        const char *hi = lo == ev->user_id ? target : ev->user_id;
        char id[2 * FN_MAX_USER_ID + 16], a_short[200], b_short[200], name[CHAT_NAME_MAX * 4 + 8];
        snprintf(id, sizeof id, "private_%s_%s", lo, hi);
        /* "A & B" within the chat name limit, whatever the names' lengths. */
        ev_utf8_prefix(a_short, sizeof a_short, a_name, (CHAT_NAME_MAX - 3) / 2);
        ev_utf8_prefix(b_short, sizeof b_short, b_name, (CHAT_NAME_MAX - 3) / 2);
        snprintf(name, sizeof name, "%s & %s", a_short, b_short);
        const char *p[4] = {id, name, ev->user_id, target};
        /* An existing chat of the pair keeps the name it was created with, whoever clicks
         * now: the answer carries the stored name, so both tabs keep one name. */
        PGresult *r = fn_db_exec(
            "WITH c AS (INSERT INTO chatr.chats (id, name, owner, private) VALUES ($1, $2, $3, "
            "true) "
            "           ON CONFLICT (id) DO UPDATE SET id = EXCLUDED.id RETURNING id, name), "
            "m AS (INSERT INTO chatr.members (chat_id, user_id) SELECT c.id, u FROM c, "
            "      unnest(ARRAY[$3, $4]) AS u ON CONFLICT DO NOTHING) "
            "SELECT name FROM c",
            4, p);
        if (!r) {
            ev_db_fail(ev);
        } else {
            if (PQntuples(r) == 1) snprintf(name, sizeof name, "%s", PQgetvalue(r, 0, 0));
            PQclear(r);
            ev_hub_join_user(id, ev->user_id);
            ev_hub_join_user(id, target);
            ev_hub_send_user(ev->user_id,
                             chat_event_encoded("joinPrivateChat", private_doc(id, name, 1)));
            ev_hub_send_user(target,
                             chat_event_encoded("joinPrivateChat", private_doc(id, name, 0)));
            char notice[NOTICE_MAX];
            snprintf(notice, sizeof notice, "%s wants to chat", a_name);
            ev_hub_group_notice(id, notice);
            ok(ev);
        }
    }
    json_object_put(body);
    return 0;
}

int ev_delete_chat(ev_ctx *ev)
{
    const char *chat = text_body(ev);
    const char *p[2] = {chat, ev->user_id};
    PGresult *r = fn_db_exec("SELECT owner = $2 FROM chatr.chats WHERE id = $1", 2, p);
    if (!r) return ev_db_fail(ev);
    if (PQntuples(r) == 0) {
        PQclear(r);
        fn_error(ev->res, 404, "no chat %.80s", chat);
        return 0;
    }
    int owner = PQgetvalue(r, 0, 0)[0] == 't';
    PQclear(r);
    if (!owner) {
        fn_error(ev->res, 403, "only the chat's owner can delete it");
        return 0;
    }
    r = fn_db_exec("DELETE FROM chatr.chats WHERE id = $1 AND owner = $2", 2, p);
    if (!r) return ev_db_fail(ev);
    PQclear(r);
    ev_hub_dissolve(chat);
    ev_hub_delete_history(chat); /* after the group is empty, so nothing new is stored */
    ev_hub_send_all(chat_event("chatDeleted", json_object_new_string(chat)));
    ok(ev);
    return 0;
}
