"""The backup project's models, one package per API version."""
