"""Claims benchmark for Russian and Ukrainian: the people-count claims of the project's own fixture texts
(tests/fixtures/claims/*.txt, with their *.gold.jsonl), scored as bench/claims.py scores the Wikinews gold
set: recall, value and qualifier exact, speaker right (the outlet's own voice must be found as no speaker),
and the claims found from dates, ages, money, percentages or unit numbers.

    python bench/claims_slavic.py

The gold is the project's own: texts written for the tests, by the person who wrote the rules, so the
figures flatter; they say the rules do what the tests say, not how they fare on real news.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
FIXTURES = HERE.parent / "tests" / "fixtures" / "claims"
sys.path.insert(0, str(HERE.parent / "src"))
sys.path.insert(0, str(HERE))

from claims import Score, listed, score  # noqa: E402  (the same scoring as Wikinews)

NOT_PEOPLE = re.compile(  # what a claim must never come from, in Russian and Ukrainian
    r"(?:\bлет\b|\bгод\w*|\bрок\w*|\bрік\b|рубл\w+|гривен\w*|гривн\w*|доллар\w*|долар\w*|%|процент\w*|"
    r"відсот\w*|возраст\w*|віці|-летн\w*|-річн\w*|бригад\w*|\d+-[а-яіїє]+|\d{1,2}:\d{2}|"
    r"январ|феврал|март|апрел|ма[яй]\b|июн|июл|август|сентябр|октябр|ноябр|декабр|"
    r"січн|лют|берез|квітн|травн|червн|липн|серпн|вересн|жовтн|листопад|грудн)",
    re.IGNORECASE)


def _score(extract: Callable[[str], Any], names: list[str]) -> Score:
    """The figures for one language over its fixture files."""
    result = Score()
    for name in names:
        text = (FIXTURES / f"{name}.txt").read_text(encoding="utf-8")
        golds = [json.loads(line) for line in (FIXTURES / f"{name}.gold.jsonl").read_text(
            encoding="utf-8").splitlines() if line.strip()]
        score(result, text, golds, extract(text).claims, NOT_PEOPLE, f"{name}: ")
    return result


def slavic(data: Path) -> None:
    """Print the figures per language. `data` is unused (the fixtures live in the repository); it is taken
    so that bench/claims.py can call this as it calls its other sections."""
    del data
    from vericount.claims.russian import extract_russian
    from vericount.claims.ukrainian import extract_ukrainian

    print("Russian and Ukrainian claims on the project's own fixtures (tests/fixtures/claims, written for "
          "the tests by the author of the rules: the figures flatter)")
    for language, extract, names in (("Russian", extract_russian, ["ru_statement", "ru_news"]),
                                     ("Ukrainian", extract_ukrainian, ["uk_statement", "uk_news"])):
        s = _score(extract, names)
        found = max(1, s.found)
        print(f"   {language}: {len(names)} texts, {s.total} people-count claims")
        print(f"      recall {s.found / s.total:.3f} ({s.found}/{s.total})")
        print(f"      value and qualifier exact {s.exact / found:.3f} of those found")
        print(f"      speaker right {s.speaker / found:.3f} of those found; the outlet's own voice "
              f"{s.outlet_right}/{s.outlet_total}")
        print(f"      claims from dates, ages, money, percentages or unit numbers: {len(s.forbidden)}")
        listed(s, "      ")
    print()


def main() -> int:
    print(f"$ python bench/claims_slavic.py {' '.join(sys.argv[1:])}".rstrip() + "\n")
    slavic(HERE.parent.parent / "shared" / "data")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
