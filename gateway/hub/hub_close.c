/* hub_close.c: server-side close of one connection: the `disconnected` system frame (JSON
 * clients), the reason kept for the `disconnected` webhook, then the socket's channel deleted,
 * which makes nchan close the WebSocket. */
#include "hub.h"

#include <stdlib.h>

int hub_close_connection(const char *conn_id, const char *protocol, const char *reason)
{
    const char *p[] = {conn_id, reason};
    PGresult *r = fn_db_exec("UPDATE pubsub.connections SET close_reason = $2 WHERE id = $1 "
                             "RETURNING protocol", 2, p);
    int found = r && PQntuples(r) == 1;
    int json = found ? PQgetvalue(r, 0, 0)[0] != '\0' : (protocol && *protocol);
    PQclear(r);
    char own[HUB_MAX_CHANNEL];
    hub_chan_conn(conn_id, own);
    if (json) {
        size_t len;
        char *frame = hub_env_disconnected(reason, &len);
        if (frame) hub_publish1(own, frame, len, "application/json");
        free(frame);
    }
    return hub_delete_channel(own);
}
