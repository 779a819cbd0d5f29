"""Seeding many realistic rows for the benchmarks (manage.py seed_bulk)."""
