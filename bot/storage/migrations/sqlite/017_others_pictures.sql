-- Whether "Make a video" may take its picture from anyone's message in a server, or only from
-- the member's own (a moderators' setting, audited like the others; no row: their own only).
CREATE TABLE guild_pictures (
    guild_id       INTEGER PRIMARY KEY,
    others_allowed INTEGER NOT NULL,
    updated_by     INTEGER NOT NULL,
    updated_at     REAL NOT NULL
);

-- The setting is a moderator action like the others (SQLite cannot alter a CHECK constraint,
-- so the audit table is rebuilt with its rows and indexes, `via` from 013 and the dashboard's
-- index from 015 included).
CREATE TABLE moderation_actions_v4 (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    guild_id       INTEGER NOT NULL,
    actor_id       INTEGER NOT NULL,
    action         TEXT    NOT NULL
        CHECK (action IN ('set_limit', 'clear_limit', 'grant', 'reset', 'set_default',
                          'set_role', 'clear_role', 'block', 'unblock',
                          'blocklist_add', 'blocklist_remove', 'remove_video',
                          'set_language', 'set_pictures')),
    target_user_id INTEGER,
    target_role_id INTEGER,
    detail         TEXT    NOT NULL,
    term           TEXT,
    reason         TEXT,
    ledger_id      INTEGER REFERENCES quota_ledger(id),
    created_at     REAL    NOT NULL,
    detail_key     TEXT,
    detail_values  TEXT,
    via            TEXT
);
INSERT INTO moderation_actions_v4 (id, guild_id, actor_id, action, target_user_id,
    target_role_id, detail, term, reason, ledger_id, created_at, detail_key, detail_values, via)
    SELECT id, guild_id, actor_id, action, target_user_id, target_role_id, detail, term, reason,
           ledger_id, created_at, detail_key, detail_values, via FROM moderation_actions;
DROP TABLE moderation_actions;
ALTER TABLE moderation_actions_v4 RENAME TO moderation_actions;
CREATE INDEX moderation_actions_guild ON moderation_actions (guild_id, created_at);
CREATE INDEX moderation_actions_target ON moderation_actions (guild_id, target_user_id, created_at);
CREATE UNIQUE INDEX moderation_actions_ledger ON moderation_actions (ledger_id)
    WHERE ledger_id IS NOT NULL;
CREATE INDEX moderation_actions_kind ON moderation_actions (guild_id, action, created_at);
