"""Quantitative claims in English news text: the number, what it counts, who says so, through whom, with
which hedges: rules over spaCy's parse (parse.py), with the quantities read by quantities.py and the
attributions found by attribution.py.

For each number that is not part of a date or time (numerals, number words, vague quantities such as
"hundreds"):
- value, low, high and qualifier ("more than 130": low 130, qualifier more_than);
- subject: the noun phrase it counts ("Russian soldiers", "square miles of Russian territory", "photos and
  videos"), or, for "the number of X was ...", X; and a normalised key so that "Russian soldiers captured"
  and "captured Russian troops" meet;
- event: the verb that governs the noun phrase ("captured", "holding", "reviewed");
- scope: the time phrase on that verb or its reporting verbs ("in one day", "since August 6th", "before the
  Kursk invasion", "since the start of the year");
- speaker: the subject of the outermost reporting verb ("said", "told", "according to"; the one behind an
  estimate or report, the name in an apposition), else the subject of a counting verb ("the Post reviewed
  130 videos"); pronouns and "the outlet" resolved to the last speaker or organisation named before. Where
  nobody in the text asserts the figure it is the outlet's own voice: no speaker (the actor of the event is
  not its speaker: "Ukraine captured 102 soldiers", in the outlet's words, is the outlet's claim);
- via: outlets it passed through inside the text ("X told the Financial Times" -> the Financial Times);
- hedges: verification and hedging language in the sentence ("appeared to", "could not independently
  verify", "verified", "suggest").
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from vericount.claims.attribution import REPORTING, Attribution, opens_with_quote, paragraph_attributions
from vericount.claims.parse import docs
from vericount.claims.quantities import VAGUE, is_quantity, number_run, qualifier_of, value_of

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from spacy.tokens import Span, Token


COUNTING = {"review", "count", "verify", "document", "record", "identify", "tally", "analyze",  # whose
            "analyse", "examine", "register", "list", "catalogue", "catalog", "geolocate"}  # subject counted
SPOKEN_THROUGH = {"estimate", "report", "data", "figure", "statistic", "count", "tally", "announcement",
                "statement", "record", "account"}  # what someone says or counts: "by" or "from" whom?
EVIDENCE_SUBJECTS = {"visual", "footage", "video", "image", "photo", "data", "analysis", "record", "figure"}
TIME_PREPS = {"in", "since", "before", "after", "during", "between", "until", "by", "within", "over", "from",
              "throughout", "as"}
TIME_WORDS = {"day", "week", "month", "year", "hour", "invasion", "incursion", "war", "start", "beginning",
              "launch", "offensive", "attack", "period", "weekend", "morning", "night", "summer", "winter"}
PRONOUNS = {"it", "he", "she", "they", "we", "i"}
OUTLET_NOUNS = {"outlet", "publication", "paper", "newspaper", "broadcaster", "agency", "network", "site"}
SYNONYMS = {"troop": "soldier", "serviceman": "soldier", "servicemen": "soldier", "fighter": "soldier",
            "pow": "prisoner", "captive": "prisoner", "men": "man", "people": "person", "mile": "mile",
            "video": "video", "clip": "video", "photograph": "photo", "picture": "photo", "image": "photo"}
HEDGES = [r"could not (?:be )?independently (?:verify|verified|confirm)", r"could not (?:verify|confirm)",
          r"has not (?:been )?(?:independently )?(?:verified|confirmed)", r"unverified", r"unconfirmed",
          r"\bverified\b", r"\bconfirmed\b", r"\bappear(?:s|ed|ing)? to\b", r"\bsuggest(?:s|ed)?\b",
          r"\breportedly\b", r"\ballegedly\b", r"\bapparent(?:ly)?\b", r"\blikely\b", r"\bestimated?\b",
          r"\bclaim(?:s|ed)?\b", r"\baccording to\b", r"\bseem(?:s|ed)? to\b"]
HEDGE_RE = re.compile("|".join(f"(?:{h})" for h in HEDGES), re.IGNORECASE)
REPORT_HEDGE_RE = re.compile(HEDGES[0] + "|" + HEDGES[1] + "|" + HEDGES[2], re.IGNORECASE)
MEDIA_WORDS = re.compile(r"\b(?:footage|videos?|photos?|visuals|images|clips?|pictures)\b", re.IGNORECASE)


@dataclass
class Claim:
    value: float | None
    low: float | None
    high: float | None
    qualifier: str
    vague: str | None
    subject: str
    subject_key: str
    event: str | None
    scope: str | None
    speaker: str | None
    via: list[str]
    hedges: list[str]
    sentence: str
    start: int  # character offsets of the sentence in the text
    end: int
    quantity: str  # the words of the quantity, qualifier included

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class Extraction:
    claims: list[Claim] = field(default_factory=list)
    report_hedges: list[str] = field(default_factory=list)  # verification statements without a number
    sentences: int = 0


def extract(text: str) -> Extraction:
    out = Extraction()
    context: list[tuple[str, str]] = []  # (label, text) of speakers and named organisations, in order
    running: str | None = None  # the speaker of a quotation that runs on into the next paragraph
    for offset, doc in docs(text):
        said = paragraph_attributions(doc)
        carried = running if not said and opens_with_quote(doc.text) else None

        def speaker_of(token: Token, said: list[Attribution] = said, carried: str | None = carried,
                       context: list[tuple[str, str]] = context) -> str | None:
            """Who says the words holding this token: an attribution of the paragraph, or the quotation
            running on from the paragraph before."""
            for a in said:
                if a.source and a.content and a.content[0] <= token.idx < a.content[1]:
                    source = token.doc.char_span(*a.source, alignment_mode="expand")
                    if source is not None and _reported(source):
                        continue  # "33 were reported hurt": what is reported, not who reports it
                    return _resolve(_phrase(_who(source.root)), context) if source is not None else None
            return carried

        for sent in doc.sents:
            out.sentences += 1
            found = _sentence_claims(sent, offset, context, speaker_of)
            out.claims += found
            if not found and REPORT_HEDGE_RE.search(sent.text):
                out.report_hedges.append(sent.text.strip())
            context += [(e.label_, e.text) for e in sent.ents if e.label_ in ("ORG", "PERSON", "GPE", "NORP")]
        if said or not opens_with_quote(doc.text):
            running = None
            if len(said) == 1 and said[0].quoted and said[0].source:
                source = doc.char_span(*said[0].source, alignment_mode="expand")
                running = _resolve(_phrase(_who(source.root)), context) if source is not None else None
    for claim in out.claims:  # "X could not independently verify the footage" qualifies claims about footage
        if MEDIA_WORDS.search(claim.sentence) or MEDIA_WORDS.search(claim.subject):
            claim.hedges += [h for h in out.report_hedges if MEDIA_WORDS.search(h) and h not in claim.hedges]
    return out


def _reported(source: Span) -> bool:
    """A passive reporting verb's subject ("no deaths were reported", "33 were said to be hurt") or a number:
    what is reported, never who reports it."""
    return source.root.dep_ == "nsubjpass" or _holds_a_number(source)


def _holds_a_number(tokens: Iterable[Token]) -> bool:
    """A phrase with a number in it ("33", "hundreds of them") counts something; it says nothing."""
    return any(t.like_num or t.lower_ in VAGUE for t in tokens)


def _sentence_claims(sent: Span, offset: int, context: list[tuple[str, str]],
                     speaker_of: Callable[[Token], str | None]) -> list[Claim]:
    claims = []
    used: set[int] = set()
    for token in sent:
        if token.i in used or not is_quantity(token):
            continue
        number_tokens = number_run(token)
        used |= {t.i for t in number_tokens}
        noun = _counted_noun(number_tokens)
        if noun is None:
            continue
        qualifier, qualifier_tokens = qualifier_of(number_tokens)
        value, low, high, vague = value_of(number_tokens, qualifier)
        if low is None and high is None:  # "up to 20" has no low bound, and is a claim all the same
            continue
        subject_tokens = _subject_tokens(noun)
        counted = _counted_of_number(noun)  # "the number of X was in the hundreds"
        if counted is not None:
            subject_tokens = _subject_tokens(counted)
        event = _event(noun, [*qualifier_tokens, *number_tokens]) if counted is None else _participle(counted)
        speaker, via = _speaker(sent, event, context)
        speaker = speaker_of(number_tokens[0]) or speaker  # the attribution holding the number first
        words = " ".join(t.text for t in [*qualifier_tokens, *number_tokens])
        subject = _span_text(subject_tokens)
        claims.append(Claim(
            value=value, low=low, high=high, qualifier=qualifier, vague=vague, subject=subject,
            subject_key=_subject_key(subject_tokens, event), event=event.text if event is not None else None,
            scope=_scope(sent, event, noun), speaker=speaker, via=via,
            hedges=sorted({m.group().lower() for m in HEDGE_RE.finditer(sent.text)}),
            sentence=sent.text.strip(), start=offset + sent.start_char, end=offset + sent.end_char,
            quantity=words))
    return claims


def _counted_noun(run: list[Token]) -> Token | None:
    last = run[-1]
    head = last.head
    if last.dep_ in ("nummod", "amod", "quantmod") and head.pos_ in ("NOUN", "PROPN"):
        return head
    if last.lower_ in VAGUE or last.dep_ in ("pobj", "attr", "dobj", "nsubj", "nsubjpass", "conj", "appos"):
        of = [c for c in last.children if c.dep_ == "prep" and c.lower_ == "of"]
        objects = [g for c in of for g in c.children if g.dep_ == "pobj"]
        if objects:
            return objects[0]
        return last  # "in the hundreds": the noun is the number itself; the subject comes from "number of X"
    return None


def _counted_of_number(noun: Token) -> Token | None:
    """For a vague quantity that stands alone ("was in the hundreds"): the X of "the number of X"."""
    if noun.lower_ not in VAGUE and not noun.like_num:
        return None
    verb = noun.head.head if noun.dep_ == "pobj" else noun.head
    for child in verb.children:
        if child.dep_ in ("nsubj", "nsubjpass") and child.lemma_ in ("number", "total", "count", "tally"):
            for prep in child.children:
                if prep.dep_ == "prep" and prep.lower_ == "of":
                    objects = [g for g in prep.children if g.dep_ == "pobj"]
                    if objects:
                        return objects[0]
    return None


def _subject_tokens(noun: Token) -> list[Token]:
    """The counted noun with its modifiers, its "of" phrase and nouns joined with "and"."""
    keep = {noun.i}
    for child in noun.children:
        if child.dep_ in ("compound", "amod", "nmod") and child.i < noun.i:
            keep |= {t.i for t in child.subtree}
        if child.dep_ == "prep" and child.lower_ == "of":
            keep |= {t.i for t in child.subtree}
        if child.dep_ == "conj" and child.pos_ in ("NOUN", "PROPN"):
            keep |= {child.i} | {c.i for c in child.children if c.dep_ in ("compound", "amod")}
            keep |= {c.i for c in noun.children if c.dep_ == "cc"}
    doc = noun.doc
    ordered = [doc[i] for i in sorted(keep)]
    return [t for t in ordered if not (t.like_num or t.lower_ in VAGUE or t.pos_ == "DET")]


def _span_text(tokens: list[Token]) -> str:
    return "".join(t.text_with_ws for t in tokens).strip()


def _subject_key(tokens: list[Token], event: Token | None) -> str:
    words = set()
    for t in tokens:
        if t.pos_ in ("NOUN", "PROPN", "ADJ", "VERB") and t.lower_ not in ("of", "and"):
            lemma = t.lemma_.lower()
            words.add(SYNONYMS.get(lemma, lemma))
    if event is not None and event.lemma_.lower() not in REPORTING and event.lemma_.lower() != "be":
        words.add(event.lemma_.lower())
    return " ".join(sorted(words))


def _event(noun: Token, quantity: list[Token]) -> Token | None:
    """The verb the counted noun belongs to; when the parse made the noun the subject of a later verb, the
    verb just before the quantity ("reviewed more than 130 photos")."""
    first = min(t.i for t in quantity)
    before = noun.doc[first - 1] if first > noun.sent.start else None
    if noun.dep_ in ("nsubj", "nsubjpass") and before is not None and before.pos_ in ("VERB", "AUX") \
            and before.dep_ != "aux":
        return before
    head = noun
    while head.dep_ in ("conj", "appos", "pobj", "prep", "nummod", "amod", "compound", "attr", "npadvmod"):
        if head.head == head:
            break
        head = head.head
    verb = head.head if head.dep_ in ("dobj", "nsubj", "nsubjpass", "attr", "dative") else head
    return verb if verb.pos_ in ("VERB", "AUX") else None


def _participle(noun: Token) -> Token | None:
    """The event of "the number of captured soldiers": the participle modifying the noun."""
    return next((c for c in noun.children if c.dep_ in ("amod", "acl") and c.tag_ in ("VBN", "VBG")), None)


def _reporting_chain(event: Token | None, sent: Span) -> list[Token]:
    """Reporting verbs from the event outwards ("said" <- "showed" <- "captured")."""
    chain = []
    token = event if event is not None else sent.root
    seen = 0
    while seen < 12:
        seen += 1
        if token.lemma_.lower() in REPORTING and token.pos_ == "VERB":
            chain.append(token)
        if token.head == token:
            break
        token = token.head
    return chain


def _speaker(sent: Span, event: Token | None, context: list[tuple[str, str]]) -> tuple[str | None, list[str]]:
    via: list[str] = []
    according = [t for t in sent if t.lower_ == "according" and t.nbor(1).lower_ == "to"] \
        if len(sent) > 1 else []
    if according:
        objects = [g for g in according[0].nbor(1).children if g.dep_ == "pobj"]
        if objects:
            return _resolve(_phrase(_who(objects[0])), context), via
    chain = _reporting_chain(event, sent)
    for verb in chain:
        for child in verb.children:
            if child.dep_ in ("dative", "dobj") and verb.lemma_ == "tell" and child.pos_ in ("PROPN", "NOUN"):
                via.append(_resolve(_phrase(child), context))
            if child.dep_ == "prep" and child.lower_ == "to" and verb.lemma_ in ("say", "tell"):
                via += [_resolve(_phrase(g), context) for g in child.children if g.dep_ == "pobj"]
    for verb in reversed(chain):  # the outermost reporting verb with a person or body as subject
        # "officials said": the subject; "33 were reported hurt (by police)": what is reported is no speaker,
        # the agent is, if named
        agents = [g for c in verb.children if c.dep_ == "agent" for g in c.children if g.dep_ == "pobj"]
        subjects = [c for c in verb.children if c.dep_ == "nsubj"] + agents
        if subjects and subjects[0].lemma_.lower() not in EVIDENCE_SUBJECTS \
                and not _holds_a_number(subjects[0].subtree):
            return _resolve(_phrase(_who(subjects[0])), context), via
    if event is not None and event.lemma_.lower() in COUNTING:  # "the Post reviewed 130 videos": who counted
        subjects = [c for c in event.children if c.dep_ == "nsubj"]
        if subjects and (subjects[0].ent_type_ in ("ORG", "PERSON", "NORP") or subjects[0].lower_ in PRONOUNS
                         or subjects[0].lemma_ in ("official", "officer")):
            return _resolve(_phrase(_who(subjects[0])), context), via
    # nobody in the sentence asserts it: the outlet's own voice (who did what is not who says so: "Ukraine
    # captured 102" in the outlet's words is the outlet's claim, not Ukraine's)
    return None, via


def _who(token: Token) -> Token:
    """The one who speaks through a phrase: "estimates by event organizers" and "data from the Gun Violence
    Archive" are the organisers' and the archive's; "the mayor of London, Sadiq Khan" is Sadiq Khan."""
    seen = 0
    while token.lemma_.lower() in SPOKEN_THROUGH and seen < 4:
        seen += 1
        by = [g for c in token.children if c.dep_ in ("prep", "agent") and c.lower_ in ("by", "from", "of")
              for g in c.children if g.dep_ == "pobj"]
        if not by:
            break
        token = by[0]
    if token.ent_type_ == "PERSON":
        return token
    names = [c for c in token.children if c.dep_ == "appos" and c.ent_type_ == "PERSON"]
    after = token.doc[token.i + 1 : token.i + 2]  # "according to the first selectman, Chris Kervick, ..."
    if not names and after and after[0].text == ",":
        names = [e.root for e in token.doc.ents if e.start == token.i + 2 and e.label_ == "PERSON"]
    return names[0] if names else token


def _phrase(token: Token) -> str:
    """A speaker's name: the noun phrase without its clauses, appositions and prepositional phrases, but
    whole where it is a name ("The Committee to Protect Journalists", parsed with a clause in it)."""
    dropped: set[int] = set()
    for t in token.subtree:
        if t.dep_ in ("relcl", "acl", "appos", "advmod") or (t.dep_ == "prep" and t.head == token):
            dropped |= {d.i for d in t.subtree}
    name = next((e for e in token.doc.ents if e.start <= token.i < e.end), None)
    if name is not None:
        dropped -= set(range(name.start, name.end))
    keep = [t for t in token.subtree if t.i not in dropped and (t.dep_ != "punct" or t.text == "-")]
    return "".join(t.text_with_ws for t in keep).strip().strip(",")


def _resolve(text: str, context: list[tuple[str, str]]) -> str:
    """Pronouns and "the outlet" to the last fitting name before; a short name ("the Post", "Massicot") to
    the full one named before ("The Washington Post", "Dara Massicot")."""
    lowered = text.lower()
    words = lowered.split()
    short = lowered.removeprefix("the ")
    for _, name in reversed(context):
        full = name.lower().removeprefix("the ")
        if full != short and full.endswith(" " + short) and short:
            return name
    if lowered in PRONOUNS or (len(words) == 2 and words[0] == "the" and words[1] in OUTLET_NOUNS):
        wanted = ("PERSON",) if lowered in ("he", "she") else ("ORG",) if words[-1] in OUTLET_NOUNS \
            else ("ORG", "GPE", "NORP", "PERSON")
        for label, name in reversed(context):
            if label in wanted:
                return name
    return text


def _scope(sent: Span, event: Token | None, noun: Token) -> str | None:
    """The time phrase nearest the claim: on the event, its reporting verbs, or the counted noun."""
    anchors = [noun, *([event] if event is not None else []), *_reporting_chain(event, sent)]
    nouns = [noun, *(c for c in noun.children if c.dep_ == "conj")]
    anchors += [c for n in nouns for c in n.children if c.dep_ in ("acl", "relcl")]
    if noun.dep_ in ("nsubj", "nsubjpass") and noun.head not in anchors:
        anchors.append(noun.head)  # a parse that made the counted noun the subject of the time clause
    found = []
    for anchor in anchors:
        for child in anchor.children:
            marks = [m for m in child.children if m.dep_ == "mark"]
            if child.dep_ == "advcl" and any(m.lower_ in TIME_PREPS for m in marks):
                tokens = [t for t in child.subtree if t.i != noun.i]
                if any(t.ent_type_ in ("DATE", "TIME") for t in tokens):
                    found.append((abs(child.i - noun.i), tokens))
            if child.dep_ == "prep" and child.lower_ in (*TIME_PREPS, "on", "at"):
                tokens = list(child.subtree)
                dated = any(t.ent_type_ in ("DATE", "TIME") for t in tokens)
                timed = child.lower_ in TIME_PREPS and any(t.lemma_.lower() in TIME_WORDS for t in tokens)
                if dated or timed:
                    found.append((abs(child.i - noun.i), tokens))
            if child.dep_ == "npadvmod" and child.ent_type_ == "DATE":
                found.append((abs(child.i - noun.i), list(child.subtree)))
    if not found:
        return None
    tokens = min(found, key=lambda f: f[0])[1]
    return "".join(t.text_with_ws for t in tokens).strip().rstrip(",.")


