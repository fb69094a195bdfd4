-- 012: edits, deletions and full-text search of stored group messages (docs/protocols.md#history,
-- docs/chat-features.md#search, issue 16). The hub's REST API edits a stored message
-- (PUT .../messages/{id}: edited_at), deletes one (DELETE: data erased, deleted_at kept as the
-- tombstone) and searches a hub's messages (:searchMessages) through the GIN index below.
-- pubsub.group_send (the hot path) is unchanged: the only cost it gains is the index entry of a
-- new text message.

ALTER TABLE pubsub.messages
    ADD COLUMN edited_at  timestamptz,
    ADD COLUMN deleted_at timestamptz,
    ALTER COLUMN data DROP NOT NULL,
    -- only a deleted message has no data: a deletion erases it (not hides it)
    ADD CONSTRAINT messages_data_or_deleted CHECK (data IS NOT NULL OR deleted_at IS NOT NULL);

-- The searchable text of a stored message: a chat line's "message" string for JSON data
-- ({"message": ..., "fromUserId", ...}), the text itself for text data, nothing for binary or
-- deleted messages. At most the first 10,000 characters (a chat line is at most 4,000; a frame may
-- be 1 MB, and a tsvector must stay under its own 1 MB limit).
--
-- It must never fail, since the index runs it inside every history insert: the JSON the hub
-- stores is written by json-c, whose only \u escapes are \u00XX for control characters, and
-- PostgreSQL can turn every one of them into text except \u0000 ("unsupported Unicode escape
-- sequence"); data containing that sequence is not searched. IMMUTABLE (it reads only its
-- arguments) so that an index may use it.
CREATE FUNCTION pubsub.message_text(p_type text, p_data text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT left(CASE WHEN p_type = 'text' THEN p_data
                     WHEN p_type = 'json' AND strpos(p_data, '\u0000') = 0
                         THEN p_data::json ->> 'message' END, 10000)
$$;

-- The words of a message: the 'simple' configuration (lower-cased words, no stemming, no stop
-- words), because chats are multilingual: an English stemmer would mangle the other languages'
-- words and drop their short words as if they were English stop words, while 'simple' treats
-- every language alike (docs/chat-features.md#search).
CREATE FUNCTION pubsub.message_words(p_type text, p_data text) RETURNS tsvector
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT to_tsvector('simple'::regconfig, coalesce(pubsub.message_text(p_type, p_data), ''))
$$;

-- Live (not deleted) text and JSON messages only; :searchMessages repeats this predicate.
CREATE INDEX messages_search ON pubsub.messages
    USING gin (pubsub.message_words(data_type, data))
    WHERE deleted_at IS NULL AND data_type <> 'binary';

-- A search box's words as a query: PostgreSQL's web-search syntax ("quoted phrase", or, -word)
-- with every word also matching as a prefix ("hel" finds "hello"), so results come while the
-- user is still typing. The prefix marks are added to websearch_to_tsquery's own output, whose
-- quoted lexemes ('it''s') always parse again.
CREATE FUNCTION pubsub.search_query(p_q text) RETURNS tsquery
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT regexp_replace(websearch_to_tsquery('simple'::regconfig, p_q)::text,
                          '''(?:[^'']|'''')*''', '\&:*', 'g')::tsquery
$$;
