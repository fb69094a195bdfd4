/* hub_close.c: server-side close of one connection: the `disconnected` system frame (JSON
 * clients), the reason kept for the `disconnected` webhook, then the socket's channel deleted,
 * which makes nchan close the WebSocket. A reliable connection is closed for good (close_reason
 * set: no retention, no recovery); one that is away (no socket) ends here and now. */
#include "hub_close.h"
#include "hub.h"
#include "hub_chan.h"
#include "hub_env.h"
#include "hub_gone.h"
#include "hub_nchan.h"
#include "hub_reliable.h"
#include "hub_store.h"
#include "fn.h"

#include <stdio.h>
#include <stdlib.h>

int hub_close_connection(const char *conn_id, const char *protocol, const char *reason)
{
    char proto[64], held[HUB_MAX_CONN_ID + 1];
    int found = hub_store_close(conn_id, reason, proto, sizeof proto, held, sizeof held) == 1;
    int json = found ? proto[0] != '\0' : (protocol && *protocol);
    int reliable = found && hub_reliable_protocol(proto);
    char socket[HUB_MAX_CONN_ID + 1];
    snprintf(socket, sizeof socket, "%s", reliable ? held : conn_id);
    if (reliable && !socket[0]) { /* away: nothing to close, the connection ends now */
        hub_gone *g;
        if (hub_gone_remove(conn_id, &g) != 0) return -1;
        hub_gone_notify(g);
        return 0;
    }
    char own[HUB_MAX_CHANNEL];
    hub_chan_conn(socket, own);
    if (json) {
        size_t len;
        char *frame = hub_env_disconnected(reason, &len);
        if (frame) hub_nchan_publish1(own, frame, len, "application/json");
        free(frame);
    }
    return hub_nchan_delete(own);
}
