/* hub_send.c: delivery of one message to connections, users, groups or the whole hub, each
 * socket in its own shape (JSON envelope or raw bytes), one multi-channel publish per 255. */
#include "hub.h"

#include <stdlib.h>
#include <string.h>

static int excluded_has(char *const *excluded, size_t n, const char *id)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(excluded[i], id) == 0) return 1;
    return 0;
}

/* Publishes to the connections listed in r (column 0 id, column 1 protocol). */
static int publish_rows(PGresult *r, const char *json_body, size_t json_len, const hub_payload *p,
                        const char *exclude_conn, char *const *excluded, size_t nexcluded)
{
    size_t n = (size_t)PQntuples(r), nj = 0, ns = 0;
    char (*chans)[HUB_MAX_CHANNEL] = malloc((n ? n : 1) * sizeof *chans);
    const char **js = malloc((n ? n : 1) * sizeof *js), **ss = malloc((n ? n : 1) * sizeof *ss);
    int rc = 0;
    if (!chans || !js || !ss) rc = -1;
    for (size_t i = 0; !rc && i < n; i++) {
        const char *id = PQgetvalue(r, (int)i, 0);
        if ((exclude_conn && strcmp(exclude_conn, id) == 0) || excluded_has(excluded, nexcluded, id))
            continue;
        hub_chan_conn(id, chans[i]);
        if (PQgetvalue(r, (int)i, 1)[0]) js[nj++] = chans[i];
        else ss[ns++] = chans[i];
    }
    if (!rc && nj && hub_publish(js, nj, json_body, json_len, "application/json") != 0) rc = -1;
    if (!rc && ns && hub_publish(ss, ns, p->raw, p->raw_len, hub_payload_ctype(p)) != 0) rc = -1;
    free(chans);
    free(js);
    free(ss);
    return rc;
}

int hub_send_group(const char *hub, const char *group, const hub_payload *p, const char *from_user,
                   int with_from, const char *exclude_conn, char *const *excluded, size_t nexcluded)
{
    const char *q[] = {hub, group};
    PGresult *r = fn_db_exec("SELECT c.id, c.protocol FROM pubsub.group_members m "
                             "JOIN pubsub.connections c ON c.id = m.conn_id "
                             "WHERE m.hub = $1 AND m.group_name = $2", 2, q);
    if (!r) return -1;
    size_t len;
    char *env = hub_env_group(p, group, from_user, with_from, &len);
    int rc = env ? publish_rows(r, env, len, p, exclude_conn, excluded, nexcluded) : -1;
    free(env);
    PQclear(r);
    return rc;
}

int hub_send_all(const char *hub, const hub_payload *p, char *const *excluded, size_t nexcluded)
{
    size_t len;
    char *env = hub_env_server(p, &len);
    if (!env) return -1;
    int rc = 0;
    if (nexcluded == 0) { /* the hub's broadcast channels */
        char aj[HUB_MAX_CHANNEL], as[HUB_MAX_CHANNEL];
        hub_chan_all(hub, 1, aj);
        hub_chan_all(hub, 0, as);
        if (hub_publish_live(aj, env, len, "application/json") != 0) rc = -1;
        if (hub_publish_live(as, p->raw, p->raw_len, hub_payload_ctype(p)) != 0) rc = -1;
    } else {
        const char *q[] = {hub};
        PGresult *r = fn_db_exec("SELECT id, protocol FROM pubsub.connections WHERE hub = $1", 1, q);
        rc = r ? publish_rows(r, env, len, p, NULL, excluded, nexcluded) : -1;
        PQclear(r);
    }
    free(env);
    return rc;
}

int hub_send_user(const char *hub, const char *user, const hub_payload *p)
{
    size_t len;
    char *env = hub_env_server(p, &len);
    if (!env) return -1;
    char uj[HUB_MAX_CHANNEL], us[HUB_MAX_CHANNEL];
    hub_chan_user(hub, user, 1, uj);
    hub_chan_user(hub, user, 0, us);
    int rc = hub_publish_live(uj, env, len, "application/json");
    if (hub_publish_live(us, p->raw, p->raw_len, hub_payload_ctype(p)) != 0) rc = -1;
    free(env);
    return rc;
}

int hub_send_conn(const char *hub, const char *conn_id, const hub_payload *p)
{
    const char *q[] = {conn_id, hub};
    PGresult *r = fn_db_exec("SELECT id, protocol FROM pubsub.connections WHERE id = $1 AND hub = $2", 2, q);
    if (!r) return -1;
    size_t len;
    char *env = hub_env_server(p, &len);
    int rc = env ? publish_rows(r, env, len, p, NULL, NULL, 0) : -1;
    free(env);
    PQclear(r);
    return rc;
}
