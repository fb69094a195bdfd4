-- 007: sign-in throttling with backoff, and hub tokens bound to the session that asked for them
-- (docs/sign-in.md).

-- Throttle counters (gateway/auth/auth_throttle.c). A key is '<kind>:<client>' or
-- '<kind>:<account>' or 'pair:<account>|<client>'; each counts events in a fixed window, and
-- past its free allowance every event blocks the key for a growing delay (blocked_until).
ALTER TABLE swa.attempts ADD COLUMN blocked_until timestamptz;
-- The keys of 003 ('addr:', 'user:') mean nothing any more.
DELETE FROM swa.attempts;

-- A session's binding: a hash of a hash of its random id (never the id), put into the hub
-- tokens getToken issues through it (claim "chatr.sid"). Derived here so that it exists once.
ALTER TABLE swa.sessions ADD COLUMN sid text GENERATED ALWAYS AS
    (substr(encode(sha256('chatr.sid:'::bytea || decode(id_hash, 'hex')), 'hex'), 1, 32)) STORED;
CREATE UNIQUE INDEX sessions_sid ON swa.sessions (sid);

-- Connections opened with a bound token (gateway/hub/hub_revoke.c): logout closes them. A row
-- goes with its connection (trigger below), with its session's logout, or (a handshake refused
-- after the token check, so no connection row ever came) at the session's next handshake.
CREATE TABLE pubsub.bound_connections (
    conn_id    text PRIMARY KEY CHECK (char_length(conn_id) BETWEEN 1 AND 64),
    sid        text NOT NULL CHECK (sid ~ '^[0-9a-f]{32}$'),
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX bound_connections_sid ON pubsub.bound_connections (sid);

CREATE FUNCTION pubsub.bound_connection_gone() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM pubsub.bound_connections WHERE conn_id = OLD.id;
    RETURN NULL;
END $$;
CREATE TRIGGER connections_unbind AFTER DELETE ON pubsub.connections
    FOR EACH ROW EXECUTE FUNCTION pubsub.bound_connection_gone();
