"""Ukrainian word lists for ukrainian.py: number words in their cases, qualifiers, and a small dictionary
of the people nouns and adjectives that news counts, each form mapped to its lemma. No Ukrainian
morphology ships with the project; words outside these lists get a stem (`stem`), not a lemma.
"""

from __future__ import annotations

from vericount.claims.slavic import MONTHS, Lexicon


def _words(text: str) -> list[str]:
    return text.split()


def _cases(base: str) -> dict[str, str]:
    """The forms of a number word ending in -ть or -т: "п'ять" -> "п'яти", "п'ятьох", "п'ятьма"."""
    stem = base.removesuffix("ь")
    return {base: base, stem + "и": base, stem + "ьох": base, stem + "ьма": base, stem + "ьом": base}


_REGULAR = ["п'ять", "дев'ять", "десять", "одинадцять", "дванадцять", "тринадцять", "чотирнадцять",
            "п'ятнадцять", "шістнадцять", "сімнадцять", "вісімнадцять", "дев'ятнадцять", "двадцять",
            "тридцять", "п'ятдесят", "шістдесят", "сімдесят", "вісімдесят"]
_VALUES = {"п'ять": 5, "дев'ять": 9, "десять": 10, "одинадцять": 11, "дванадцять": 12, "тринадцять": 13,
           "чотирнадцять": 14, "п'ятнадцять": 15, "шістнадцять": 16, "сімнадцять": 17, "вісімнадцять": 18,
           "дев'ятнадцять": 19, "двадцять": 20, "тридцять": 30, "п'ятдесят": 50, "шістдесят": 60,
           "сімдесят": 70, "вісімдесят": 80}
_IRREGULAR = {
    1: "один одна одне одного однієї одному одній одним одною",
    2: "два дві двох двом двома двоє", 3: "три трьох трьом трьома троє",
    4: "чотири чотирьох чотирьом чотирма четверо", 5: "п'ятеро", 6: "шість шести шістьох шістьма шестеро",
    7: "сім семи сімох сьома семеро", 8: "вісім восьми вісьмох вісьма восьмеро", 9: "дев'ятеро",
    10: "десятеро", 40: "сорок сорока", 90: "дев'яносто дев'яноста", 100: "сто ста",
    200: "двісті двохсот двомстам", 300: "триста трьохсот", 400: "чотириста чотирьохсот",
    500: "п'ятсот п'ятисот", 600: "шістсот шестисот", 700: "сімсот семисот", 800: "вісімсот восьмисот",
    900: "дев'ятсот дев'ятисот", 150: "півтораста"}
NUMBERS: dict[str, float] = {
    **{form: float(_VALUES[base]) for base in _REGULAR for form in _cases(base)},
    **{form: float(value) for value, forms in _IRREGULAR.items() for form in forms.split()},
    "півтора": 1.5, "півтори": 1.5}
SCALES = {**dict.fromkeys(_words("тисяча тисячі тисяч тисячу тисячею тисячам тис"), 1e3),
          **dict.fromkeys(_words("мільйон мільйона мільйони мільйонів млн"), 1e6),
          **dict.fromkeys(_words("мільярд мільярда мільярдів млрд"), 1e9),
          **dict.fromkeys(_words("сотня сотні сотню сотень"), 100.0),
          **dict.fromkeys(_words("десяток десятка десятки десятків"), 10.0)}
PLURAL_VAGUE = {**dict.fromkeys(("сотні", "сотень"), (200.0, 999.0)),
                **dict.fromkeys(("десятки", "десятків"), (20.0, 99.0)),
                **dict.fromkeys(("тисячі", "тисяч"), (2000.0, 9999.0))}
VAGUE = dict.fromkeys(("кілька", "кількох", "декілька", "декількох"), (3.0, 9.0))
QUALIFIERS = [
    (("не", "менш", "ніж"), "at_least"), (("не", "більш", "ніж"), "at_most"), (("більш", "ніж"), "more_than"),
    (("більше", "ніж"), "more_than"), (("менш", "ніж"), "less_than"), (("менше", "ніж"), "less_than"),
    (("не", "менше"), "at_least"), (("як", "мінімум"), "at_least"), (("не", "більше"), "at_most"),
    (("щонайменше",), "at_least"), (("принаймні",), "at_least"), (("мінімум",), "at_least"),
    (("щонайбільше",), "at_most"), (("максимум",), "at_most"), (("понад",), "more_than"),
    (("більше",), "more_than"), (("близько",), "about"), (("приблизно",), "about"), (("майже",), "about"),
    (("орієнтовно",), "about"), (("до",), "up_to"), (("менше",), "less_than"), (("рівно",), "exactly")]
LEXICON = Lexicon(NUMBERS, SCALES, VAGUE, PLURAL_VAGUE, QUALIFIERS)

NOUNS = {  # lemma: its other forms
    "полонений": "полоненого полонені полонених полоненим полоненими",
    "військовополонений": "військовополоненого військовополонені військовополонених",
    "військовослужбовець": "військовослужбовця військовослужбовці військовослужбовців військовослужбовцям",
    "військовий": "військового військові військових", "солдат": "солдата солдати солдатів",
    "боєць": "бійця бійці бійців", "людина": "людини люди людей людьми", "особа": "особи осіб особам",
    "житель": "жителя жителі жителів", "мешканець": "мешканця мешканці мешканців",
    "цивільний": "цивільного цивільні цивільних", "дитина": "дитини діти дітей дітьми",
    "чоловік": "чоловіка чоловіки чоловіків", "жінка": "жінки жінок",
    "загиблий": "загиблого загиблі загиблих",
    "поранений": "пораненого поранені поранених", "окупант": "окупанта окупанти окупантів",
    "найманець": "найманця найманці найманців", "заручник": "заручника заручники заручників",
    "біженець": "біженця біженці біженців", "захисник": "захисника захисники захисників",
    "бойовик": "бойовика бойовики бойовиків"}
ADJECTIVES = ["український", "російський", "мирний", "цивільний", "військовий"]  # lemma; forms by ending
ADJECTIVE_ENDINGS = ("ий", "ого", "ому", "им", "ій", "а", "у", "ої", "і", "их", "ими", "ою")
NOUN_FORMS = {form: lemma for lemma, forms in NOUNS.items() for form in [lemma, *forms.split()]}
ADJECTIVE_FORMS = {lemma[:-2] + ending: lemma for lemma in ADJECTIVES for ending in ADJECTIVE_ENDINGS}

NOT_COUNTED = {  # a number before these is a date, a time, money, a measure or a military unit
    *_words("рік року роки років році місяць місяця місяці місяців день дня дні днів доба доби діб добу"),
    *_words("тиждень тижня тижні тижнів година години годин хвилина хвилини хвилин секунд"),
    *_words("гривня гривні гривень грн долар долара доларів дол євро рубль рублів"),
    *_words("відсоток відсотки відсотків км кілометрів метрів градусів разів тонн"),
    *_words("бригада бригади бригад батальйон батальйону полк полку дивізія дивізії рота роти"), *MONTHS}


def stem(word: str) -> str:
    """A crude lemma for words outside the dictionary: the word without a common case ending."""
    for ending in ("ами", "ями", "ими", "ого", "ому", "ів", "их", "ах", "ях", "ей", "ий", "ої", "і", "и",
                   "а", "я", "у", "ю"):
        if word.endswith(ending) and len(word) - len(ending) >= 3:
            return word[:-len(ending)]
    return word


def lemma(word: str) -> str:
    """The lemma of a word in the dictionary, a stem for a word outside it; abbreviations lower-cased."""
    lowered = normalise(word)
    known = NOUN_FORMS.get(lowered, ADJECTIVE_FORMS.get(lowered))
    return known or (lowered if word.isupper() else stem(lowered))


def normalise(word: str) -> str:
    return word.lower().replace("\u2019", "'").replace("\u02bc", "'")
