-- The PostgreSQL journal, version 3: the JSON API's request keys (Idempotency-Key), as SQLite's
-- schema version 7 (src/journal/sqlite/request_keys.rs): the first request's digest and, once
-- given, its answer.
CREATE TABLE request_keys (
    scope        TEXT NOT NULL,
    key          TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    status       INTEGER,
    answer       JSONB,
    answered_at  TIMESTAMPTZ,
    PRIMARY KEY (scope, key)
);
