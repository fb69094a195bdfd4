/* app_chat.c: the chat membership check the functions share (app_chat.h). */
#include "app_chat.h"

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
