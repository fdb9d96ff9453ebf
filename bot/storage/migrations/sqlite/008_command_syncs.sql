-- What was last synced as the slash commands, per target, so a restart syncs only changes.
CREATE TABLE command_syncs (
    target       TEXT PRIMARY KEY,  -- 'global' or 'guild:<id>'
    payload_hash TEXT NOT NULL,
    synced_at    REAL NOT NULL
);
-- Jobs by state are counted at every metrics scrape.
CREATE INDEX jobs_state ON jobs (state);
