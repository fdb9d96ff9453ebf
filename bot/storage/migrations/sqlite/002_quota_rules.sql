-- Quota rules set by moderators, the prompt blocklist, and the audit trail of their actions.
-- Usage itself stays in quota_ledger: these tables only say how much a member may use.

-- A guild's own default; a guild without a row uses DEFAULT_QUOTA and QUOTA_PERIOD.
CREATE TABLE quota_guild_defaults (
    guild_id    INTEGER PRIMARY KEY,
    quota_limit INTEGER NOT NULL CHECK (quota_limit >= 0),
    period      TEXT    NOT NULL CHECK (period IN ('day', 'week', 'month')),
    updated_by  INTEGER NOT NULL,
    updated_at  REAL    NOT NULL
);

-- Role allowances: a member with several gets the highest.
CREATE TABLE quota_role_limits (
    guild_id    INTEGER NOT NULL,
    role_id     INTEGER NOT NULL,
    quota_limit INTEGER NOT NULL CHECK (quota_limit >= 0),
    updated_by  INTEGER NOT NULL,
    updated_at  REAL    NOT NULL,
    PRIMARY KEY (guild_id, role_id)
);

-- A personal limit wins over roles and the default.
CREATE TABLE quota_member_overrides (
    guild_id    INTEGER NOT NULL,
    user_id     INTEGER NOT NULL,
    quota_limit INTEGER NOT NULL CHECK (quota_limit >= 0),
    updated_by  INTEGER NOT NULL,
    updated_at  REAL    NOT NULL,
    PRIMARY KEY (guild_id, user_id)
);

CREATE TABLE quota_blocks (
    guild_id   INTEGER NOT NULL,
    user_id    INTEGER NOT NULL,
    reason     TEXT,
    blocked_by INTEGER NOT NULL,
    blocked_at REAL    NOT NULL,
    PRIMARY KEY (guild_id, user_id)
);

-- Words and phrases refused in prompts, stored normalised (see bot/blocklist.py).
CREATE TABLE prompt_blocklist (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    guild_id INTEGER NOT NULL,
    term     TEXT    NOT NULL,
    added_by INTEGER NOT NULL,
    added_at REAL    NOT NULL,
    UNIQUE (guild_id, term)
);

-- One row per moderator action: who (actor_id), what (action, detail), to whom (target_*),
-- why (reason) and when (created_at). An action that changes usage (grant, reset) also writes
-- a ledger row and points at it, so the log shows that action once, not twice.
CREATE TABLE moderation_actions (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    guild_id       INTEGER NOT NULL,
    actor_id       INTEGER NOT NULL,
    action         TEXT    NOT NULL
        CHECK (action IN ('set_limit', 'clear_limit', 'grant', 'reset', 'set_default',
                          'set_role', 'clear_role', 'block', 'unblock',
                          'blocklist_add', 'blocklist_remove')),
    target_user_id INTEGER,
    target_role_id INTEGER,
    detail         TEXT    NOT NULL,
    term           TEXT,
    reason         TEXT,
    ledger_id      INTEGER REFERENCES quota_ledger(id),
    created_at     REAL    NOT NULL
);

CREATE INDEX moderation_actions_guild ON moderation_actions (guild_id, created_at);
CREATE INDEX moderation_actions_target ON moderation_actions (guild_id, target_user_id, created_at);
CREATE UNIQUE INDEX moderation_actions_ledger ON moderation_actions (ledger_id)
    WHERE ledger_id IS NOT NULL;
CREATE INDEX ledger_guild_time ON quota_ledger (guild_id, created_at);
