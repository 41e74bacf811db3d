-- The PostgreSQL journal, version 5: which journal session holds a lane (src/service/lanes.rs).
-- A job that finds its lane still held does not know what the dead holder's run wrote; the
-- holder's last heartbeat (journal_sessions.heartbeat_at) bounds when it could have written, so
-- the taker waits out a window from then instead of from now.
ALTER TABLE lane_pacer ADD COLUMN held_session TEXT;
