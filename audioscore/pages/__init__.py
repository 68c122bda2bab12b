"""Results pages: the score, the pitch track, the audio and the notes of one recording in a browser.

One page, two sources: an output folder of the CLI (`folder.write_index`) and a record of the
cluster (`audioscore.pipeline.web`). Both fill a `model.Page` and `render.render_page` turns it
into self-contained HTML (inline CSS, no scripts but a hashed one for uploads, no network
fonts) with the Content-Security-Policy that fits it.
"""

from audioscore.pages.model import Link, Page, Stage, safe_href
from audioscore.pages.render import Rendered, render_page

__all__ = ["Link", "Page", "Rendered", "Stage", "render_page", "safe_href"]
