"""The CRD conversion webhook: ConversionReview (``apiextensions.k8s.io/v1``) in and out.

The API server sends every object it needs in another version of a model (a read or a
write through a version that is not the stored one, a list of objects stored in an
older version) to ``/convert``, several at a time. Each goes through the model's
:class:`~kubeweft.api.conversion.Conversion` (spoke → hub → spoke). An object that
cannot be converted fails the whole review with ``result.status: Failed`` and a message
naming the object: the API server shows that message to the client. Only a request
that is no ConversionReview at all gets a 4xx; nothing answers 500.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from kubeweft.api.conversion import (
    CONVERT_PATH,
    Conversion,
    ConversionError,
    conversions_by_kind,
)
from kubeweft.logging import get_logger

__all__ = ["CONVERT_PATH", "conversion_endpoint", "convert_review"]

_log = get_logger("kubeweft.webhook.conversion")

REVIEW_VERSION = "apiextensions.k8s.io/v1"


def convert_review(conversions: Sequence[Conversion], request: dict[str, Any]) -> dict[str, Any]:
    """The ``response`` of a ConversionReview for its ``request`` (already checked to
    have a uid, a desired version and a list of objects)."""
    by_kind = conversions_by_kind(conversions)
    desired = str(request["desiredAPIVersion"])
    group = desired.split("/", 1)[0] if "/" in desired else ""
    converted: list[dict[str, Any]] = []
    for obj in request["objects"]:
        where = _describe(obj)
        try:
            if not isinstance(obj, dict):
                raise ConversionError("not an object")
            conversion = by_kind.get((group, str(obj.get("kind", ""))))
            if conversion is None:
                raise ConversionError(f"no conversion for kind {obj.get('kind')!r} in {group!r}")
            converted.append(conversion.convert(obj, desired))
        except ConversionError as error:
            return _failed(request, f"{where}: {error}")
        except Exception:
            _log.exception("conversion failed", object=where, desired=desired)
            return _failed(request, f"{where}: the conversion webhook failed")
    return {"uid": request["uid"], "convertedObjects": converted, "result": {"status": "Success"}}


def conversion_endpoint(
    conversions: Sequence[Conversion],
) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(http: Request) -> Response:
        try:
            review = json.loads(await http.body())
            request = review["request"]
            if not isinstance(request, dict):
                raise TypeError("request is no object")
            str(request["uid"])
            str(request["desiredAPIVersion"])
            if not isinstance(request["objects"], list):
                raise TypeError("request.objects is no list")
        except (ValueError, KeyError, TypeError) as error:
            return JSONResponse({"message": f"not a ConversionReview: {error}"}, 400)
        response = convert_review(conversions, request)
        return JSONResponse(
            {"apiVersion": REVIEW_VERSION, "kind": "ConversionReview", "response": response}
        )

    return endpoint


def _failed(request: dict[str, Any], message: str) -> dict[str, Any]:
    _log.info("conversion refused", desired=request.get("desiredAPIVersion"), reason=message)
    return {
        "uid": request["uid"],
        "convertedObjects": [],
        "result": {"status": "Failed", "message": message},
    }


def _describe(obj: object) -> str:
    if not isinstance(obj, dict):
        return "object"
    metadata = obj.get("metadata") or {}
    name = metadata.get("name", "") if isinstance(metadata, dict) else ""
    namespace = metadata.get("namespace", "") if isinstance(metadata, dict) else ""
    where = f"{namespace}/{name}" if namespace else str(name)
    return f"{obj.get('apiVersion', '?')} {obj.get('kind', '?')} {where}".strip()
