-- When the provider took the job, so a running job's age can be measured (bot/schedule.py).
ALTER TABLE jobs ADD COLUMN submitted_at REAL;

-- Recent generation times per provider, model and duration: the learned polling schedule.
-- Only the most recent few per kind are kept (bot/timings.py prunes on every insert).
CREATE TABLE completion_times (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    provider    TEXT    NOT NULL,
    model       TEXT    NOT NULL,
    duration    INTEGER NOT NULL,
    seconds     REAL    NOT NULL CHECK (seconds > 0),
    job_id      INTEGER NOT NULL UNIQUE REFERENCES jobs(id),
    recorded_at REAL    NOT NULL
);
CREATE INDEX completion_times_kind ON completion_times (provider, model, duration, id);
