"""Fakes of our own review-client interface (``auth._client.ReviewClient``) for unit tests.

They answer SubjectAccessReviews and TokenReviews from a Python function, record what
was asked, and can hold answers back until a test releases them (to exercise
coalescing). Integration tests ask the real API server instead.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import anyio
import pytest
from lightkube.models.authentication_v1 import TokenReviewStatus, UserInfo
from lightkube.models.authorization_v1 import SubjectAccessReviewStatus
from lightkube.resources.authentication_v1 import TokenReview
from lightkube.resources.authorization_v1 import SubjectAccessReview

from kubeweft.runtime.clock import FakeClock

API_SERVER_AUDIENCE = "https://kubernetes.default.svc.cluster.local"


class FakeReviewClient:
    def __init__(
        self,
        allow: Callable[[SubjectAccessReview], bool] = lambda review: True,
        users: dict[str, UserInfo] | None = None,
        audiences: dict[str, list[str]] | None = None,
        honour_audiences: bool = True,
    ) -> None:
        self.allow = allow
        self.users = users or {}
        # The audiences each token was minted for (default: the API server's own).
        self.audiences = audiences or {}
        # False: answer like an authenticator that ignores the requested audiences.
        self.honour_audiences = honour_audiences
        self.requests: list[Any] = []
        self.gate: anyio.Event | None = None
        self.fail: Exception | None = None

    async def create(self, obj: Any, /) -> Any:
        self.requests.append(obj)
        if self.gate is not None:
            await self.gate.wait()
        await anyio.lowlevel.checkpoint()
        if self.fail is not None:
            raise self.fail
        if isinstance(obj, SubjectAccessReview):
            allowed = self.allow(obj)
            obj.status = SubjectAccessReviewStatus(
                allowed=allowed, reason="RBAC: allowed by test" if allowed else ""
            )
            return obj
        if isinstance(obj, TokenReview):
            user = self.users.get(obj.spec.token)
            minted_for = self.audiences.get(obj.spec.token, [API_SERVER_AUDIENCE])
            wanted = obj.spec.audiences
            granted = [a for a in minted_for if a in wanted] if wanted else minted_for
            if wanted and not granted and self.honour_audiences:
                user = None  # kube-apiserver: "token audiences ... is invalid"
            obj.status = TokenReviewStatus(
                authenticated=user is not None,
                user=user,
                audiences=granted if self.honour_audiences else minted_for,
                error=None if user else "invalid bearer token",
            )
            return obj
        raise TypeError(f"unexpected {type(obj).__name__}")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(start=1000.0)
