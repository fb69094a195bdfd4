/* hub_outbox.h: the `disconnected` notifications the node and epoch sweeps owe, kept in
 * pubsub.outbox until sent (schema/017_outbox.sql, docs/liveness.md#notifications-a-sweep-owes). */
#ifndef CHATR_HUB_OUTBOX_H
#define CHATR_HUB_OUTBOX_H

#include "hub_notify.h"

#define HUB_OUTBOX_EVERY_MS 5000 /* hub-events drains the outbox this often between requests */
#define HUB_OUTBOX_BATCH 10      /* rows claimed at a time ... */
/* ... for HUB_OUTBOX_HOLD_MS: more than HUB_OUTBOX_BATCH * HUB_NOTIFY_TIMEOUT_MS, so a claim
 * holds while its webhooks run; a claim whose process died runs out after it. */
#define HUB_OUTBOX_HOLD_MS 60000

/* The node and epoch sweeps insert one pubsub.outbox row per connection they remove, in the
 * statement that removes it (hub_store.c); hub_outbox_owed() then asks for a drain after the
 * request. */
void hub_outbox_owed(void);
int hub_outbox_pending(void);
/* Claims due rows, sends their `disconnected`, deletes them, until none is due. Returns how many
 * were sent, -1 without a database. nginx must answer (the webhooks go through it). */
int hub_outbox_drain(void);
/* Between requests: a drain every HUB_OUTBOX_EVERY_MS (or when owed) while nginx answers. */
void hub_outbox_tick(void);

#endif
