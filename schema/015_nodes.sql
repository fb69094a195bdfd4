-- 015: gateway nodes and their leases (gateway/hub/hub_node.c, docs/scale-out.md). Several
-- gateway nodes share one PostgreSQL; each one's hub-events renews its row every few seconds
-- while its nginx runs. A row whose lease ran out names a node that died without a goodbye
-- (kill -9, power, network): another node deletes the row and, in the same transaction, removes
-- that node's connections (plain ones) or keeps them for recovery (reliable ones). Whoever
-- deletes the node's row sweeps it, so a dead node is swept once, and each of its connections'
-- `disconnected` fires once (DELETE ... RETURNING, docs/liveness.md).
CREATE TABLE pubsub.nodes (
    node       text PRIMARY KEY,                  -- CHATR_NODE_ID, as in pubsub.connections.node
    epoch      bigint NOT NULL,                   -- its nginx master's pid at the last renewal
    started_at timestamptz NOT NULL DEFAULT now(),-- first renewal of this lease
    renewed_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL               -- after this the node counts as dead
);

CREATE INDEX nodes_expires ON pubsub.nodes (expires_at);
