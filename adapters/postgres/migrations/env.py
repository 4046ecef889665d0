"""Alembic environment: runs as the owner role, in the configured schema."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, text

config = context.config
url = config.attributes["url"]
schema = config.attributes.get("schema", "public")

engine = create_engine(url, future=True)
with engine.connect() as connection:
    connection.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
    connection.execute(text(f'SET search_path TO "{schema}"'))
    connection.commit()
    context.configure(connection=connection, version_table_schema=schema, transaction_per_migration=False)
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
engine.dispose()
