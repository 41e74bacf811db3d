-- The PostgreSQL journal, version 4: the write windows of the workers' lanes (src/cli/lanes.rs).
-- A lane (a client's queue `offboard:<tenant>:<lane>/<lanes>`) runs one job at a time on any
-- number of workers; each job resumes the lane's window where the previous one left it, so the
-- lane's slice of the client's Graph write quota holds across runs, processes and machines.
CREATE TABLE lane_pacer (
    tenant   TEXT NOT NULL,
    lanes    INTEGER NOT NULL,
    lane     INTEGER NOT NULL,
    -- When the writes still in the window were answered, by the database's clock (one clock for
    -- every machine).
    answered TIMESTAMPTZ[] NOT NULL DEFAULT '{}',
    -- The worker whose job holds the lane now; set at a job's start, cleared at its end. Found set
    -- at a start: the previous job did not end (its worker died), and its writes are unknown.
    held_by  TEXT,
    PRIMARY KEY (tenant, lanes, lane)
);
