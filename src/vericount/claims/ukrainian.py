"""Quantitative claims in Ukrainian news text, as extract.py finds them in English.

No Ukrainian tagger or parser ships with the project. tokenize-uk 2.0.0 (MIT) cuts the text into sentences
and words (with their offsets; "1 340" stays one word); the rest is word lists (ukrainian_words.py) and
rules over word order:
- a quantity is digits ("102", "1 340"), number words in any case ("сто двох", "п'ятисот", "півтори
  тисячі"), or a vague word ("сотні", "десятки", "кілька"), with the qualifier before it ("понад",
  "щонайменше", "близько", "майже", "до");
- what it counts is the word after it, adjectives skipped ("двох російських військовослужбовців"), with
  the abbreviations and names after it ("військовослужбовців ЗСУ"); dates, years, ages, money,
  percentages, clock times, numbered units ("810-та") and counts of time are no claims;
- the event is the nearest word with a known event stem ("загинули", "поранено", "узято в полон");
- the speaker is the one named by "за даними X", "за словами X", "згідно з X", "з посиланням на X", the
  name before a reporting verb ("Генштаб ЗСУ повідомив"), or after it when the verb opens the clause
  ("як повідомляє X", "— заявив X", "повідомили в X"), "X:" opening a sentence, and "Про це повідомив X"
  for the sentence before. Nobody named: the outlet's own voice, None;
- via: the outlet named between the verb and the speaker ("повідомив Укрінформу речник ДПСУ ..."), after
  "виданню", "агентству", "в інтерв'ю", "в ефірі", or the outlet quoting "з посиланням на".
What does not work: lemmas exist only for the dictionary's people nouns and adjectives (others are stems,
so their subject keys do not meet English ones); without a parse, the speaker is the phrase next to the
verb, wrong when a clause lies between; an event is found only from its stem list; a counted noun before
the number ("загиблих — 12") is missed.
"""

from __future__ import annotations

import re

from vericount.claims.extract import Claim, Extraction
from vericount.claims.slavic import (
    KEYS,
    MONTHS,
    PUNCT,
    Quantity,
    Rules,
    Said,
    Word,
    claim,
    headline_speaker,
    join,
    phrase_after,
    quantity_at,
    read,
    subject_key,
)
from vericount.claims.ukrainian_words import (
    ADJECTIVE_FORMS,
    LEXICON,
    NOT_COUNTED,
    NOUN_FORMS,
    lemma,
    normalise,
)

EVENT_STEMS = [  # (the start of the word, a word it needs nearby, extract.py's English verb)
    ("загин", None, "kill"), ("вбит", None, "kill"), ("вбив", None, "kill"), ("убит", None, "kill"),
    ("знищ", None, "kill"), ("ліквід", None, "kill"), ("знешкодж", None, "kill"), ("поранен", None, "injure"),
    ("поранил", None, "injure"), ("постражд", None, "injure"), ("травмов", None, "injure"),
    ("узя", "полон", "capture"), ("взя", "полон", "capture"), ("захоп", "полон", "capture"),
    ("потрап", "полон", "capture"), ("полонил", None, "capture"), ("здал", "полон", "surrender"),
    ("евакуй", None, "evacuate"), ("затрим", None, "arrest"), ("звільн", None, "release"),
    ("поверн", None, "return"), ("втрат", None, "lose")]
REPORTING = re.compile(
    r"(?:заяв(?:ив|ила|или|ляє|ляють)|повідом(?:ив|ила|или|ило|ляє|ляють)|сказа(?:в|ла|ли)|"
    r"розпові(?:в|ла|ли)|розповіда(?:є|ють)|зазнач(?:ив|ила|или|ає|ають)|наголоси(?:в|ла|ли)|"
    r"підтверди(?:в|ла|ли|ло)|підтверджу(?:є|ють)|інформу(?:є|ють)|уточни(?:в|ла|ли)|дода(?:в|ла|ли)|"
    r"пише|пишуть|переда(?:є|ють)|написа(?:в|ла|ли)|оголоси(?:в|ла|ли))")
IMPERSONAL = {"йдеться", "ідеться", "повідомляється", "зазначається", "говориться"}
SOURCE_NOUNS = {"заяві", "повідомленні", "зведенні", "дописі", "звіті", "публікації", "заявах"}
PRONOUN_CUES = [("за", "його", "словами"), ("за", "її", "словами"), ("за", "їхніми", "словами")]
PHRASE_CUES = [("за", "даними"), ("за", "словами"), ("за", "інформацією"), ("за", "оцінками"),
               ("за", "підрахунками"), ("згідно", "з", "даними"), ("згідно", "з"), ("згідно", "із")]
VIA_CUES = [("виданню",), ("агентству",), ("телеканалу",), ("в", "інтерв'ю"), ("в", "ефірі"),
            ("у", "ефірі"), ("в", "коментарі"), ("у", "коментарі")]
STOP_WORDS = {"в", "у", "на", "за", "про", "що", "і", "й", "та", "з", "із", "до", "під", "від", "для", "як"}
PRONOUNS = {"він", "вона", "вони"}
_MONTHS = "|".join(MONTHS[12:])
SCOPE = re.compile(
    r"\b(?:за\s+(?:минулу\s+|останню\s+|попередню\s+)?(?:добу|день|тиждень|місяць|рік)"
    r"|за\s+\d+\s+(?:дн|діб|доб|тижн|місяц|годин)\w*"
    r"|з\s+початку\s+(?:\w+\s+){0,2}?(?:року|місяця|тижня|вторгнення|війни|операції|наступу)"
    rf"|з\s+\d{{1,2}}\s+(?:{_MONTHS})(?:\s+\d{{4}}(?:\s+року)?)?|з\s+\d{{2}}\.\d{{2}}\.\d{{2,4}}"
    r"|протягом\s+(?:минулої\s+|останньої\s+)?(?:доби|дня|тижня|місяця|року)"
    rf"|станом\s+на\s+\d{{1,2}}\s+(?:{_MONTHS})(?:\s+\d{{4}}(?:\s+року)?)?)", re.IGNORECASE)
HEDGES = re.compile(
    r"за\s+попередніми\s+(?:даними|інформацією)|попередньо|"
    r"не\s+(?:вдалося|вдається|може|можуть|змогл\w*)\s+(?:незалежно\s+)?(?:перевірити|підтвердити)|"
    r"не\s+підтверджен\w*|нібито|[іi]мовірно|ймовірно|за\s+неперевіреними\s+даними|за\s+деякими\s+даними|"
    r"за\s+оцінками|за\s+даними|за\s+словами|згідно\s+з|\bпідтверди\w*|\bстверджу\w*", re.IGNORECASE)
REPORT_HEDGES = re.compile(r"не\s+(?:вдалося|вдається|може|можуть|змогл\w*)\s+(?:незалежно\s+)?"
                           r"(?:перевірити|підтвердити)", re.IGNORECASE)


def _sentences(text: str) -> list[tuple[int, int, list[Word]]]:
    """The sentences (start, end, words) of the text; a word's text as written in the text."""
    import tokenize_uk

    out = []
    for _, start, end in tokenize_uk.tokenize_sents_with_spans(text):
        sentence = text[start:end]
        words = [Word(sentence[s:e], start + s, start + e, normalise(sentence[s:e]))
                 for _, s, e in tokenize_uk.tokenize_words_with_spans(sentence)]
        out.append((start, end, words))
    return out


def extract_ukrainian(text: str) -> Extraction:
    speakers: list[str] = []  # the speakers named so far, for "він", "вона", "вони"

    def speaker_of(start: int, end: int, words: list[Word]) -> Said:
        speaker, via = _speaker(words, speakers)
        if speaker is not None:
            speakers.append(speaker)
        return speaker, via

    return read(text, _sentences(text), RULES, speaker_of)


def _counted(words: list[Word], stop: int) -> int | None:
    """The word a quantity counts, unless it counts time, money, measure or units."""
    noun = _counted_noun(words, stop)
    return None if noun is None or words[noun].lemma in NOT_COUNTED else noun


def _a_noun(word: Word) -> bool:
    """A word that can be counted: a known noun, or a word that is no preposition, verb or adjective-like."""
    if word.lemma in NOUN_FORMS:
        return True
    return word.text not in PUNCT and word.text.isalpha() and word.lemma not in STOP_WORDS \
        and not word.lemma.endswith(("ли", "ло")) and not _an_event(word)


def _adjective(word: Word) -> bool:
    return word.lemma in ADJECTIVE_FORMS or (word.lemma not in NOUN_FORMS and word.lemma.endswith(
        ("их", "ий", "ого", "ої", "ими")))


def _counted_noun(words: list[Word], i: int) -> int | None:
    """The word after a quantity, adjectives skipped; "один з полонених": the word after "з"."""
    if i + 1 < len(words) and words[i].lemma in ("з", "із") and words[i + 1].lemma in NOUN_FORMS:
        i += 1
    for j in range(i, min(i + 3, len(words))):
        if _adjective(words[j]) and j + 1 < len(words) and _a_noun(words[j + 1]):
            continue  # "двох російських військовослужбовців", "мирних жителів"
        return j if _a_noun(words[j]) else None
    return None


def _claim(words: list[Word], q: Quantity, noun: int, sentence: str, offset: int, said: Said,
           others: list[int]) -> Claim:
    subject = words[q.stop:noun + 1]
    for w in words[noun + 1:noun + 4]:  # "військовослужбовців ЗСУ", "окупантів РФ"
        if not w.text[:1].isupper() or w.text in PUNCT:
            break
        subject.append(w)
    event, event_key = _event(words, q, noun)
    key = subject_key([lemma(w.text) for w in subject if w.lemma not in ("з", "із")], event_key, KEYS)
    return claim(q, words, sentence, offset, said, others, subject=subject, key=key, event=event,
                 scope=SCOPE, hedges=HEDGES)


def _an_event(word: Word) -> bool:
    return any(word.lemma.startswith(s) for s, _, _ in EVENT_STEMS) and word.lemma not in NOUN_FORMS


def _event(words: list[Word], q: Quantity, noun: int) -> tuple[str | None, str | None]:
    """The nearest word with an event stem (the word as written, and its English key)."""
    candidates = [(min(abs(k - q.first), abs(k - noun)), k) for k, w in enumerate(words)
                  if (k < q.opens or k > noun) and _an_event(w)]
    for _, k in sorted(candidates):
        for start, needed, key in EVENT_STEMS:
            near = words[max(0, k - 3):k + 4]
            if words[k].lemma.startswith(start) and (needed is None or any(w.lemma == needed for w in near)):
                return words[k].text, key
    return None, None


def _about_this(words: list[Word]) -> bool:
    lowered = [w.lemma for w in words]
    return any(lowered[k:k + 2] in (["про", "це"], ["про", "що"]) for k in range(len(lowered)))


def _speaker(words: list[Word], speakers: list[str]) -> tuple[str | None, list[str]]:
    """Who asserts the sentence's figures, and the outlets they passed through."""
    lowered = [w.lemma for w in words]
    verb_speaker, via = _verb_speaker(words, speakers)
    for k in range(len(words)):
        if lowered[k:k + 3] == ["з", "посиланням", "на"]:
            return phrase_after(words, k + 3, STOP_WORDS), [*via, *([verb_speaker] if verb_speaker else [])]
    for k in range(len(words)):
        if speakers and tuple(lowered[k:k + 3]) in PRONOUN_CUES:
            return speakers[-1], via
        for cue in PHRASE_CUES:
            if tuple(lowered[k:k + len(cue)]) == cue:
                named = phrase_after(words, k + len(cue), STOP_WORDS)
                if named is not None:
                    return named, via
    if verb_speaker is not None:
        return verb_speaker, via
    return headline_speaker(words), via


def _verb_speaker(words: list[Word], speakers: list[str]) -> tuple[str | None, list[str]]:
    for k, word in enumerate(words):
        if word.lemma in IMPERSONAL:  # "У зведенні Генштабу йдеться"
            source = next((j for j in range(k) if words[j].lemma in SOURCE_NOUNS), None)
            if source is not None:
                return phrase_after(words, source + 1, STOP_WORDS | IMPERSONAL), []
        if not REPORTING.fullmatch(word.lemma):
            continue
        opens = k == 0 or words[k - 1].text in PUNCT or words[k - 1].lemma in ("як", "це", "що")
        named, via = (None, []) if opens else (_phrase_before(words, k), _told(words, k + 1))
        if named is None:
            named, via = _phrase_after_verb(words, k + 1)
        if named is not None:
            return (speakers[-1] if named.lower() in PRONOUNS and speakers else named), via
    return None, []


def _phrase_before(words: list[Word], k: int) -> str | None:
    """"Генштаб ЗСУ повідомив" -> "Генштаб ЗСУ": the words back to the start of the clause."""
    first = k
    while first > 0 and words[first - 1].text not in PUNCT and words[first - 1].lemma not in ("що", "як"):
        first -= 1
    while first < k and words[first].lemma in ("у", "в"):
        first += 1
    named = words[first:k]
    if not named or any(quantity_at(words, j, "", LEXICON) for j in range(first, k)):
        return None
    return join(named)


def _phrase_after_verb(words: list[Word], k: int) -> tuple[str | None, list[str]]:
    """"повідомили в Генштабі ЗСУ"; "повідомив Укрінформу речник ДПСУ Андрій Демченко" (the outlet is via)."""
    while k < len(words) and words[k].lemma in ("у", "в"):
        k += 1
    named = phrase_after(words, k, STOP_WORDS)
    via = _via(words, k)
    if named is None:
        return None, via
    parts = named.split()
    if len(parts) >= 3 and parts[0][:1].isupper() and parts[1].islower() and any(p[:1].isupper()
                                                                                 for p in parts[2:]):
        return " ".join(parts[1:]), [parts[0], *via]  # a name, then a role and a name: told to the first
    return named, via


def _told(words: list[Word], k: int) -> list[str]:
    """"Х повідомив Суспільному, що ...": the name right after the verb, before a comma or "що"."""
    if k + 1 < len(words) and words[k].text[:1].isupper() and words[k + 1].lemma in (",", "що"):
        return [words[k].text]
    return []


def _via(words: list[Word], k: int) -> list[str]:
    lowered = [w.lemma for w in words]
    for j in range(k, len(words)):
        for cue in VIA_CUES:
            if tuple(lowered[j:j + len(cue)]) == cue:
                outlet = phrase_after(words, j + len(cue), STOP_WORDS)
                return [outlet] if outlet else []
    return []


RULES = Rules(LEXICON, _counted, _claim, _about_this, REPORT_HEDGES)
