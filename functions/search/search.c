/* search: GET /api/search?q=<text>[&chatId=<id>][&before=<id>][&limit=<n>], full-text search over
 * the messages of the caller's chats (docs/chat-features.md#search). The chats are the caller's
 * rows in chatr.members (a private chat has its two members only), or the one chatId names when
 * the caller is a member of it; the hub searches their groups (:searchMessages, PostgreSQL
 * full-text search over its history) and this function adds who wrote each hit:
 * {"value":[{"chatId","id","time","fromUserId","fromUserName","text","highlight","editedTime"?}],
 *  "more":bool}, newest first. highlight is text with the hits between the control characters
 * \u0002 and \u0003 (never HTML). */
#include "app_chat.h"
#include "fn.h"

#include <stdlib.h>
#include <string.h>
#include "fn_wps.h"
#include "wps_rest.h"

#define QUERY_CHARS_MAX 200                     /* characters of q */
#define QUERY_BUF (QUERY_CHARS_MAX * 4 * 3 + 1) /* room for q percent-encoded (fn_query) */
#define SEARCH_LIMIT 20                         /* hits per page by default ... */
#define SEARCH_LIMIT_MAX 50                     /* ... and at most (the hub's limit) */
#define SEARCH_CHATS_MAX WPS_REST_MAX_GROUPS    /* chats searched at once: the newest joined */

/* The query parameter name (NULL when absent) into buf; -1 with 400 when it does not fit. */
static int param(fn_req *req, fn_res *res, const char *name, char *buf, size_t len, int *present)
{
    size_t qlen = req->query ? strlen(req->query) : 0;
    *present = fn_query(req, name, buf, len) != NULL;
    if (*present) return 0;
    char *all = malloc(qlen + 1); /* absent, or longer than buf? */
    int there = all && fn_query(req, name, all, qlen + 1) != NULL;
    free(all);
    if (!there) return 0;
    fn_error(res, 400, "%s is too long", name);
    return -1;
}

/* A number parameter from 1 to max: 0 absent (*out unchanged), 1 present, -1 with 400. */
static int number(fn_req *req, fn_res *res, const char *name, long long max, long long *out)
{
    char buf[MESSAGE_ID_DIGITS + 2];
    int present;
    if (param(req, res, name, buf, sizeof buf, &present)) return -1;
    if (!present) return 0;
    size_t n = strlen(buf);
    long long v =
        n && n <= MESSAGE_ID_DIGITS && strspn(buf, "0123456789") == n ? strtoll(buf, NULL, 10) : -1;
    if (v < 1 || v > max) {
        fn_error(res, 400, "%s must be an integer from 1 to %lld", name, max);
        return -1;
    }
    *out = v;
    return 1;
}

/* q: valid UTF-8, 1..QUERY_CHARS_MAX characters, not only white space, no control characters. */
static int query_ok(const char *q)
{
    size_t chars = 0, left = strlen(q);
    int blank = 1;
    const unsigned char *p = (const unsigned char *)q;
    while (left) {
        uint32_t cp;
        size_t len = fn_utf8_next(p, left, &cp);
        if (len == 0 || cp < 0x20 || cp == 0x7f) return 0;
        if (cp != ' ') blank = 0;
        p += len, left -= len;
        chars++;
    }
    return chars >= 1 && chars <= QUERY_CHARS_MAX && !blank;
}

/* The chats to search as a NULL-terminated array of ids into *groups (strings live in *rows):
 * the caller's, or only chat. 0, or -1 with the answer given (404 unknown chat, 403 not a
 * member, 500). */
static int chats_of(fn_res *res, const char *me, const char *chat, PGresult **rows)
{
    char lim[16];
    snprintf(lim, sizeof lim, "%d", SEARCH_CHATS_MAX);
    if (chat) {
        const char *p[2] = {chat, me};
        *rows = fn_db_exec("SELECT c.id, EXISTS (SELECT 1 FROM chatr.members m "
                           "  WHERE m.chat_id = c.id AND m.user_id = $2) "
                           "FROM chatr.chats c WHERE c.id = $1",
                           2, p);
    } else {
        const char *p[2] = {me, lim};
        *rows = fn_db_exec("SELECT chat_id, true FROM chatr.members WHERE user_id = $1 "
                           "ORDER BY joined_at DESC, chat_id LIMIT $2::int",
                           2, p);
    }
    if (!*rows) {
        fn_error(res, 500, "database unavailable");
        return -1;
    }
    if (chat && PQntuples(*rows) == 0) {
        fn_error(res, 404, "no such chat");
    } else if (chat && PQgetvalue(*rows, 0, 1)[0] != 't') {
        fn_error(res, 403, "only the chat's members can search it");
    } else {
        return 0;
    }
    PQclear(*rows);
    *rows = NULL;
    return -1;
}

/* The names of the hits' authors: {"<userId>": "<name>"}. */
static json_object *names_of(json_object *hits)
{
    json_object *ids = json_object_new_array(), *names = json_object_new_object(), *v;
    for (size_t i = 0; i < json_object_array_length(hits); i++)
        if (json_object_object_get_ex(json_object_array_get_idx(hits, i), "fromUserId", &v) &&
            json_object_is_type(v, json_type_string))
            json_object_array_add(ids, json_object_get(v));
    const char *p[1] = {json_object_to_json_string_ext(ids, JSON_C_TO_STRING_PLAIN)};
    PGresult *r = json_object_array_length(ids)
                      ? fn_db_exec("SELECT id, name FROM chatr.users "
                                   "WHERE id IN (SELECT json_array_elements_text($1::json))",
                                   1, p)
                      : NULL;
    for (int i = 0; r && i < PQntuples(r); i++)
        json_object_object_add(names, PQgetvalue(r, i, 0),
                               json_object_new_string(PQgetvalue(r, i, 1)));
    PQclear(r);
    json_object_put(ids);
    return names;
}

static const char *string_of(json_object *o, const char *name)
{
    json_object *v;
    return json_object_object_get_ex(o, name, &v) && json_object_is_type(v, json_type_string)
               ? json_object_get_string(v)
               : NULL;
}

/* One hit of the hub as the app answers it; NULL for a hit that is not a line of text. */
static json_object *hit_of(json_object *h, json_object *names)
{
    json_object *data = json_object_object_get(h, "data"), *v;
    const char *text = json_object_is_type(data, json_type_string) ? json_object_get_string(data)
                                                                   : string_of(data, "message");
    if (!text) return NULL;
    const char *from = string_of(h, "fromUserId"), *name = NULL;
    if (from && json_object_object_get_ex(names, from, &v)) name = json_object_get_string(v);
    /* a line of the server's own (the bot) names itself; only the server sends without a user */
    if (!from && json_object_is_type(data, json_type_object))
        name = string_of(data, "fromUserName");
    json_object *o = json_object_new_object();
    json_object_object_add(o, "chatId", json_object_new_string(string_of(h, "group")));
    json_object_object_add(o, "id", json_object_get(json_object_object_get(h, "id")));
    json_object_object_add(o, "time", json_object_get(json_object_object_get(h, "time")));
    json_object_object_add(o, "fromUserId", from ? json_object_new_string(from) : NULL);
    json_object_object_add(o, "fromUserName", name ? json_object_new_string(name) : NULL);
    json_object_object_add(o, "text", json_object_new_string(text));
    json_object_object_add(o, "highlight", json_object_get(json_object_object_get(h, "highlight")));
    if (json_object_object_get_ex(h, "editedTime", &v))
        json_object_object_add(o, "editedTime", json_object_get(v));
    return o;
}

static int search(fn_req *req, fn_res *res)
{
    char q[QUERY_BUF], chat[CHAT_ID_STORED_MAX * 3 + 1];
    int has_q, has_chat;
    long long before = -1, limit = SEARCH_LIMIT;
    if (param(req, res, "q", q, sizeof q, &has_q) ||
        param(req, res, "chatId", chat, sizeof chat, &has_chat) ||
        number(req, res, "before", 999999999999999999LL, &before) < 0 ||
        number(req, res, "limit", SEARCH_LIMIT_MAX, &limit) < 0)
        return 0;
    if (!has_q || !query_ok(q)) {
        fn_error(res, 400, "q must be 1-%d characters of text", QUERY_CHARS_MAX);
        return 0;
    }
    if (has_chat && strlen(chat) > CHAT_ID_STORED_MAX) {
        fn_error(res, 400, "chatId is at most %d characters", CHAT_ID_STORED_MAX);
        return 0;
    }
    if (has_chat && !chat[0]) has_chat = 0;
    PGresult *rows;
    if (chats_of(res, req->principal->user_id, has_chat ? chat : NULL, &rows)) return 0;
    size_t n = (size_t)PQntuples(rows);
    const char **groups = calloc(n ? n : 1, sizeof *groups);
    for (size_t i = 0; groups && i < n; i++)
        groups[i] = PQgetvalue(rows, (int)i, 0);
    wps_client *client = fn_wps_client();
    json_object *found = NULL, *hits;
    int st = -1;
    if (!groups || !client) {
        fn_error(res, 500, "Web PubSub is not configured");
        goto done;
    }
    /* hits may carry messages of up to 1 MiB: a page over what the SDK keeps is asked again
     * with half the limit (fewer hits, and "more" says so) */
    while ((st = wps_rest_search_messages(client, q, groups, n, before, (int)limit, &found)) < 0 &&
           limit > 1 && strstr(wps_client_error(client), "response over"))
        limit = (limit + 1) / 2;
    if (st != 200 || !json_object_object_get_ex(found, "value", &hits)) {
        if (st < 0)
            fn_log("search: %s", wps_client_error(client));
        else
            fn_log("search: hub status %d", st);
        fn_error(res, 502, "search is unavailable");
        goto done;
    }
    json_object *names = names_of(hits), *value = json_object_new_array();
    for (size_t i = 0; i < json_object_array_length(hits); i++) {
        json_object *o = hit_of(json_object_array_get_idx(hits, i), names);
        if (o) json_object_array_add(value, o);
    }
    json_object_put(names);
    json_object *body = json_object_new_object();
    json_object_object_add(body, "value", value);
    json_object_object_add(body, "more", json_object_get(json_object_object_get(found, "more")));
    fn_json(res, 200, body);
done:
    json_object_put(found);
    free(groups);
    PQclear(rows);
    return 0;
}

int main(void)
{
    return fn_run("search", search);
}
