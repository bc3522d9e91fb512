"""File and folder names as the file system gives them: lossless keys, readable text, safe ids.

Linux names are bytes. Python decodes them as UTF-8 with surrogate escapes, so a byte that
is not UTF-8 (0xff from a camera or an SMB share with another code page) becomes a lone
surrogate (U+DCFF). That string is a faithful key (`os.fsencode` returns the bytes) but no
UTF-8 writer accepts it: not SQLite, not a log file, not HA's JSON. Keys keep the escapes;
whatever is shown goes through `readable`, and a camera id through `camera_id`.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import PurePath


def is_utf8(text: str) -> bool:
    """Return True when the name was valid UTF-8 on disk (it has no surrogate escapes)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def raw_name(text: str | PurePath) -> bytes:
    """Return the bytes on disk of a decoded name or path."""
    return os.fsencode(text)


def readable(text: str | PurePath) -> str:
    """Return a name or path fit to show and log: undecodable bytes become U+FFFD."""
    text = str(text)
    if is_utf8(text):
        return text
    try:
        return raw_name(text).decode("utf-8", "replace")
    except UnicodeEncodeError:  # a surrogate no file system name decodes to
        return text.encode("utf-8", "replace").decode("utf-8")


def camera_id(folder: str) -> str:
    """Return the camera id of a camera folder name; stable across restarts.

    A valid UTF-8 name is its own id. Otherwise each undecodable run of bytes becomes `_`
    and `_` plus 8 hex digits of the raw name's SHA-256 follow, so two such folders, and
    a sibling whose name is the `_` form, keep different ids.
    """
    if is_utf8(folder):
        return folder
    raw = raw_name(folder)
    safe = raw.decode("utf-8", "replace").replace("\ufffd", "_")
    return f"{safe}_{hashlib.sha256(raw).hexdigest()[:8]}"
