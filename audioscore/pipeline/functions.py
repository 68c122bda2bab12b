"""Glue between the OpenFaaS python3-http contract (``handle(event, context)``)
and the stages: clients made once per process, bearer-token checks, request
parsing, status lookups. Handlers are one line each on top of this.

The function objects (``extract_features``, ``transcribe``, ``fetch_youtube``, ``redrive``,
``recordings``) are made on first access, each importing only its own stage module:
``from audioscore.pipeline.functions import fetch_youtube`` loads neither the analysis nor
notation libraries (tests/pipeline/test_cold_imports.py checks each handler)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from audioscore.errors import ConfigError, InputError
from audioscore.infra.config import Settings, read_secret, read_token, required_token, settings, store_config
from audioscore.infra.events import ObjectEvent, load_json, parse_event
from audioscore.infra.gateway import invoke_async
from audioscore.infra.http import Response, authorised, json_response, respond
from audioscore.infra.names import FETCH_TOKEN_SECRET
from audioscore.infra.records import connect as connect_records
from audioscore.infra.storage import ObjectStore
from audioscore.pipeline.common import AUDIO_SUFFIXES, Services, status_view

if TYPE_CHECKING:
    from audioscore.download.urls import FetchPolicy

__all__ = ["EventFunction", "FetchFunction", "RedriveFunction", "StatusFunction", "extract_features", "fetch_youtube",
           "recordings", "redrive", "transcribe"]

WEBHOOK_TOKEN_SECRET = "webhook-token"
MONGO_URL_SECRET = "mongo-url"


class _Function:
    """Creates the clients on first use and keeps them for the life of the process."""

    def __init__(self) -> None:
        self._services: Services | None = None

    def services(self) -> Services:
        if self._services is None:
            config = settings()  # read once per process
            store = ObjectStore.connect(store_config())
            mongo_url = read_secret(MONGO_URL_SECRET)
            if not mongo_url:  # a deployment mistake, not an outage: say which secret
                raise ConfigError(f"secret {MONGO_URL_SECRET!r} is not mounted")
            records = connect_records(mongo_url, config.mongo_database)

            def invoke(function: str, body: dict[str, Any]) -> None:
                invoke_async(config.gateway_url, function, body, token=read_token(WEBHOOK_TOKEN_SECRET))

            self._services = Services(store, records, config, invoke)
        return self._services

    def status(self, event: Any) -> Response:
        recording_id = (event.query.get("id") or "").strip()
        if not recording_id:
            raise InputError("GET needs ?id=<recording id>")
        view = status_view(recording_id, self.services())
        if view is None:
            return json_response(404, {"error": f"no recording {recording_id}"})
        return json_response(200, view)


class EventFunction(_Function):
    """A function triggered by MinIO bucket notifications (through the gateway's async route)."""

    def __init__(self, stage: Callable[[ObjectEvent, Services], dict[str, Any]], bucket: Callable[[Settings], str],
                 suffixes: tuple[str, ...], *,
                 messages: dict[str, Callable[[Any, Services], dict[str, Any]]] | None = None) -> None:
        """``messages``: the function's own work items (from other invocations, not MinIO),
        a JSON object's field name -> its handler."""
        super().__init__()
        self.stage, self.bucket, self.suffixes = stage, bucket, suffixes
        self.messages = messages or {}

    def __call__(self, event: Any, context: Any) -> Response:
        return respond(lambda: self._handle(event))

    def _handle(self, event: Any) -> Response:
        if event.method == "GET":
            return self.status(event)
        # Not mounted is the deployment's mistake (500): a 401 would blame every caller's token.
        if not authorised(event.headers, required_token(WEBHOOK_TOKEN_SECRET)):
            return json_response(401, {"error": "missing or wrong bearer token"})
        if not event.body.strip():  # MinIO's connectivity probe
            return json_response(200, {"status": "ignored", "reason": "empty body"})
        services = self.services()
        message = _json_object(event.body) if self.messages else None
        for field, handler in self.messages.items():
            if message is not None and field in message:
                return json_response(200, handler(message[field], services))
        objects = parse_event(event.body, buckets=[self.bucket(services.settings)], suffixes=self.suffixes)
        if not objects:
            return json_response(200, {"status": "ignored", "reason": "no matching object"})
        return json_response(200, {"results": [self.stage(o, services) for o in objects]})


class FetchFunction(_Function):
    """``POST {"url": ..., "title"?, "mode"?, "key"?, "tempo"?, "time-signature"?}``: download into the audio bucket; 202 with the
    recording id (200 when that video is stored already)."""

    def __init__(self, stage: Callable[[dict[str, Any], Services, FetchPolicy], dict[str, Any]]) -> None:
        super().__init__()
        self.stage = stage

    def __call__(self, event: Any, context: Any) -> Response:
        return respond(lambda: self._handle(event))

    def _handle(self, event: Any) -> Response:
        if event.method == "GET":
            return self.status(event)
        token = read_token(FETCH_TOKEN_SECRET)
        if token is not None and not authorised(event.headers, token):  # optional: mount it to require a token
            return json_response(401, {"error": "missing or wrong bearer token"})
        request = load_json(event.body or b"{}", 'the body (JSON: {"url": "..."})')
        if not isinstance(request, dict):
            raise InputError('the body must be a JSON object: {"url": "..."}')
        services = self.services()
        result = self.stage(request, services, services.settings.fetch)
        return json_response(200 if result["status"] == "exists" else 202, result)


def _json_object(body: bytes) -> dict[str, Any] | None:
    try:
        value = load_json(body, "body")
    except InputError:
        return None  # parse_event says what is wrong with it
    return value if isinstance(value, dict) else None


class RedriveFunction(_Function):
    """``POST``: one re-drive run (`audioscore.pipeline.recovery`), as the cron-connector calls it every few minutes.

    The cron-connector (Community Edition) posts an empty body with no headers of
    its own, so a call without an Authorization header is accepted: it can only
    start the run the schedule starts anyway (claims make repeated runs harmless),
    the body is ignored, and the answer carries counts, not recording ids. With the
    webhook token the answer lists the work; a wrong token is refused.
    ``?dry_run=true`` reports without changing anything.
    """

    def __init__(self, run: Callable[..., dict[str, Any]]) -> None:
        super().__init__()
        self.run = run

    def __call__(self, event: Any, context: Any) -> Response:
        return respond(lambda: self._handle(event))

    def _handle(self, event: Any) -> Response:
        if event.method != "POST":
            return json_response(405, {"error": "POST runs a re-drive"})
        token = required_token(WEBHOOK_TOKEN_SECRET)  # the functions it invokes need it
        signed = any(name.lower() == "authorization" for name, _ in event.headers.items())
        if signed and not authorised(event.headers, token):
            return json_response(401, {"error": "wrong bearer token"})
        dry_run = (event.query.get("dry_run") or "").strip().lower() in ("1", "true", "yes")
        report = self.run(self.services(), token=token, dry_run=dry_run)
        if not signed:
            report = {k: len(v) if isinstance(v, list) else v for k, v in report.items()}
        return json_response(503 if report["errors"] else 200, report)


class StatusFunction(_Function):
    """``GET ?id=``: a recording's status and links as JSON, or, for a browser
    (``Accept`` preferring ``text/html``), its results page and the start page that
    submits work (`audioscore.pipeline.web`).

    A function of its own so that lookups are not refused while a replica of a
    pipeline function works: of-watchdog's ``max_inflight`` counts every request
    (a GET too), and those functions take one at a time.
    """

    def __call__(self, event: Any, context: Any) -> Response:
        from audioscore.pipeline import web

        html = web.wants_html(event.headers)
        response = respond(lambda: self._handle(event, html))
        if html and response["headers"].get("Content-Type") == "application/json" and response["statusCode"] >= 400:
            message = json.loads(response["body"]).get("error", "error")
            return web.error_page(response["statusCode"], message)  # a browser gets its error as a page too
        return response

    def _handle(self, event: Any, html: bool) -> Response:
        from audioscore.pipeline import web

        form = "application/x-www-form-urlencoded"
        content_type = next((v for k, v in event.headers.items() if k.lower() == "content-type"), "")
        # A browser's form only (urllib and others send this content type for any body by default).
        if html and event.method == "POST" and content_type.split(";")[0].strip().lower() == form:
            return web.form_post(event.body, self.services())
        if event.method != "GET":
            return json_response(405, {"error": "GET ?id=<recording id> looks a recording up"})
        if html:
            return web.html_get(event.query, self.services())
        return self.status(event)


# Each function's object is made on first access, importing its own stage (PEP 562).

def _extract_features() -> EventFunction:
    from audioscore.pipeline.fanout import SEGMENT_FIELD, extract_features_stage, segment_stage

    return EventFunction(extract_features_stage, lambda s: s.audio_bucket, AUDIO_SUFFIXES,
                         messages={SEGMENT_FIELD: segment_stage})


def _transcribe() -> EventFunction:
    from audioscore.pipeline.transcribe_stage import transcribe_stage

    return EventFunction(transcribe_stage, lambda s: s.features_bucket, ("features.json",))


def _fetch_youtube() -> FetchFunction:
    from audioscore.pipeline.fetch_stage import fetch_stage

    return FetchFunction(fetch_stage)


def _redrive() -> RedriveFunction:
    from audioscore.pipeline.recovery import redrive as redrive_run

    return RedriveFunction(redrive_run)


_FACTORIES: dict[str, Callable[[], _Function]] = {
    "extract_features": _extract_features, "transcribe": _transcribe, "fetch_youtube": _fetch_youtube,
    "redrive": _redrive, "recordings": StatusFunction,
}


def __getattr__(name: str) -> _Function:
    factory = _FACTORIES.get(name)
    if factory is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    function = globals()[name] = factory()  # made once: later lookups find the module global
    return function
