-- 005: message history (docs/protocols.md#history, issue 6). Hubs whose settings say "history":
-- true store every group message they deliver (unless the sender asked "persist": false) BEFORE
-- delivering it; the id and time are added to the delivered envelope ("id", "time").
--
-- Ids come from one sequence, so they increase across the whole hub. Within one group they are
-- also committed in id order: the writer takes a transaction-scoped advisory lock on the
-- (hub, group) pair before drawing its id (pubsub.group_send below), so a reader paging with
-- ?after=<last id> never sees a later id before an earlier one of the same group commits.
--
-- data holds the payload as the envelope carries it: JSON text for dataType json, the string for
-- text, base64 for binary. from_user is NULL for messages sent through the REST API (server).
CREATE TABLE pubsub.messages (
    id          bigserial PRIMARY KEY,
    hub         text NOT NULL CHECK (char_length(hub) BETWEEN 1 AND 128),
    group_name  text NOT NULL CHECK (char_length(group_name) BETWEEN 1 AND 1024),
    from_user   text CHECK (char_length(from_user) BETWEEN 1 AND 1024),
    data_type   text NOT NULL CHECK (data_type IN ('json', 'text', 'binary')),
    data        text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX messages_group ON pubsub.messages (hub, group_name, id);

-- One round trip for a group message from a client socket or the REST API
-- (docs/storage.md#history-commits): the sender's permission (p_conn NULL = the server, no checks),
-- the ackId claim (schema/004), the store (when p_store) and the member list. Rows: (status,
-- msg_id, msg_time, member, protocol).
--   status 0: one row per member connection (member NULL when the group is empty); msg_id and
--             msg_time set when stored.
--   status 1: no permission; 2: duplicate ackId; 3: the sender's connection is gone;
--   status 4: the sender has wildcard roles (webpubsub.sendToGroups.<pattern>) this function
--             does not evaluate: member holds its roles as a JSON array; the caller decides and
--             calls again with p_allowed = true.
-- The advisory lock on (hub, group) makes ids of one group commit in id order (see above).
-- p_durable false: the commit does not wait for the WAL flush (synchronous_commit off for this
-- transaction only): a stored message survives a PostgreSQL or process restart, and an
-- operating-system crash loses at most the last fraction of a second
-- (docs/storage.md#history-commits).
CREATE FUNCTION pubsub.group_send(p_conn text, p_hub text, p_group text, p_allowed boolean,
                                  p_ack_slot integer, p_ack_id numeric, p_store boolean,
                                  p_from text, p_data_type text, p_data text,
                                  p_durable boolean DEFAULT true)
RETURNS TABLE (status integer, msg_id bigint, msg_time text, member text, protocol text)
LANGUAGE plpgsql AS $$
DECLARE
    v_roles text[];
BEGIN
    IF p_conn IS NOT NULL THEN
        SELECT c.roles INTO v_roles FROM pubsub.connections c WHERE c.id = p_conn;
        IF NOT FOUND THEN
            status := 3;
            RETURN NEXT;
            RETURN;
        END IF;
        IF NOT p_allowed THEN
            IF NOT ('webpubsub.sendToGroup' = ANY (v_roles)
                    OR 'webpubsub.sendToGroup.' || p_group = ANY (v_roles)) THEN
                status := CASE WHEN EXISTS (SELECT 1 FROM unnest(v_roles) r
                                            WHERE r LIKE 'webpubsub.sendToGroups.%')
                               THEN 4 ELSE 1 END;
                member := CASE WHEN status = 4 THEN array_to_json(v_roles)::text END;
                RETURN NEXT;
                RETURN;
            END IF;
        END IF;
        IF p_ack_id IS NOT NULL THEN
            INSERT INTO pubsub.acks AS a (conn_id, slot, ack_id) VALUES (p_conn, p_ack_slot, p_ack_id)
                ON CONFLICT (conn_id, slot) DO UPDATE SET ack_id = EXCLUDED.ack_id
                WHERE a.ack_id <> EXCLUDED.ack_id;
            IF NOT FOUND THEN
                status := 2;
                RETURN NEXT;
                RETURN;
            END IF;
        END IF;
    END IF;
    status := 0;
    IF p_store THEN
        IF NOT p_durable THEN
            PERFORM set_config('synchronous_commit', 'off', true);
        END IF;
        PERFORM pg_advisory_xact_lock(hashtextextended(p_hub || '/' || p_group, 5));
        INSERT INTO pubsub.messages (hub, group_name, from_user, data_type, data, created_at)
            VALUES (p_hub, p_group, p_from, p_data_type, p_data, clock_timestamp())
            RETURNING id, to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
            INTO msg_id, msg_time;
    END IF;
    RETURN QUERY
        SELECT 0, msg_id, msg_time, c.id, c.protocol
        FROM pubsub.group_members m JOIN pubsub.connections c ON c.id = m.conn_id
        WHERE m.hub = p_hub AND m.group_name = p_group;
    IF NOT FOUND THEN
        member := NULL;
        protocol := NULL;
        RETURN NEXT;
    END IF;
END
$$;
