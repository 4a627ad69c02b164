"""The dashboard: ``/ui``, pages for people over every model the application registers.

Server-rendered HTML (Jinja2 templates, package data) with a small script of our own
and no network fetch at run time; sign-in turns an API credential into a session
cookie (``ui.session``). Design and choices: docs/design/dashboard.md.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from kubeweft.auth.chain import ChainAuthenticator
from kubeweft.auth.config import build_oidc_client
from kubeweft.rest.context import AppContext
from kubeweft.settings import Settings
from kubeweft.ui.oidc import OidcSignIn
from kubeweft.ui.pages import UI_PREFIX, dashboard_router
from kubeweft.ui.routing import UnderPrefix
from kubeweft.ui.session import SESSION_COOKIE, SessionMiddleware, Sessions

__all__ = ["SESSION_COOKIE", "UI_PREFIX", "install_dashboard"]

ASSETS = Path(__file__).parent / "static"


def install_dashboard(app: FastAPI, settings: Settings, context: AppContext) -> FastAPI:
    """Serve ``/ui`` from ``app`` (built by ``rest.create_app``) and accept its session
    cookie on every route; returns ``app``."""
    key = settings.ui_session_key.get_secret_value() if settings.ui_session_key else None
    sessions = Sessions.new(
        key,
        max_age_seconds=settings.ui_session_max_age_seconds,
        secure=settings.mode != "development",
    )
    routes = app.router.routes
    before = len(routes)
    app.mount(f"{UI_PREFIX}/assets", StaticFiles(directory=ASSETS), name="ui-assets")
    app.include_router(dashboard_router(context.models, sessions, _oidc_sign_in(settings, context)))
    # First, behind one prefix test (``ui.routing``): a page is not tried against every
    # API route, and an API request pays one string comparison for the dashboard.
    dashboard = UnderPrefix(UI_PREFIX, routes[before:])
    del routes[before:]
    routes.insert(0, dashboard)
    # Outermost, so the credential it restores is seen by everything inside.
    app.add_middleware(SessionMiddleware, sessions=sessions)
    return app


def _oidc_sign_in(settings: Settings, context: AppContext) -> OidcSignIn | None:
    """ "Sign in with <issuer>", when an issuer is configured: its ID tokens are then
    verified by the API's own OIDC authenticator (``auth.config``)."""
    client = build_oidc_client(settings)
    chain = context.authenticator
    if client is None or not isinstance(chain, ChainAuthenticator) or chain.oidc is None:
        return None
    return OidcSignIn(client, chain.oidc, settings.oidc_redirect_url)
