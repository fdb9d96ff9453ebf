-- Moderator actions keep what they said as a message key and its values (JSON), so the quota
-- log and the log channel can show them in any language; `detail` keeps the English sentence
-- (older rows have only that). A server's language setting becomes an action too. SQLite
-- cannot alter a CHECK constraint, so the table is rebuilt with its rows and indexes.
CREATE TABLE moderation_actions_v3 (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    guild_id       INTEGER NOT NULL,
    actor_id       INTEGER NOT NULL,
    action         TEXT    NOT NULL
        CHECK (action IN ('set_limit', 'clear_limit', 'grant', 'reset', 'set_default',
                          'set_role', 'clear_role', 'block', 'unblock',
                          'blocklist_add', 'blocklist_remove', 'remove_video',
                          'set_language')),
    target_user_id INTEGER,
    target_role_id INTEGER,
    detail         TEXT    NOT NULL,
    term           TEXT,
    reason         TEXT,
    ledger_id      INTEGER REFERENCES quota_ledger(id),
    created_at     REAL    NOT NULL,
    detail_key     TEXT,
    detail_values  TEXT
);
INSERT INTO moderation_actions_v3 (id, guild_id, actor_id, action, target_user_id,
    target_role_id, detail, term, reason, ledger_id, created_at)
    SELECT id, guild_id, actor_id, action, target_user_id, target_role_id, detail, term, reason,
           ledger_id, created_at FROM moderation_actions;
DROP TABLE moderation_actions;
ALTER TABLE moderation_actions_v3 RENAME TO moderation_actions;
CREATE INDEX moderation_actions_guild ON moderation_actions (guild_id, created_at);
CREATE INDEX moderation_actions_target ON moderation_actions (guild_id, target_user_id, created_at);
CREATE UNIQUE INDEX moderation_actions_ledger ON moderation_actions (ledger_id)
    WHERE ledger_id IS NOT NULL;
