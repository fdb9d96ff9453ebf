-- Every /sora-show repost of a video, so Delete removes them all and 🔁 works on them too.
CREATE TABLE result_reposts (
    message_id BIGINT PRIMARY KEY,
    job_id     BIGINT NOT NULL REFERENCES jobs(id),
    channel_id BIGINT NOT NULL,
    created_at DOUBLE PRECISION    NOT NULL
);
CREATE INDEX result_reposts_job ON result_reposts (job_id);
