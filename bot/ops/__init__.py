"""The operator's tools: `sora-bot check`, start-up failures, `/healthz` and `/metrics`, backups,
command sync, and the once-per-deployment duties."""
