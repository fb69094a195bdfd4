/* chats: GET /api/chats, the chats a user can see
 * ({"chats": {"<chatId>": {"id","name","members":{"<userId>":{"userId","userName"}},"owner"}}}).
 * Private chats are listed only to their members.
 * GET /api/chats/{id}/messages?before=&after=&limit=: a page of the chat's history, for its
 * members only, as the hub's history REST extension answers it (docs/protocols.md#history):
 * {"value":[<envelope>, ...],"more":bool}, newest first. With ?around=<id> (a search hit): the page
 * centred on that id, {"value":[...],"more":bool (older ones exist),"newer":bool (newer ones
 * exist)} (docs/chat-features.md#search). */
#include "fn.h"

#include <stdlib.h>
#include <string.h>
#include "fn_wps.h"
#include "wps_rest.h"

#define CHAT_ID_STORED_MAX 300   /* chatr.chats.id */
#define HISTORY_LIMIT_DEFAULT 50 /* messages in a page when the caller names no limit */
#define HISTORY_LIMIT_MAX 200    /* messages in one page (the hub clamps there too) */
#define MESSAGE_ID_DIGITS 18     /* a bigint id, below 10^18 */

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

/* 0 when the caller is a member of chat; -1 with 404 (no such chat), 403 or 500 answered. */
static int check_member(fn_res *res, const char *chat, const char *me)
{
    if (strlen(chat) > CHAT_ID_STORED_MAX) {
        fn_error(res, 404, "no such chat");
        return -1;
    }
    const char *params[2] = {chat, me};
    PGresult *r = fn_db_exec("SELECT EXISTS (SELECT 1 FROM chatr.members m "
                             "  WHERE m.chat_id = c.id AND m.user_id = $2) "
                             "FROM chatr.chats c WHERE c.id = $1",
                             2, params);
    int rc = -1;
    if (!r)
        fn_error(res, 500, "database unavailable");
    else if (PQntuples(r) == 0)
        fn_error(res, 404, "no such chat");
    else if (PQgetvalue(r, 0, 0)[0] != 't')
        fn_error(res, 403, "only the chat's members can read its messages");
    else
        rc = 0;
    PQclear(r);
    return rc;
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
static int messages_around(fn_res *res, const char *chat, long long around, long long limit)
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
    fn_json(res, 200, body);
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
    if (check_member(res, chat, req->principal->user_id) || hub_init(res)) return 0;
    if (around > 0) return messages_around(res, chat, around, limit);
    /* A page larger than the SDK keeps (WPS_CLIENT_MAX_RESPONSE; messages may be up to 1 MiB
     * each) is asked again with half the limit: fewer messages, and "more" says so. */
    int st;
    while ((st = wps_rest_group_messages(client, chat, before, after, (int)limit, NULL)) < 0 &&
           limit > 1 && strstr(wps_client_error(client), "response over"))
        limit = (limit + 1) / 2;
    size_t len = 0;
    const char *body = wps_client_response(client, &len);
    if (st == 200) {
        fn_text(res, 200, "application/json; charset=utf-8", body, len);
    } else if (st == 400) {
        fn_error(res, 400, "bad paging parameters: %.200s", body);
    } else {
        if (st < 0)
            fn_log("history %s: %s", chat, wps_client_error(client));
        else
            fn_log("history %s: hub status %d", chat, st);
        fn_error(res, 502, "the chat's history is unavailable");
    }
    return 0;
}

static int chats(fn_req *req, fn_res *res)
{
    if (fn_route(req, "id")) return messages(req, res, fn_route(req, "id"));
    const char *me = req->principal ? req->principal->user_id : "";
    const char *params[1] = {me};
    /* One query: visible chats with their members (LEFT JOIN keeps empty chats). */
    PGresult *r = fn_db_exec(
        "SELECT c.id, c.name, c.owner, c.private, coalesce(c.topic, ''), m.user_id, u.name "
        "FROM chatr.chats c "
        "LEFT JOIN chatr.members m ON m.chat_id = c.id "
        "LEFT JOIN chatr.users u ON u.id = m.user_id "
        "WHERE NOT c.private OR EXISTS (SELECT 1 FROM chatr.members x "
        "                               WHERE x.chat_id = c.id AND x.user_id = $1) "
        "ORDER BY c.created_at, c.id, m.joined_at",
        1, params);
    if (!r) {
        fn_error(res, 500, "database unavailable");
        return 0;
    }
    json_object *all = json_object_new_object();
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
            json_object_object_add(all, id, chat);
            cur = id;
        }
        if (!PQgetisnull(r, i, 5)) {
            json_object *m = json_object_new_object();
            json_object_object_add(m, "userId", json_object_new_string(PQgetvalue(r, i, 5)));
            json_object_object_add(m, "userName", json_object_new_string(PQgetvalue(r, i, 6)));
            json_object_object_add(members, PQgetvalue(r, i, 5), m);
        }
    }
    json_object *body = json_object_new_object();
    json_object_object_add(body, "chats", all);
    PQclear(r);
    fn_json(res, 200, body);
    return 0;
}

int main(void)
{
    return fn_run("chats", chats);
}
