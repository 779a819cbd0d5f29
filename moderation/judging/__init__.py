"""Verdicts from stored scores: judging, re-evaluation, overrides, the catalogue's writes,
audit, review, previews, counts."""
