-- 016: which mentioned users were told of which message (docs/chat-features.md#mentions). The
-- eventHandler sends the `mentioned` chatEvent to a mentioned member once per message: the row
-- is inserted first (ON CONFLICT DO NOTHING) and only a user whose row was new is told, so a
-- replayed `mention` event, a second tab of the author sending it too, or an edit that keeps a
-- mention tells nobody twice. message_id is the hub's history id (no foreign key: messages live
-- in the pubsub schema, reached through the hub's REST API).
--
-- What goes when: a deleted chat or user takes their rows with them (ON DELETE CASCADE); a
-- deleted message's rows go with it (the eventHandler's deleteMessage). A member who leaves keeps
-- theirs: coming back does not make old messages notify again. At most one row per member named
-- in a message, and a message names at most 20 (the eventHandler's bound) per send or edit.
CREATE TABLE chatr.mention_notices (
    chat_id     text NOT NULL REFERENCES chatr.chats (id) ON DELETE CASCADE,
    message_id  bigint NOT NULL CHECK (message_id > 0),
    user_id     text NOT NULL REFERENCES chatr.users (id) ON DELETE CASCADE,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (chat_id, message_id, user_id)
);
-- A deleted user's rows (the cascade) are found through this one.
CREATE INDEX mention_notices_user ON chatr.mention_notices (user_id);
