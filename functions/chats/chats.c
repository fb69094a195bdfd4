/* chats: GET /api/chats, the chats a user can see
 * ({"chats": {"<chatId>": {"id","name","members":{"<userId>":{"userId","userName"}},"owner"}}}).
 * Private chats are listed only to their members.
 * GET /api/chats/{id}/messages?before=&after=&limit=: a page of the chat's history, for its
 * members only, as the hub's history REST extension answers it (docs/protocols.md#history):
 * {"value":[<envelope>, ...],"more":bool}, newest first. With ?around=<id> (a search hit): the page
 * centred on that id, {"value":[...],"more":bool (older ones exist),"newer":bool (newer ones
 * exist)} (docs/chat-features.md#search). */
#include "app_chat.h"
#include "fn.h"

#include <stdlib.h>
#include <string.h>
#include "fn_wps.h"
#include "wps_rest.h"

#define HISTORY_LIMIT_DEFAULT 50 /* messages in a page when the caller names no limit */
#define HISTORY_LIMIT_MAX 200    /* messages in one page (the hub clamps there too) */
#define COUNT_MAX 1000 /* unread and mention counts stop there (the client shows "999+") */
#define COUNT_CHATS_MAX WPS_REST_MAX_GROUPS /* chats counted in one GET /api/chats */
#define REACTION_USERS_MAX_STR "50" /* userIds listed per kind of reaction in a history page */

static wps_client *client; /* fn_wps_client(), once hub_init succeeded */

static int hub_init(fn_res *res)
{
    if ((client = fn_wps_client()) != NULL) return 0;
    fn_error(res, 500, "Web PubSub is not configured");
    return -1;
}

/* Query parameter name as a non-negative integer into *out (-1 when absent or empty); 0, or -1
 * with a 400 answer. */
static int query_number(fn_req *req, fn_res *res, const char *name, long long *out)
{
    char buf[MESSAGE_ID_DIGITS + 2];
    size_t qlen = req->query ? strlen(req->query) : 0;
    *out = -1;
    if (!fn_query(req, name, buf, sizeof buf)) {
        /* Absent, or longer than any id: look again with room for the whole query. */
        char *all = malloc(qlen + 1);
        int present = all && fn_query(req, name, all, qlen + 1) != NULL;
        free(all);
        if (!present) return 0;
        buf[0] = 'x';
        buf[1] = '\0';
    }
    size_t n = strlen(buf);
    if (n == 0) return 0;
    if (n > MESSAGE_ID_DIGITS || strspn(buf, "0123456789") != n) {
        fn_error(res, 400, "%s must be a non-negative integer", name);
        return -1;
    }
    *out = strtoll(buf, NULL, 10);
    return 0;
}

/* Gives every entry of a history page its "reactions" (docs/chat-features.md#reactions):
 * [{"emoji","count","userIds":[first REACTION_USERS_MAX],"me"}], kinds in the order they were
 * first given, [] for none and for a deleted message. One query for the page. 0, or -1 with 500
 * answered. */
static int add_reactions(fn_res *res, const char *chat, const char *me, json_object *page)
{
    json_object *value;
    if (!json_object_object_get_ex(page, "value", &value) ||
        !json_object_is_type(value, json_type_array))
        return 0;
    size_t n = json_object_array_length(value);
    /* The page's ids as a bigint[] literal: "{1,2,3}" (numbers from the hub, printed by us). */
    char *ids = malloc(n * 21 + 3), *w = ids;
    if (!ids) {
        fn_error(res, 500, "out of memory");
        return -1;
    }
    *w++ = '{';
    for (size_t i = 0; i < n; i++) {
        json_object *id, *m = json_object_array_get_idx(value, i);
        if (json_object_object_get_ex(m, "id", &id))
            w +=
                sprintf(w, "%s%lld", w[-1] == '{' ? "" : ",", (long long)json_object_get_int64(id));
        json_object_object_add(m, "reactions", json_object_new_array());
    }
    strcpy(w, "}");
    const char *params[4] = {chat, ids, me, REACTION_USERS_MAX_STR};
    PGresult *r = fn_db_exec(
        "SELECT message_id, json_agg(json_build_object('emoji', emoji, 'count', n, 'userIds', "
        "  users, 'me', me) ORDER BY first, emoji) "
        "FROM (SELECT message_id, emoji, count(*) AS n, min(created_at) AS first, "
        "        to_json((array_agg(user_id ORDER BY created_at, user_id))[1:$4::int]) AS users, "
        "        bool_or(user_id = $3) AS me "
        "      FROM chatr.reactions WHERE chat_id = $1 AND message_id = ANY ($2::bigint[]) "
        "      GROUP BY message_id, emoji) k "
        "GROUP BY message_id",
        4, params);
    free(ids);
    if (!r) {
        fn_error(res, 500, "database unavailable");
        return -1;
    }
    for (int row = 0; row < PQntuples(r); row++) {
        long long mid = strtoll(PQgetvalue(r, row, 0), NULL, 10);
        for (size_t i = 0; i < n; i++) {
            json_object *id, *data, *m = json_object_array_get_idx(value, i);
            if (!json_object_object_get_ex(m, "id", &id) || json_object_get_int64(id) != mid)
                continue;
            /* A deleted message (data null) shows none. */
            if (json_object_object_get_ex(m, "data", &data) && !data) break;
            json_object *list = json_tokener_parse(PQgetvalue(r, row, 1));
            if (list) json_object_object_add(m, "reactions", list);
            break;
        }
    }
    PQclear(r);
    return 0;
}

/* One history page of chat as parsed JSON (*out), asked again with half the limit while it is
 * larger than the SDK keeps (messages may be up to 1 MiB each). The hub's status, or -1. */
static int page_json(const char *chat, long long before, long long after, long long limit,
                     json_object **out)
{
    int st;
    while ((st = wps_rest_group_messages(client, chat, before, after, (int)limit, out)) < 0 &&
           limit > 1 && strstr(wps_client_error(client), "response over"))
        limit = (limit + 1) / 2;
    if (st != 200) {
        if (st < 0)
            fn_log("history %s: %s", chat, wps_client_error(client));
        else
            fn_log("history %s: hub status %d", chat, st);
    }
    return st;
}

/* ?around=<id>: the newest half of the page at or below id, the rest above it. */
static int messages_around(fn_res *res, const char *chat, const char *me, long long around,
                           long long limit)
{
    long long older_n = limit / 2 + 1, newer_n = limit - older_n;
    json_object *older = NULL, *newer = NULL, *v;
    int ok = page_json(chat, around + 1, -1, older_n, &older) == 200 &&
             (newer_n == 0 || page_json(chat, -1, around, newer_n, &newer) == 200);
    if (!ok) {
        json_object_put(older);
        json_object_put(newer);
        fn_error(res, 502, "the chat's history is unavailable");
        return 0;
    }
    json_object *value = json_object_new_array(), *body = json_object_new_object();
    int newer_more = 0;
    if (newer && json_object_object_get_ex(newer, "value", &v))
        for (size_t i = 0; i < json_object_array_length(v); i++)
            json_object_array_add(value, json_object_get(json_object_array_get_idx(v, i)));
    if (newer && json_object_object_get_ex(newer, "more", &v))
        newer_more = json_object_get_boolean(v);
    if (json_object_object_get_ex(older, "value", &v))
        for (size_t i = 0; i < json_object_array_length(v); i++)
            json_object_array_add(value, json_object_get(json_object_array_get_idx(v, i)));
    json_object_object_add(body, "value", value);
    json_object_object_add(body, "more",
                           json_object_new_boolean(json_object_object_get_ex(older, "more", &v) &&
                                                   json_object_get_boolean(v)));
    json_object_object_add(body, "newer", json_object_new_boolean(newer_more));
    json_object_put(older);
    json_object_put(newer);
    if (add_reactions(res, chat, me, body) == 0)
        fn_json(res, 200, body);
    else
        json_object_put(body);
    return 0;
}

static int messages(fn_req *req, fn_res *res, const char *chat)
{
    long long before, after, limit, around;
    if (query_number(req, res, "before", &before) || query_number(req, res, "after", &after) ||
        query_number(req, res, "limit", &limit) || query_number(req, res, "around", &around))
        return 0;
    if (around == 0 || (around > 0 && (before >= 0 || after >= 0))) {
        fn_error(res, 400, "around is a message id, without before or after");
        return 0;
    }
    if (limit == 0) {
        fn_error(res, 400, "limit must be 1 or more");
        return 0;
    }
    if (limit < 0) limit = HISTORY_LIMIT_DEFAULT;
    if (limit > HISTORY_LIMIT_MAX) limit = HISTORY_LIMIT_MAX;
    if (app_chat_member(res, chat, req->principal->user_id,
                        "only the chat's members can read its messages") ||
        hub_init(res))
        return 0;
    if (around > 0) return messages_around(res, chat, req->principal->user_id, around, limit);
    /* A page larger than the SDK keeps (WPS_CLIENT_MAX_RESPONSE; messages may be up to 1 MiB
     * each) is asked again with half the limit: fewer messages, and "more" says so. */
    int st;
    json_object *page = NULL;
    while ((st = wps_rest_group_messages(client, chat, before, after, (int)limit, &page)) < 0 &&
           limit > 1 && strstr(wps_client_error(client), "response over"))
        limit = (limit + 1) / 2;
    size_t len = 0;
    const char *body = wps_client_response(client, &len);
    if (st == 200) {
        if (add_reactions(res, chat, req->principal->user_id, page) == 0)
            fn_json(res, 200, json_object_get(page));
    } else if (st == 400) {
        fn_error(res, 400, "bad paging parameters: %.200s", body);
    } else {
        if (st < 0)
            fn_log("history %s: %s", chat, wps_client_error(client));
        else
            fn_log("history %s: hub status %d", chat, st);
        fn_error(res, 502, "the chat's history is unavailable");
    }
    json_object_put(page);
    return 0;
}

/* The hub's :countMessages (docs/protocols.md#history): for each chat of groups ({"<chat>":
 * <after id>}), the chat lines after that id (data a JSON object: not the notices), not
 * deleted, not from except_user, whose data contains `contains` (NULL: any), at most COUNT_MAX.
 * 200 with *out the answer, else -1 or the status (logged). */
static int count_messages(json_object *groups, const char *except_user, json_object *contains,
                          json_object **out)
{
    /* objectsOnly: chat lines (users' and the bot's), not the plain-string notices ("X has
     * joined the chat"), which the web app shows but does not count either */
    int st = wps_rest_count_messages(client, groups, except_user, contains, COUNT_MAX, 1, out);
    if (st < 0)
        fn_log("count messages: %s", wps_client_error(client));
    else if (st != 200)
        fn_log("count messages: hub status %d", st);
    return st;
}

/* Sets "unread" and "mentions" of the caller's chats (mine: {"<chat>": <last read id or 0>})
 * in all, from two :countMessages calls over all of them: messages after the last read one, not
 * the caller's own; mentions are those whose data has the caller in "mentions". Only chats the
 * caller is a member of are asked about, so a count never tells anything of another chat. When
 * the hub cannot answer, the counts stay 0 (the chat list itself must not fail). */
static void add_counts(json_object *all, json_object *mine, const char *me)
{
    if (json_object_object_length(mine) == 0 || !(client = fn_wps_client())) return;
    json_object *contains = json_object_new_object(), *who = json_object_new_array();
    json_object_array_add(who, json_object_new_string(me));
    json_object_object_add(contains, "mentions", who);
    static const char *const fields[2] = {"unread", "mentions"};
    for (int f = 0; f < 2; f++) {
        json_object *counts = NULL;
        if (count_messages(mine, me, f ? contains : NULL, &counts) != 200) break;
        json_object_object_foreach(counts, id, v)
        {
            json_object *chat, *n;
            if (json_object_object_get_ex(all, id, &chat) &&
                json_object_object_get_ex(mine, id, NULL) &&
                json_object_object_get_ex(v, "count", &n))
                json_object_object_add(chat, fields[f],
                                       json_object_new_int(json_object_get_int(n)));
        }
        json_object_put(counts);
    }
    json_object_put(contains);
}

static int chats(fn_req *req, fn_res *res)
{
    if (fn_route(req, "id")) return messages(req, res, fn_route(req, "id"));
    const char *me = req->principal ? req->principal->user_id : "";
    const char *params[1] = {me};
    /* One query: visible chats with their members (LEFT JOIN keeps empty chats). */
    PGresult *r = fn_db_exec(
        "SELECT c.id, c.name, c.owner, c.private, coalesce(c.topic, ''), m.user_id, u.name, "
        "       rs.last_read_id "
        "FROM chatr.chats c "
        "LEFT JOIN chatr.members m ON m.chat_id = c.id "
        "LEFT JOIN chatr.users u ON u.id = m.user_id "
        "LEFT JOIN chatr.read_state rs ON rs.chat_id = c.id AND rs.user_id = $1 "
        "WHERE NOT c.private OR EXISTS (SELECT 1 FROM chatr.members x "
        "                               WHERE x.chat_id = c.id AND x.user_id = $1) "
        "ORDER BY c.created_at, c.id, m.joined_at",
        1, params);
    if (!r) {
        fn_error(res, 500, "database unavailable");
        return 0;
    }
    json_object *all = json_object_new_object(), *mine = json_object_new_object();
    json_object *chat = NULL, *members = NULL;
    const char *cur = "";
    for (int i = 0; i < PQntuples(r); i++) {
        const char *id = PQgetvalue(r, i, 0);
        if (!chat || strcmp(id, cur) != 0) {
            chat = json_object_new_object();
            members = json_object_new_object();
            json_object_object_add(chat, "id", json_object_new_string(id));
            json_object_object_add(chat, "name", json_object_new_string(PQgetvalue(r, i, 1)));
            json_object_object_add(chat, "members", members);
            json_object_object_add(chat, "owner", json_object_new_string(PQgetvalue(r, i, 2)));
            json_object_object_add(chat, "private",
                                   json_object_new_boolean(PQgetvalue(r, i, 3)[0] == 't'));
            json_object_object_add(chat, "topic", json_object_new_string(PQgetvalue(r, i, 4)));
            /* The caller's read state (docs/chat-features.md#read-state-and-unread-counts); the
             * counts are filled in by add_counts for the caller's own chats. */
            long long last = PQgetisnull(r, i, 7) ? 0 : strtoll(PQgetvalue(r, i, 7), NULL, 10);
            json_object_object_add(chat, "unread", json_object_new_int(0));
            json_object_object_add(chat, "mentions", json_object_new_int(0));
            json_object_object_add(chat, "lastReadId",
                                   last > 0 ? json_object_new_int64(last) : NULL);
            json_object_object_add(all, id, chat);
            cur = id;
        }
        if (!PQgetisnull(r, i, 5) && strcmp(PQgetvalue(r, i, 5), me) == 0 &&
            json_object_object_length(mine) < COUNT_CHATS_MAX) {
            long long last = PQgetisnull(r, i, 7) ? 0 : strtoll(PQgetvalue(r, i, 7), NULL, 10);
            json_object_object_add(mine, cur, json_object_new_int64(last));
        }
        if (!PQgetisnull(r, i, 5)) {
            json_object *m = json_object_new_object();
            json_object_object_add(m, "userId", json_object_new_string(PQgetvalue(r, i, 5)));
            json_object_object_add(m, "userName", json_object_new_string(PQgetvalue(r, i, 6)));
            json_object_object_add(members, PQgetvalue(r, i, 5), m);
        }
    }
    PQclear(r);
    add_counts(all, mine, me);
    json_object_put(mine);
    json_object *body = json_object_new_object();
    json_object_object_add(body, "chats", all);
    fn_json(res, 200, body);
    return 0;
}

int main(void)
{
    return fn_run("chats", chats);
}
