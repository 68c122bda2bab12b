"""HTTP server of the audioscore-python template: what of-watchdog proxies to in
http mode. Same contract as OpenFaaS's python3-http: ``handle(event, context)``
returns ``{"statusCode", "body", "headers"}``."""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable
from typing import Any

from flask import Flask, Response, request
from werkzeug.exceptions import HTTPException

HOST = os.environ.get("FUNCTION_HOST", "127.0.0.1")  # only the watchdog talks to us
PORT = int(os.environ.get("FUNCTION_PORT", "5000"))
THREADS = int(os.environ.get("FUNCTION_THREADS", "4"))
MAX_BODY_BYTES = int(os.environ.get("MAX_BODY_BYTES", str(1 << 20)))
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]
# How long a request that arrives while the handler is still being imported waits for it.
LOAD_WAIT_S = float(os.environ.get("FUNCTION_LOAD_WAIT_S", "120"))


class Event:
    """The request as the handler sees it."""

    def __init__(self) -> None:
        self.body: bytes = request.get_data()
        self.headers = request.headers
        self.method: str = request.method
        self.query = request.args
        self.path: str = request.path


class Context:
    def __init__(self) -> None:
        self.hostname = os.environ.get("HOSTNAME", "localhost")


def _response(result: Any) -> Response:
    if not isinstance(result, dict):
        result = {"body": result}
    body = result.get("body", "")
    headers = dict(result.get("headers") or {})
    if not isinstance(body, (str, bytes)):
        body = json.dumps(body)
        headers.setdefault("Content-Type", "application/json")
    return Response(body, status=int(result.get("statusCode", 200)), headers=headers)


class LoadingHandler:
    """The function's handler, imported in the background once the server listens.

    of-watchdog writes its lock file (so its own ``/_/health`` answers 200) as soon as it
    forks the server, without waiting for it (of-watchdog pkg/watchdog.go); listening first
    means an early request waits here for the import instead of failing to connect.
    ``ready`` is what the app's ``/_/health`` (the watchdog's ``ready_path``) reports.
    """

    def __init__(self, load: Callable[[], Any]) -> None:
        self._load = load
        self._loaded = threading.Event()
        self._module: Any = None

    @property
    def ready(self) -> bool:
        return self._module is not None

    def start(self) -> None:
        threading.Thread(target=self._run, name="load-handler", daemon=True).start()

    def _run(self) -> None:
        try:
            self._module = self._load()
        except BaseException:  # a broken image: exit, so that the container restarts and says why
            logging.getLogger("function").exception("importing the handler failed")
            os._exit(1)
        finally:
            self._loaded.set()

    def handle(self, event: Any, context: Any) -> Any:
        if not self._loaded.wait(LOAD_WAIT_S):
            return {"statusCode": 503, "body": {"error": "the function is still starting"}}
        return self._module.handle(event, context)


def _json_error(status: int, message: str) -> Response:
    return Response(json.dumps({"error": message}), status=status, headers={"Content-Type": "application/json"})


def _http_error(error: HTTPException) -> Response:
    """A framework's HTTP error (413, 405, 400, ...) with its own status and a one-line JSON body."""
    status = error.code or 500
    if status == 413:
        message = f"request body over {MAX_BODY_BYTES} bytes"
    else:
        message = (error.description or error.name).strip()
    response = _json_error(status, message)
    if status == 405 and error.get_headers():  # keep the Allow header: which methods are allowed
        response.headers.update({k: v for k, v in error.get_headers() if k.lower() == "allow"})
    return response


def create_app(handler: Any) -> Flask:
    """A Flask app that calls ``handler.handle`` for every path and method.

    ``handler`` is a module, or a `LoadingHandler` that may still be importing one.
    """
    app = Flask("function")
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES

    @app.route("/_/health", methods=["GET"])
    def health() -> Response:  # of-watchdog's ready_path: 503 until the handler is imported
        if not getattr(handler, "ready", True):
            return Response("starting", status=503)
        return Response("OK", status=200)

    @app.route("/", defaults={"path": ""}, methods=METHODS)
    @app.route("/<path:path>", methods=METHODS)
    def call(path: str) -> Response:
        try:
            return _response(handler.handle(Event(), Context()))
        except HTTPException as error:  # raised by the framework (e.g. reading an oversized body): keep its status
            return _http_error(error)
        except Exception:  # the handler's own error mapping missed it: log, answer one line
            logging.getLogger("function").exception("handler failed")
            return _json_error(500, "internal error")

    # Raised before the view runs (an unknown method, a malformed request): JSON too, not werkzeug's HTML page.
    app.register_error_handler(HTTPException, _http_error)
    return app


def _import_handler() -> Any:
    from function import handler

    return handler


def main() -> None:
    from waitress import serve

    # As PID 1 in a container, SIGTERM has no default action: stop at once instead. Under
    # of-watchdog, SIGTERM is forwarded at once too (executor/http_runner.go), so a running
    # job dies with the pod; the record stays "running" and the re-drive starts it again.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # Listen first, import the heavy handler (numpy, the plugin host, music21, ...) behind it.
    handler = LoadingHandler(_import_handler)
    handler.start()
    serve(create_app(handler), host=HOST, port=PORT, threads=THREADS)


if __name__ == "__main__":
    main()
