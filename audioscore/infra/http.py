"""The HTTP side of a function: bearer-token checks and one mapping from the
project's errors to status codes and JSON bodies (never a traceback)."""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Callable, Mapping
from typing import Any

from audioscore.errors import AudioscoreError

__all__ = ["Response", "authorised", "json_response", "respond"]

Response = dict[str, Any]
log = logging.getLogger("audioscore")


def json_response(status: int, body: Mapping[str, Any]) -> Response:
    """The template's response dict with a JSON body."""
    return {"statusCode": status, "body": json.dumps(body), "headers": {"Content-Type": "application/json"}}


def authorised(headers: Mapping[str, str], token: str | None) -> bool:
    """Whether ``Authorization: Bearer <token>`` matches (constant-time). No token configured: refuse."""
    if not token:
        return False
    supplied = next((v for k, v in headers.items() if k.lower() == "authorization"), "")
    scheme, _, value = supplied.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(value.strip().encode(), token.encode())


def respond(work: Callable[[], Response]) -> Response:
    """Run a request; project errors become their status with a one-line JSON message.

    4xx tells OpenFaaS's queue worker not to retry (bad input); 5xx that it may
    (a store or database hiccup). Anything unexpected is logged and is a 500.
    """
    try:
        return work()
    except AudioscoreError as error:
        level = logging.WARNING if error.http_status < 500 else logging.ERROR
        log.log(level, "%s: %s", type(error).__name__, error)
        return json_response(error.http_status, {"error": str(error), "kind": type(error).__name__})
    except Exception:
        log.exception("unexpected error")
        return json_response(500, {"error": "internal error", "kind": "InternalError"})
