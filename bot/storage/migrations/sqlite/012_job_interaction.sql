-- The /sora whose answer is the job's status message: if the bot stopped after answering and
-- before recording the message, the worker finds the answer by it instead of posting again.
ALTER TABLE jobs ADD COLUMN interaction_id INTEGER;
