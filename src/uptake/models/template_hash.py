"""The one sha256 of a chat template, so that the store, the scan report and an audit's reproduce record
name the same template by the same hash."""

from __future__ import annotations

import hashlib


def chat_template_sha256(template: str) -> str:
    """sha256 of the template's UTF-8 bytes, as the model file holds them.

    GGUF readers keep bytes that are not UTF-8 as lone surrogates (surrogateescape), which turns them back
    into the file's own bytes. Other lone surrogates (a JSON `\\ud800` escape) have no byte form, so they are
    encoded as surrogatepass does: the hash stays defined for any text a hostile file can produce.
    """
    try:
        data = template.encode("utf-8", errors="surrogateescape")
    except UnicodeEncodeError:
        data = template.encode("utf-8", errors="surrogatepass")
    return hashlib.sha256(data).hexdigest()
