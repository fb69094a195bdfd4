/* hub_node.h: this gateway node's id and epoch (docs/liveness.md, "Epochs"). */
#ifndef CHATR_HUB_NODE_H
#define CHATR_HUB_NODE_H

const char *hub_node_id(void); /* CHATR_NODE_ID, "node" when unset */
long hub_node_epoch(void);     /* pid of this node's nginx master, 0 if not running */

#endif
