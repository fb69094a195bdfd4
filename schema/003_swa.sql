-- 003: the Static Web Apps emulation's own state (docs/architecture.md#state): local accounts,
-- sessions and sign-in attempt counters. Only the auth program (gateway/auth) reads or writes it.
CREATE SCHEMA swa;

-- Local accounts: argon2id hashes (libsodium crypto_pwhash_str), never the password.
CREATE TABLE swa.accounts (
    username_key  text PRIMARY KEY CHECK (char_length(username_key) BETWEEN 1 AND 64), -- lower(username)
    username      text NOT NULL CHECK (char_length(username) BETWEEN 1 AND 64),
    user_id       text NOT NULL UNIQUE CHECK (char_length(user_id) BETWEEN 1 AND 128),
    password_hash text NOT NULL CHECK (password_hash LIKE '$argon2id$%'),
    created_at    timestamptz NOT NULL DEFAULT now()
);

-- Sessions: the cookie holds a random id; only its SHA-256 (hex) is stored.
CREATE TABLE swa.sessions (
    id_hash      text PRIMARY KEY CHECK (id_hash ~ '^[0-9a-f]{64}$'),
    provider     text NOT NULL CHECK (char_length(provider) BETWEEN 1 AND 32),
    user_id      text NOT NULL CHECK (char_length(user_id) BETWEEN 1 AND 128),
    user_details text NOT NULL CHECK (char_length(user_details) <= 128),
    roles        text NOT NULL DEFAULT '', -- custom roles, comma-separated, [A-Za-z0-9_]
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL
);
CREATE INDEX sessions_expires ON swa.sessions (expires_at);
CREATE INDEX sessions_user ON swa.sessions (provider, user_id);

-- Failed sign-in attempts per key ('addr:<ip>' or 'user:<username_key>'), in a fixed window.
CREATE TABLE swa.attempts (
    key          text PRIMARY KEY CHECK (char_length(key) <= 200),
    window_start timestamptz NOT NULL DEFAULT now(),
    failures     integer NOT NULL DEFAULT 0
);
