-- Where a moderator action was taken: NULL for a Discord command or button, 'web' for the
-- moderators' dashboard (bot/web/). The quota log says so.
ALTER TABLE moderation_actions ADD COLUMN via TEXT;
