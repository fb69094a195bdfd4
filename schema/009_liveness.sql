-- 009: the node sweep (gateway/hub/hub_orphan.c, docs/liveness.md). Every hub-events process
-- of a node offers to sweep between requests; this row is the lease that lets one of them run
-- one batch at a time: whoever moves `due` forward (an atomic claim of a row whose due time has
-- passed) runs the next batch, from `cursor` on, and a process that dies holding it only delays
-- the next batch until `due`. No state lives in a process, so the sweep survives any of them.
CREATE TABLE pubsub.sweeps (
    node       text PRIMARY KEY,
    due        timestamptz NOT NULL DEFAULT now(), -- when the next batch may be claimed
    cursor     text NOT NULL DEFAULT '',           -- last connection id looked at ('' = new pass)
    holder     text,                               -- who claimed it last (pid, for the logs)
    claimed_at timestamptz
);

-- The batches walk one node's connections in id order.
CREATE INDEX connections_node_id ON pubsub.connections (node, id);
