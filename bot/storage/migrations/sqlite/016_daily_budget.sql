-- DAILY_VIDEO_BUDGET: the videos accepted in a day across the deployment are counted from the
-- jobs created that day (a job that failed or expired gave its video back).
CREATE INDEX jobs_created ON jobs (created_at);
-- Each alert about a day's budget (at 80 and at 100 per cent) is raised once, whichever
-- process accepted the video that reached it.
CREATE TABLE budget_alerts (
    day       TEXT    NOT NULL,  -- the local date in QUOTA_TIMEZONE
    level     INTEGER NOT NULL,  -- per cent of the budget
    raised_at REAL NOT NULL,
    PRIMARY KEY (day, level)
);
