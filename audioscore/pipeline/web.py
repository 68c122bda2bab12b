"""The `recordings` function's browser side: a results page per recording, and a start page to submit work.

JSON stays what API clients get; a request whose ``Accept`` prefers ``text/html`` (a browser)
gets HTML with a restrictive Content-Security-Policy. Pages are built from the record and
links presigned for ``MINIO_PUBLIC_URL``; nothing lists recordings, so a page is reached only
through its id (96 bits from the source), what the submitter was sent to after submitting.

Submitting from a browser:
- a YouTube URL: a form posted here (``application/x-www-form-urlencoded``: ``url`` and, when
  fetch-youtube requires one, ``token``, in the body, so never in a link, a log line or the
  history); the URL is checked at once and queued for fetch-youtube through the gateway with
  that token; the browser goes on to ``?video=<id>``, which becomes the recording's page once
  fetch-youtube has stored the audio;
- a file: a POST straight to the audio bucket under a signed policy (size, ``audio/*`` content
  type, a fresh ``uploads/<random>/`` prefix, `UPLOAD_EXPIRES_S`); the store sends the browser
  back to ``?bucket=&key=``, which becomes the recording's page;
- both forms ask, each optional, the instrument, key, tempo and time signature: fetch-youtube's
  request fields and the upload's user metadata of the names ``KNOWN_FIELDS`` (a field left
  empty is not given), checked where they are used.
"""

from __future__ import annotations

import datetime as dt
import hmac
import json
import secrets
import time
import urllib.parse
from pathlib import Path
from typing import Any

from audioscore.analysis.engines import INSTRUMENTS, MODE_METADATA, parse_mode
from audioscore.download.urls import is_youtube_video_id, validate_url, youtube_video_id
from audioscore.errors import Conflict, InputError
from audioscore.infra.config import read_token
from audioscore.infra.gateway import invoke_async
from audioscore.infra.http import Response
from audioscore.infra.names import FETCH_TOKEN_SECRET, FETCH_YOUTUBE
from audioscore.infra.records import STAGES, recording_id_for_object
from audioscore.notation.hints import HINT_NAMES, TIME_SIGNATURES, read_hints
from audioscore.pages.model import Link, Page, Stage, engine_name, facts_from_summaries, notes_from_score
from audioscore.pages.render import Forms, Rendered, UploadForm, render_page
from audioscore.pipeline.common import Services, fetched_key, status_view, workdir
from audioscore.pipeline.new_hints import refuse_other_options

__all__ = ["REFRESH_S", "error_page", "form_post", "html_get", "recording_page", "wants_html"]

REFRESH_S = 3  # how often a page of running work reloads itself
PENDING_FOR_S = 900  # a submission's waiting page gives up after this long (FETCH_TIMEOUT_S is 600)
UPLOAD_PREFIX = "uploads/"
UPLOAD_EXPIRES_S = 3600
# What both forms ask of the music, optional: the uploads' metadata and fetch-youtube's fields of these names.
KNOWN_FIELDS = (MODE_METADATA, *HINT_NAMES)
MAX_SCORE_JSON_BYTES = 32 * 1024**2
_STAGE_NAMES = {"fetched": "Download", "features": "Features", "score": "Score"}
_DOWNLOADS = (("score", "score_pdf", "Score (PDF)"), ("score", "score_mid", "MIDI"),
              ("score", "score_musicxml", "MusicXML"), ("score", "score_ly", "LilyPond"),
              ("score", "score_json", "score.json"), ("features", "features_json", "features.json"),
              ("features", "features_png", "features.png"), ("features", "pitch_csv", "pitch.csv"),
              ("features", "notes_csv", "notes.csv"), ("features", "mfcc_csv", "mfcc.csv"))


def wants_html(headers: Any) -> bool:
    """Whether ``Accept`` prefers ``text/html`` to JSON (a browser's does; curl's ``*/*`` does not)."""
    from werkzeug.datastructures import MIMEAccept
    from werkzeug.http import parse_accept_header

    accept = next((v for k, v in headers.items() if k.lower() == "accept"), "")
    return parse_accept_header(accept, MIMEAccept).best_match(["application/json", "text/html"]) == "text/html"


def _html(status: int, rendered: Rendered, extra: dict[str, str] | None = None) -> Response:
    headers = {"Content-Type": "text/html; charset=utf-8", "Content-Security-Policy": rendered.csp,
               "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer",
               # Status changes, and the links in it expire: never from a cache.
               "Cache-Control": "no-store"}
    return {"statusCode": status, "body": rendered.html, "headers": headers | (extra or {})}


def _message(status: int, title: str, text: str, *, refresh: bool = False) -> Response:
    page = Page(title=title, status_line=text, errors=[text] if status >= 400 else [],
                refresh_s=REFRESH_S if refresh else None)
    return _html(status, render_page(page))


def error_page(status: int, message: str) -> Response:
    """A failed request's one-line message as a page, for a browser."""
    return _message(status, "Something went wrong" if status >= 500 else "Cannot show that", message)


def _see_other(location: str) -> Response:
    return {"statusCode": 303, "body": "", "headers": {"Location": location, "Cache-Control": "no-store",
                                                      "X-Content-Type-Options": "nosniff"}}


# ----------------------------------------------------------------------------- GET


def html_get(query: Any, services: Services) -> Response:
    """A browser's GET: ``?id=`` a recording's page, ``?video=`` / ``?bucket=&key=`` the page of a
    submission (once it has a record), nothing: the start page with the forms."""
    recording_id = (query.get("id") or "").strip()
    if recording_id:
        return _recording(recording_id, services, pending_since=_since(query))
    if query.get("video"):
        return _after_fetch((query.get("video") or "").strip(), services, _since(query))
    if query.get("key"):
        return _after_upload(query.get("bucket") or "", query.get("key") or "", services)
    return _html(200, render_page(Page(title="audioscore", status_line="Audio in, sheet music out: submit a "
                                       "YouTube video or upload a file, and this page takes you to its results."),
                                  forms=_forms(services)))


def _since(query: Any) -> float | None:
    try:
        return float(query.get("since") or "")
    except ValueError:
        return None


def _waiting(since: float | None) -> bool:
    return since is not None and 0 <= time.time() - since < PENDING_FOR_S


def _recording(recording_id: str, services: Services, *, pending_since: float | None = None) -> Response:
    view = status_view(recording_id, services)  # InputError (400) for a malformed id
    if view is None:
        if _waiting(pending_since):
            return _message(404, "Waiting for the recording", "The upload is stored; the pipeline has not "
                            "opened its record yet. This page reloads itself.", refresh=True)
        return _message(404, "No such recording", f"There is no recording {recording_id}.")
    return _html(200, render_page(recording_page(view, _score_document(view, services), services)))


def _after_fetch(video_id: str, services: Services, since: float | None) -> Response:
    if not is_youtube_video_id(video_id):
        raise InputError("video must be a YouTube video id (11 characters)")
    found = services.records.find({"source.video_id": video_id}, fields=["_id"], limit=1)
    if found:
        return _see_other(f"?id={found[0]['_id']}")
    if _waiting(since):
        return _message(200, "Downloading", f"fetch-youtube is downloading video {video_id}; this page reloads "
                        "itself and shows the recording once the audio is stored.", refresh=True)
    return _message(404, "No recording of this video", f"No recording of video {video_id}: the download may have "
                    "failed (a private, live or too long video); submit it again to see why.")


def _after_upload(bucket: str, key: str, services: Services) -> Response:
    """Where the store sends the browser after an upload: that object's recording."""
    if bucket != services.settings.audio_bucket or not key.startswith(UPLOAD_PREFIX):
        raise InputError("bucket and key must name a file uploaded from this page")
    info = services.store.stat(bucket, key)
    if info is None:
        raise InputError("no such upload")
    recording_id = recording_id_for_object(bucket, key, info.etag)
    return _see_other(f"?id={recording_id}&since={int(time.time())}")


def _score_document(view: dict[str, Any], services: Services) -> dict[str, Any]:
    """The recording's score.json (for its notes), or {} when there is none or it is unreadable."""
    location = ((view.get("artifacts") or {}).get("score") or {}).get("score_json")
    if not isinstance(location, str) or "/" not in location:
        return {}
    bucket, _, key = location.partition("/")
    with workdir(services.settings) as tmp:
        try:
            path = services.store.download(bucket, key, Path(tmp), max_bytes=MAX_SCORE_JSON_BYTES)
            document = json.loads(path.read_text(encoding="utf-8"))
        except (InputError, ValueError, OSError):
            return {}
    return document if isinstance(document, dict) else {}


def _stages(view: dict[str, Any]) -> list[Stage]:
    stages = view.get("stages") or {}
    shown = [s for s in STAGES if s != "fetched" or "fetched" in stages or (view.get("source") or {}).get("url")]
    out = []
    for name in shown:
        stage = stages.get(name) or {}
        status = str(stage.get("status") or "waiting")
        out.append(Stage(_STAGE_NAMES.get(name, name), status, str(stage.get("started_at") or ""),
                         str(stage.get("finished_at") or ""), str(stage.get("error") or "") if status == "failed" else ""))
    return out


def _safe_link(url: Any) -> str | None:
    if not isinstance(url, str):
        return None
    scheme = urllib.parse.urlsplit(url).scheme
    return url if scheme in ("http", "https") else None


def recording_page(view: dict[str, Any], score: dict[str, Any], services: Services) -> Page:
    """The page of a recording: its status view (`status_view`, with presigned links) and its score.json."""
    source = view.get("source") or {}
    links: dict[str, dict[str, str]] = view.get("links") or {}
    stages = _stages(view)
    failed = [s for s in stages if s.status == "failed"]
    done = bool(stages) and stages[-1].status == "done"
    summary = view.get("summary") or {}
    features = summary.get("features") or {}
    score_links = links.get("score") or {}
    numbered = sorted((int(name[6:-4]), url) for name, url in score_links.items()
                      if name.startswith("score-") and name.endswith("_png") and name[6:-4].isdigit())
    pages = [u for _, u in numbered] or ([score_links["score_png"]] if "score_png" in score_links else [])
    audio = None
    if source.get("bucket") and source.get("key"):
        audio = services.store.presigned_get(str(source["bucket"]), str(source["key"]),
                                             expires_s=services.settings.presign_expiry_s)
    if failed:
        status_line = f"{failed[0].name} failed: {failed[0].error}"
    elif done:
        status_line = ""
    else:
        status_line = "Working on it: this page reloads itself until the score is ready."
    return Page(
        title=str(source.get("title") or source.get("key") or view.get("id") or "recording"),
        source=str(source.get("url") or source.get("key") or ""),
        facts=facts_from_summaries(summary.get("score"), features, engine=engine_name(features),
                                   given=list((summary.get("score") or {}).get("hints") or {})),
        remarks=[str(r) for r in score.get("remarks") or [] if isinstance(r, str)],
        audio=_safe_link(audio), score_pages=[u for u in pages if _safe_link(u)],
        features_plot=_safe_link((links.get("features") or {}).get("features_png")),
        downloads=[Link(label, url) for stage, name, label in _DOWNLOADS
                   if (url := _safe_link((links.get(stage) or {}).get(name)))],
        notes=notes_from_score(score), stages=stages, status_line=status_line,
        errors=[f"{s.name}: {s.error}" for s in failed],
        refresh_s=None if done or failed else REFRESH_S,
    )


def _forms(services: Services) -> Forms:
    settings = services.settings
    redirect = settings.recordings_public_url
    url, fields = services.store.presigned_post(
        settings.audio_bucket, f"{UPLOAD_PREFIX}{secrets.token_hex(16)}/", max_bytes=settings.max_object_bytes,
        content_type_prefix="audio/", redirect=redirect, expires_s=UPLOAD_EXPIRES_S, metadata=KNOWN_FIELDS)
    expires = (dt.datetime.now(dt.UTC) + dt.timedelta(seconds=UPLOAD_EXPIRES_S)).strftime("%H:%M UTC")
    upload = UploadForm(url=url, fields=fields, max_mb=settings.max_object_bytes // 1024**2, expires=expires)
    return Forms(fetch_action="?", token_required=read_token(FETCH_TOKEN_SECRET) is not None, upload=upload,
                 instruments=sorted(INSTRUMENTS), time_signatures=TIME_SIGNATURES)


# ----------------------------------------------------------------------------- POST


def form_post(body: bytes, services: Services) -> Response:
    """The start page's YouTube form: check the token and the URL, queue fetch-youtube, go to ``?video=``."""
    try:
        form = urllib.parse.parse_qs(body.decode("utf-8"), max_num_fields=10)
    except (UnicodeDecodeError, ValueError):
        return _message(400, "Bad form", "The form's body is not a URL-encoded form.")
    url = (form.get("url") or [""])[0].strip()
    token = read_token(FETCH_TOKEN_SECRET)
    supplied = (form.get("token") or [""])[0].strip()
    if token is not None and not hmac.compare_digest(supplied.encode(), token.encode()):
        return _message(401, "Wrong token", "The access token is missing or wrong; ask whoever runs this "
                        "cluster for it.")
    if not url:
        return _message(400, "No URL", "Give the URL of a YouTube video.")
    try:
        checked = validate_url(url, services.settings.fetch)
    except InputError as error:
        return _message(400, "This URL cannot be fetched", str(error))
    known = {name: (form.get(name) or [""])[0].strip() for name in KNOWN_FIELDS}
    known = {name: value for name, value in known.items() if value}
    video_id = youtube_video_id(checked)
    try:  # checked here as fetch-youtube checks them: its 400 or 409 would reach no one
        mode = parse_mode(known[MODE_METADATA], source="form") if MODE_METADATA in known else None
        hints = read_hints(known)
        # Where fetch-youtube looks for it, with what it was fetched with.
        fetched = services.store.stat(services.settings.audio_bucket, fetched_key(video_id)) \
            if video_id and known else None
        if fetched is not None:
            refuse_other_options(mode, hints, recording_id_for_object(fetched.bucket, fetched.key, fetched.etag),
                                 fetched.metadata)
    except Conflict as error:
        return _message(409, "Fetched before", str(error))
    except InputError as error:
        return _message(400, "This cannot be used", str(error))
    # With fetch-youtube's own token: the browser's user proved they have it.
    invoke_async(services.settings.gateway_url, FETCH_YOUTUBE, {"url": checked, **known}, token=token)
    if not video_id:
        return _message(202, "Queued", "fetch-youtube will download it; without a YouTube video id this page "
                        "cannot follow it.")
    return _see_other(f"?video={video_id}&since={int(time.time())}")
