/* hub_db.h: the pubsub schema operations shared by hub-connect and hub-router. */
#ifndef CHATR_HUB_DB_H
#define CHATR_HUB_DB_H

#include <json-c/json.h>

#include "hub_ctx.h"

/* Registers a connection, its token groups and, for a reliable one, its pubsub.reliable row
 * (nothing if it exists), unless its user has HUB_MAX_CONNS_PER_USER connections in the hub
 * (counted under a per-user lock, schema/008). epoch: this node's nginx (hub_node_epoch).
 * Returns 0, 1 (over the user's limit) or -1. hub-connect registers every socket before the
 * upgrade (a reliable one in one transaction with its `connected` frame). */
int hub_db_register(const hub_ctx *ctx, const char *conn_id, long epoch);
/* Roles of a connection (new ref) or NULL if it does not exist. */
json_object *hub_db_roles(const char *conn_id);
int hub_db_join(const char *hub, const char *group, const char *conn_id); /* 0, -1, 1 = limit */
int hub_db_leave(const char *hub, const char *group, const char *conn_id);

#endif
