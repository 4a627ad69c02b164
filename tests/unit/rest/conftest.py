"""An app wired to in-memory fakes of kubeweft's own client, cache and record store."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from kubeweft.auth.identity import Decision, Identity, ResourceAttributes
from kubeweft.examples.webapp.api.v1 import WebApp
from kubeweft.rest import AppContext, create_app
from kubeweft.rest.development import AllowAllAuthorizer, DevelopmentAuthenticator
from kubeweft.settings import Settings
from kubeweft.views import CacheReader, WriteTracker
from tests.unit.rest.fakes import CachedFakeClient, FakeCache, FakeStore


class RecordingAuthorizer:
    """Allows what ``allow`` says; remembers every question."""

    def __init__(self) -> None:
        self.asked: list[ResourceAttributes] = []
        self.deny: set[tuple[str, str | None]] = set()  # (verb, namespace)

    async def authorize(self, identity: Identity, attributes: ResourceAttributes) -> Decision:
        self.asked.append(attributes)
        allowed = (attributes.verb, attributes.namespace) not in self.deny
        return Decision(allowed, "test")


@dataclass
class Harness:
    app: FastAPI
    http: httpx.AsyncClient
    kube: CachedFakeClient
    store: FakeStore
    authorizer: RecordingAuthorizer
    context: AppContext


def build(
    settings: Settings | None = None, models: tuple[type[Any], ...] = (WebApp,)
) -> tuple[FastAPI, CachedFakeClient, FakeStore, RecordingAuthorizer, AppContext]:
    settings = settings or Settings(dev_user="alice")
    kube, store, authorizer = CachedFakeClient(), FakeStore(), RecordingAuthorizer()
    tracker = WriteTracker()
    reader = CacheReader(FakeCache(kube), kube, tracker, timeout=0.05)
    context = AppContext(
        settings=settings,
        models=models,
        client=kube,
        reader=reader,
        store=store,
        authenticator=DevelopmentAuthenticator("alice", ("dev",)),
        authorizer=authorizer,
        tracker=tracker,
    )
    _ = AllowAllAuthorizer
    return create_app(settings, context), kube, store, authorizer, context


@pytest.fixture
async def harness() -> AsyncIterator[Harness]:
    app, kube, store, authorizer, context = build()
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield Harness(app, http, kube, store, authorizer, context)
