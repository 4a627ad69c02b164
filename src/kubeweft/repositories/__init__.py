"""All SQL lives here, one module per aggregate, behind functions keyed by resource UID,
time range or user. Repositories know nothing of HTTP or Kubernetes.
"""
