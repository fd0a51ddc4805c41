"""Audit: an inspection's whole history, the tamper-evident chain, the log of reads."""
