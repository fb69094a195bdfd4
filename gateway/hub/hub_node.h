/* hub_node.h: this gateway node: its id and epoch (docs/liveness.md, "Epochs"), and its lease
 * among the nodes that share one PostgreSQL (schema/015_nodes.sql, docs/scale-out.md#node-death).
 */
#ifndef CHATR_HUB_NODE_H
#define CHATR_HUB_NODE_H

/* hub_node_epoch answers from memory while the pid file is unchanged, and reads it again (and
 * /proc) after this long: how late a dead nginx with no successor is noticed. */
#define HUB_NODE_EPOCH_RECHECK_MS 1000
#define HUB_NODE_LEASE_MS 10000 /* a node that has not renewed for this long counts as dead */
#define HUB_NODE_RENEW_MS 2000  /* each hub-events process renews (and looks at the others) ... */

const char *hub_node_id(void); /* CHATR_NODE_ID, "node" when unset */
long hub_node_epoch(void);     /* pid of this node's nginx master, 0 if not running (cached) */

/* Runs from hub-events' idle loop, at most every HUB_NODE_RENEW_MS: renews this node's lease
 * while its nginx runs, then sweeps the nodes whose lease ran out (their plain connections
 * removed with one `disconnected` each, reliable ones kept for recovery on another node). */
void hub_node_tick(void);

#endif
