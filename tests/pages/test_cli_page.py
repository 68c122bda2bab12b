"""The CLI's index.html in Chromium: opened from the file system, no console errors (so no CSP
violation and no failed load), every score page and the features plot shown, the player ready,
and a hostile title shown as text."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from browser import alert_text, chromium, console_errors, screenshot

from audioscore.cli import main

ROOT = Path(__file__).resolve().parents[2]
HOSTILE_TITLE = '<script>alert(1)</script>"onerror=alert(2) <img src=x onerror=alert(3)>'


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    with chromium(tmp_path_factory.mktemp("profile")) as driver:
        yield driver


@pytest.fixture(scope="module")
def transcribed(tmp_path_factory) -> tuple[Path, list[str]]:
    out = tmp_path_factory.mktemp("out") / "melody"
    audio = tmp_path_factory.mktemp("in") / "my melody.ogg"
    shutil.copyfile(ROOT / "examples" / "melody.ogg", audio)
    printed: list[str] = []
    import contextlib
    import io

    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        assert main(["transcribe", str(audio), "-o", str(out), "--title", HOSTILE_TITLE]) == 0
    printed = buffer.getvalue().splitlines()
    return out, printed


def _images(driver) -> list[tuple[str, int]]:
    return driver.execute_script("return [...document.images].map(i => [i.getAttribute('src'), i.naturalWidth])")


def test_transcribe_writes_a_page_that_opens_without_a_server(browser, transcribed, tmp_path) -> None:
    out, printed = transcribed
    assert f"page:     {out / 'index.html'}" in printed
    assert (out / "audio.ogg").read_bytes() == (ROOT / "examples" / "melody.ogg").read_bytes()  # moves with the folder
    browser.get((out / "index.html").as_uri())
    assert console_errors(browser) == []
    pages = sorted(p.name for p in out.glob("score-*.png"))
    assert pages == ["score-1.png"]
    images = _images(browser)
    assert [src for src, _ in images] == [*pages, "features.png"] and all(width > 0 for _, width in images)
    browser.execute_script("document.querySelector('audio').load()")
    ready = browser.execute_script("""const a = document.querySelector('audio');
        return new Promise(done => a.readyState >= 1 ? done(a.duration) : a.addEventListener('loadedmetadata', () => done(a.duration)));""")
    assert 12 < ready < 14  # the 13 s melody, played from the copy beside the page
    assert browser.find_element("id", "title").text == HOSTILE_TITLE  # text, not markup
    assert browser.execute_script("return document.scripts.length") == 0
    assert browser.execute_script("return document.querySelectorAll('img[src=x]').length") == 0
    assert alert_text(browser) is None
    rows = browser.find_elements("css selector", "#note-table tr")
    assert len(rows) == 1 + 20 and rows[1].text.split()[:2] == ["1", "D4"]
    hrefs = browser.execute_script("return [...document.querySelectorAll('#downloads a')].map(a => a.getAttribute('href'))")
    assert {"score.pdf", "score.mid", "score.musicxml", "score.ly", "features.json", "features.png"} <= set(hrefs)
    assert all((out / href).is_file() for href in hrefs)
    screenshot(browser, "cli-transcribe", tmp_path)


def test_extract_writes_a_page_too(browser, tmp_path) -> None:
    out = tmp_path / "features"
    assert main(["extract", str(ROOT / "examples" / "melody.ogg"), "-o", str(out), "-q"]) == 0
    browser.get((out / "index.html").as_uri())
    assert console_errors(browser) == []
    assert [src for src, width in _images(browser) if width > 0] == ["features.png"]
    assert len(browser.find_elements("css selector", "#note-table tr")) > 10  # notes from notes.csv
    assert "Key" not in browser.find_element("id", "facts").text  # no score, no key
