-- A server's queue: a job over the caps on jobs at the video service waits in the new state
-- `waiting` (its quota unit held), and a waiting job may be `cancelled` (terminal, released).
-- `started_at` is when a job took a slot at the video service (the queue's round robin starts
-- the member whose last job started longest ago), `cancelled_by` who cancelled a job.
ALTER TABLE jobs DROP CONSTRAINT jobs_state_check;
ALTER TABLE jobs ADD CONSTRAINT jobs_state_check
    CHECK (state IN ('waiting', 'queued', 'submitted', 'running', 'succeeded',
                     'delivered', 'failed', 'expired', 'cancelled'));
ALTER TABLE jobs ADD COLUMN started_at DOUBLE PRECISION;
ALTER TABLE jobs ADD COLUMN cancelled_by BIGINT;
-- Every job before this one went to the video service when it was accepted.
UPDATE jobs SET started_at = created_at;
-- The queue itself, oldest first, and each member's and server's latest start.
CREATE INDEX jobs_waiting ON jobs (guild_id, id) WHERE state = 'waiting';
CREATE INDEX jobs_member_started ON jobs (guild_id, user_id, started_at);
CREATE INDEX jobs_guild_started ON jobs (guild_id, started_at);
