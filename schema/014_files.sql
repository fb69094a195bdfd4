-- 014: files shared in chats (functions/files, docs/files.md).
--
-- The bytes live here, in PostgreSQL, not in a directory: every gateway node reads and writes the
-- same database (several nodes serve one site, docs/deployment.md), a backup of the database is a
-- backup of the files, and a file goes with its chat in the same transaction (ON DELETE CASCADE)
-- and with its message (functions/eventHandler/files.c). The limits mirror the named constants of
-- functions/files/files_policy.h.
CREATE TABLE chatr.files (
    id           text PRIMARY KEY CHECK (id ~ '^[0-9a-f]{32}$'),          -- 128 random bits
    chat_id      text NOT NULL REFERENCES chatr.chats (id) ON DELETE CASCADE,
    uploader     text NOT NULL REFERENCES chatr.users (id) ON DELETE CASCADE,
    name         text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200), -- sanitised, display only
    content_type text NOT NULL CHECK (char_length(content_type) BETWEEN 1 AND 100), -- from the content
    size         integer NOT NULL CHECK (size BETWEEN 1 AND 10485760),      -- FILES_MAX_BYTES
    data         bytea NOT NULL,
    thumb        bytea,                                                   -- images only; NULL if none
    thumb_type   text CHECK (char_length(thumb_type) <= 100),
    width        integer CHECK (width > 0),                               -- images: the original's
    height       integer CHECK (height > 0),
    created_at   timestamptz NOT NULL DEFAULT now(),
    CHECK (octet_length(data) = size),
    CHECK ((thumb IS NULL) = (thumb_type IS NULL))
);
-- the per-user quota sums sizes by uploader; a chat's files go with it (the cascade)
CREATE INDEX files_uploader ON chatr.files (uploader);
CREATE INDEX files_chat ON chatr.files (chat_id);
