"""The tenant project's reconcilers, one module per model."""
