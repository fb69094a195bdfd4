/* hub_gone.h: a connection ended. Whoever removes its row fires its `disconnected`, once
 * (docs/liveness.md). */
#ifndef CHATR_HUB_GONE_H
#define CHATR_HUB_GONE_H

typedef struct hub_gone hub_gone;
/* Removes the connection (and its memberships). *out: what `disconnected` needs, or NULL when the
 * row was already gone (someone else notifies). Returns 0, or -1 on a database error. */
int hub_gone_remove(const char *conn_id, hub_gone **out);
/* Fires `disconnected` for a removed connection and frees g (NULL: nothing). */
void hub_gone_notify(hub_gone *g);

#endif
