"""The tenant project's models, one package per API version."""
