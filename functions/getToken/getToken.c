/* getToken: GET /api/getToken, a Web PubSub client access token for the signed-in user
 * ({token, baseUrl, url}, as @azure/web-pubsub's getClientAccessToken returns it). The user id
 * is the session's; a userId query parameter (the original client sends one) must match it.
 * The token carries no roles: chats are joined through eventHandler
 * (docs/protocols.md#our-stricter-rules). The user's name and provider are recorded here, so the
 * hub's events can name them later. The token is bound to the sign-in session that asked for it
 * (claim chatr.sid, from the platform's CHATR_SID): once that session signs out, the hub refuses it
 * and closes what it opened (docs/sign-in.md). */
#include "fn.h"

#include <stdlib.h>
#include <string.h>
#include "fn_wps.h"

#define TOKEN_MINUTES 60
#define NAME_FALLBACK "user"
#define SID_CLAIM "chatr.sid" /* gateway/hub/hub_revoke.c reads it */
#define SID_LEN 32

static int record_user(const fn_principal *p)
{
    const char *name = p->details[0] ? p->details : NAME_FALLBACK;
    const char *provider = p->provider[0] ? p->provider : "unknown";
    const char *params[3] = {p->user_id, name, provider};
    PGresult *r = fn_db_exec("INSERT INTO chatr.users (id, name, provider) VALUES ($1, $2, $3) "
                             "ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, "
                             "provider = EXCLUDED.provider",
                             3, params);
    if (!r) return -1;
    PQclear(r);
    return 0;
}

static int get_token(fn_req *req, fn_res *res)
{
    const fn_principal *p = req->principal; /* never NULL: the declaration requires sign-in */
    char asked[FN_MAX_USER_ID];
    if (fn_query(req, "userId", asked, sizeof asked) && *asked && strcmp(asked, p->user_id) != 0) {
        fn_error(res, 403, "a token can only be issued for the signed-in user");
        return 0;
    }
    wps_client *client = fn_wps_client();
    if (!client) {
        fn_error(res, 500, "Web PubSub is not configured");
        return 0;
    }
    if (record_user(p) != 0) {
        fn_error(res, 500, "database unavailable");
        return 0;
    }
    /* The session's binding, set by the platform from the session (never by the client). */
    const char *sid = fn_param(req, "CHATR_SID");
    json_object *extra = NULL;
    if (sid && strlen(sid) == SID_LEN && strspn(sid, "0123456789abcdef") == SID_LEN) {
        extra = json_object_new_object();
        json_object_object_add(extra, SID_CLAIM, json_object_new_string(sid));
    }
    wps_token t;
    json_object *tok = NULL;
    int rc = wps_client_token_extra(client, p->user_id, NULL, 0, NULL, 0, TOKEN_MINUTES, extra, &t);
    json_object_put(extra);
    if (rc == 0) {
        tok = wps_token_json(&t);
        wps_token_free(&t);
    }
    if (!tok) {
        fn_error(res, 500, "could not issue a token");
        return 0;
    }
    fn_json(res, 200, tok);
    return 0;
}

int main(void)
{
    return fn_run("getToken", get_token);
}
