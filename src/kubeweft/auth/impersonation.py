"""Impersonation mode: the API server itself enforces RBAC on the caller's writes.

Normally kubeweft writes with its own service account after a SubjectAccessReview said
the caller may. With ``settings.impersonate`` the REST layer instead writes through a
client that sends ``Impersonate-User``/``Impersonate-Group``, so the API server applies
the caller's RBAC to the write itself, and its audit log names the caller. The price:
kubeweft's service account needs the ``impersonate`` verb on users and groups (a
powerful grant), and the caller's identity ``extra`` is not forwarded. See
docs/design/auth.md.
"""

from __future__ import annotations

from kubeweft.auth.identity import Identity
from kubeweft.runtime.client import Client

__all__ = ["client_for"]


def client_for(client: Client, identity: Identity, *, impersonate: bool) -> Client:
    """The client a write on behalf of ``identity`` should use.

    With ``impersonate`` a client acting as the caller (sharing ``client``'s connection
    pool); otherwise ``client`` itself.
    """
    if not impersonate:
        return client
    return client.impersonating(identity.user, identity.groups)
