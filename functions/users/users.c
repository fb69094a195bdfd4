/* users: GET /api/users, the online users as the original Chatr client expects them
 * ({"users": {"<userId>": {"userId","userName","userProvider","idle"}}}). */
#include "fn.h"

static int users(fn_req *req, fn_res *res)
{
    (void)req;
    PGresult *r =
        fn_db_exec("SELECT id, name, provider, idle, "
                   "to_char(last_seen AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') "
                   "FROM chatr.users WHERE online ORDER BY name, id",
                   0, NULL);
    if (!r) {
        fn_error(res, 500, "database unavailable");
        return 0;
    }
    json_object *users = json_object_new_object();
    for (int i = 0; i < PQntuples(r); i++) {
        json_object *u = json_object_new_object();
        json_object_object_add(u, "userId", json_object_new_string(PQgetvalue(r, i, 0)));
        json_object_object_add(u, "userName", json_object_new_string(PQgetvalue(r, i, 1)));
        json_object_object_add(u, "userProvider", json_object_new_string(PQgetvalue(r, i, 2)));
        json_object_object_add(u, "idle", json_object_new_boolean(PQgetvalue(r, i, 3)[0] == 't'));
        json_object_object_add(u, "lastSeen", json_object_new_string(PQgetvalue(r, i, 4)));
        json_object_object_add(users, PQgetvalue(r, i, 0), u);
    }
    PQclear(r);
    json_object *body = json_object_new_object();
    json_object_object_add(body, "users", users);
    fn_json(res, 200, body);
    return 0;
}

int main(void)
{
    return fn_run("users", users);
}
