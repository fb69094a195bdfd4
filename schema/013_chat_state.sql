-- 013: per-message and per-reader chat state of the app (docs/chat-features.md): emoji
-- reactions on messages and each member's read position in each chat. Messages themselves live in
-- the hub's history (pubsub schema), which the app reaches only through the REST API, so
-- message_id is the hub's history id and has no foreign key here; the eventHandler checks that
-- the message exists in that chat before it writes a row.
--
-- What goes when (docs/chat-features.md#reactions, #read-state-and-unread-counts):
-- - a deleted chat takes both with it (chat_id references chatr.chats, ON DELETE CASCADE);
-- - a member who leaves loses their read state (it references the membership), so a member who
--   comes back starts from the newest message again, like a new member; their reactions stay,
--   as their messages stay in the history others read, but only members can add or remove one;
-- - a deleted user takes both with them.

-- One reaction of a kind (emoji) per user per message. The emoji is checked by the eventHandler
-- (one RGI emoji, no ASCII); the CHECK only bounds the bytes.
CREATE TABLE chatr.reactions (
    chat_id     text NOT NULL REFERENCES chatr.chats (id) ON DELETE CASCADE,
    message_id  bigint NOT NULL CHECK (message_id > 0),
    emoji       text NOT NULL CHECK (octet_length(emoji) BETWEEN 1 AND 32),
    user_id     text NOT NULL REFERENCES chatr.users (id) ON DELETE CASCADE,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (chat_id, message_id, emoji, user_id)
);
-- The primary key serves a page's reactions (chat_id, message_id = ANY(...)); this one a user's.
CREATE INDEX reactions_user ON chatr.reactions (user_id);

-- At most chatr.reaction_kinds_max() kinds per message, whatever writes the row: a new kind
-- takes a transaction lock on the message first, so two new kinds added at once are counted one
-- after the other. SQLSTATE CR001 tells the eventHandler it was this limit (answered 409).
CREATE FUNCTION chatr.reaction_kinds_max() RETURNS integer
LANGUAGE sql IMMUTABLE AS 'SELECT 20';

CREATE FUNCTION chatr.reactions_bound_kinds() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(hashtextextended('chatr.reactions:' || NEW.chat_id || ':'
                                                   || NEW.message_id, 0));
    IF NOT EXISTS (SELECT 1 FROM chatr.reactions r
                   WHERE r.chat_id = NEW.chat_id AND r.message_id = NEW.message_id
                     AND r.emoji = NEW.emoji)
       AND (SELECT count(DISTINCT r.emoji) FROM chatr.reactions r
            WHERE r.chat_id = NEW.chat_id AND r.message_id = NEW.message_id)
           >= chatr.reaction_kinds_max() THEN
        RAISE EXCEPTION 'message % already has % kinds of reaction', NEW.message_id,
                        chatr.reaction_kinds_max()
            USING ERRCODE = 'CR001';
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER reactions_bound_kinds BEFORE INSERT ON chatr.reactions
    FOR EACH ROW EXECUTE FUNCTION chatr.reactions_bound_kinds();

-- The newest message a member has read in a chat (a hub history id; 0 = none yet). Only ever
-- moves forward (the eventHandler stores GREATEST(old, new)).
CREATE TABLE chatr.read_state (
    chat_id       text NOT NULL,
    user_id       text NOT NULL,
    last_read_id  bigint NOT NULL CHECK (last_read_id >= 0),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (chat_id, user_id),
    FOREIGN KEY (chat_id, user_id) REFERENCES chatr.members (chat_id, user_id) ON DELETE CASCADE
);
-- GET /api/chats reads one user's rows across chats.
CREATE INDEX read_state_user ON chatr.read_state (user_id);
