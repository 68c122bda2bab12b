"""Invoke a function through the OpenFaaS gateway's asynchronous route.

The gateway answers 202 as soon as the request is queued; the function runs
later with the same body and headers. Callers keep their own record of what
they asked for, since the Community Edition queue neither persists nor retries.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

from audioscore.errors import TransientError

__all__ = ["invoke_async"]

TIMEOUT_S = 30.0


def invoke_async(gateway_url: str, function: str, body: dict[str, Any], *, token: str | None) -> None:
    """Queue ``body`` (as JSON) for ``function``.

    Raises:
        TransientError: the gateway did not accept the request (unreachable, or not 2xx).
    """
    request = urllib.request.Request(
        f"{gateway_url}/async-function/{function}", data=json.dumps(body).encode(), method="POST",
        headers={"Content-Type": "application/json"},
    )
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
            status = response.status
    except urllib.error.HTTPError as error:
        status = error.code
    except (OSError, ValueError) as error:
        raise TransientError(f"gateway {gateway_url} unreachable for {function}: {error}") from None
    if not 200 <= status < 300:
        raise TransientError(f"gateway refused {function}: HTTP {status}")
