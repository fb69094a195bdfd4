-- 002: the Web PubSub emulator's own state (docs/architecture.md#state), like the service's
-- internal store.
-- Only gateway/hub* programs touch it; the application reaches it through the REST API.

CREATE SCHEMA pubsub;

-- One row per live WebSocket. id is nginx's $request_id (32 hex chars). node/epoch say which
-- nginx instance holds the socket, so a restarted node can clear what it no longer backs.
CREATE TABLE pubsub.connections (
    id           text PRIMARY KEY CHECK (char_length(id) BETWEEN 1 AND 64),
    hub          text NOT NULL CHECK (char_length(hub) BETWEEN 1 AND 128),
    user_id      text CHECK (char_length(user_id) BETWEEN 1 AND 1024),
    protocol     text NOT NULL DEFAULT '',          -- '' = simple WebSocket client
    roles        text[] NOT NULL DEFAULT '{}',      -- token/connect roles plus REST grants
    state        text,                              -- ce-connectionState
    node         text NOT NULL,
    epoch        bigint NOT NULL,
    close_reason text,                              -- set by a REST close before the socket goes
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX connections_user ON pubsub.connections (hub, user_id);
CREATE INDEX connections_node ON pubsub.connections (node, epoch);

-- Group membership is per connection and dies with it; a group exists while it has members.
CREATE TABLE pubsub.group_members (
    hub        text NOT NULL,
    group_name text NOT NULL CHECK (char_length(group_name) BETWEEN 1 AND 1024),
    conn_id    text NOT NULL REFERENCES pubsub.connections (id) ON DELETE CASCADE,
    PRIMARY KEY (hub, group_name, conn_id)
);
CREATE INDEX group_members_conn ON pubsub.group_members (conn_id);
