-- 004: ackId dedupe per connection (docs/protocols.md#ack-ids, checklist item 3). An ackId whose
-- operation succeeded is remembered, a repeat is answered Duplicate and not executed again;
-- failed ones are not remembered. Memory is bounded: one row per (connection, ackId mod 1024)
-- slot, so the last 1024 consecutive ackIds (what the SDKs send) are exact; rows die with
-- their connection. Only hub-router touches it.
CREATE TABLE pubsub.acks (
    conn_id text NOT NULL REFERENCES pubsub.connections (id) ON DELETE CASCADE,
    slot    integer NOT NULL CHECK (slot >= 0 AND slot < 1024),
    ack_id  numeric(20) NOT NULL,          -- unsigned 64-bit
    PRIMARY KEY (conn_id, slot)
);
