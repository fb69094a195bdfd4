-- 017: `disconnected` notifications the node and epoch sweeps owe (gateway/hub/hub_outbox.c,
-- docs/liveness.md#notifications-a-sweep-owes). A sweep inserts a row here in the same statement
-- that deletes the connection, so a process that dies between its commit and its webhook leaves
-- the row behind, and another hub-events process sends it. A sender claims a row by moving
-- due_at past its sending time, and deletes it once sent: `disconnected` fires once unless a
-- sender dies after its webhook and before that delete (then twice, never zero times).
CREATE TABLE pubsub.outbox (
    conn_id  text PRIMARY KEY,                    -- the removed connection (no foreign key: gone)
    hub      text NOT NULL,
    user_id  text,
    protocol text NOT NULL DEFAULT '',
    state    text,                                -- ce-connectionState
    reason   text NOT NULL,                       -- the disconnected event's reason
    due_at   timestamptz NOT NULL DEFAULT now()   -- sendable from then on (a claim moves it)
);

CREATE INDEX outbox_due ON pubsub.outbox (due_at);
