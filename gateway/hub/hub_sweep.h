/* hub_sweep.h: the node's sweeps, which keep pubsub.connections true to the sockets nginx holds
 * (docs/liveness.md, "The node sweep" and "Epochs"). */
#ifndef CHATR_HUB_SWEEP_H
#define CHATR_HUB_SWEEP_H

#define HUB_SWEEP_EVERY_MS                                                                         \
    10000                   /* a pass over the node's connections starts this often                \
                             * (CHATR_HUB_SWEEP_MS overrides, for tests) ... */
#define HUB_SWEEP_BATCH 128 /* ... in batches of this many, one lease claim each */
#define HUB_SWEEP_LEASES 3  /* a claim holds the lease this many intervals at most */
#define HUB_SWEEP_GRACE_MS                                                                         \
    5000 /* younger rows are not looked at (handshake not subscribed yet)                          \
          */
long hub_sweep_every_ms(void);
/* One batch of the ghost sweep, if it is due and this process wins the lease: rows of this node
 * whose socket's channel has no subscriber are removed (`disconnected` once), reliable ones are
 * kept for recovery. Cheap when not due (one UPDATE). */
void hub_sweep_ghosts(void);
/* nginx restarted (epoch = hub_node_epoch()): rows of older epochs are removed, their
 * `disconnected` owed in the outbox (hub_outbox.c); reliable ones are kept for their retention. */
void hub_sweep_epoch(long epoch);

#endif
