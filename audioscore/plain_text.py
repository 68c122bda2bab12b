r"""Text from outside (titles, file names, error messages) made fit for every file it reaches.

UTF-8, XML 1.0 (MusicXML), LilyPond strings, FLAC tags and a command's arguments all refuse
some characters a Python str holds: control characters, half a surrogate pair (JSON's
``"\ud800"``, HTML's ``&#xD800;``, a file name that is not UTF-8) and U+FFFE, U+FFFF.
"""

from __future__ import annotations

import re

__all__ = ["UNWRITABLE", "one_line"]

UNWRITABLE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]+")


def one_line(text: str) -> str:
    """``text`` on one line: each run of what the files cannot hold, and of white space, one space."""
    return " ".join(UNWRITABLE.sub(" ", text).split())
