/* hub_chan.h: the nchan channels a socket subscribes to, and their names.
 *
 * Every socket subscribes to its hub's broadcast channel, its user's channel and its own
 * connection channel. Simple (no-subprotocol) sockets and JSON sockets get different
 * broadcast/user channels, because they receive different bytes for one message:
 *   a<k>.<hubkey>            broadcast, k = j (JSON subprotocol) or s (simple)
 *   u<k>.<hubkey>.<userkey>  all connections of one user
 *   c.<socketkey>            one socket (its nginx $request_id, hashed)
 * hubkey/userkey/socketkey are short keyed hashes (docs/liveness.md, "Channel names"): they never
 * carry the channel-list delimiter, and only the hub programs can compute them. Reliable sockets
 * subscribe to their own channel only (hub_reliable.h). */
#ifndef CHATR_HUB_CHAN_H
#define CHATR_HUB_CHAN_H

/* Channel names; out must hold HUB_MAX_CHANNEL bytes. json: 1 for subprotocol sockets. */
#define HUB_MAX_CHANNEL 96
void hub_chan_all(const char *hub, int json, char *out);
void hub_chan_user(const char *hub, const char *user, int json, char *out);
void hub_chan_conn(const char *conn_id, char *out);
/* The names are keyed: derived from access_key. The hub programs use hub_key_access() unless this
 * was called first (unit tests, the benchmark's generator). */
void hub_chan_use_key(const char *access_key);

#endif
