"""The database: async SQLAlchemy engine and sessions, tables, migrations, and the
buffered writer through which the reconciler records side effects. SQLite is the
embedded default; PostgreSQL is used when ``DATABASE_URL`` says so.
"""
