-- A server's queue: a job over the caps on jobs at the video service waits in the new state
-- `waiting` (its quota unit held), and a waiting job may be `cancelled` (terminal, released).
-- `started_at` is when a job took a slot at the video service (the queue's round robin starts
-- the member whose last job started longest ago), `cancelled_by` who cancelled a job.
-- SQLite cannot alter a CHECK constraint, so the table is rebuilt with its rows and indexes,
-- those of 008 (by state), 015 (the web's pages) and 016 (the daily budget) included (the
-- migration runs with foreign key checks off and checks every reference before commit).
CREATE TABLE jobs_v2 (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    guild_id            INTEGER NOT NULL,
    channel_id          INTEGER NOT NULL,
    user_id             INTEGER NOT NULL,
    provider            TEXT    NOT NULL,
    model               TEXT    NOT NULL,
    prompt              TEXT    NOT NULL,
    options_json        TEXT    NOT NULL,
    image_path          TEXT,
    image_name          TEXT,
    image_mime          TEXT,
    image_source_url    TEXT,
    state               TEXT    NOT NULL DEFAULT 'queued'
        CHECK (state IN ('waiting', 'queued', 'submitted', 'running', 'succeeded',
                         'delivered', 'failed', 'expired', 'cancelled')),
    idempotency_key     TEXT    NOT NULL UNIQUE,
    submit_attempted    INTEGER NOT NULL DEFAULT 0,
    provider_task_id    TEXT,
    progress            INTEGER,
    status_message_id   INTEGER,
    status_text         TEXT,
    status_edited_at    REAL,
    reply_to_message_id INTEGER,
    reference_url       TEXT,
    upload_limit_bytes  INTEGER,
    result_url          TEXT,
    result_message_id   INTEGER,
    delivery            TEXT CHECK (delivery IN ('file', 'link')),
    delivery_started    INTEGER NOT NULL DEFAULT 0,
    error_code          TEXT,
    error_message       TEXT,
    transient_failures  INTEGER NOT NULL DEFAULT 0,
    polls               INTEGER NOT NULL DEFAULT 0,
    parent_job_id       INTEGER REFERENCES jobs(id),
    next_action_at      REAL    NOT NULL,
    deadline_at         REAL    NOT NULL,
    created_at          REAL    NOT NULL,
    updated_at          REAL    NOT NULL,
    finished_at         REAL,
    delivery_started_at REAL,
    result_deleted_by   INTEGER,
    result_deleted_at   REAL,
    submitted_at        REAL,
    video_path          TEXT,
    video_bytes         INTEGER,
    lease_owner         TEXT,
    lease_until         REAL,
    public_locale       TEXT,
    interaction_id      INTEGER,
    started_at          REAL,
    cancelled_by        INTEGER
);
-- Every job before this one went to the video service when it was accepted.
INSERT INTO jobs_v2 (id, guild_id, channel_id, user_id, provider, model, prompt, options_json,
    image_path, image_name, image_mime, image_source_url, state, idempotency_key,
    submit_attempted, provider_task_id, progress, status_message_id, status_text,
    status_edited_at, reply_to_message_id, reference_url, upload_limit_bytes, result_url,
    result_message_id, delivery, delivery_started, error_code, error_message,
    transient_failures, polls, parent_job_id, next_action_at, deadline_at, created_at,
    updated_at, finished_at, delivery_started_at, result_deleted_by, result_deleted_at,
    submitted_at, video_path, video_bytes, lease_owner, lease_until, public_locale,
    interaction_id, started_at)
    SELECT id, guild_id, channel_id, user_id, provider, model, prompt, options_json,
        image_path, image_name, image_mime, image_source_url, state, idempotency_key,
        submit_attempted, provider_task_id, progress, status_message_id, status_text,
        status_edited_at, reply_to_message_id, reference_url, upload_limit_bytes, result_url,
        result_message_id, delivery, delivery_started, error_code, error_message,
        transient_failures, polls, parent_job_id, next_action_at, deadline_at, created_at,
        updated_at, finished_at, delivery_started_at, result_deleted_by, result_deleted_at,
        submitted_at, video_path, video_bytes, lease_owner, lease_until, public_locale,
        interaction_id, created_at
    FROM jobs;
-- Keep the id counter where it was (AUTOINCREMENT never reuses an id).
INSERT INTO sqlite_sequence (name, seq)
    SELECT 'jobs_v2', 0 WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'jobs_v2');
UPDATE sqlite_sequence SET seq = MAX(seq, COALESCE(
    (SELECT seq FROM sqlite_sequence WHERE name = 'jobs'), 0)) WHERE name = 'jobs_v2';
DROP TABLE jobs;
ALTER TABLE jobs_v2 RENAME TO jobs;
CREATE INDEX jobs_due ON jobs (next_action_at)
    WHERE state IN ('queued', 'submitted', 'running', 'succeeded');
CREATE INDEX jobs_member ON jobs (guild_id, user_id, state);
CREATE INDEX jobs_result_message ON jobs (result_message_id);
CREATE INDEX jobs_status_message ON jobs (status_message_id);
CREATE INDEX jobs_state ON jobs (state);
CREATE INDEX jobs_user_newest ON jobs (user_id, id);
CREATE INDEX jobs_guild_gallery ON jobs (guild_id, id)
    WHERE state = 'delivered' AND result_deleted_at IS NULL;
CREATE INDEX jobs_guild_member_gallery ON jobs (guild_id, user_id, id)
    WHERE state = 'delivered' AND result_deleted_at IS NULL;
CREATE INDEX jobs_guild_channels ON jobs (guild_id, channel_id)
    WHERE state = 'delivered' AND result_deleted_at IS NULL;
CREATE INDEX jobs_guild_created ON jobs (guild_id, created_at);
CREATE INDEX jobs_created ON jobs (created_at);
-- The queue itself, oldest first, and each member's and server's latest start.
CREATE INDEX jobs_waiting ON jobs (guild_id, id) WHERE state = 'waiting';
CREATE INDEX jobs_member_started ON jobs (guild_id, user_id, started_at);
CREATE INDEX jobs_guild_started ON jobs (guild_id, started_at);
