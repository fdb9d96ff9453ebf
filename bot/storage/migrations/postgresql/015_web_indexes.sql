-- Keyset paging for the web gallery, the member's own videos, the dashboard's charts and the
-- audit log (bot/storage/gallery.py, bot/storage/audit_pages.py): each page is a short range
-- of one of these indexes, however many jobs and log entries a server has.
CREATE INDEX jobs_user_newest ON jobs (user_id, id);
CREATE INDEX jobs_guild_gallery ON jobs (guild_id, id)
    WHERE state = 'delivered' AND result_deleted_at IS NULL;
CREATE INDEX jobs_guild_member_gallery ON jobs (guild_id, user_id, id)
    WHERE state = 'delivered' AND result_deleted_at IS NULL;
CREATE INDEX jobs_guild_channels ON jobs (guild_id, channel_id)
    WHERE state = 'delivered' AND result_deleted_at IS NULL;
CREATE INDEX jobs_guild_created ON jobs (guild_id, created_at);
CREATE INDEX moderation_actions_kind ON moderation_actions (guild_id, action, created_at);
CREATE INDEX ledger_member_time ON quota_ledger (guild_id, user_id, created_at);
CREATE INDEX ledger_kind_time ON quota_ledger (guild_id, kind, created_at);
