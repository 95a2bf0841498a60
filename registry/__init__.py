"""MLflow: snapshots as datasets, diagnostic models, post-mortem runs, replay and drift (issue 5)."""
