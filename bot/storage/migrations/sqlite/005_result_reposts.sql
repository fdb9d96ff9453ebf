-- Every /sora-show repost of a video, so Delete removes them all and 🔁 works on them too.
CREATE TABLE result_reposts (
    message_id INTEGER PRIMARY KEY,
    job_id     INTEGER NOT NULL REFERENCES jobs(id),
    channel_id INTEGER NOT NULL,
    created_at REAL    NOT NULL
);
CREATE INDEX result_reposts_job ON result_reposts (job_id);
