-- Whether "Make a video" may take its picture from anyone's message in a server, or only from
-- the member's own (a moderators' setting, audited like the others; no row: their own only).
CREATE TABLE guild_pictures (
    guild_id       BIGINT PRIMARY KEY,
    others_allowed INTEGER NOT NULL,
    updated_by     BIGINT NOT NULL,
    updated_at     DOUBLE PRECISION NOT NULL
);

-- The setting is a moderator action like the others.
ALTER TABLE moderation_actions DROP CONSTRAINT moderation_actions_action_check;
ALTER TABLE moderation_actions ADD CONSTRAINT moderation_actions_action_check
    CHECK (action IN ('set_limit', 'clear_limit', 'grant', 'reset', 'set_default',
                      'set_role', 'clear_role', 'block', 'unblock',
                      'blocklist_add', 'blocklist_remove', 'remove_video',
                      'set_language', 'set_pictures'));
