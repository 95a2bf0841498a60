"""Decisions, their state machine, Cedar approval gates, the audit chain and execution (issue 6)."""
