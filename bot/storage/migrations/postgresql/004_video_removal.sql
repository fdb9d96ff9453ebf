-- Who removed a posted video, and when: a removed video is not shown or re-run again.
ALTER TABLE jobs ADD COLUMN result_deleted_by BIGINT;
ALTER TABLE jobs ADD COLUMN result_deleted_at DOUBLE PRECISION;

-- Let a moderator's removal of a video be a moderator action like the others.
ALTER TABLE moderation_actions DROP CONSTRAINT moderation_actions_action_check;
ALTER TABLE moderation_actions ADD CONSTRAINT moderation_actions_action_check
    CHECK (action IN ('set_limit', 'clear_limit', 'grant', 'reset', 'set_default',
                      'set_role', 'clear_role', 'block', 'unblock',
                      'blocklist_add', 'blocklist_remove', 'remove_video'));
