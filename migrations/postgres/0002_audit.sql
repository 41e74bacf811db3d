-- The PostgreSQL journal, version 2: the console's audit log, as SQLite's schema version 6
-- (src/journal/sqlite/audit.rs): who did what in the console, with the signed-in identity.
CREATE TABLE audit (
    id       BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at       TIMESTAMPTZ NOT NULL,
    action   TEXT NOT NULL,
    issuer   TEXT NOT NULL,
    subject  TEXT NOT NULL,
    email    TEXT,
    detail   JSONB NOT NULL
);
