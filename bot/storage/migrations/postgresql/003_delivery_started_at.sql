-- When the result post was first attempted: after a crash, the channel is searched from here.
ALTER TABLE jobs ADD COLUMN delivery_started_at DOUBLE PRECISION;
