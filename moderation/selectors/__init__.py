"""Reads: querysets and small records for pages, the API, the admin and training."""
