"""The post-mortem engine: pure functions from snapshots to scorecards, funnels and findings (issue 4)."""
