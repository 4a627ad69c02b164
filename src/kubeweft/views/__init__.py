"""The join layer: a model's cluster state (from the informer cache) joined with its
database rows — detail view, list with latest metrics, health score.
"""
