-- Who removed a posted video, and when: a removed video is not shown or re-run again.
ALTER TABLE jobs ADD COLUMN result_deleted_by INTEGER;
ALTER TABLE jobs ADD COLUMN result_deleted_at REAL;

-- Let a moderator's removal of a video be a moderator action like the others (SQLite cannot
-- alter a CHECK constraint, so the table is rebuilt with its rows and indexes).
CREATE TABLE moderation_actions_v2 (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    guild_id       INTEGER NOT NULL,
    actor_id       INTEGER NOT NULL,
    action         TEXT    NOT NULL
        CHECK (action IN ('set_limit', 'clear_limit', 'grant', 'reset', 'set_default',
                          'set_role', 'clear_role', 'block', 'unblock',
                          'blocklist_add', 'blocklist_remove', 'remove_video')),
    target_user_id INTEGER,
    target_role_id INTEGER,
    detail         TEXT    NOT NULL,
    term           TEXT,
    reason         TEXT,
    ledger_id      INTEGER REFERENCES quota_ledger(id),
    created_at     REAL    NOT NULL
);
INSERT INTO moderation_actions_v2 SELECT * FROM moderation_actions;
DROP TABLE moderation_actions;
ALTER TABLE moderation_actions_v2 RENAME TO moderation_actions;
CREATE INDEX moderation_actions_guild ON moderation_actions (guild_id, created_at);
CREATE INDEX moderation_actions_target ON moderation_actions (guild_id, target_user_id, created_at);
CREATE UNIQUE INDEX moderation_actions_ledger ON moderation_actions (ledger_id)
    WHERE ledger_id IS NOT NULL;
