"""Pieces of the results page without a browser: which links a page may carry, escaping, the
policy, the piano-roll's geometry, and where the CLI page's audio comes from."""

from __future__ import annotations

import os
import re

import pytest

from audioscore.pages import Link, Page, render_page, safe_href
from audioscore.pages.folder import write_index
from audioscore.pages.model import Note, notes_from_score
from audioscore.pages.pianoroll import piano_roll


@pytest.mark.parametrize("url", ["score-1.png", "audio.ogg", "my%20song.wav", "?id=abc", "http://localhost:9000/a/b?X=1",
                                 "https://minio.example/scores/x.pdf"])
def test_links_a_page_may_carry(url: str) -> None:
    assert safe_href(url) == url


@pytest.mark.parametrize("url", ["javascript:alert(1)", " javascript:alert(1)", "JaVaScRiPt:alert(1)", "data:text/html,x",
                                 "file:///etc/passwd", "//evil.example/x", "http://user:pw@host/x", "java\nscript:x",
                                 "vbscript:x", "\\\\evil\\share", ""])
def test_links_a_page_refuses(url: str) -> None:
    with pytest.raises(ValueError):
        safe_href(url)
    with pytest.raises(ValueError):
        Link("x", url)


def test_every_user_string_is_escaped_and_the_policy_is_strict() -> None:
    hostile = '<script>alert(1)</script>"onerror=alert(2)\'><img src=x>'
    page = Page(title=hostile, source=hostile, facts=[("Key", hostile)], remarks=[hostile], errors=[hostile],
                notes=[Note(0.0, 1.0, 60.0, name=hostile)], audio="http://s3.local:9000/audio/a.wav",
                score_pages=["http://s3.local:9000/scores/p1.png"], downloads=[Link(hostile, "score.pdf")])
    rendered = render_page(page)
    assert "<script>alert" not in rendered.html and "<img src=x>" not in rendered.html
    assert '"onerror' not in rendered.html and rendered.html.count("&lt;script&gt;alert(1)&lt;/script&gt;") >= 6
    assert "<script" not in rendered.html  # no forms: no script at all
    directives = dict(d.split(" ", 1) for d in rendered.csp.split("; "))
    assert directives["default-src"] == "'none'" and directives["script-src"] == "'none'"
    assert directives["img-src"] == directives["media-src"] == "http://s3.local:9000"
    assert directives["style-src"].startswith("'sha256-") and directives["frame-ancestors"] == "'none'"


def test_piano_roll_geometry() -> None:
    notes = [Note(1.0, 2.0, 60.0), Note(2.0, 2.5, 72.2), Note(3.0, 5.0, 48.0)]
    roll = piano_roll(notes)
    assert roll is not None and roll.shown == roll.total == 3
    assert roll.height == pytest.approx(25 * roll.row)  # C3..C5, one row a semitone
    first, second, third = roll.bars
    assert first.x == roll.label_width and third.x + third.width == pytest.approx(roll.width)
    assert second.y < first.y < third.y  # higher notes higher up
    assert [line.label for line in sorted(roll.lines, key=lambda line: line.y)] == ["C5", "C4", "C3"]
    assert piano_roll([]) is None


def test_score_notes_skip_malformed_entries() -> None:
    score = {"notes": [{"onset_s": 0, "offset_s": 1, "midi": 60, "name": "C4", "measure": 1, "beat": 0},
                       {"onset_s": "x", "offset_s": 1, "midi": 60}, {"onset_s": 2, "offset_s": 1, "midi": 60},
                       {"onset_s": 0, "offset_s": 1, "midi": float("nan")}, "junk"]}
    assert notes_from_score(score) == [Note(0.0, 1.0, 60.0, "C4", 1, 0.0)]


def test_cli_page_puts_the_audio_beside_it(tmp_path) -> None:
    source = tmp_path / "in" / "song.flac"
    source.parent.mkdir()
    source.write_bytes(b"fLaC stand-in")
    out = tmp_path / "out"
    out.mkdir()
    html = write_index(out, audio=source).read_text()
    assert 'src="audio.flac"' in html and os.path.samefile(out / "audio.flac", source)  # a hard link: no space
    odd = tmp_path / "in" / "song.aiff"
    odd.write_bytes(b"FORM stand-in")
    html = write_index(out, audio=odd).read_text()
    assert "<audio" not in html and "browsers cannot play" in html
    inside = out / "take 1.wav"
    inside.write_bytes(b"RIFF")
    assert 'src="take%201.wav"' in write_index(out, audio=inside).read_text()


def test_notes_table_counts_beats_from_one_as_musicians_do() -> None:
    # score.json's beat is the offset in quarters from the bar line: 0 is the downbeat.
    notes = [Note(0.0, 0.5, 62.0, "D4", 1, 0.0), Note(0.5, 1.0, 66.0, "F#4", 1, 2.5)]
    table = render_page(Page(title="t", notes=notes)).html.split('id="note-table"', 1)[1].split("</table>", 1)[0]
    rows = [re.findall(r"<td[^>]*>([^<]*)</td>", row) for row in table.split("</tr>") if "<td" in row]
    assert [row[-2:] for row in rows] == [["1", "1"], ["1", "3.5"]]
