-- Jobs: one row per generation. The table is the queue; `state` moves only forward.
CREATE TABLE jobs (
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
        CHECK (state IN ('queued', 'submitted', 'running', 'succeeded',
                         'delivered', 'failed', 'expired')),
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
    finished_at         REAL
);

CREATE INDEX jobs_due ON jobs (next_action_at)
    WHERE state IN ('queued', 'submitted', 'running', 'succeeded');
CREATE INDEX jobs_member ON jobs (guild_id, user_id, state);
CREATE INDEX jobs_result_message ON jobs (result_message_id);
CREATE INDEX jobs_status_message ON jobs (status_message_id);

-- Quota ledger: one row per event. `units` is the change in usage it causes in `period_start`
-- (hold +1, charge 0, release -1); the usage of a period is the sum of its rows.
CREATE TABLE quota_ledger (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    guild_id     INTEGER NOT NULL,
    user_id      INTEGER NOT NULL,
    job_id       INTEGER REFERENCES jobs(id),
    kind         TEXT    NOT NULL
        CHECK (kind IN ('hold', 'charge', 'release', 'grant', 'adjustment')),
    units        INTEGER NOT NULL,
    period_start TEXT,
    actor_id     INTEGER,
    reason       TEXT,
    created_at   REAL    NOT NULL
);

-- A job has at most one hold and exactly one outcome: enforced here, not by care.
CREATE UNIQUE INDEX ledger_one_hold ON quota_ledger (job_id) WHERE kind = 'hold';
CREATE UNIQUE INDEX ledger_one_outcome ON quota_ledger (job_id)
    WHERE kind IN ('charge', 'release');
CREATE INDEX ledger_member_period ON quota_ledger (guild_id, user_id, period_start);
