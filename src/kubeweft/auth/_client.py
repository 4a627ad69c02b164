"""The one thing auth needs from a Kubernetes client: ``create`` of a review object.

TokenReview and SubjectAccessReview are create-only virtual resources: the answer comes
back in the created object's ``status``. ``kubeweft.runtime.client.Client`` satisfies
this protocol, and so does lightkube's ``AsyncClient``.
"""

from __future__ import annotations

from typing import Protocol, TypeVar

T = TypeVar("T")


class ReviewClient(Protocol):
    async def create(self, obj: T, /) -> T: ...
