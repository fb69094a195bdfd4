-- 005: message history (DESIGN.md §5, issue 6). Hubs whose settings say "history": true store
-- every group message they deliver (unless the sender asked "persist": false) BEFORE delivering
-- it; the id and time are added to the delivered envelope ("id", "time").
--
-- Ids come from one sequence, so they increase across the whole hub. Within one group they are
-- also committed in id order: the writer takes a transaction-scoped advisory lock on the
-- (hub, group) pair before drawing its id (see hub_history.c), so a reader paging with
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
