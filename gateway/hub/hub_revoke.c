/* hub_revoke.c: client tokens bound to a sign-in session, and what logout does with them
 * (docs/sign-in.md). getToken puts the session's binding (HUB_SID_CLAIM: a hash of the hash of
 * the session id, never the id) into the tokens it issues. The handshake of a bound token
 * succeeds only while that session exists, and records which connection it opened
 * (pubsub.bound_connections); logout (gateway/auth) closes them. Tokens without the claim (any
 * SDK's, Azure's own) are not touched. */
#include "hub_revoke.h"
#include "hub_close.h"
#include "hub_store.h"
#include "fn.h"
#include "wps_jwt.h"

#include <stdio.h>
#include <stdlib.h>
#include <json-c/json.h>
#include <string.h>

/* Bindings of handshakes refused after the token check (so no connection row ever came, and
 * the row's trigger never fires) are forgotten at the session's next handshake after this. */
#define HUB_BIND_STALE_S 60

static int sid_valid(const char *s)
{
    size_t n = strlen(s);
    return n == HUB_SID_LEN && strspn(s, "0123456789abcdef") == n;
}

int hub_revoke_refused(fn_res *res, wps_jwt_claims *tok, const char *conn_id)
{
    json_object *v;
    if (!json_object_object_get_ex(tok->claims, HUB_SID_CLAIM, &v)) return 0;
    const char *sid = json_object_is_type(v, json_type_string) ? json_object_get_string(v) : "";
    const char *why = NULL;
    int status = 401;
    if (!sid_valid(sid)) {
        why = "invalid access token (malformed session binding)";
    } else {
        int live = hub_store_bind(conn_id, sid, HUB_BIND_STALE_S);
        if (live < 0) {
            why = "session check failed";
            status = 500;
        } else if (!live) {
            why = "invalid access token (its session has signed out or expired)";
        }
    }
    if (!why) return 0;
    wps_jwt_claims_free(tok);
    fn_error(res, status == 401 ? 401 : 403, "%s", why);
    if (status != 401) fn_set_header(res, "X-Hub-Status", "%d", status);
    return 1;
}

int hub_revoke_session(const char *sid)
{
    if (!sid_valid(sid)) return 0;
    PGresult *r = hub_store_unbind(sid);
    if (!r) return -1;
    int closed = 0, failed = 0;
    for (int i = 0; i < PQntuples(r); i++) {
        if (hub_close_connection(PQgetvalue(r, i, 0), NULL, "The session signed out.") == 0)
            closed++;
        else
            failed++;
    }
    PQclear(r);
    return failed ? -1 : closed;
}
