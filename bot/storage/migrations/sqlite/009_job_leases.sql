-- Which worker process holds a job's next step, and until when (PostgreSQL deployments with
-- several processes; see bot/storage/jobs.py). A lapsed lease lets another process take over.
ALTER TABLE jobs ADD COLUMN lease_owner TEXT;
ALTER TABLE jobs ADD COLUMN lease_until REAL;
