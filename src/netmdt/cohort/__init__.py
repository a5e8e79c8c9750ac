"""Screening whole cohorts: the knowledge base compiled to SQL, run by DuckDB."""
