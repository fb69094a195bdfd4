/* app_chat.c: the chat membership check the functions share (app_chat.h). */
#include "app_chat.h"

#include <stdlib.h>
#include <string.h>

int app_chat_member(fn_res *res, const char *chat, const char *user, const char *denied)
{
    if (strlen(chat) > CHAT_ID_STORED_MAX) {
        fn_error(res, 404, "no such chat");
        return -1;
    }
    const char *params[2] = {chat, user};
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
        fn_error(res, 403, "%s", denied);
    else
        rc = 0;
    PQclear(r);
    return rc;
}

long long app_message_id(json_object *body)
{
    json_object *v;
    if (!json_object_object_get_ex(body, "messageId", &v)) return -1;
    if (json_object_is_type(v, json_type_int)) {
        long long n = json_object_get_int64(v);
        return n > 0 && n < 1000000000000000000LL ? n : -1;
    }
    if (!json_object_is_type(v, json_type_string)) return -1;
    const char *s = json_object_get_string(v);
    size_t n = strlen(s);
    if (n == 0 || n > MESSAGE_ID_DIGITS || strspn(s, "0123456789") != n) return -1;
    long long id = strtoll(s, NULL, 10);
    return id > 0 ? id : -1;
}
