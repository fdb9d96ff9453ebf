-- Moderator actions keep what they said as a message key and its values (JSON), so the quota
-- log and the log channel can show them in any language; `detail` keeps the English sentence
-- (older rows have only that). A server's language setting becomes an action too.
ALTER TABLE moderation_actions ADD COLUMN detail_key TEXT;
ALTER TABLE moderation_actions ADD COLUMN detail_values TEXT;
ALTER TABLE moderation_actions DROP CONSTRAINT moderation_actions_action_check;
ALTER TABLE moderation_actions ADD CONSTRAINT moderation_actions_action_check
    CHECK (action IN ('set_limit', 'clear_limit', 'grant', 'reset', 'set_default',
                      'set_role', 'clear_role', 'block', 'unblock',
                      'blocklist_add', 'blocklist_remove', 'remove_video',
                      'set_language'));
