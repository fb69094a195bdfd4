/* chats: GET /api/chats, the chats a user can see
 * ({"chats": {"<chatId>": {"id","name","members":{"<userId>":{"userId","userName"}},"owner"}}}).
 * Private chats are listed only to their members. */
#include "fn.h"

#include <string.h>

static int chats(fn_req *req, fn_res *res)
{
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
            json_object_object_add(chat, "private", json_object_new_boolean(PQgetvalue(r, i, 3)[0] == 't'));
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
