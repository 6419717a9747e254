"""Attribution in English news text: who says what, as character spans of the source, the cue and the
content ("Officials told the Financial Times that ...", "according to X", "X: \u201c...\u201d", "reportedly"),
measured on PolNeAR (bench/claims.py). The claims take their speakers from it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from vericount.claims.parse import docs

if TYPE_CHECKING:
    from spacy.tokens import Doc, Token


REPORTING = {"say", "tell", "report", "claim", "state", "announce", "add", "estimate", "confirm", "write",
             "note", "show", "find", "reveal", "suggest", "indicate", "assert", "insist", "allege",
             "acknowledge", "admit", "deny", "explain", "warn", "believe", "think", "argue", "declare",
             "testify"}


@dataclass
class Attribution:
    """Who says what: character spans (start, end) of the source, the cue and the content."""

    source: tuple[int, int] | None
    cue: tuple[int, int]
    content: tuple[int, int] | None
    quoted: bool = False  # the content is (or holds) a quotation


# Verbs that introduce what someone says, thinks or does in words. Any verb with a subject becomes a cue
# when a quotation sits next to it or it takes a that-clause; these do without either.
ATTRIBUTION_CUES = REPORTING | {
    "learn", "ask", "predict", "promise", "accuse", "describe", "call", "hope", "fear", "want", "expect",
    "agree", "recall", "respond", "reply", "tweet", "cite", "support", "mention", "demand", "criticize",
    "blast", "pledge", "vow", "offer", "discuss", "stress", "plan", "know", "worry", "decline", "charge",
    "defend", "question", "point", "urge", "praise", "blame", "continue", "conclude", "endorse", "back",
    "express", "prefer", "thank", "joke", "mock", "dismiss", "propose", "repeat", "observe", "answer",
    "shout", "chant", "slam", "project", "realize", "consider", "refuse", "complain", "emphasize",
    "recommend", "concede", "contend", "maintain", "boast", "brag", "quip", "lament",
    "attack", "condemn", "applaud", "welcome", "oppose", "reject", "refer", "speak", "talk", "list",
    "highlight", "remind", "accept", "wonder", "forecast", "outline", "share", "read", "caution", "signal",
    "hint", "imply", "vote", "pitch", "threaten"}
SOURCE_NOUNS = {"poll", "survey", "study", "report", "interview", "statement", "analysis", "letter", "memo",
                "filing", "speech", "tweet", "post", "op-ed", "column", "article", "document", "records"}
REPORTED_ADVERBS = {"reportedly", "allegedly", "purportedly", "apparently", "supposedly"}
QUOTE = re.compile(r"[\"\u201c]([^\"\u201c\u201d]{3,})[\"\u201d]")
OPENING = ('"', "\u201c")
CLOSING = ('"', "\u201d")
# "Carl Bialik: \u201c...": a name, a colon, a quotation
COLON_CUE = re.compile(r"^\s*([A-Z][^:\n\u201c\"]{1,60}?)\s*(:)\s*[\"\u201c]")


Spans = tuple[tuple[int, int] | None, tuple[int, int], tuple[int, int] | None]


def attributions(text: str) -> list[Attribution]:
    """Every attribution the rules find (a reporting verb with its subject and its clause, "according to
    X", "reportedly", a name and a colon before a quotation), for evaluation against annotated corpora
    (bench/claims.py). A quotation runs on through the paragraph and the next paragraphs that open with
    a quotation mark and attribute nothing of their own."""
    out: list[Attribution] = []
    running: Attribution | None = None  # the one speaker of the last paragraph's quotations
    for offset, doc in docs(text):
        found = [Attribution(_shift(a.source, offset), (a.cue[0] + offset, a.cue[1] + offset),
                             _shift(a.content, offset), a.quoted) for a in paragraph_attributions(doc)]
        regions = _quote_regions(doc.text)
        if not found and running is not None and running.content and opens_with_quote(doc.text) and regions:
            running.content = (running.content[0], offset + regions[-1][1])
            continue
        running = found[0] if len(found) == 1 and found[0].quoted else None
        out.extend(found)
    return out


def opens_with_quote(para: str) -> bool:
    return para.lstrip().startswith(OPENING)


def paragraph_attributions(doc: Doc) -> list[Attribution]:
    """A paragraph's attributions (offsets in the paragraph); a content inside a quotation widened to the
    whole quotation, and to all of the paragraph's quotations when it has one speaker."""
    found = []
    for token in doc:
        spans = _attribution(token)
        if spans is not None:
            found.append(Attribution(*spans))
    colon = COLON_CUE.match(doc.text)
    if colon and not any(a.cue[0] < colon.end() for a in found):
        found.append(Attribution(colon.span(1), colon.span(2), (colon.end(2), len(doc.text.rstrip()))))
    regions = _quote_regions(doc.text)
    for a in found:
        inside = [r for r in regions if a.content and r[0] < a.content[1] and a.content[0] < r[1]]
        if not inside or a.content is None:
            continue
        start, end = min(r[0] for r in inside), max(r[1] for r in inside)
        if len(found) == 1:
            start, end = min(start, regions[0][0]), max(end, regions[-1][1])
        a.content, a.quoted = (min(start, a.content[0]), max(end, a.content[1])), True
    return found


def _quote_regions(para: str) -> list[tuple[int, int]]:
    """The quotations of a paragraph (start, end), marks included; one left open runs to its end."""
    regions = [(m.start(), m.end()) for m in QUOTE.finditer(para)]
    if para.count("\u201c") > para.count("\u201d") or para.count('"') % 2:
        opened = max(para.rfind("\u201c"), para.rfind('"'))
        if not regions or opened >= regions[-1][1]:
            regions.append((opened, len(para.rstrip())))
    return regions


def _shift(span: tuple[int, int] | None, offset: int) -> tuple[int, int] | None:
    return None if span is None else (span[0] + offset, span[1] + offset)


def chars(tokens: list[Token]) -> tuple[int, int] | None:
    tokens = [t for t in tokens if not t.is_punct or t.text in ("\u201d", '"')]
    if not tokens:
        return None
    return tokens[0].idx, tokens[-1].idx + len(tokens[-1].text)


def _quote_mark(token: Token, opening: bool) -> bool:
    """Whether the token opens (or closes) a quotation; a straight mark closes when an odd number of
    straight marks come before it in the paragraph."""
    if token.text in ("\u201c", "\u201d"):
        return (token.text == "\u201c") == opening
    if token.text != '"':
        return False
    before = sum(t.text == '"' for t in token.doc[:token.i])
    return (before % 2 == 0) == opening


def _next_to_quote(token: Token, subjects: list[Token]) -> bool:
    """A quotation closes just before the verb or its subject, or opens just after the verb."""
    doc = token.doc
    first = min([token.i, *(s.left_edge.i for s in subjects)])
    return (any(_quote_mark(t, opening=False) for t in doc[max(0, first - 2):first])
            or any(_quote_mark(t, opening=True) for t in doc[token.i + 1:token.i + 3]))


def _phrase_attribution(token: Token) -> Spans | None:
    """"according to X", "In a CBS News poll, ...", "reportedly"."""
    if token.lower_ == "according" and token.i + 1 < len(token.doc) and token.nbor(1).lower_ == "to":
        objects = [g for g in token.nbor(1).children if g.dep_ == "pobj"]
        head = token.head if token.head != token else token
        own = {t.i for t in token.subtree} | {t.i for o in objects for t in o.subtree} | {token.i + 1}
        rest = [t for t in head.subtree if t.i not in own] if head != token else []
        source = chars(list(objects[0].subtree)) if objects else None
        return source, (token.idx, token.nbor(1).idx + 2), chars(rest)
    if token.lower_ == "in" and token.dep_ == "prep" and token.head.i > token.i and \
            token.head.pos_ in ("VERB", "AUX"):
        objects = [g for g in token.children if g.dep_ == "pobj" and g.lemma_.lower() in SOURCE_NOUNS]
        if objects:  # "In a CBS News poll, she led Mr. Sanders 56 percent to 32 percent"
            own = {t.i for t in token.subtree}
            rest = [t for t in token.head.subtree if t.i not in own]
            return (chars(list(objects[0].subtree)), (token.idx, token.idx + len(token.text)), chars(rest))
    if token.lower_ in REPORTED_ADVERBS and token.head != token:
        rest = [t for t in token.head.subtree if t.i != token.i]
        return None, (token.idx, token.idx + len(token.text)), chars(rest)
    return None


def _attribution(token: Token) -> Spans | None:
    phrase = _phrase_attribution(token)
    if phrase is not None or token.pos_ != "VERB":
        return phrase
    subjects = [c for c in token.children if c.dep_ in ("nsubj", "nsubjpass")]
    clauses = [c for c in token.children if c.dep_ in ("ccomp", "xcomp")]
    known = token.lemma_.lower() in ATTRIBUTION_CUES
    if not known:
        that_clause = any(c.dep_ == "ccomp" and any(m.dep_ == "mark" and m.lower_ == "that"
                                                    for m in c.children) for c in clauses)
        if not subjects or token.lemma_.lower() in ("be", "have", "do", "make", "get") or not (
                that_clause or _next_to_quote(token, subjects)):
            return None
    if clauses:
        content = chars(list(clauses[0].subtree))
    elif token.dep_ in ("parataxis", "ccomp", "advcl") and token.head.i < token.i:
        own = {t.i for t in token.subtree}
        content = chars([t for t in token.head.subtree if t.i not in own])
    else:  # "... ," he said: the quotation of the paragraph nearest the verb
        quotes = [(m.start(1), m.end(1)) for m in QUOTE.finditer(token.doc.text)]
        objects = [c for c in token.children if c.dep_ in ("dobj", "prep", "dative", "attr", "oprd")
                   and c.i > token.i]
        if quotes and subjects:
            content = min(quotes, key=lambda q: min(abs(q[0] - token.idx), abs(q[1] - token.idx)))
        elif objects and subjects and known:  # "announced four votes for Trump"
            content = chars([t for o in objects for t in o.subtree])
        else:
            return None
    aux = [c for c in token.children if c.dep_ in ("aux", "neg") and c.i < token.i]
    cue_start = min([token.idx, *(a.idx for a in aux)])
    source = chars(list(subjects[0].subtree)) if subjects else None
    return source, (cue_start, token.idx + len(token.text)), content
