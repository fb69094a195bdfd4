/* history.c: hub-rest's history extension (docs/protocols.md#history): pages of a group's
 * stored messages, one message read, edited or deleted, full-text search over groups and counts
 * of the messages after an id. The statements are hub_store.c's; this file checks the input,
 * maps the answers to status codes and writes the JSON. Not part of Azure Web PubSub. */
#include "rest.h"
#include "hub_store.h"
#include "hub_moderate.h"
#include "hub_name.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HIST_ID_DIGITS 18           /* a message id: 1..18 digits (a bigint below 10^18) */
#define HIST_SEARCH_Q_MAX 1024      /* bytes of a search query */
#define HIST_SEARCH_GROUPS_MAX 1000 /* groups one search or count names */
#define HIST_SEARCH_LIMIT 20        /* hits per search page by default ... */
#define HIST_SEARCH_LIMIT_MAX 50    /* ... and at most */
#define HIST_COUNT_MAX 1000         /* the cap of a count, and its default */
#define HIST_CONTAINS_MAX 4096      /* bytes of a count's "contains" document */
/* ts_headline's options: the hits between the control characters STX and ETX (never HTML: the
 * client turns them into <mark> elements of text nodes), up to two fragments of a few words. */
#define HIST_HEADLINE                                                                              \
    "StartSel=\x02, StopSel=\x03, MaxWords=24, MinWords=8, ShortWord=2, MaxFragments=2, "          \
    "FragmentDelimiter=\" … \""

/* A non-negative integer query parameter: 0 absent, 1 present (*out), -1 invalid. */
static int query_id(rest *r, const char *name, long long *out)
{
    char buf[32];
    if (!fn_query(r->req, name, buf, sizeof buf)) return 0;
    char *end;
    errno = 0;
    long long v = strtoll(buf, &end, 10);
    if (!buf[0] || *end || errno || v < 0) return -1;
    *out = v;
    return 1;
}

/* s as a message id (1..HIST_ID_DIGITS digits, above 0), or -1. */
static long long parse_id(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > HIST_ID_DIGITS || strspn(s, "0123456789") != n) return -1;
    long long v = strtoll(s, NULL, 10);
    return v > 0 ? v : -1;
}

/* The id in the path (segment 3); -1 with 400 answered. */
static long long path_id(rest *r)
{
    long long id = parse_id(r->seg[3]);
    if (id < 0)
        fn_error(r->res, 400, "a message id is a positive integer of at most %d digits",
                 HIST_ID_DIGITS);
    return id;
}

/* An envelope's fields that are null when not set are left out (fromUserId of a server message,
 * editedTime, deletedTime); data stays, null for a deleted message. */
static void drop_unset(json_object *env)
{
    static const char *const optional[] = {"fromUserId", "editedTime", "deletedTime"};
    json_object *v;
    for (size_t i = 0; i < sizeof optional / sizeof optional[0]; i++)
        if (json_object_object_get_ex(env, optional[i], &v) && !v)
            json_object_object_del(env, optional[i]);
}

/* Row 0, column 0 of q parsed (the data of a message nests as deep as a frame may carry, three
 * levels further down; json-c's default depth is 32), then q cleared. NULL with 500 answered. */
static json_object *result_json(rest *r, PGresult *q)
{
    json_tokener *tok = json_tokener_new_ex(HUB_JSON_DEPTH + 8);
    json_object *o =
        tok ? json_tokener_parse_ex(tok, PQgetvalue(q, 0, 0), PQgetlength(q, 0, 0) + 1) : NULL;
    if (tok) json_tokener_free(tok);
    PQclear(q);
    if (!o) fn_error(r->res, 500, "stored messages not readable");
    return o;
}

/* {"value": list, "more": bool} from a list one longer than limit when there is more; the extra
 * one is at index drop_at_start ? 0 : the end. */
static void answer_page(rest *r, json_object *list, long long limit, int drop_at_start)
{
    size_t n = json_object_array_length(list);
    int more = n > (size_t)limit;
    if (more) json_object_array_del_idx(list, drop_at_start ? 0 : n - 1, 1);
    for (size_t i = 0; i < json_object_array_length(list); i++)
        drop_unset(json_object_array_get_idx(list, i));
    json_object *body = json_object_new_object();
    json_object_object_add(body, "value", list);
    json_object_object_add(body, "more", json_object_new_boolean(more));
    fn_json(r->res, 200, body);
}

/* GET groups/{group}/messages?before=&after=&limit=: one page listed newest first. Only before
 * (or nothing): the newest messages below before; with after: the oldest ones above after (walk
 * forward). */
void hist_page(rest *r)
{
    long long before = 0, after = 0, limit = HUB_HISTORY_PAGE;
    int hb = query_id(r, "before", &before), ha = query_id(r, "after", &after);
    int hl = query_id(r, "limit", &limit);
    if (hb < 0 || ha < 0 || hl < 0 || (hl && limit == 0)) {
        fn_error(r->res, 400, "before, after and limit must be non-negative integers (limit > 0)");
        return;
    }
    if (limit > HUB_HISTORY_PAGE_MAX) limit = HUB_HISTORY_PAGE_MAX;
    /* one more than asked tells whether there is more */
    PGresult *q = hub_store_history(r->hub, r->seg[1], hb ? before : (long long)INT64_MAX,
                                    ha ? after : 0LL, ha, limit + 1);
    if (!q) {
        fn_error(r->res, 500, "database unavailable");
        return;
    }
    json_object *list = result_json(r, q);
    if (!list) return;
    if (!json_object_is_type(list, json_type_array)) {
        json_object_put(list);
        fn_error(r->res, 500, "history not readable");
        return;
    }
    /* the extra one: the oldest (backwards) or the newest (forwards) */
    answer_page(r, list, limit, ha);
}

/* An envelope result (row 0, column 0) as the 200 answer. */
static void answer_envelope(rest *r, PGresult *q)
{
    json_object *env = result_json(r, q);
    if (!env) return;
    drop_unset(env);
    fn_json(r->res, 200, env);
}

void hist_get(rest *r)
{
    long long id = path_id(r);
    if (id < 0) return;
    PGresult *q = hub_store_message(r->hub, r->seg[1], id);
    if (!q)
        fn_error(r->res, 500, "database unavailable");
    else if (PQntuples(q) == 0) {
        PQclear(q);
        fn_error(r->res, 404, "no message %lld in this group", id);
    } else
        answer_envelope(r, q);
}

/* PUT: the body is the new data, its dataType from the Content-Type as for a send. The hub's word
 * filter applies as it does to a send (masked, or refused with 403). */
void hist_edit(rest *r)
{
    long long id = path_id(r);
    if (id < 0) return;
    hub_payload p;
    if (rest_body_payload(r, &p) != 0) return;
    char why[256];
    PGresult *env = NULL;
    if (hub_moderate(r->hub, &p, why, sizeof why) != 0) {
        fn_error(r->res, 403, "%s", why);
        hub_payload_free(&p);
        return;
    }
    enum hub_store_msg_rc rc = hub_store_message_edit(r->hub, r->seg[1], id, &p, &env);
    hub_payload_free(&p);
    if (rc == HUB_STORE_MSG_OK)
        answer_envelope(r, env);
    else if (rc == HUB_STORE_MSG_NOT_FOUND)
        fn_error(r->res, 404, "no message %lld in this group", id);
    else if (rc == HUB_STORE_MSG_DELETED)
        fn_error(r->res, 409, "message %lld is deleted", id);
    else
        fn_error(r->res, 500, "database unavailable");
}

void hist_delete(rest *r)
{
    long long id = path_id(r);
    if (id < 0) return;
    enum hub_store_msg_rc rc = hub_store_message_delete(r->hub, r->seg[1], id);
    if (rc == HUB_STORE_MSG_OK)
        fn_no_content(r->res);
    else if (rc == HUB_STORE_MSG_NOT_FOUND)
        fn_error(r->res, 404, "no message %lld in this group", id);
    else
        fn_error(r->res, 500, "database unavailable");
}

/* v as a string of 1..max bytes of UTF-8 without NUL, or NULL. */
static const char *text_of(json_object *v, size_t max)
{
    if (!v || !json_object_is_type(v, json_type_string)) return NULL;
    const char *s = json_object_get_string(v);
    size_t n = (size_t)json_object_get_string_len(v);
    return n >= 1 && n <= max && fn_utf8_valid(s, n) ? s : NULL;
}

/* A JSON number or numeric string member as an id >= 0: 0 absent, 1 present, -1 invalid. */
static int member_id(json_object *v, long long *out)
{
    if (json_object_is_type(v, json_type_int)) {
        errno = 0;
        long long n = json_object_get_int64(v);
        if (n < 0 || errno) return -1;
        *out = n;
        return 1;
    }
    if (json_object_is_type(v, json_type_string)) {
        const char *s = json_object_get_string(v);
        if (strcmp(s, "0") == 0) {
            *out = 0;
            return 1;
        }
        return (*out = parse_id(s)) < 0 ? -1 : 1;
    }
    return -1;
}

/* An optional integer member name of body in lo..hi into *out (default kept): 0, or -1 with 400
 * answered. */
static int body_int(rest *r, json_object *body, const char *name, long long lo, long long hi,
                    long long *out)
{
    json_object *v;
    if (!json_object_object_get_ex(body, name, &v)) return 0;
    long long n;
    if (member_id(v, &n) != 1 || n < lo || n > hi) {
        fn_error(r->res, 400, "%s must be an integer from %lld to %lld", name, lo, hi);
        return -1;
    }
    *out = n;
    return 0;
}

/* POST :searchMessages {"q","groups":[...],"before"?,"limit"?}: hits newest first, deleted
 * messages never. */
void hist_search(rest *r)
{
    json_object *body = fn_body_json(r->req, r->res), *v, *groups;
    if (!body) return;
    long long before = INT64_MAX, limit = HIST_SEARCH_LIMIT;
    const char *q = json_object_object_get_ex(body, "q", &v) ? text_of(v, HIST_SEARCH_Q_MAX) : NULL;
    if (!q || strspn(q, " \t\r\n") == strlen(q)) {
        fn_error(r->res, 400, "q must be 1-%d bytes of UTF-8 text", HIST_SEARCH_Q_MAX);
        goto done;
    }
    if (!json_object_object_get_ex(body, "groups", &groups) ||
        !json_object_is_type(groups, json_type_array) ||
        json_object_array_length(groups) > HIST_SEARCH_GROUPS_MAX) {
        fn_error(r->res, 400, "groups must be an array of at most %d group names",
                 HIST_SEARCH_GROUPS_MAX);
        goto done;
    }
    for (size_t i = 0; i < json_object_array_length(groups); i++) {
        json_object *g = json_object_array_get_idx(groups, i);
        if (!text_of(g, HUB_MAX_GROUP_NAME * 4) ||
            !hub_name_group_valid(json_object_get_string(g))) {
            fn_error(r->res, 400, "invalid group name in groups");
            goto done;
        }
    }
    if (body_int(r, body, "before", 1, INT64_MAX, &before) ||
        body_int(r, body, "limit", 1, HIST_SEARCH_LIMIT_MAX, &limit))
        goto done;
    PGresult *res =
        hub_store_search(r->hub, q, json_object_to_json_string_ext(groups, JSON_C_TO_STRING_PLAIN),
                         before, limit + 1, HIST_HEADLINE);
    if (!res) {
        fn_error(r->res, 500, "database unavailable");
        goto done;
    }
    json_object *list = result_json(r, res);
    if (list) answer_page(r, list, limit, 0);
done:
    json_object_put(body);
}

/* POST :countMessages {"groups":{"<group>":<afterId>,...},"exceptUser"?,"contains"?,"max"?,
 * "objectsOnly"?} -> {"<group>":{"count","lastId"},...}. */
void hist_count(rest *r)
{
    json_object *body = fn_body_json(r->req, r->res), *groups, *v;
    if (!body) return;
    long long max = HIST_COUNT_MAX;
    const char *except = NULL, *contains = NULL;
    if (!json_object_object_get_ex(body, "groups", &groups) ||
        !json_object_is_type(groups, json_type_object) ||
        json_object_object_length(groups) > HIST_SEARCH_GROUPS_MAX) {
        fn_error(r->res, 400, "groups must be an object of at most %d group names to ids",
                 HIST_SEARCH_GROUPS_MAX);
        goto done;
    }
    json_object_object_foreach(groups, name, after)
    {
        long long id;
        if (!hub_name_group_valid(name) || !fn_utf8_valid(name, strlen(name)) ||
            member_id(after, &id) != 1) {
            fn_error(r->res, 400, "groups must map valid group names to message ids (0 or more)");
            goto done;
        }
        /* one shape for the statement: every id a JSON number */
        json_object_object_add(groups, name, json_object_new_int64(id));
    }
    if (json_object_object_get_ex(body, "exceptUser", &v)) {
        if (!(except = text_of(v, HUB_MAX_USER_ID))) {
            fn_error(r->res, 400, "exceptUser must be a user id");
            goto done;
        }
    }
    if (json_object_object_get_ex(body, "contains", &v) && v) {
        if (!json_object_is_type(v, json_type_object)) {
            fn_error(r->res, 400, "contains must be a JSON object");
            goto done;
        }
        contains = json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN);
        if (strlen(contains) > HIST_CONTAINS_MAX || strstr(contains, "\\u0000")) {
            fn_error(r->res, 400, "contains must be at most %d bytes, without NUL characters",
                     HIST_CONTAINS_MAX);
            goto done;
        }
    }
    if (body_int(r, body, "max", 1, HIST_COUNT_MAX, &max)) goto done;
    int objects_only = 0; /* only messages whose data is a JSON object (not notices) */
    if (json_object_object_get_ex(body, "objectsOnly", &v) && v) {
        if (!json_object_is_type(v, json_type_boolean)) {
            fn_error(r->res, 400, "objectsOnly must be true or false");
            goto done;
        }
        objects_only = json_object_get_boolean(v);
    }
    PGresult *q = hub_store_count_messages(
        r->hub, json_object_to_json_string_ext(groups, JSON_C_TO_STRING_PLAIN), except, contains,
        max, objects_only);
    if (!q) {
        fn_error(r->res, 500, "database unavailable");
        goto done;
    }
    json_object *out = json_object_new_object();
    for (int i = 0; i < PQntuples(q); i++) {
        json_object *g = json_object_new_object();
        json_object_object_add(g, "count", json_object_new_int64(atoll(PQgetvalue(q, i, 1))));
        json_object_object_add(
            g, "lastId",
            PQgetisnull(q, i, 2) ? NULL : json_object_new_int64(atoll(PQgetvalue(q, i, 2))));
        json_object_object_add(out, PQgetvalue(q, i, 0), g);
    }
    PQclear(q);
    fn_json(r->res, 200, out);
done:
    json_object_put(body);
}
