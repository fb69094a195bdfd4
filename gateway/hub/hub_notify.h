/* hub_notify.h: a connection's `connected` and `disconnected` system events
 * (docs/protocols.md#system-events). */
#ifndef CHATR_HUB_NOTIFY_H
#define CHATR_HUB_NOTIFY_H

#define HUB_NOTIFY_TIMEOUT_MS 5000 /* connected / disconnected notifications */

/* Sends event ("connected" or "disconnected", with its reason) to the hub's handler; nothing
 * when the hub has none. Failures are logged. */
void hub_notify(const char *hub, const char *conn_id, const char *user, const char *protocol,
                const char *state, const char *event, const char *reason);

#endif
