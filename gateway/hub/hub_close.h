/* hub_close.h: the hub closes a connection (REST close, capacity, protocol violation). */
#ifndef CHATR_HUB_CLOSE_H
#define CHATR_HUB_CLOSE_H

/* The disconnected frame (JSON clients), the reason for the webhook, then the socket closes.
 * protocol is a hint used when the connection is not registered (yet). 0 or -1. */
int hub_close_connection(const char *conn_id, const char *protocol, const char *reason);

#endif
