-- 008: what the hub refuses so that one user cannot take it all (docs/storage.md, "Quotas").
--
-- 1. A history quota per sender: group messages a client stores count against its user (or its
--    connection, when anonymous) per hub, in bytes per fixed time window. pubsub.group_send gets
--    p_quota_bytes / p_quota_window (NULL: no quota, as for REST sends from the server) and a new
--    status 5: over the quota, nothing stored, nothing delivered, no ackId claimed.
-- 2. The per-user connection limit, enforced where the row is inserted: pubsub.register takes a
--    transaction-scoped advisory lock on (hub, user) before counting, so concurrent handshakes of
--    one user are counted one after the other (no two can both see 63) for every protocol.

-- One row per sender and hub: the bytes it stored in the current window.
CREATE TABLE pubsub.history_usage (
    hub          text NOT NULL,
    sender       text NOT NULL,              -- 'u:' || user id, or 'c:' || connection id
    window_start timestamptz NOT NULL,
    bytes        bigint NOT NULL CHECK (bytes >= 0),
    PRIMARY KEY (hub, sender)
);

-- group_send as in 005, plus the quota. Status codes (gateway/hub/hub_store.h, enum hub_store_gs):
--   0 sent (one row per member), 1 forbidden, 2 duplicate ackId, 3 sender gone,
--   4 wildcard roles to evaluate by the caller, 5 over the sender's history quota.
DROP FUNCTION pubsub.group_send(text, text, text, boolean, integer, numeric, boolean, text, text,
                                text, boolean);
CREATE FUNCTION pubsub.group_send(p_conn text, p_hub text, p_group text, p_allowed boolean,
                                  p_ack_slot integer, p_ack_id numeric, p_store boolean,
                                  p_from text, p_data_type text, p_data text,
                                  p_durable boolean DEFAULT true,
                                  p_quota_bytes bigint DEFAULT NULL,
                                  p_quota_window integer DEFAULT NULL)
RETURNS TABLE (status integer, msg_id bigint, msg_time text, member text, protocol text)
LANGUAGE plpgsql AS $$
DECLARE
    v_roles text[];
    v_key   text;
    v_win   timestamptz;
    v_n     bigint;
    v_quota boolean := false;
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
        -- The history quota (docs/storage.md, "Quotas"): charged before the ackId claim, so a
        -- refused message leaves no claim behind; a duplicate gives its charge back below.
        IF p_store AND p_quota_bytes IS NOT NULL THEN
            v_key := coalesce('u:' || p_from, 'c:' || p_conn);
            v_win := to_timestamp(floor(extract(epoch FROM now()) / p_quota_window) * p_quota_window);
            v_n := octet_length(p_data);
            IF v_n <= p_quota_bytes THEN
                INSERT INTO pubsub.history_usage AS u (hub, sender, window_start, bytes)
                    VALUES (p_hub, v_key, v_win, v_n)
                    ON CONFLICT (hub, sender) DO UPDATE
                    SET window_start = EXCLUDED.window_start,
                        bytes = CASE WHEN u.window_start = EXCLUDED.window_start
                                     THEN u.bytes + EXCLUDED.bytes ELSE EXCLUDED.bytes END
                    WHERE u.window_start <> EXCLUDED.window_start
                       OR u.bytes + EXCLUDED.bytes <= p_quota_bytes;
                v_quota := FOUND;
            END IF;
            IF NOT v_quota THEN
                status := 5;
                RETURN NEXT;
                RETURN;
            END IF;
        END IF;
        IF p_ack_id IS NOT NULL THEN
            INSERT INTO pubsub.acks AS a (conn_id, slot, ack_id) VALUES (p_conn, p_ack_slot, p_ack_id)
                ON CONFLICT (conn_id, slot) DO UPDATE SET ack_id = EXCLUDED.ack_id
                WHERE a.ack_id <> EXCLUDED.ack_id;
            IF NOT FOUND THEN
                IF v_quota THEN
                    UPDATE pubsub.history_usage SET bytes = greatest(bytes - v_n, 0)
                        WHERE hub = p_hub AND sender = v_key AND window_start = v_win;
                END IF;
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


-- Registers a connection (with its reliable row and its token groups) unless its user already
-- has p_max connections in the hub. 0: registered; 1: over the limit; 2: the id exists.
CREATE FUNCTION pubsub.register(p_id text, p_hub text, p_user text, p_protocol text,
                                p_roles json, p_state text, p_node text, p_epoch bigint,
                                p_groups json, p_max integer)
RETURNS integer
LANGUAGE plpgsql AS $$
BEGIN
    IF p_user IS NOT NULL THEN
        -- Held until the transaction ends: the next handshake of this user counts this row.
        PERFORM pg_advisory_xact_lock(hashtextextended(p_hub || '/' || p_user, 8));
        IF (SELECT count(*) FROM pubsub.connections WHERE hub = p_hub AND user_id = p_user)
                >= p_max THEN
            RETURN 1;
        END IF;
    END IF;
    INSERT INTO pubsub.connections (id, hub, user_id, protocol, roles, state, node, epoch)
        VALUES (p_id, p_hub, p_user, p_protocol,
                ARRAY(SELECT json_array_elements_text(p_roles)), p_state, p_node, p_epoch)
        ON CONFLICT (id) DO NOTHING;
    IF NOT FOUND THEN
        RETURN 2;
    END IF;
    IF p_protocol = 'json.reliable.webpubsub.azure.v1' THEN
        INSERT INTO pubsub.reliable (conn_id, socket) VALUES (p_id, p_id);
    END IF;
    INSERT INTO pubsub.group_members (hub, group_name, conn_id)
        SELECT DISTINCT p_hub, g, p_id FROM json_array_elements_text(p_groups) AS g
        ON CONFLICT DO NOTHING;
    RETURN 0;
END
$$;
