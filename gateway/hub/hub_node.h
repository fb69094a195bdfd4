/* hub_node.h: gateway nodes that share one PostgreSQL (hub_node.c, schema/015_nodes.sql,
 * docs/scale-out.md#node-death). */
#ifndef CHATR_HUB_NODE_H
#define CHATR_HUB_NODE_H

#define HUB_NODE_LEASE_MS 10000 /* a node that has not renewed for this long counts as dead */
#define HUB_NODE_RENEW_MS 2000  /* each hub-events process renews (and looks at the others) ... */

/* Runs from hub-events' idle loop, at most every HUB_NODE_RENEW_MS: renews this node's lease
 * while its nginx runs, then sweeps the nodes whose lease ran out (their plain connections
 * removed with one `disconnected` each, reliable ones kept for recovery on another node). */
void hub_node_tick(void);

#endif
