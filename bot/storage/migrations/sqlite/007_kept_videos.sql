-- The bot's own copy of a finished video (under MEDIA_DIR/videos), kept so /sora-show can post
-- it after the provider's link has expired; NULL when none was kept. Its size is the original's.
ALTER TABLE jobs ADD COLUMN video_path TEXT;
ALTER TABLE jobs ADD COLUMN video_bytes INTEGER;
