"""LilyPond emitter and renderer: small music21 scores compiled by the real
LilyPond, checked for a clean log, a PDF with the title and a PNG; hostile
titles stay text."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from fractions import Fraction
from pathlib import Path

import pytest
from engraving import lilypond_processes, started_lilypond
from music21 import articulations, clef, duration, key, metadata, meter, note, stream, tempo, tie

from audioscore.errors import InputError, ProcessingError
from audioscore.notation import lilypond
from audioscore.notation.lilypond import (
    RenderedScore,
    lilypond_started,
    lilypond_string,
    render_lilypond,
    score_to_lilypond,
)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
THIRD = Fraction(1, 3)  # a triplet eighth, in quarter notes

needs_tools = pytest.mark.skipif(
    not (shutil.which("lilypond") and shutil.which("pdftoppm") and shutil.which("pdftotext")),
    reason="needs the Debian packages lilypond and poppler-utils",
)


def _has_cjk_font() -> bool:
    if not shutil.which("fc-list"):
        return False
    listing = subprocess.run(
        ["fc-list", ":charset=6771"], capture_output=True, text=True, check=False
    )
    return bool(listing.stdout.strip())


# ---------------------------------------------------------------- score building


def n(name: str, quarter_length: float | Fraction = 1.0) -> note.Note:
    return note.Note(name, quarterLength=quarter_length)


def r(quarter_length: float | Fraction = 1.0) -> note.Rest:
    return note.Rest(quarterLength=quarter_length)


def breathed(written: note.Note) -> note.Note:
    written.articulations.append(articulations.BreathMark())
    return written


def make_part(
    elements: list[note.GeneralNote | tuple[float, note.GeneralNote]],
    *,
    time: str = "4/4",
    key_signature: key.KeySignature | None = None,
    staff_clef: clef.Clef | None = None,
    metronome: tempo.MetronomeMark | None = None,
) -> stream.Part:
    """A part as the pipeline builds it; (offset, element) pairs leave gaps."""
    flat = stream.Part()
    flat.append(staff_clef or clef.TrebleClef())
    flat.append(key_signature or key.Key("C"))
    flat.append(meter.TimeSignature(time))
    flat.append(metronome or tempo.MetronomeMark(number=100))
    for element in elements:
        if isinstance(element, tuple):
            flat.insert(*element)
        else:
            flat.append(element)
    part = flat.makeMeasures()
    part.makeTies(inPlace=True)
    part.makeBeams(inPlace=True)
    return part


def make_score(title: str, *parts: stream.Part, composer: str = "Test Composer") -> stream.Score:
    score = stream.Score()
    score.metadata = metadata.Metadata(title=title, composer=composer)
    for part in parts:
        score.insert(0, part)
    return score


def bars_part(
    bars: list[list[note.GeneralNote]], *, time: str, key_signature: key.KeySignature
) -> stream.Part:
    """A part from explicit measures; a short first one is a pickup, as music21 marks one."""
    part = stream.Part()
    for number, elements in enumerate(bars):
        measure = stream.Measure(number=number)
        if number == 0:
            measure.append([clef.TrebleClef(), key_signature, meter.TimeSignature(time)])
            measure.append(tempo.MetronomeMark(number=90))
        measure.append(elements)
        part.append(measure)
    part.getElementsByClass(stream.Measure).first().padAsAnacrusis()
    return part


def tied(name: str, quarter_length: float, kind: str) -> note.Note:
    tied_note = n(name, quarter_length)
    tied_note.tie = tie.Tie(kind)
    return tied_note


def melody(title: str, composer: str, tempo_text: str | None = None) -> stream.Score:
    metronome = tempo.MetronomeMark(text=tempo_text, number=100)
    part = make_part([n("C4"), n("E4"), n("G4"), n("C5")], metronome=metronome)
    return make_score(title, part, composer=composer)


# Each case: a score and fragments its source must contain.
CASES: dict[str, tuple[Callable[[], stream.Score], list[str]]] = {
    # A tie made by makeTies across the barline, C natural in D major, dotted
    # notes, rests, and a gap left by the pipeline that must become a rest.
    "d_major_tie_rests": (
        lambda: make_score(
            "D Major Tie",
            make_part(
                [(1.0, n("F#4", 0.5)), (1.5, r(0.5)), (2.0, n("A4")), (3.0, n("C5", 2))]
                + [(5.0, n("B4", 1.5)), (6.5, n("A4", 0.5)), (7.0, r()), (8.0, r(4))]
                + [(12.0, n("D5", 2)), (14.0, r())],
                key_signature=key.Key("D"),
            ),
        ),
        ["\\key d \\major", "\\time 4/4", "\\tempo 4 = 100", "r4 fis'8 r8 a'4 c''4~ |"]
        + ["c''4 b'4. a'8 r4 |", "R1 |", "d''2 r4"],
    ),
    # Six flats, accidentals against them (naturals, C flat, a double flat),
    # a pickup measure and a tie set by hand.
    "e_flat_minor_pickup": (
        lambda: make_score(
            "E Flat Minor",
            bars_part(
                [
                    [n("B-3", 0.5), n("D4", 0.5)],
                    [n("E-4"), n("G-4"), n("B-4")],
                    [n("C-5"), n("A4"), tied("B-4", 1, "start")],
                    [tied("B-4", 1, "stop"), n("E--4", 0.5), n("F4", 0.5), n("E-4")],
                    [n("E-4", 2)],
                ],
                time="3/4",
                key_signature=key.Key("e-", "minor"),
            ),
        ),
        ["\\key ees \\minor", "\\time 3/4 \\partial 4 bes8 d'8 |", "ees'4 ges'4 bes'4 |"]
        + ["ces''4 a'4 bes'4~ |", "bes'4 eeses'8 f'8 ees'4 |", "ees'2\n"],
    ),
    # Compound meter, its tempo on the dotted quarter, in the bass clef.
    "six_eight_bass": (
        lambda: make_score(
            "Six Eight",
            make_part(
                [n("G2", 1.5), n("A2", 0.5), n("B2", 0.5), n("C3", 0.5)]
                + [n("D3", 0.5), n("C3", 0.5), n("B-1", 0.5), n("A2", 1.5), n("G2", 3)],
                time="6/8",
                staff_clef=clef.BassClef(),
                metronome=tempo.MetronomeMark(number=60, referent=duration.Duration(1.5)),
            ),
        ),
        ['\\clef "bass"', "\\time 6/8", "\\tempo 4. = 60", "g,4. a,8 b,8 c8 |"]
        + ["d8 c8 bes,,8 a,4. |", "g,2."],
    ),
    "triplets": (
        lambda: make_score(
            "Triplet Waltz",
            make_part(
                [n("C4", THIRD), n("D4", THIRD), n("E4", THIRD), n("F4")]
                + [n("G4", 2 * THIRD), n("A4", THIRD), r(THIRD), n("B4", THIRD), n("C5", THIRD)],
                time="2/4",
            ),
        ),
        ["\\time 2/4", "\\tuplet 3/2 { c'8 d'8 e'8 } f'4 |", "\\tuplet 3/2 { g'4 a'8 }"]
        + ["\\tuplet 3/2 { r8 b'8 c''8 }"],
    ),
    # A breath the performer took: a comma after the note.
    "breath": (
        lambda: make_score("Breath", make_part([n("C4"), n("D4"), breathed(n("E4")), n("F4")])),
        ["c'4 d'4 e'4 \\breathe f'4"],
    ),
    "grand_staff": (
        lambda: make_score(
            "Grand Staff",
            make_part([n("E5"), n("D5"), n("C5", 2), n("G4", 4)]),
            make_part([n("C3", 2), n("G2", 2), n("C2", 4)], staff_clef=clef.BassClef()),
        ),
        ["\\new PianoStaff <<", '\\clef "treble"', '\\clef "bass"', "e''4 d''4 c''2 |"]
        + ["c2 g,2 |", "c,1"],
    ),
}

# Title, composer and tempo text, every string that reaches the source, each
# trying two ways out of a LilyPond string. {tmp} is where a marker file would
# appear if Scheme ran.
HOSTILE_TEXTS = (
    'foo" }} #(system "touch {tmp}/pwned1") {{ " \\include "/etc/passwd"',
    'Line one\n\\markup {{ \\bold X }} $(system "touch {tmp}/pwned2")',
    ') show ( \\\\ \\ #(system "touch {tmp}/pwned3")',
)
NON_ASCII_TITLE = "Für Elise — 東京"


@pytest.fixture(scope="module")
def marker_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("markers")


@pytest.fixture(scope="module")
def renders(
    tmp_path_factory: pytest.TempPathFactory, marker_dir: Path
) -> dict[str, tuple[str, RenderedScore | BaseException]]:
    """Every compile of this file, run side by side: LilyPond takes seconds to start."""
    sources = {name: score_to_lilypond(build()) for name, (build, _) in CASES.items()}
    hostile = melody(*(text.format(tmp=marker_dir) for text in HOSTILE_TEXTS))
    sources["hostile"] = score_to_lilypond(hostile)
    sources["non_ascii"] = score_to_lilypond(melody(NON_ASCII_TITLE, "Ludwig van Beethoven"))
    sources["broken"] = '\\version "2.24.0" { c4 \\undefinedcommand }\n'
    root = tmp_path_factory.mktemp("renders")
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        futures = {
            name: pool.submit(render_lilypond, source, root / name, basename=name)
            for name, source in sources.items()
        }
        return {
            name: (sources[name], future.exception() or future.result())
            for name, future in futures.items()
        }


def compiled(renders: dict, name: str) -> tuple[str, RenderedScore]:
    source, result = renders[name]
    if isinstance(result, BaseException):
        raise result
    return source, result


def pdf_text(pdf: Path) -> str:
    return subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout


def squash(text: str) -> str:
    """Text without white space: pdftotext breaks wrapped titles into lines."""
    return "".join(text.split())


def assert_clean_render(rendered: RenderedScore, title: str, name: str) -> None:
    assert "warning" not in rendered.log.lower(), rendered.log
    assert "error" not in rendered.log.lower(), rendered.log
    assert squash(title) in squash(pdf_text(rendered.pdf))
    assert rendered.png.read_bytes().startswith(PNG_SIGNATURE)
    assert sorted(p.name for p in rendered.ly.parent.iterdir()) == sorted(
        [f"{name}.{ext}" for ext in ("ly", "pdf", "png")] + [p.name for p in rendered.pages])
    from PIL import Image

    with Image.open(rendered.pages[0]) as page, Image.open(rendered.png) as first:
        # page 1 without the blank paper below its music; score.png the whole page, as before
        assert page.width == first.width and page.height < first.height
    for path in (rendered.ly, rendered.pdf, rendered.png):
        assert stat.S_IMODE(path.stat().st_mode) == 0o644


# ---------------------------------------------------------------- compiled scores


@needs_tools
@pytest.mark.parametrize("name", CASES)
def test_score_compiles_cleanly(renders: dict, name: str) -> None:
    source, rendered = compiled(renders, name)
    for fragment in CASES[name][1]:
        assert fragment in source, f"{fragment!r} not in\n{source}"
    assert source.startswith('\\version "2.24.0"\n')
    assert "\\pointAndClickOff" in source
    assert '\\bar "|."' in source
    assert rendered.ly.read_text(encoding="utf-8") == source
    assert_clean_render(rendered, CASES[name][0]().metadata.title, name)


@needs_tools
def test_grand_staff_has_one_tempo(renders: dict) -> None:
    source, _ = compiled(renders, "grand_staff")
    assert source.count("\\new Staff") == 2
    assert source.count("\\tempo") == 1


@needs_tools
def test_pdf_has_no_file_paths(renders: dict) -> None:
    _, rendered = compiled(renders, "grand_staff")
    pdf = rendered.pdf.read_bytes()
    assert b"textedit" not in pdf
    assert str(rendered.ly.parent).encode() not in pdf


@needs_tools
def test_hostile_text_prints_literally(renders: dict, marker_dir: Path) -> None:
    source, rendered = compiled(renders, "hostile")
    title, composer, tempo_text = (text.format(tmp=marker_dir) for text in HOSTILE_TEXTS)
    assert_clean_render(rendered, title, "hostile")
    printed = pdf_text(rendered.pdf)
    assert squash(composer) in squash(printed)
    assert squash(tempo_text) in squash(printed)
    # The newline became a space, and \markup stayed text.
    assert '"Line one \\\\markup { \\\\bold X } ' in source
    assert "Line one \\markup { \\bold X } " in printed


@needs_tools
def test_hostile_text_runs_nothing(renders: dict, marker_dir: Path) -> None:
    compiled(renders, "hostile")
    assert list(marker_dir.iterdir()) == []


@needs_tools
@pytest.mark.skipif(not _has_cjk_font(), reason="no CJK font: needs fonts-wqy-microhei")
def test_non_ascii_title_prints(renders: dict) -> None:
    source, rendered = compiled(renders, "non_ascii")
    assert f"title = {lilypond_string(NON_ASCII_TITLE)}" in source
    assert_clean_render(rendered, NON_ASCII_TITLE, "non_ascii")
    assert NON_ASCII_TITLE in pdf_text(rendered.pdf)


@needs_tools
def test_broken_source_reports_lilypond_error(renders: dict) -> None:
    _, result = renders["broken"]
    assert isinstance(result, ProcessingError)
    message = str(result)
    assert "\n" not in message
    assert "error: unknown escaped string: `\\undefinedcommand'" in message
    assert message.startswith("lilypond failed: broken.ly:1:")


# ---------------------------------------------------------------- renderer failures


@needs_tools
def test_timeout_kills_lilypond(tmp_path: Path) -> None:
    source = score_to_lilypond(melody("Slow", "Nobody"))
    with pytest.raises(ProcessingError, match=r"^lilypond took longer than 0\.05 s$"):
        render_lilypond(source, tmp_path, timeout_s=0.05)
    assert [p.name for p in tmp_path.iterdir()] == ["score.ly"]


@needs_tools
def test_lilypond_started_early_compiles_the_source_given_later(tmp_path: Path) -> None:
    source = score_to_lilypond(melody("Early", "Nobody"))
    with lilypond_started("early") as waiting:
        rendered = render_lilypond(source, tmp_path, started=waiting)
        with pytest.raises(RuntimeError, match="one source"):
            waiting.compile(source.encode(), 10.0)
    assert rendered.pdf == tmp_path / "early.pdf" and rendered.log == ""
    assert rendered.pdf.read_bytes().startswith(b"%PDF")


@needs_tools
def test_lilypond_started_but_not_used_is_killed_with_its_directory() -> None:
    before = lilypond_processes()
    with pytest.raises(KeyError), lilypond_started() as waiting:
        work = waiting.work
        assert started_lilypond(before)  # running while the caller works
        raise KeyError("the notation failed")
    assert not lilypond_processes() - before and not work.exists()
    with lilypond_started() as waiting:
        work = waiting.work
    assert not lilypond_processes() - before and not work.exists()


def test_missing_tools_name_the_debian_package(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(lilypond, "LILYPOND", "audioscore-test-no-such-lilypond")
    with pytest.raises(ProcessingError, match="Debian package lilypond"):
        render_lilypond("{ c4 }", tmp_path)
    # Said when it is used, after the notation's own errors.
    with lilypond_started() as waiting, pytest.raises(ProcessingError, match="Debian package lilypond"):
        waiting.compile(b"{ c4 }", 10.0)


@pytest.mark.parametrize(
    "basename", ["", "../x", "a/b", "-o", ".hidden", "x.pdf", "x y", "x" * 101]
)
def test_unsafe_basename_is_refused(tmp_path: Path, basename: str) -> None:
    with pytest.raises(InputError, match="basename"):
        render_lilypond("{ c4 }", tmp_path, basename=basename)
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------- emitter


def test_pitches_use_absolute_octaves() -> None:
    part = make_part([n("C4"), n("B3"), n("C#6"), n("A0"), n("B#3"), n("C-4")])
    source = score_to_lilypond(make_score("Octaves", part))
    assert "c'4 b4 cis'''4 a,,,4 |" in source
    assert "bis4 ces'4" in source


def test_lengths_music21_calls_complex_are_tied() -> None:
    # 2.5 beats inside a bar is one music21 note but two LilyPond ones.
    part = make_part([n("C4", 2.5), n("D4", 1.5), r(2.5), r(1.5)])
    source = score_to_lilypond(make_score("Complex", part))
    assert "c'2~ c'8 d'4. |" in source
    assert "r2 r8 r4." in source


def test_short_measures_without_padding_are_filled_with_rests() -> None:
    # Not a pickup: the melody pauses. Only paddingLeft makes a pickup.
    part = make_part([(0.0, n("C4")), (4.0, n("D4")), (8.0, n("E4", 4))])
    source = score_to_lilypond(make_score("Gap", part))
    assert "\\partial" not in source
    assert "c'4 r2. |" in source
    assert "d'4 r2. |" in source


def test_long_title_wraps_into_centred_lines() -> None:
    title = "A rather long title " * 5
    source = score_to_lilypond(make_score(title, make_part([n("C4", 4)])))
    line = next(x for x in source.splitlines() if "title =" in x)
    assert line.startswith("  title = \\markup \\center-column {")
    lines = line.split('"')[1::2]
    assert len(lines) > 1
    assert all(len(x) <= lilypond.TITLE_LINE_CHARS for x in lines)
    assert " ".join(lines) == title.strip()


def test_score_without_metadata_has_no_title() -> None:
    score = stream.Score()
    score.insert(0, make_part([n("C4", 4)]))
    source = score_to_lilypond(score)
    assert "title" not in source
    assert "tagline = ##f" in source


@pytest.mark.parametrize(
    ("elements", "message"),
    [
        ([note.Unpitched(quarterLength=1)], "Unpitched"),  # chords are notated since issue 15
        ([n("C~4")], "microtonal"),
    ],
)
def test_unsupported_content_is_refused(elements: list, message: str) -> None:
    with pytest.raises(ProcessingError, match=message):
        score_to_lilypond(make_score("Bad", make_part(elements)))


def test_three_parts_are_refused() -> None:
    parts = [make_part([n("C4", 4)]) for _ in range(3)]
    with pytest.raises(ProcessingError, match="3 parts"):
        score_to_lilypond(make_score("Trio", *parts))


# ---------------------------------------------------------------- lilypond_string


def unquote(literal: str) -> str:
    """Reads a LilyPond string literal, failing on anything but \\\\ and \\" escapes."""
    assert literal[0] == literal[-1] == '"'
    out, chars = [], iter(literal[1:-1])
    for c in chars:
        if c == "\\":
            escaped = next(chars)
            assert escaped in '\\"', f"unexpected escape \\{escaped}"
            out.append(escaped)
        else:
            assert c != '"', f"unescaped quote in {literal}"
            out.append(c)
    return "".join(out)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Für Elise — 東京", "Für Elise — 東京"),
        ('say "hi"', 'say "hi"'),
        ("back\\slash \\markup", "back\\slash \\markup"),
        ('#(system "x") $(y)', '#(system "x") $(y)'),
        ("line\nbreak\r\nand\ttab", "line break and tab"),
        ("nul\x00bell\x07del\x7fc1\x85", "nul bell del c1"),
        ("sep\u2028para\u2029end", "sep para end"),
        ("lone \udcff surrogate", "lone surrogate"),
        ("  padded  ", "padded"),
        ("", ""),
    ],
)
def test_lilypond_string_is_plain_text(text: str, expected: str) -> None:
    literal = lilypond_string(text)
    assert unquote(literal) == expected
    assert "\n" not in literal
    literal.encode("utf-8")


def test_lilypond_string_caps_length_before_escaping() -> None:
    assert unquote(lilypond_string("x" * lilypond.MAX_STRING_CHARS)) == "x" * 200
    capped = unquote(lilypond_string("\\" * 1000))
    assert len(capped) == lilypond.MAX_STRING_CHARS
    assert capped == "\\" * (lilypond.MAX_STRING_CHARS - 1) + "…"


def test_every_page_is_a_png_and_old_pages_go(tmp_path: Path) -> None:
    source = '\\version "2.24.0"\n{ \\repeat unfold 600 { c\'8 d\'8 } }\n'  # trusted source: several pages
    out = tmp_path / "out"
    out.mkdir()
    (out / "score-9.png").write_bytes(b"from an earlier, longer score")
    rendered = render_lilypond(source, out)
    names = [p.name for p in rendered.pages]
    assert len(names) >= 2 and names == [f"score-{i}.png" for i in range(1, len(names) + 1)]
    assert not (out / "score-9.png").exists()
    assert all(p.read_bytes().startswith(PNG_SIGNATURE) for p in rendered.pages)
    assert rendered.png.read_bytes() != rendered.pages[-1].read_bytes()  # score.png is page 1, as before
