"""The tenant project's own tables and their SQL (kubeweft keeps its own apart).

``tables`` declares them; ``owners`` is the only module that queries them. Their
schema changes are the revisions in ``tenant.migrations``, which ``kubeweft db
migrate tenant.app:app`` and start-up run with kubeweft's.
"""
