/* hub_nchan.h: publishing through nginx's internal server, and what nchan says about its channels
 * (docs/nchan.md). */
#ifndef CHATR_HUB_NCHAN_H
#define CHATR_HUB_NCHAN_H

#include <stddef.h>

#define HUB_CHANNELS_PER_PUBLISH 255 /* nchan's limit: docs/nchan.md#multi-channel-limits */

/* Publishes body to every channel (batches of 255), stored like every message on a connection
 * channel: nchan 1.3.6 loses a stored message published after a live one on the same channel
 * (measured: the ack after a live group message never arrived), and the socket's own replies
 * are stored. Returns 0 or -1. */
int hub_nchan_publish(const char *const *channels, size_t n, const char *body, size_t len,
                      const char *ctype);
/* Publishes to one channel and keeps the message (16 deep, 30 s): a socket's own frames from its
 * hooks (the `connected` frame is published before nchan has registered the socket). */
int hub_nchan_publish1(const char *channel, const char *body, size_t len, const char *ctype);
/* For the shared hub/user channels: not stored, so later sockets never see it. */
int hub_nchan_publish_live(const char *channel, const char *body, size_t len, const char *ctype);
/* Subscribers of one channel (0 when it does not exist), -1 when nchan cannot be asked. */
int hub_nchan_subscribers(const char *channel);
/* Deletes a channel: its sockets close. */
int hub_nchan_delete(const char *channel);
/* nchan's own figures (nchan_stub_status on the internal socket, /.chatr/nchan) into buf:
 * "name: value" lines. Returns 0, or -1 when nginx did not answer (docs/observability.md). */
#define HUB_NCHAN_STATUS_MAX 2048
int hub_nchan_status(char *buf, size_t len);

#endif
