/* hub_env.h: the envelopes (JSON frames) the hub sends to subprotocol clients
 * (docs/protocols.md#subprotocol-frames). Each returns malloc'd JSON text and its length. */
#ifndef CHATR_HUB_ENV_H
#define CHATR_HUB_ENV_H

#include <stddef.h>
#include <stdint.h>

#include "hub_payload.h"

char *hub_env_server(const hub_payload *p, size_t *len);
/* from_user may be NULL. id > 0: a stored message; its "id" and "time" are added (our history
 * extension). */
char *hub_env_group(const hub_payload *p, const char *group, const char *from_user, int with_from,
                    long long id, const char *time, size_t *len);
char *hub_env_ack(uint64_t ack_id, const char *err_name, const char *err_msg, size_t *len);
char *hub_env_connected(const char *user, const char *conn_id, size_t *len);
char *hub_env_disconnected(const char *reason, size_t *len);

#endif
