"""The inspection domain: aggregates, frameworks and scoring, free of I/O."""
