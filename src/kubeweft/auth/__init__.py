"""Who is calling and what they may do: API keys, JWTs and Kubernetes tokens for
authentication; Kubernetes RBAC through SubjectAccessReview for authorization.
"""
