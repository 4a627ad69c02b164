"""The tenant project's Alembic revisions (``app.add_migrations("tenant.migrations")``).

kubeweft runs them after its own, tracked in ``alembic_version_tenant``. A revision is a
file here with ``revision``, ``down_revision``, ``upgrade()`` and ``downgrade()``.
"""
