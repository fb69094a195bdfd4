/* hub_gone.c: the end of a connection. Removing the row (DELETE ... RETURNING) is what makes
 * `disconnected` fire exactly once, whoever notices first: the socket's `closed` hook, the orphan
 * check (hub_orphan.c) or the node's sweeps (hub_sweep.c). See docs/protocols.md#system-events and
 * docs/liveness.md. */
#include "hub_gone.h"
#include "hub.h"
#include "hub_notify.h"
#include "hub_store.h"
#include "fn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct hub_gone {
    char hub[HUB_MAX_HUB_NAME + 1];
    char conn_id[HUB_MAX_CONN_ID + 1];
    char *user, *protocol, *state, *reason;
};

int hub_gone_remove(const char *conn_id, hub_gone **out)
{
    *out = NULL;
    PGresult *r = hub_store_remove(conn_id);
    if (!r) return -1;
    hub_gone *g = PQntuples(r) == 1 ? calloc(1, sizeof *g) : NULL;
    if (g) {
        snprintf(g->hub, sizeof g->hub, "%s", PQgetvalue(r, 0, 0));
        snprintf(g->conn_id, sizeof g->conn_id, "%s", conn_id);
        g->user = PQgetisnull(r, 0, 1) ? NULL : strdup(PQgetvalue(r, 0, 1));
        g->protocol = PQgetvalue(r, 0, 2)[0] ? strdup(PQgetvalue(r, 0, 2)) : NULL;
        g->state = PQgetisnull(r, 0, 3) ? NULL : strdup(PQgetvalue(r, 0, 3));
        g->reason = strdup(PQgetisnull(r, 0, 4) ? "The connection ended." : PQgetvalue(r, 0, 4));
    }
    PQclear(r);
    *out = g;
    return 0;
}

void hub_gone_notify(hub_gone *g)
{
    if (!g) return;
    hub_notify(g->hub, g->conn_id, g->user, g->protocol, g->state, "disconnected", g->reason);
    free(g->user);
    free(g->protocol);
    free(g->state);
    free(g->reason);
    free(g);
}
