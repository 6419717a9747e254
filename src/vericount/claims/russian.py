"""Quantitative claims in Russian news text, as extract.py finds them in English: the number, what it counts,
who says so, through whom, with which hedges.

natasha 1.6.0 (MIT) segments the text, tags morphology, parses syntax and finds names; its models (navec
embeddings and slovnet taggers) ship inside the package and are loaded from it, never downloaded. Lemmas
come from natasha's MorphVocab, which is pymorphy2 0.9.1. pymorphy2 alone fails on Python 3.11 (it calls
inspect.getargspec); natasha imports yargy 0.16, which patches that call on import, so pymorphy2 works
here as long as it is reached through natasha, and no pymorphy3 is needed.

Rules over that analysis:
- a quantity is a run of digits ("102", "1 348"), number words by lemma ("сто два", "двухсот", "полторы
  тысячи"), or a vague word ("сотни", "десятки тысяч", "несколько"), with the qualifier before it ("более",
  "не менее", "около", "до"); "более сотни" is a hundred, more_than;
- what it counts is the noun after it, adjectives skipped ("102 украинских военнослужащих"), with the
  genitive names after it ("военнослужащих ВСУ"); a date, a year, an age, money, a percentage, a clock
  time, a number with a suffix ("810-я") or a count of units or of time is no claim;
- the event is the verb above the counted noun in the parse;
- the speaker is the one named by "по данным X", "по словам X", "согласно X", "со ссылкой на X", the subject
  of a reporting verb ("заявил", "сообщило", "как передает X"), "в X заявили", or "X:" opening a sentence;
  "Об этом сообщил X" gives X to the sentence before. Nobody named: the outlet's own voice, None;
- via: the outlet a figure was told to ("сообщил РИА Новости"), or the outlet quoting "со ссылкой на".
Known gaps: a claim whose counted noun comes before the number ("погибших — 12") is missed; a quotation
running over several sentences keeps its speaker only where the sentence names it.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from vericount.claims.extract import Claim, Extraction
from vericount.claims.slavic import (
    EVENTS,
    KEYS,
    MONTHS,
    PUNCT,
    Lexicon,
    Quantity,
    Rules,
    Said,
    Word,
    claim,
    headline_speaker,
    join,
    phrase_after,
    read,
    subject_key,
)

_UNITS = ["один", "два", "три", "четыре", "пять", "шесть", "семь", "восемь", "девять", "десять",
          "одиннадцать", "двенадцать", "тринадцать", "четырнадцать", "пятнадцать", "шестнадцать",
          "семнадцать", "восемнадцать", "девятнадцать"]
_TENS = ["двадцать", "тридцать", "сорок", "пятьдесят", "шестьдесят", "семьдесят", "восемьдесят", "девяносто"]
_HUNDREDS = ["сто", "двести", "триста", "четыреста", "пятьсот", "шестьсот", "семьсот", "восемьсот",
             "девятьсот"]
NUMBERS: dict[str, float] = {
    **{w: float(k + 1) for k, w in enumerate(_UNITS)}, **{w: float(20 + 10 * k) for k, w in enumerate(_TENS)},
    **{w: float(100 * (k + 1)) for k, w in enumerate(_HUNDREDS)}, "полтора": 1.5,
    "двое": 2.0, "трое": 3.0, "четверо": 4.0, "пятеро": 5.0, "шестеро": 6.0, "семеро": 7.0}
SCALES = {"тысяча": 1e3, "тыс": 1e3, "миллион": 1e6, "млн": 1e6, "миллиард": 1e9, "млрд": 1e9,
          "сотня": 100.0, "десяток": 10.0}
PLURAL_VAGUE = {**dict.fromkeys(("сотни", "сотен"), (200.0, 999.0)),
                **dict.fromkeys(("десятки", "десятков"), (20.0, 99.0)),
                **dict.fromkeys(("тысячи", "тысяч"), (2000.0, 9999.0))}
QUALIFIERS = [
    (("более", "чем"), "more_than"), (("больше", "чем"), "more_than"), (("не", "менее"), "at_least"),
    (("не", "меньше"), "at_least"), (("по", "меньшей", "мере"), "at_least"),
    (("по", "крайней", "мере"), "at_least"), (("как", "минимум"), "at_least"), (("не", "более"), "at_most"),
    (("не", "больше"), "at_most"), (("как", "максимум"), "at_most"), (("менее", "чем"), "less_than"),
    (("более",), "more_than"), (("свыше",), "more_than"), (("больше",), "more_than"),
    (("минимум",), "at_least"), (("максимум",), "at_most"), (("до",), "up_to"), (("менее",), "less_than"),
    (("меньше",), "less_than"), (("около",), "about"), (("примерно",), "about"), (("порядка",), "about"),
    (("почти",), "about"), (("приблизительно",), "about"), (("ориентировочно",), "about"),
    (("ровно",), "exactly")]
LEXICON = Lexicon(NUMBERS, SCALES, {"несколько": (3.0, 9.0)}, PLURAL_VAGUE, QUALIFIERS)

NOT_COUNTED = {  # what a number before these counts is time, money, measure, or military units
    "год", "месяц", "день", "сутки", "неделя", "час", "минута", "секунда", "век", "рубль", "доллар", "евро",
    "гривна", "процент", "километр", "км", "метр", "градус", "раз", "тонна", "балл", "бригада", "батальон",
    "полк", "дивизия", "рота", "армия", "корпус", "число", *MONTHS}
REPORTING = {"заявить", "заявлять", "сообщить", "сообщать", "сказать", "рассказать", "отметить",
             "подчеркнуть", "уточнить", "добавить", "передать", "передавать", "объявить", "подтвердить",
             "утверждать", "признать", "говориться", "сообщаться", "написать", "оценить", "информировать"}
NOT_EVENTS = REPORTING | {"быть", "составить", "составлять", "насчитываться", "достигнуть", "достичь"}
PRONOUN_CUES = [("по", "его", "словам"), ("по", "ее", "словам"), ("по", "её", "словам"),
                ("по", "их", "словам")]
PHRASE_CUES = [("по", "данным"), ("по", "словам"), ("по", "информации"), ("по", "сведениям"),
               ("по", "оценкам"), ("по", "подсчетам"), ("по", "подсчётам"), ("по", "сообщению"),
               ("согласно", "данным"), ("согласно", "информации"), ("согласно",)]
STOP_WORDS = {"в", "во", "на", "за", "о", "об", "что", "и", "с", "со", "к", "по", "из", "у", "от", "для"}
NAME_RELS = {"nmod", "amod", "appos", "flat:name", "flat", "flat:foreign", "compound", "nummod"}
PRONOUNS = {"он", "она", "они", "оно"}
_MONTHS = "|".join(MONTHS[:12])
SCOPE = re.compile(
    r"\b(?:за\s+(?:последние\s+|прошедшие\s+|минувшие\s+|истекшие\s+)?(?:сутки|день|неделю|месяц|год"
    r"|\d+\s+(?:дн|сут|недел|месяц|час)\w*)"
    r"|с\s+начала\s+(?:\w+\s+){0,2}?(?:года|месяца|недели|операции|СВО|конфликта|войны|вторжения|наступления)"
    rf"|с\s+\d{{1,2}}\s+(?:{_MONTHS})(?:\s+\d{{4}}(?:\s+года)?)?"
    r"|в\s+течение\s+(?:последних\s+)?(?:суток|дня|недели|месяца|года)"
    rf"|по\s+состоянию\s+на\s+\d{{1,2}}\s+(?:{_MONTHS}))", re.IGNORECASE)
CANNOT_VERIFY = (r"не\s+(?:удалось|удается|может|могут|смогл\w*)\s+(?:независимо\s+)?"
                 r"(?:проверить|подтвердить)"
                 r"|(?:проверить|подтвердить)\s+(?:\w+\s+){0,2}не\s+(?:удалось|удается)")
HEDGES = re.compile(
    CANNOT_VERIFY + r"|по\s+предварительн\w+\s+(?:данным|информации)|предварительно|не\s+подтвержден\w*|"
    r"якобы|предположительно|по\s+неподтвержденн\w+\s+данным|по\s+некоторым\s+данным|по\s+оценкам|"
    r"по\s+данным|по\s+словам|согласно|как\s+сообщается|\bподтвердил\w*|\bутвержда\w+", re.IGNORECASE)
REPORT_HEDGES = re.compile(CANNOT_VERIFY, re.IGNORECASE)


@lru_cache(maxsize=1)
def _pipeline() -> tuple[Any, ...]:
    """natasha's segmenter, lemmatiser, morphology tagger, syntax parser and name tagger, loaded once."""
    from natasha import (
        MorphVocab,
        NewsEmbedding,
        NewsMorphTagger,
        NewsNERTagger,
        NewsSyntaxParser,
        Segmenter,
    )

    embedding = NewsEmbedding()
    return (Segmenter(), MorphVocab(), NewsMorphTagger(embedding), NewsSyntaxParser(embedding),
            NewsNERTagger(embedding))


def _parse(text: str) -> tuple[list[tuple[int, int, list[Word]]], list[tuple[int, str, str]]]:
    """The sentences (start, end, words) and the names (start, type, text) of the text."""
    from natasha import Doc

    segmenter, vocab, morph, syntax, ner = _pipeline()
    doc = Doc(text)
    doc.segment(segmenter)
    doc.tag_morph(morph)
    doc.parse_syntax(syntax)
    doc.tag_ner(ner)
    sentences = []
    for sent in doc.sents:
        words = []
        for t in sent.tokens:
            t.lemmatize(vocab)
            words.append(Word(t.text, t.start, t.stop, t.lemma or t.text.lower(), t.pos or "",
                              (t.feats or {}).get("Case", ""), t.id, t.head_id, t.rel or ""))
        sentences.append((sent.start, sent.stop, words))
    return sentences, [(s.start, s.type, s.text) for s in doc.spans]


def extract_russian(text: str) -> Extraction:
    sentences, names = _parse(text)
    context: list[tuple[str, str]] = []  # (type, name) of the names and speakers seen so far, in order

    def speaker_of(start: int, end: int, words: list[Word]) -> Said:
        nonlocal context
        context += [(kind, name) for at, kind, name in names if start <= at < end and kind in ("PER", "ORG")]
        speaker, via = _speaker(words, context)
        if speaker is not None:
            context.append(("SPEAKER", speaker))
        return speaker, via

    return read(text, sentences, RULES, speaker_of)


def _counted(words: list[Word], stop: int) -> int | None:
    """The noun a quantity counts, unless it counts time, money, measure or units."""
    noun = _counted_noun(words, stop)
    if noun is None or words[noun].lemma in NOT_COUNTED or words[noun].lower in NOT_COUNTED:
        return None
    return noun


def _counted_noun(words: list[Word], i: int) -> int | None:
    """The noun after a quantity, adjectives skipped; "один из погибших": the noun after "из"."""
    if i < len(words) and words[i].lower in ("из", "изо"):
        i += 1
    adjective = None
    for j in range(i, min(i + 4, len(words))):
        if words[j].pos in ("NOUN", "PROPN"):
            return j
        if words[j].pos not in ("ADJ", "DET"):
            break
        adjective = j
    return adjective  # "12 погибших" tagged as an adjective: the adjective is the noun


def _claim(words: list[Word], q: Quantity, noun: int, sentence: str, offset: int, said: Said,
           others: list[int]) -> Claim:
    subject = _subject(words, q.stop, noun)
    event = _event(words, noun)
    key = subject_key([w.lemma for w in subject if w.pos in ("NOUN", "PROPN", "ADJ")],
                      _event_key(words, event), KEYS)
    return claim(q, words, sentence, offset, said, others, subject=subject, key=key,
                 event=event.text if event is not None else None, scope=SCOPE, hedges=HEDGES)


def _subject(words: list[Word], first: int, noun: int) -> list[Word]:
    """The counted phrase: adjectives, the noun, and the genitive names and nouns that hang on it
    ("жителей Курской области")."""
    end = noun + 1
    for stop in range(noun + 2, min(noun + 6, len(words) + 1)):
        after = words[noun + 1:stop]
        inside = {w.ident for w in after} | {words[noun].ident}
        if any(w.pos not in ("NOUN", "PROPN", "ADJ") or w.rel not in NAME_RELS for w in after):
            break
        if all(w.head in inside for w in after):
            end = stop
    return words[first:end]


def _by_id(words: list[Word]) -> dict[str, Word]:
    return {w.ident: w for w in words}


def _event(words: list[Word], noun: int) -> Word | None:
    """The verb above the counted noun in the parse."""
    ids = _by_id(words)
    node = words[noun]
    for _ in range(6):
        node_or_none = ids.get(node.head)
        if node_or_none is None:
            return None
        node = node_or_none
        if node.pos in ("VERB", "AUX"):
            return node
    return None


def _event_key(words: list[Word], event: Word | None) -> str | None:
    if event is None or event.lemma in NOT_EVENTS:
        return None
    lemmas = {w.lemma for w in words}
    for lemma, needed, key in EVENTS:
        if event.lemma == lemma and (needed is None or needed in lemmas):
            return key
    return event.lemma


def _about_this(words: list[Word]) -> bool:
    lowered = [w.lower for w in words]
    return any(lowered[k:k + 2] in (["об", "этом"], ["о", "чем"], ["о", "чём"]) for k in range(len(lowered)))


def _speaker(words: list[Word], context: list[tuple[str, str]]) -> tuple[str | None, list[str]]:
    """Who asserts the sentence's figures, and the outlets they passed through."""
    lowered = [w.lower for w in words]
    verb_speaker, via = _verb_speaker(words, context)
    for k in range(len(words)):
        if lowered[k:k + 3] == ["со", "ссылкой", "на"]:
            quoted = phrase_after(words, k + 3, STOP_WORDS - {"в"})
            return quoted, [*via, *([verb_speaker] if verb_speaker else [])]
    for k in range(len(words)):
        if tuple(lowered[k:k + 3]) in PRONOUN_CUES:
            return _resolve("он" if lowered[k + 1] != "их" else "они", context), via
        for cue in PHRASE_CUES:
            if tuple(lowered[k:k + len(cue)]) == cue:
                named = phrase_after(words, k + len(cue), STOP_WORDS)
                if named is not None:
                    return named, via
    if verb_speaker is not None:
        return verb_speaker, via
    return headline_speaker(words), via


def _verb_speaker(words: list[Word], context: list[tuple[str, str]]) -> tuple[str | None, list[str]]:
    """The subject of a reporting verb ("заявил X", "как передает X"), or "в X сообщили"; the outlet of
    "сообщил РИА Новости" as via."""
    for verb in (w for w in words if w.pos == "VERB" and w.lemma in REPORTING):
        children = [w for w in words if w.head == verb.ident]
        via = [_phrase(words, c) for c in children if c.rel == "iobj" and c.pos == "PROPN"]
        subjects = [c for c in children if c.rel == "nsubj" and c.pos not in ("NUM", "PUNCT")]
        if subjects:
            return _resolve(_phrase(words, subjects[0]), context), via
        places = [c for c in children if c.rel == "obl" and _preposition(words, c) in ("в", "во")]
        if places:  # "в Минобороны заявили"; "в сообщении ведомства говорится": the ведомство
            owner = [w for w in words if w.head == places[0].ident and w.rel == "nmod"]
            return _phrase(words, owner[0] if owner else places[0]), via
    return None, []


def _preposition(words: list[Word], word: Word) -> str:
    return next((w.lower for w in words if w.head == word.ident and w.rel == "case"), "")


def _phrase(words: list[Word], head: Word) -> str:
    """A name as written: the head word with its modifiers, without clauses, prepositions or punctuation."""
    keep = {head.ident}
    added = {head.ident}
    while added:
        added = {w.ident for w in words if w.head in keep and w.ident not in keep and w.rel in NAME_RELS}
        keep |= added
    indices = {k for k, w in enumerate(words) if w.ident in keep}
    first = last = words.index(head)
    while first - 1 in indices and words[first - 1].text not in PUNCT:
        first -= 1
    while last + 1 in indices and words[last + 1].text not in PUNCT:
        last += 1
    return join(words[first:last + 1])


def _resolve(name: str, context: list[tuple[str, str]]) -> str:
    """"он", "она" to the last person named, "они", "оно" to the last organisation or speaker."""
    lowered = name.lower()
    if lowered not in PRONOUNS:
        return name
    wanted = ("PER",) if lowered in ("он", "она") else ("ORG", "SPEAKER")
    return next((n for kind, n in reversed(context) if kind in wanted), name)


RULES = Rules(LEXICON, _counted, _claim, _about_this, REPORT_HEDGES)
