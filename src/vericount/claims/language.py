"""Which language a text is in, among those the claims extractors read: English, Russian or Ukrainian.

A text is English unless most of its letters are Cyrillic. Cyrillic text is Ukrainian when it has the
letters Russian lacks (і, ї, є, ґ) or Ukrainian's frequent short words, Russian when it has the letters
Ukrainian lacks (ы, э, ъ, ё) or Russian's frequent short words; the larger tally wins, Russian on a tie.
"""

from __future__ import annotations

import re
from typing import Literal

UKRAINIAN_LETTERS = set("іїєґІЇЄҐ")
RUSSIAN_LETTERS = set("ыэъёЫЭЪЁ")
UKRAINIAN_WORDS = {"що", "це", "та", "який", "яка", "які", "від", "він", "вона", "про", "як", "щонайменше",
                   "понад", "також", "але", "або", "повідомив", "повідомили"}
RUSSIAN_WORDS = {"что", "это", "как", "который", "которые", "он", "она", "от", "также", "но", "или",
                 "сообщил", "сообщили", "более", "около"}


def language_of(text: str) -> Literal["en", "ru", "uk"]:
    letters = [c for c in text if c.isalpha()]
    cyrillic = sum("\u0400" <= c <= "\u04ff" for c in letters)
    if not letters or cyrillic * 2 < len(letters):
        return "en"
    words = re.findall(r"\w+", text.lower())
    ukrainian = sum(c in UKRAINIAN_LETTERS for c in text) + sum(w in UKRAINIAN_WORDS for w in words)
    russian = sum(c in RUSSIAN_LETTERS for c in text) + sum(w in RUSSIAN_WORDS for w in words)
    return "uk" if ukrainian > russian else "ru"
