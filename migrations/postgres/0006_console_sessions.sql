-- The PostgreSQL journal, version 6: the console's sign-in sessions, as SQLite's schema version 8
-- (src/journal/console_sessions.rs), keyed by the SHA-256 of the session id, so that several
-- `serve` processes behind one address, or one restarted, know who is signed in.
CREATE TABLE console_sessions (
    key        TEXT PRIMARY KEY,
    state      JSONB NOT NULL,
    csrf       TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX console_sessions_by_expiry ON console_sessions (expires_at);
