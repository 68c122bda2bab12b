"""The `recordings` function's pages in Chromium, against moto's S3 server: a finished recording's
page shows its score pages, plot and player from presigned links that download; a running
recording's page turns to done by itself; hostile titles and errors render as text; the start
page uploads straight to the bucket; JSON stays the default for API clients."""

from __future__ import annotations

import http.server
import io
import json
import threading
import urllib.parse
import urllib.request
import wave

import pytest
from browser import alert_text, chromium, console_errors, screenshot
from functions_harness import SECRETS, function_environment, serve_function, write_secrets
from test_functions import records  # noqa: F401  (the fixture)

from audioscore.analysis.engines import mode_for_object
from audioscore.infra.config import settings as settings_cache
from audioscore.infra.records import recording_id_for_object
from audioscore.notation.hints import ScoreHints, read_hints
from audioscore.pipeline import functions

HOSTILE = '<script>alert(1)</script>"onerror=alert(2) <img src=x onerror=alert(3)>'
SCORE = {"schema": "audioscore.score/1", "key": "G major", "tempo_bpm": 96.0, "time_signature": "3/4", "measures": 2,
         "notes": [{"measure": 1, "beat": b, "midi": m, "name": n, "onset_s": 0.5 * i, "offset_s": 0.5 * i + 0.45}
                   for i, (b, m, n) in enumerate([(0.0, 67, "G4"), (1.0, 71, "B4"), (2.0, 74, "D5")])]}


def _png(width: int, height: int) -> bytes:
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (width, height), "white")
    ImageDraw.Draw(image).line((10, height // 2, width - 10, height // 2), fill="black", width=3)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def _wav(seconds: float = 1.0, rate: int = 8000) -> bytes:
    import numpy as np

    samples = (0.3 * np.sin(2 * np.pi * 440 * np.arange(int(seconds * rate)) / rate) * 32767).astype("<i2")
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(samples.tobytes())
    return out.getvalue()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    with chromium(tmp_path_factory.mktemp("profile")) as driver:
        yield driver


@pytest.fixture
def site(object_store, s3_server, records, tmp_path, monkeypatch):  # noqa: F811
    secrets = tmp_path / "secrets"
    write_secrets(secrets, SECRETS)
    for name, value in function_environment(s3_server, secrets, tmp_path / "work").items():
        monkeypatch.setenv(name, value)
    port = s3_server.rsplit(":", 1)[1]
    monkeypatch.setenv("MINIO_PUBLIC_URL", f"http://localhost:{port}")  # links name another host than MINIO_ENDPOINT
    with serve_function("recordings") as url:
        monkeypatch.setenv("RECORDINGS_PUBLIC_URL", url + "/")
        monkeypatch.setattr(functions.recordings, "_services", None)
        settings_cache.cache_clear()
        yield url


def _recording(object_store, records, *, title: str, finished: bool = True, error: str | None = None) -> str:  # noqa: F811
    etag = object_store.upload_bytes("audio", "uploads/x/song.wav", _wav(), content_type="audio/wav")
    recording = recording_id_for_object("audio", "uploads/x/song.wav", etag)
    records.upsert_source(recording, {"kind": "upload", "bucket": "audio", "key": "uploads/x/song.wav", "etag": etag,
                                      "title": title})
    features = {"features_png": "features.png", "features_json": "features.json"}
    for name in features.values():
        data = _png(800, 300) if name.endswith(".png") else b'{"schema": "audioscore.features/1"}'
        object_store.upload_bytes("features", f"{recording}/{name}", data, content_type="application/octet-stream")
    assert records.begin_stage(recording, "features", etag=etag)
    records.finish_stage(recording, "features", artifacts={k: f"features/{recording}/{v}" for k, v in features.items()},
                         summary={"note_count": 3, "duration_s": 1.0, "voiced_ratio": 0.9, "median_f0_hz": 440.0})
    assert records.begin_stage(recording, "score", etag="f")
    if error:
        records.fail_stage(recording, "score", error, retryable=False)
    if finished:
        _finish_score(object_store, records, recording)
    return recording


def _finish_score(object_store, records, recording: str, hints: dict | None = None) -> None:  # noqa: F811
    files = {"score_pdf": ("score.pdf", b"%PDF-1.4 test"), "score_mid": ("score.mid", b"MThd test"),
             "score_json": ("score.json", json.dumps(SCORE).encode()), "score_png": ("score.png", _png(900, 500)),
             "score-1_png": ("score-1.png", _png(900, 500)), "score-2_png": ("score-2.png", _png(900, 250))}
    for name, data in files.values():
        object_store.upload_bytes("scores", f"{recording}/{name}", data, content_type="application/octet-stream")
    records.finish_stage(recording, "score", artifacts={k: f"scores/{recording}/{n}" for k, (n, _) in files.items()},
                         summary={"key": "G major", "tempo_bpm": 96.0, "time_signature": "3/4", "measures": 2, "notes": 3,
                                  **({"hints": hints} if hints else {})})


def _get(url: str, accept: str) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers={"Accept": accept})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def test_finished_recording_page(browser, site, object_store, records, tmp_path) -> None:  # noqa: F811
    recording = _recording(object_store, records, title=HOSTILE)
    status, headers, body = _get(f"{site}?id={recording}", "text/html,application/xhtml+xml,*/*;q=0.8")
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert headers["X-Content-Type-Options"] == "nosniff"
    csp = headers["Content-Security-Policy"]
    assert csp.startswith("default-src 'none'") and "script-src 'none'" in csp and "unsafe-inline" not in csp
    assert _get(f"{site}?id={recording}", "*/*")[1]["Content-Type"] == "application/json"  # curl's default

    browser.get(f"{site}?id={recording}")
    assert console_errors(browser) == []
    assert browser.find_element("id", "title").text == HOSTILE and alert_text(browser) is None
    assert browser.execute_script("return document.scripts.length + document.querySelectorAll('img[src=x]').length") == 0
    images = browser.execute_script("return [...document.images].map(i => [new URL(i.src).pathname, i.naturalWidth])")
    assert images == [[f"/scores/{recording}/score-1.png", 900], [f"/scores/{recording}/score-2.png", 900],
                      [f"/features/{recording}/features.png", 800]]
    duration = browser.execute_script("""const a = document.querySelector('audio');
        return new Promise(done => a.readyState >= 1 ? done(a.duration) : a.addEventListener('loadedmetadata', () => done(a.duration)));""")
    assert duration == pytest.approx(1.0, abs=0.01)
    assert [e.text for e in browser.find_elements("css selector", "#note-table td:nth-child(2)")] == ["G4", "B4", "D5"]
    links = {a.text: a.get_attribute("href") for a in browser.find_elements("css selector", "#downloads a")}
    assert set(links) == {"Score (PDF)", "MIDI", "score.json", "features.json", "features.png"}
    for label, href in links.items():  # presigned for the public name, and they work
        assert urllib.parse.urlsplit(href).netloc.startswith("localhost:")
        with urllib.request.urlopen(href, timeout=10) as response:
            assert response.status == 200 and response.read(), label
    screenshot(browser, "cluster-done", tmp_path)


def _statuses(driver) -> list[str]:
    # One script, so that a reload between finding the cells and reading them cannot fail it.
    return driver.execute_script("return [...document.querySelectorAll('#stages td.status')].map(c => c.textContent)")


def test_running_recording_updates_itself(browser, site, object_store, records, tmp_path) -> None:  # noqa: F811
    recording = _recording(object_store, records, title="Still working", finished=False)
    browser.get(f"{site}?id={recording}")
    assert _statuses(browser) == ["done", "running"]
    screenshot(browser, "cluster-running", tmp_path)
    _finish_score(object_store, records, recording)
    from selenium.webdriver.support.ui import WebDriverWait

    # No reload from here: the page's own refresh brings the result.
    WebDriverWait(browser, 15, poll_frequency=0.2).until(lambda d: _statuses(d) == ["done", "done"])
    assert browser.execute_script("return document.querySelectorAll('#score img').length") == 2
    assert browser.execute_script("return document.querySelectorAll('meta[http-equiv=refresh]').length") == 0


def test_failed_stage_shows_its_error_as_text(browser, site, object_store, records, tmp_path) -> None:  # noqa: F811
    error = 'lilypond failed: <img src=x onerror=alert(1)> "javascript:alert(2)"'
    recording = _recording(object_store, records, title="javascript:alert(1)", finished=False, error=error)
    browser.get(f"{site}?id={recording}")
    assert console_errors(browser) == [] and alert_text(browser) is None
    assert browser.find_element("css selector", "#stages td.error").text == error
    assert "Score failed: " + error == browser.find_element("id", "status-line").text
    assert not browser.find_elements("css selector", "meta[http-equiv=refresh]")
    assert browser.execute_script("return document.querySelectorAll('img[src=x], a[href^=javascript]').length") == 0
    screenshot(browser, "cluster-failed", tmp_path)


def test_start_page_uploads_to_the_bucket(browser, site, object_store, records, tmp_path) -> None:  # noqa: F811
    browser.get(site)
    assert console_errors(browser) == []
    assert not browser.find_elements("id", "fetch-token")  # fetch-youtube takes no token here
    form = browser.find_element("id", "upload-form")
    fields = {e.get_attribute("name"): e.get_attribute("value")
              for e in form.find_elements("css selector", "input[type=hidden]")}
    policy = json.loads(__import__("base64").b64decode(fields["policy"]))
    conditions = {c[0]: c[1:] if c[0] == "content-length-range" else c[2:] for c in policy["conditions"]}
    conditions.update({c[1]: c[2:] for c in policy["conditions"] if c[0] != "content-length-range"})
    assert conditions["content-length-range"] == [1, 2 * 1024**3]
    assert conditions["$Content-Type"] == ["audio/"] and conditions["$key"][0].startswith("uploads/")
    screenshot(browser, "cluster-start", tmp_path)
    assert {"$x-amz-meta-mode", "$x-amz-meta-key", "$x-amz-meta-tempo", "$x-amz-meta-time-signature"} <= set(conditions)
    song = tmp_path / "my song.wav"
    song.write_bytes(_wav(0.5))
    browser.find_element("css selector", "#upload-form summary").click()  # what you know of the music
    Select = __import__("selenium.webdriver.support.ui", fromlist=["Select"]).Select
    Select(browser.find_element("id", "upload-mode")).select_by_visible_text("piano")
    browser.find_element("id", "upload-key").send_keys("E major")  # tempo and time signature left empty
    browser.find_element("id", "upload-file").send_keys(str(song))
    screenshot(browser, "cluster-start-known", tmp_path)
    assert browser.find_element("id", "upload-type").get_attribute("value") == "audio/wav"  # the hashed script ran
    form.submit()  # to moto, which sends the browser back to the function with bucket and key
    WebDriverWait = __import__("selenium.webdriver.support.ui", fromlist=["WebDriverWait"]).WebDriverWait
    WebDriverWait(browser, 15, poll_frequency=0.2).until(lambda d: "id=" in d.current_url)
    (stored,) = object_store.list_objects("audio", limit=10)
    info = object_store.stat("audio", stored.key)
    assert stored.key.startswith(conditions["$key"][0]) and info.content_type == "audio/wav"
    # What extract-features reads: the engine's hint and the key; the fields left empty give nothing.
    assert mode_for_object(stored.key, info.metadata).instrument == "piano"
    assert read_hints(info.metadata) == ScoreHints(key="E major")
    recording = urllib.parse.parse_qs(urllib.parse.urlsplit(browser.current_url).query)["id"][0]
    assert recording == recording_id_for_object("audio", stored.key, stored.etag)
    assert "Waiting for the recording" in browser.find_element("id", "title").text  # until extract-features opens it


class _Gateway(http.server.BaseHTTPRequestHandler):
    calls: list[tuple[str, str, bytes]] = []

    def do_POST(self) -> None:  # noqa: N802
        body = self.rfile.read(int(self.headers["Content-Length"]))
        _Gateway.calls.append((self.path, self.headers.get("Authorization", ""), body))
        self.send_response(202)
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


def test_youtube_form_checks_the_token_and_queues_the_fetch(site, tmp_path, monkeypatch) -> None:
    gateway = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Gateway)
    threading.Thread(target=gateway.serve_forever, daemon=True).start()
    write_secrets(tmp_path / "secrets", {"fetch-token": "s3cret"})
    monkeypatch.setenv("GATEWAY_URL", f"http://127.0.0.1:{gateway.server_port}")
    monkeypatch.setattr(functions.recordings, "_services", None)
    settings_cache.cache_clear()
    _Gateway.calls.clear()

    def post(fields: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        request = urllib.request.Request(site, data=urllib.parse.urlencode(fields).encode(), method="POST",
                                         headers={"Accept": "text/html", "Content-Type": "application/x-www-form-urlencoded"})
        opener = urllib.request.build_opener(type("NoRedirect", (urllib.request.HTTPRedirectHandler,),
                                                  {"redirect_request": lambda *a, **k: None}))
        try:
            with opener.open(request, timeout=30) as response:
                return response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers), error.read()

    url = "https://www.youtube.com/watch?v=dQw4w9WgXcQ"
    try:
        assert b'id="fetch-token"' in _get(site, "text/html")[2]  # the form asks for it
        assert post({"url": url, "token": "wrong"})[0] == 401 and _Gateway.calls == []
        status, _, body = post({"url": "http://169.254.169.254/latest", "token": "s3cret"})
        assert status == 400 and b"link-local" in body and _Gateway.calls == []
        monkeypatch.setattr("audioscore.pipeline.web.validate_url", lambda u, policy: u)  # no DNS here
        status, headers, _ = post({"url": url, "token": "s3cret"})
        assert status == 303 and headers["Location"].startswith("?video=dQw4w9WgXcQ&since=")
        assert "s3cret" not in headers["Location"]
        assert _Gateway.calls == [("/async-function/fetch-youtube", "Bearer s3cret", json.dumps({"url": url}).encode())]
        # What the user knows of the music goes with it; a field left empty is not sent, a bad one is refused here.
        status, _, body = post({"url": url, "token": "s3cret", "mode": "kazoo", "key": "", "tempo": ""})
        assert status == 400 and b"mode must be an engine" in body and len(_Gateway.calls) == 1
        status, _, body = post({"url": url, "token": "s3cret", "tempo": "9000", "time-signature": "3/4"})
        assert status == 400 and b"tempo must be quarter notes per minute in 20..400" in body and len(_Gateway.calls) == 1
        assert post({"url": url, "token": "s3cret", "mode": "voice", "key": "Bb minor", "tempo": "",
                     "time-signature": "3/4"})[0] == 303
        assert json.loads(_Gateway.calls[-1][2]) == {"url": url, "mode": "voice", "key": "Bb minor",
                                                     "time-signature": "3/4"}
        status, _, body = _get(f"{site}{headers['Location']}", "text/html")
        assert status == 200 and b"Downloading" in body and b'http-equiv="refresh"' in body
    finally:
        gateway.shutdown()
        gateway.server_close()


def test_json_stays_the_default(site, object_store, records) -> None:  # noqa: F811
    recording = _recording(object_store, records, title="t")
    status, headers, body = _get(f"{site}?id={recording}", "application/json")
    assert status == 200 and json.loads(body)["links"]["score"]["score-2_png"]
    status, headers, body = _get(f"{site}?id=nope", "text/html")
    assert status == 400 and headers["Content-Type"].startswith("text/html") and b"24 hexadecimal" in body
    assert _get(site, "application/json")[0] == 400  # API clients still need ?id=


def test_youtube_form_says_when_a_video_was_fetched_with_other_options(site, object_store, records,  # noqa: F811
                                                                      monkeypatch) -> None:
    # What fetch-youtube stored with it; its record may not exist yet (extract-features not run).
    object_store.upload_bytes("audio", "youtube/dQw4w9WgXcQ.flac", _wav(), content_type="audio/flac",
                              metadata={"mode": "voice", "key": "E major"})
    monkeypatch.setattr("audioscore.pipeline.web.validate_url", lambda u, policy: u)  # no DNS here
    monkeypatch.setattr("audioscore.pipeline.web.invoke_async", lambda *a, **k: None)  # no gateway: not reached
    url = "https://www.youtube.com/watch?v=dQw4w9WgXcQ"

    def post(fields: dict[str, str]) -> tuple[int, bytes]:
        request = urllib.request.Request(site, data=urllib.parse.urlencode({"url": url, **fields}).encode(),
                                         method="POST", headers={"Accept": "text/html"})
        opener = urllib.request.build_opener(type("NoRedirect", (urllib.request.HTTPRedirectHandler,),
                                                  {"redirect_request": lambda *a, **k: None}))
        try:
            with opener.open(request, timeout=30) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.read()

    for other in ({"key": "G major"}, {"mode": "piano"}, {"tempo": "92", "key": "E major"}):
        status, body = post(other)
        assert status == 409 and b"fetched before" in body, body
    # What it was fetched with, or nothing: on to its page.
    assert post({"key": "E major", "mode": "voice"})[0] == 303 and post({"key": "", "mode": ""})[0] == 303


def test_the_page_says_which_facts_the_user_gave(site, object_store, records) -> None:  # noqa: F811
    recording = _recording(object_store, records, title="t", finished=False)
    records.set_hints(recording, {"key": "G major", "time-signature": "3/4"})  # not yet scored with them
    assert b"(given)" not in _get(f"{site}?id={recording}", "text/html")[2]
    records.begin_stage(recording, "score", etag="f")
    _finish_score(object_store, records, recording, hints={"key": "G major", "time-signature": "3/4"})
    status, _, body = _get(f"{site}?id={recording}", "text/html")
    assert status == 200
    assert b"<dt>Key</dt><dd>G major (given)</dd>" in body and b"<dt>Meter</dt><dd>3/4 (given)</dd>" in body
    assert b"<dt>Tempo</dt><dd>quarter = 96</dd>" in body  # estimated
