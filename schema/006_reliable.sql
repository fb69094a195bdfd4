-- 006: the reliable subprotocol json.reliable.webpubsub.azure.v1
-- (docs/protocols.md#the-reliable-subprotocol, checklist item 4; gateway/hub/hub_reliable.c). A
-- reliable connection is a LOGICAL connection: its row in pubsub.connections (id, groups, roles,
-- ackIds) outlives the WebSocket that opened it, and a later socket may take it over (recovery)
-- until HUB_RELIABLE_RETENTION_MS after the last socket went. Every data message to it gets the
-- next sequenceId and is kept here until the client acknowledges it (sequenceAck, cumulative), so
-- a recovering socket gets what it missed.
--
-- Ordering: whoever gives a sequenceId holds the connection's pubsub.reliable row lock until it
-- has published the message (hub_reliable.c), so ids reach the socket in increasing order; a
-- recovery takes the same lock while it replays. Several connections are locked in id order.
CREATE TABLE pubsub.reliable (
    conn_id       text PRIMARY KEY REFERENCES pubsub.connections (id) ON DELETE CASCADE,
    socket        text CHECK (char_length(socket) BETWEEN 1 AND 64), -- $request_id of the socket
                                                                     -- holding it; NULL: away
    dropped_at    timestamptz,                    -- when the last socket went (NULL: held)
    seq           bigint NOT NULL DEFAULT 0,      -- the last sequenceId given
    unacked       integer NOT NULL DEFAULT 0,     -- rows in pubsub.reliable_messages ...
    unacked_bytes bigint NOT NULL DEFAULT 0,      -- ... and their bytes (capacity checks)
    CHECK ((socket IS NULL) = (dropped_at IS NOT NULL))
);
CREATE INDEX reliable_away ON pubsub.reliable (dropped_at) WHERE socket IS NULL;

-- Unacknowledged data messages: the envelope WITHOUT its sequenceId (hub_reliable.c puts
-- {"sequenceId":<seq>, in front when it publishes or replays).
CREATE TABLE pubsub.reliable_messages (
    conn_id text NOT NULL REFERENCES pubsub.reliable (conn_id) ON DELETE CASCADE,
    seq     bigint NOT NULL,
    body    text NOT NULL,
    PRIMARY KEY (conn_id, seq)
);

-- The reliable connections of a hub or user, for REST sends to all / to a user (reliable sockets
-- subscribe to their own channel only, so these sends reach them one by one, sequenced).
CREATE INDEX connections_reliable ON pubsub.connections (hub, user_id)
    WHERE protocol = 'json.reliable.webpubsub.azure.v1';

-- Gives the next sequenceId of every reliable connection in p_ids (a JSON array) that is not
-- closing and stores p_body for it. The caller's transaction keeps the rows locked (taken in id
-- order) until it has published and commits. A connection over capacity (p_max_count messages
-- or p_max_bytes bytes unacknowledged) gets no id: over = true, the caller closes it for good.
-- Rows: (conn_id, seq, socket, over); socket NULL while the connection is away.
CREATE FUNCTION pubsub.reliable_push(p_ids json, p_body text, p_max_count integer,
                                     p_max_bytes bigint)
RETURNS TABLE (conn_id text, seq bigint, socket text, over boolean)
LANGUAGE plpgsql AS $$
DECLARE
    v_len bigint := octet_length(p_body);
BEGIN
    PERFORM 1 FROM pubsub.reliable r
        WHERE r.conn_id IN (SELECT json_array_elements_text(p_ids))
        ORDER BY r.conn_id FOR NO KEY UPDATE;
    RETURN QUERY
    WITH live AS (
        SELECT r.conn_id, r.socket, (r.unacked >= p_max_count
                                     OR r.unacked_bytes + v_len > p_max_bytes) AS full
        FROM pubsub.reliable r JOIN pubsub.connections c ON c.id = r.conn_id
        WHERE r.conn_id IN (SELECT json_array_elements_text(p_ids)) AND c.close_reason IS NULL
    ), u AS (
        UPDATE pubsub.reliable r SET seq = r.seq + 1, unacked = r.unacked + 1,
                                     unacked_bytes = r.unacked_bytes + v_len
        FROM live WHERE r.conn_id = live.conn_id AND NOT live.full
        RETURNING r.conn_id, r.seq
    ), i AS (
        INSERT INTO pubsub.reliable_messages (conn_id, seq, body)
        SELECT u.conn_id, u.seq, p_body FROM u
    )
    SELECT live.conn_id, coalesce(u.seq, 0), live.socket, live.full
    FROM live LEFT JOIN u ON u.conn_id = live.conn_id
    ORDER BY live.conn_id;
END
$$;
