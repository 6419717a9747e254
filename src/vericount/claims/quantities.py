"""Quantities in English text: which numbers count something (not dates, times, ages, ordinals, money or
percentages), their words ("1,348", "two hundred", "a dozen"), how they are qualified ("more than 130",
"up to 40", "about 200") and the value, low and high bounds they give; vague words ("hundreds") as ranges."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from spacy.tokens import Token


WORDS = {"zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
         "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
         "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20, "thirty": 30,
         "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90, "dozen": 12}
SCALES = {"hundred": 100, "thousand": 1_000, "million": 1_000_000, "billion": 1_000_000_000}
VAGUE = {"dozens": (24, 99), "scores": (40, 99), "hundreds": (200, 999), "thousands": (2_000, 9_999),
         "tens": (20, 99), "several": (3, 9), "few": (2, 5), "millions": (2_000_000, 9_999_999)}
QUALIFIERS = [  # (words before the number, qualifier)
    (("at", "least"), "at_least"), (("no", "fewer", "than"), "at_least"), (("more", "than"), "more_than"),
    (("over",), "more_than"), (("upwards", "of"), "more_than"), (("at", "most"), "at_most"),
    (("up", "to"), "up_to"), (("as", "many", "as"), "up_to"), (("fewer", "than"), "less_than"),
    (("less", "than"), "less_than"),
    (("under",), "less_than"), (("about",), "about"), (("around",), "about"), (("roughly",), "about"),
    (("approximately",), "about"), (("nearly",), "about"), (("almost",), "about"), (("some",), "about"),
    (("an", "estimated"), "about"), (("exactly",), "exactly"), (("precisely",), "exactly")]


def is_quantity(token: Token) -> bool:
    if token.ent_type_ in ("DATE", "TIME", "ORDINAL", "PERCENT", "MONEY"):
        return False
    if _an_age(token) or _a_clock_time(token):
        return False
    if token.lower_ == "few":  # "a few" is vague; "few" alone says there are not many
        return token.i > token.sent.start and token.nbor(-1).lower_ == "a"
    if token.lower_ in VAGUE:
        return True
    if token.lower_ == "one":  # "one" is mostly a pronoun ("the one who"); a count before a noun, or of
        return token.dep_ == "nummod" or any(  # a group ("one of the victims")
            c.dep_ == "prep" and c.lower_ == "of" and any(g.dep_ == "pobj" for g in c.children)
            for c in token.children)
    return bool(token.like_num)


def _an_age(token: Token) -> bool:
    """A number of a list of ages: "aged nine, ten, thirteen" (the first is "aged"'s; the rest hang on it as
    conjuncts or appositions)."""
    seen = 0
    while seen < 12:
        seen += 1
        if token.i > token.sent.start and token.nbor(-1).lower_ in ("aged", "ages", "age"):
            return True
        if token.head.lower_ == "aged" and token.dep_ in ("npadvmod", "dobj", "attr", "oprd"):
            return True
        if token.dep_ not in ("conj", "appos") or token.head == token:
            return False
        token = token.head
    return False


def _a_clock_time(token: Token) -> bool:
    """A 24-hour clock time: "(2024 Friday, UTC)", "at 1530 local time"."""
    if not re.fullmatch(r"[0-2]\d[0-5]\d", token.text) or token.i + 1 >= token.sent.end:
        return False
    after = " ".join(t.lower_ for t in token.doc[token.i + 1 : min(token.sent.end, token.i + 4)])
    return bool(re.search(r"\b(?:utc|gmt|local|hours|hrs|monday|tuesday|wednesday|thursday|friday|saturday|"
                          r"sunday)\b", after))


def number_run(token: Token) -> list[Token]:
    """The number's words: "1,348", "two hundred", "a dozen"."""
    run = [token]
    nxt = token.i + 1
    doc = token.doc
    while nxt < token.sent.end and (doc[nxt].lower_ in SCALES or doc[nxt].lower_ in WORDS) \
            and doc[nxt].ent_type_ == token.ent_type_:
        run.append(doc[nxt])
        nxt += 1
    return run


def qualifier_of(run: list[Token]) -> tuple[str, list[Token]]:
    doc = run[0].doc
    for words, name in QUALIFIERS:
        start = run[0].i - len(words)
        if start >= run[0].sent.start and tuple(t.lower_ for t in doc[start:run[0].i]) == words:
            return name, list(doc[start:run[0].i])
    return "exactly" if run[0].like_num else "vague", []


def value_of(run: list[Token], qualifier: str) -> tuple[float | None, float | None, float | None, str | None]:
    word = run[0].lower_
    if word in VAGUE:
        low, high = VAGUE[word]
        return None, float(low), float(high), word
    number = _number(run)
    if number is None:
        return None, None, None, None
    if qualifier in ("at_least", "more_than"):
        return number, number, None, None
    if qualifier in ("at_most", "up_to", "less_than"):
        return number, None, number, None
    return number, number, number, None


def _number(run: list[Token]) -> float | None:
    total = 0.0
    current = 0.0
    for t in run:
        text = t.lower_.replace(",", "")
        if re.fullmatch(r"\d+(?:\.\d+)?", text):
            current += float(text)
        elif text in WORDS:
            current += WORDS[text]
        elif text in SCALES:
            current = max(current, 1.0) * SCALES[text]
            if SCALES[text] >= 1000:
                total, current = total + current, 0.0
        else:
            return None
    return total + current
