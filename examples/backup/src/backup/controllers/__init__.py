"""The backup project's reconcilers, one module per model."""
