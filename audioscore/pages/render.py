"""HTML for a `Page`, through Jinja2 with autoescaping, and the Content-Security-Policy it needs.

Jinja2 rather than hand-written ``html.escape`` calls: with ``autoescape=True`` every value
is escaped unless marked safe, so a missed call cannot become an injection; only our own
stylesheet and script are marked safe (and allowed by their hashes in the policy).
"""

from __future__ import annotations

import base64
import functools
import hashlib
import urllib.parse
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from audioscore.pages.model import MAX_TABLE_NOTES, Page, safe_href
from audioscore.pages.pianoroll import piano_roll

__all__ = ["Forms", "Rendered", "UploadForm", "render_page"]

_TEMPLATES = Path(__file__).parent / "templates"


@dataclass(frozen=True)
class UploadForm:
    """A presigned POST to the audio bucket: where to post, and the policy's form fields (in order)."""

    url: str
    fields: Sequence[tuple[str, str]]
    max_mb: int
    expires: str

    def __post_init__(self) -> None:
        safe_href(self.url)


@dataclass(frozen=True)
class Forms:
    """The submission forms of the cluster's start page. Both ask what the user knows of the
    music, each field optional: ``instruments`` for the mode (an instrument hint), and the
    ``time_signatures`` a score may be given, beside a key and a tempo."""

    fetch_action: str
    token_required: bool
    upload: UploadForm | None
    instruments: Sequence[str] = ()
    time_signatures: Sequence[str] = ()


@dataclass(frozen=True)
class Rendered:
    """A page's HTML and the policy to send with it (for a file, it is in a ``<meta>`` tag too)."""

    html: str
    csp: str


@functools.cache
def _environment() -> Any:  # jinja2 imported lazily: the CLI's --help stays light
    import jinja2

    return jinja2.Environment(loader=jinja2.FileSystemLoader(_TEMPLATES), autoescape=True,
                              undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                              bytecode_cache=_bytecode_cache())


def _bytecode_cache() -> Any:
    """Jinja's compiled-template cache in a private temporary folder: compiling the page costs each
    CLI run ~80 ms, loading it ~2 ms. Entries are keyed by the template's source and written by
    atomic rename, so concurrent runs and changed templates are safe. None (compile every time)
    where no such folder can be made (a read-only file system)."""
    import jinja2

    try:
        return jinja2.FileSystemBytecodeCache()
    except (OSError, RuntimeError):
        return None


@functools.cache
def _asset(name: str) -> str:
    return (_TEMPLATES / name).read_text(encoding="utf-8")


def _sha256(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode() + "'"


def _origins(urls: Iterable[str | None]) -> list[str]:
    """The http(s) origins of absolute URLs, in first-seen order; ``'self'`` for relative ones."""
    found: list[str] = []
    for url in urls:
        if not url:
            continue
        parts = urllib.parse.urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}" if parts.scheme else "'self'"
        if origin not in found:
            found.append(origin)
    return found


def _policy(page: Page, forms: Forms | None, style: str, script: str | None, file_page: bool) -> str:
    """``default-src 'none'`` and exactly the sources this page uses."""
    images = _origins([page.features_plot, *page.score_pages]) or ["'none'"]
    media = _origins([page.audio]) or ["'none'"]
    directives = [
        "default-src 'none'",
        f"img-src {' '.join(images)}",
        f"media-src {' '.join(media)}",
        f"style-src {_sha256(style)}",
        f"script-src {_sha256(script)}" if script else "script-src 'none'",
        "base-uri 'none'",
    ]
    if forms is not None:
        actions = _origins([forms.fetch_action, forms.upload.url if forms.upload else None])
        directives.append(f"form-action {' '.join(actions)}")
    else:
        directives.append("form-action 'none'")
    if not file_page:  # not allowed in a <meta> policy
        directives.append("frame-ancestors 'none'")
    return "; ".join(directives)


def render_page(page: Page, *, forms: Forms | None = None, file_page: bool = False, generated: str = "") -> Rendered:
    """The page as HTML and its Content-Security-Policy.

    Args:
        page: what to show (every string escaped by the template).
        forms: the submission forms (the cluster's start page); adds the upload script.
        file_page: a page opened from the file system: the policy goes into a ``<meta>`` tag.
        generated: a line for the footer (when and by what the page was made).
    """
    from markupsafe import Markup

    style = _asset("page.css")
    script = _asset("upload.js") if forms is not None and forms.upload is not None else None
    csp = _policy(page, forms, style, script, file_page)
    table = page.notes[:MAX_TABLE_NOTES]
    html = _environment().get_template("page.html.j2").render(
        page=page, forms=forms, generated=generated, csp_meta=csp if file_page else "",
        css=Markup(style), script=Markup(script) if script else None, roll=piano_roll(page.notes),
        table_notes=table, has_measures=any(n.measure is not None for n in table))
    return Rendered(html=html, csp=csp)
