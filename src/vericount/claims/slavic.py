"""What the Russian and Ukrainian extractors share: a word record, the reading of a quantity (digits, number
words, vague words, the qualifier before them), the time phrase, hedges, speaker phrases found next to a
cue, and the subject key in the English vocabulary of extract.py, so that claims in three languages meet.

Each language module gives its own word lists (a `Lexicon`) and its own rules for the noun counted, the
claim and the speaker (a `Rules`); the sentence loop both run is `read` here.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from vericount.claims.extract import Claim, Extraction

MONTHS = (  # genitive, as in "6 августа" / "6 серпня": a number before them is a date
    "января", "февраля", "марта", "апреля", "мая", "июня", "июля", "августа", "сентября", "октября",
    "ноября", "декабря", "січня", "лютого", "березня", "квітня", "травня", "червня", "липня", "серпня",
    "вересня", "жовтня", "листопада", "грудня")


@dataclass
class Word:
    """One token: its text, where it is in the text, and what the language module knows of it (the lemma is
    the lower-case text where no morphology is at hand)."""

    text: str
    start: int
    end: int
    lemma: str
    pos: str = ""  # Universal Dependencies tag, or "" when nothing tagged the word
    case: str = ""
    ident: str = ""  # the parser's token id and its head's, for Russian
    head: str = ""
    rel: str = ""

    @property
    def lower(self) -> str:
        return self.text.lower()


@dataclass
class Lexicon:
    """A language's number words, scales, vague words and qualifiers, each keyed by lemma or lower-case
    form."""

    numbers: dict[str, float]
    scales: dict[str, float]  # "тысяча": 1000
    vague: dict[str, tuple[float, float]]  # the range a vague word stands for ("несколько": 3 to 9)
    plural_vague: dict[str, tuple[float, float]]  # scale words in the plural, vague alone ("сотни")
    qualifiers: list[tuple[tuple[str, ...], str]]  # (words before the number, qualifier name)


@dataclass
class Quantity:
    first: int  # index of the first number word, and one past the last
    stop: int
    opens: int  # index where the quantity starts, its qualifier included
    value: float | None
    low: float | None
    high: float | None
    qualifier: str
    vague: str | None


ABBREVIATIONS = {"тыс", "млн", "млрд", "тис"}  # written with a full stop
DIGITS = re.compile(r"\d+(?:[.,]\d+)?|\d{1,3}(?:[\u00a0\u202f\u2009 ]\d{3})+")


def _number(word: Word, lex: Lexicon) -> float | None:
    if DIGITS.fullmatch(word.text):
        return float(re.sub(r"\s", "", word.text).replace(",", "."))
    return lex.numbers.get(word.lemma, lex.numbers.get(word.lower))


def _scale(word: Word, lex: Lexicon) -> float | None:
    return lex.scales.get(word.lemma.rstrip("."), lex.scales.get(word.lower.rstrip(".")))


def _thousands_group(words: list[Word], i: int, text: str) -> bool:
    """Whether words[i] continues a number written in groups of three: "1 348"."""
    if i == 0 or not re.fullmatch(r"\d{3}", words[i].text) or not re.fullmatch(r"\d{1,3}", words[i - 1].text):
        return False
    return re.fullmatch(r"[\u00a0\u202f\u2009 ]", text[words[i - 1].end:words[i].start]) is not None


def _a_time_or_money(words: list[Word], i: int, stop: int) -> bool:
    """A clock time ("14:30"), a sum ("$5"), a percentage ("15 %") or a number sign ("№ 3")."""
    before = words[i - 1].text if i > 0 else ""
    after = words[stop].text if stop < len(words) else ""
    return before in ("$", "€", "£", "₴", "₽", "№", ":") or after in ("%", ":", "$", "€", "₽", "₴") \
        or after.startswith("-")


def quantity_at(words: list[Word], i: int, text: str, lex: Lexicon) -> Quantity | None:
    """The quantity that starts at words[i], or None."""
    word = words[i]
    if _number(word, lex) is None and _scale(word, lex) is None and _vague(word, lex) is None:
        return None
    stop = i + 1
    while stop < len(words) and _continues(words, stop, text, lex):
        stop += 1
    if _a_time_or_money(words, i, stop):
        return None
    if stop < len(words) and words[stop].text == "." and words[stop - 1].lower in ABBREVIATIONS:
        stop += 1  # "2 тыс. пленных"
    qualifier, opens = _qualifier(words, i, lex)
    vague = _vague(word, lex)
    if word.lower in lex.plural_vague and qualifier != "vague":  # "более сотни": a hundred, not hundreds
        vague = None
    if vague is not None:
        least, most = vague
        for w in words[i + 1:stop]:  # "несколько тысяч": 3 000 to 9 000
            factor = _scale(w, lex) or 1.0
            least, most = least * factor, most * factor
        return Quantity(i, stop, opens, None, least, most, qualifier, join(words[i:stop]))
    value = _compose(words[i:stop], lex)
    low, high = bounds(value, qualifier)
    return Quantity(i, stop, opens, value, low, high, "exactly" if qualifier == "vague" else qualifier, None)


def _continues(words: list[Word], i: int, text: str, lex: Lexicon) -> bool:
    """Whether words[i] goes on the number before it: a number word, a scale, or a group of three digits."""
    if _number(words[i], lex) is None and _scale(words[i], lex) is None:
        return False
    return not DIGITS.fullmatch(words[i].text) or _thousands_group(words, i, text)


def _vague(word: Word, lex: Lexicon) -> tuple[float, float] | None:
    """The range of a vague word: "несколько", "кілька", or a scale word in the plural ("сотни")."""
    return lex.vague.get(word.lower, lex.vague.get(word.lemma, lex.plural_vague.get(word.lower)))


def _compose(run: list[Word], lex: Lexicon) -> float:
    """"сто два" -> 102, "1 348" -> 1348, "полторы тысячи" -> 1500, "2 тыс." -> 2000."""
    total = current = 0.0
    for k, w in enumerate(run):
        number, scale = _number(w, lex), _scale(w, lex)
        grouped = k > 0 and DIGITS.fullmatch(w.text) and DIGITS.fullmatch(run[k - 1].text)
        if number is not None:
            current = current * 1000 + number if grouped else current + number  # "1 348": groups of three
        elif scale is not None:
            current = (current or 1.0) * scale
            total, current = total + current, 0.0
    return total + current


def _qualifier(words: list[Word], i: int, lex: Lexicon) -> tuple[str, int]:
    for before, name in lex.qualifiers:
        start = i - len(before)
        if start >= 0 and tuple(w.lower for w in words[start:i]) == before:
            return name, start
    return "vague", i


def bounds(value: float, qualifier: str) -> tuple[float | None, float | None]:
    """Low and high bounds as extract.py gives them: "more than 400" has no high bound, "up to 20" no low."""
    if qualifier in ("at_least", "more_than"):
        return value, None
    if qualifier in ("at_most", "up_to", "less_than"):
        return None, value
    return value, value


def nearest(patterns: re.Pattern[str], sentence: str, at: int, others: list[int]) -> str | None:
    """The match of the pattern nearest the character offset `at` of the sentence, with none of the other
    quantities (their offsets) between the two."""
    found = [(min(abs(m.start() - at), abs(m.end() - at)), m.group()) for m in patterns.finditer(sentence)
             if not any(min(m.start(), at) < o < max(m.end(), at) for o in others)]
    return min(found)[1].strip() if found else None


def all_hedges(patterns: re.Pattern[str], sentence: str) -> list[str]:
    return sorted({m.group().lower() for m in patterns.finditer(sentence)})


def claim(q: Quantity, words: list[Word], sentence: str, offset: int, said: Said, others: list[int], *,
          subject: list[Word], key: str, event: str | None, scope: re.Pattern[str],
          hedges: re.Pattern[str]) -> Claim:
    """The claim of the quantity ``q`` in ``sentence`` (at ``offset`` in the text; ``others``: the other
    quantities' offsets in it), given what each language reads its own way: the subject, its key, the
    event, and its time-phrase and hedge patterns."""
    speaker, via = said
    at = words[q.first].start - offset
    return Claim(
        value=q.value, low=q.low, high=q.high, qualifier=q.qualifier, vague=q.vague, subject=join(subject),
        subject_key=key, event=event, scope=nearest(scope, sentence, at, [o for o in others if o != at]),
        speaker=speaker, via=via, hedges=all_hedges(hedges, sentence), sentence=sentence.strip(),
        start=offset, end=offset + len(sentence), quantity=join(words[q.opens:q.stop]))


PUNCT = {",", ".", ";", ":", "—", "–", "-", "«", "»", "\"", "(", ")", "!", "?", "„", "“", "”"}


def phrase_after(words: list[Word], i: int, stop_words: set[str]) -> str | None:
    """The words from words[i] up to the next punctuation or stop word: "по данным Минобороны РФ, ..." ->
    "Минобороны РФ"."""
    out: list[Word] = []
    for w in words[i:]:
        if w.text in PUNCT or w.lower in stop_words or DIGITS.fullmatch(w.text):
            break
        out.append(w)
    return join(out) if out else None


def join(words: list[Word]) -> str:
    """The words as written, with the spaces between them."""
    return "".join(w.text + (" " if k + 1 < len(words) and words[k + 1].start > w.end else "")
                   for k, w in enumerate(words))


def headline_speaker(words: list[Word]) -> str | None:
    """"Минобороны РФ: ..." -> the words before a colon near the start of the sentence."""
    for k, w in enumerate(words[:7]):
        if w.text == ":" and k > 0:
            names = words[:k]
            if not any(DIGITS.fullmatch(n.text) or n.text in PUNCT for n in names):
                return join(names)
            return None
    return None


def subject_key(lemmas: list[str], event: str | None, keys: dict[str, str]) -> str:
    """The words of the counted phrase and the event, in extract.py's English vocabulary where the table
    knows them ("военнослужащий" -> soldier), else as lemmas; sorted, as extract.py's keys are."""
    words = {keys.get(lemma, lemma) for lemma in lemmas if not any(c.isdigit() for c in lemma)}
    if event:
        words.add(event)
    return " ".join(sorted(words))


# Lemmas (Russian, Ukrainian) -> extract.py's English key words. People nouns and their adjectives first.
KEYS = {
    "военнослужащий": "soldier", "військовослужбовець": "soldier", "солдат": "soldier", "боец": "soldier",
    "боєць": "soldier", "военный": "soldier", "військовий": "soldier", "военнопленный": "prisoner",
    "пленный": "prisoner", "полонений": "prisoner", "військовополонений": "prisoner",
    "человек": "person", "людина": "person", "люди": "person", "особа": "person",
    "житель": "resident", "мешканець": "resident", "мирный": "civilian", "мирний": "civilian",
    "гражданский": "civilian", "цивільний": "civilian", "ребенок": "child", "дитина": "child",
    "мужчина": "man", "чоловік": "man", "женщина": "woman", "жінка": "woman",
    "погибший": "dead", "загиблий": "dead", "раненый": "injured", "поранений": "injured",
    "наемник": "mercenary", "найманець": "mercenary", "заложник": "hostage", "заручник": "hostage",
    "боевик": "militant", "бойовик": "militant", "беженец": "refugee", "біженець": "refugee",
    "оккупант": "occupier", "окупант": "occupier",
    "украинский": "ukrainian", "український": "ukrainian", "всу": "ukrainian", "зсу": "ukrainian",
    "российский": "russian", "російський": "russian", "рф": "russian", "россиянин": "russian",
    "россия": "russia",
    "росія": "russia", "украина": "ukraine", "україна": "ukraine",
}
# Events: lemma (and a word it needs nearby, as "взять в плен") -> extract.py's English verb lemma.
EVENTS: list[tuple[str, str | None, str]] = [
    ("взять", "плен", "capture"), ("брать", "плен", "capture"), ("попасть", "плен", "capture"),
    ("захватить", None, "capture"), ("пленить", None, "capture"), ("сдаться", None, "surrender"),
    ("погибнуть", None, "kill"), ("убить", None, "kill"), ("уничтожить", None, "kill"),
    ("ликвидировать", None, "kill"), ("ранить", None, "injure"), ("пострадать", None, "injure"),
    ("получить", "ранение", "injure"), ("эвакуировать", None, "evacuate"), ("задержать", None, "arrest"),
    ("освободить", None, "release"),
    ("вернуть", None, "return"), ("обменять", None, "exchange"), ("потерять", None, "lose"),
]


Said = tuple[str | None, list[str]]  # the speaker of a sentence, and the outlets it passed through


@dataclass(frozen=True)
class Rules:
    """What a language brings to the sentence loop it shares with the other (``read``)."""

    lexicon: Lexicon
    counted: Callable[[list[Word], int], int | None]  # the noun a quantity ending at the index counts
    claim: Callable[[list[Word], Quantity, int, str, int, Said, list[int]], Claim]
    about_this: Callable[[list[Word]], bool]  # "Об этом сообщил X": X said the sentence before
    report_hedges: re.Pattern[str]  # "не удалось проверить": said of the report, with no number


def read(text: str, sentences: Iterable[tuple[int, int, list[Word]]], rules: Rules,
         speaker_of: Callable[[int, int, list[Word]], Said]) -> Extraction:
    """The claims of each sentence (start, end, words) of ``text``: its quantities that count a noun, said
    by the sentence's speaker (``speaker_of``, which keeps the names seen for pronouns); a sentence that
    says who said the one before ("Об этом сообщил X", "Про це повідомили в X") gives its speaker to that
    sentence's claims that had none."""
    out = Extraction()
    before: list[Claim] = []
    for start, end, words in sentences:
        out.sentences += 1
        speaker, via = speaker_of(start, end, words)
        if speaker is not None and rules.about_this(words):
            for claim in before:
                if claim.speaker is None:
                    claim.speaker, claim.via = speaker, via
        sentence = text[start:end]
        quantities = _quantities(words, text, rules)
        others = [words[q.first].start - start for q, _ in quantities]
        said = (speaker, via)
        found = [rules.claim(words, q, noun, sentence, start, said, others) for q, noun in quantities]
        out.claims += found
        if not found and rules.report_hedges.search(sentence):
            out.report_hedges.append(sentence.strip())
        before = found
    return out


def _quantities(words: list[Word], text: str, rules: Rules) -> list[tuple[Quantity, int]]:
    """Each quantity of the sentence that counts a noun, with the noun's index."""
    found = []
    i = 0
    while i < len(words):
        q = quantity_at(words, i, text, rules.lexicon)
        if q is None:
            i += 1
            continue
        noun = rules.counted(words, q.stop)
        if noun is not None:
            found.append((q, noun))
        i = q.stop
    return found
