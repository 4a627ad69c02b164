"""The webhook server's ASGI app: AdmissionReview in, verdict (and patch) out.

One route per declared rule set, at kubebuilder's paths (``/mutate-<group>-<version>-
<kind>``, ``/validate-...``), so a configuration written for a kubebuilder project reads
the same. The app is separate from the REST API's: it has no authentication of its own
(the API server is its only caller, reaching it over TLS on its own port), no problem
documents (the API server reads an AdmissionReview, never a 4xx body) and no database.
The CRD conversion review (``/convert``, :mod:`kubeweft.webhook.conversion`) is one more
route on the same app, served by the same server with the same certificate.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from kubeweft.api.admission import AdmissionRequest, Denied, Operation, Webhook
from kubeweft.api.conversion import Conversion
from kubeweft.logging import get_logger
from kubeweft.webhook.conversion import CONVERT_PATH, conversion_endpoint

__all__ = ["admission_app", "review_response"]

_log = get_logger("kubeweft.webhook")

ADMISSION_VERSION = "admission.k8s.io/v1"
_OPERATIONS: frozenset[str] = frozenset({"CREATE", "UPDATE", "DELETE"})

Handler = Callable[[AdmissionRequest, dict[str, Any]], Awaitable[dict[str, Any]]]


def admission_app(webhooks: Sequence[Webhook], conversions: Sequence[Conversion] = ()) -> Starlette:
    """The routes for ``webhooks``: a mutating one per defaulter, a validating one per
    validator; and ``/convert`` when a model has several versions."""
    routes: list[Route] = []
    if conversions:
        routes.append(Route(CONVERT_PATH, conversion_endpoint(conversions), methods=["POST"]))
    for hook in webhooks:
        if hook.defaulter is not None:
            routes.append(Route(hook.mutate_path, _endpoint(_mutate(hook)), methods=["POST"]))
        if hook.validator is not None:
            routes.append(Route(hook.validate_path, _endpoint(_validate(hook)), methods=["POST"]))
    return Starlette(routes=routes)


def review_response(uid: str, response: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": ADMISSION_VERSION,
        "kind": "AdmissionReview",
        "response": {"uid": uid, **response},
    }


def _denial(denied: Denied, request: dict[str, Any]) -> dict[str, Any]:
    kind = request.get("resource") or {}
    status: dict[str, Any] = {
        "status": "Failure",
        "code": denied.code,
        "reason": "Invalid" if denied.code == 422 else "BadRequest",
        "message": denied.message,
    }
    if denied.errors:
        status["details"] = {
            "name": request.get("name") or "",
            "group": kind.get("group", ""),
            "kind": kind.get("resource", ""),
            "causes": [
                {"type": "FieldValueInvalid", "field": e.field, "message": e.message}
                for e in denied.errors
            ],
        }
    return {"allowed": False, "status": status}


def _endpoint(handle: Handler) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(http: Request) -> Response:
        try:
            review = json.loads(await http.body())
            request = review["request"]
            uid = str(request["uid"])
            operation = request["operation"]
            if operation not in _OPERATIONS:
                raise ValueError(f"unknown operation {operation!r}")
        except (ValueError, KeyError, TypeError) as error:
            return JSONResponse({"message": f"not an AdmissionReview: {error}"}, 400)
        user = request.get("userInfo") or {}
        admission = AdmissionRequest(
            operation=_operation(operation),
            user=str(user.get("username", "")),
            groups=tuple(user.get("groups") or ()),
            namespace=request.get("namespace") or None,
            name=request.get("name") or None,
            dry_run=bool(request.get("dryRun")),
        )
        try:
            response = await handle(admission, request)
        except Denied as denied:
            _log.info(
                "admission denied",
                operation=operation,
                namespace=admission.namespace,
                name=admission.name,
                reason=denied.message,
            )
            response = _denial(denied, request)
        except Exception:
            _log.exception("admission handler failed", operation=operation, uid=uid)
            response = {
                "allowed": False,
                "status": {"status": "Failure", "code": 500, "message": "the webhook failed"},
            }
        return JSONResponse(review_response(uid, response))

    return endpoint


def _operation(value: str) -> Operation:
    if value == "CREATE":
        return "CREATE"
    if value == "UPDATE":
        return "UPDATE"
    return "DELETE"


def _mutate(hook: Webhook) -> Handler:
    async def mutate(admission: AdmissionRequest, request: dict[str, Any]) -> dict[str, Any]:
        raw = request.get("object")
        if admission.operation == "DELETE" or not isinstance(raw, dict):
            return {"allowed": True}
        patch = await hook.defaulting_patch(admission, raw)
        if not patch:
            return {"allowed": True}
        encoded = base64.b64encode(json.dumps(patch).encode()).decode()
        return {"allowed": True, "patchType": "JSONPatch", "patch": encoded}

    return mutate


def _validate(hook: Webhook) -> Handler:
    async def validate(admission: AdmissionRequest, request: dict[str, Any]) -> dict[str, Any]:
        if admission.operation == "DELETE":
            obj = hook.parse(request.get("oldObject") or {})
            old = None
        else:
            obj = hook.parse(request.get("object") or {})
            old_raw = request.get("oldObject")
            old = hook.parse(old_raw) if isinstance(old_raw, dict) else None
        warnings = await hook.validate(admission, obj, old)
        response: dict[str, Any] = {"allowed": True}
        if warnings:
            response["warnings"] = warnings
        return response

    return validate
