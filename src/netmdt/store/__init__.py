"""Storage: SQLAlchemy tables, the database engine, migrations (Alembic) and the services
that read and write patient data (each read and write leaves an audit record)."""
