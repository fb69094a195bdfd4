-- 001: the Chatr application's own state (docs/architecture.md#state). The app reads only this
-- schema.
CREATE SCHEMA chatr;

CREATE TABLE chatr.users (
    id          text PRIMARY KEY CHECK (char_length(id) BETWEEN 1 AND 128),
    name        text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 256),
    provider    text NOT NULL CHECK (char_length(provider) BETWEEN 1 AND 64),
    online      boolean NOT NULL DEFAULT false,
    idle        boolean NOT NULL DEFAULT false,
    last_seen   timestamptz NOT NULL DEFAULT now(),
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX users_online ON chatr.users (online) WHERE online;

CREATE TABLE chatr.chats (
    id          text PRIMARY KEY CHECK (char_length(id) BETWEEN 1 AND 300),
    name        text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 100),
    owner       text NOT NULL REFERENCES chatr.users (id),
    private     boolean NOT NULL DEFAULT false,
    topic       text CHECK (char_length(topic) <= 200),
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE chatr.members (
    chat_id     text NOT NULL REFERENCES chatr.chats (id) ON DELETE CASCADE,
    user_id     text NOT NULL REFERENCES chatr.users (id) ON DELETE CASCADE,
    joined_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (chat_id, user_id)
);
CREATE INDEX members_user ON chatr.members (user_id);
