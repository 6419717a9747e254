"""Claims in Russian and Ukrainian: the fixture texts (written for these tests in the style of official
statements and news reports) against their gold files, the fields gold does not hold (scope, via, subject
keys), what is no claim, the language router, and no download at first use."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import pytest

from vericount.claims.extract import Claim, extract
from vericount.claims.language import language_of
from vericount.claims.russian import extract_russian
from vericount.claims.ukrainian import extract_ukrainian

FIXTURES = Path(__file__).parent / "fixtures" / "claims"


def _text(name: str) -> str:
    return (FIXTURES / f"{name}.txt").read_text(encoding="utf-8")


def _claims(name: str) -> list[Claim]:
    extract_language = extract_russian if name.startswith("ru") else extract_ukrainian
    return extract_language(_text(name)).claims


def _find(claims: list[Claim], quantity: str, sentence_start: str = "") -> Claim:
    found = [c for c in claims if c.quantity == quantity and c.sentence.startswith(sentence_start)]
    assert len(found) == 1, (quantity, [c.quantity for c in claims])
    return found[0]


@pytest.mark.parametrize("name", ["ru_statement", "ru_news", "uk_statement", "uk_news"])
def test_fixture_gold(name: str) -> None:
    """Every gold claim but the one noted below is found with its value, bounds, qualifier and speaker."""
    claims = _claims(name)
    golds: list[dict[str, Any]] = [json.loads(line) for line in (FIXTURES / f"{name}.gold.jsonl").read_text(
        encoding="utf-8").splitlines()]
    for g in golds:
        if g["quantity"] == "190":  # "ще 190 — поранено": no noun after the number; a known gap
            assert not any(c.quantity == "190" for c in claims)
            continue
        c = _find(claims, g["quantity"], g["sentence"][:30])
        assert c.sentence == g["sentence"]
        assert c.qualifier == g["qualifier"]
        assert c.vague == g["vague"]
        assert c.value == g["value"]
        if g["qualifier"] != "about" and g["vague"] is None:  # gold leaves "about" unbounded
            assert (c.low, c.high) == (g["low"], g["high"])
        assert g["counted"] in c.subject
        if g["speaker"] is None:
            assert c.speaker is None, c.speaker  # the outlet's own voice, never the nearest name
        else:
            assert c.speaker is not None and g["speaker"] in c.speaker


def test_offsets_point_at_the_sentence() -> None:
    text = _text("ru_news")
    for c in extract_russian(text).claims:
        assert text[c.start:c.end].strip() == c.sentence
        assert c.quantity in c.sentence
    text = _text("uk_news")
    for c in extract_ukrainian(text).claims:
        assert text[c.start:c.end].strip() == c.sentence


def test_russian_fields() -> None:
    claims = _claims("ru_news")
    first = _find(claims, "Более 120 тысяч")
    assert (first.value, first.low, first.high) == (120_000, 120_000, None)
    assert first.scope == "с 6 августа"
    assert first.subject == "жителей Курской области"
    killed = _find(claims, "двое")
    assert killed.via == ["ТАСС"] and killed.speaker == "региональный оперативный штаб"
    assert killed.scope == "за последние сутки" and killed.event == "погибли"
    assert killed.subject_key == "civilian kill resident"
    assert _find(claims, "свыше 400").scope == "за сутки"
    assert _find(claims, "несколько тысяч").low == 3000
    statement = _claims("ru_statement")
    assert _find(statement, "сто два").scope == "с начала года"
    assert _find(statement, "до 300").scope == "за сутки"
    assert _find(statement, "Несколько десятков").high == 90
    assert "Независимо проверить их не удалось." in extract_russian(_text("ru_news")).report_hedges


def test_ukrainian_fields() -> None:
    claims = _claims("uk_news")
    surrendered = _find(claims, "Понад 1 300")
    assert surrendered.scope == "з 6 серпня" and surrendered.event == "здалися"
    assert surrendered.subject == "військовослужбовців РФ"
    told = _find(claims, "близько 7 тисяч")
    assert told.via == ["Суспільному"] and told.scope == "з початку року"
    assert _find(claims, "щонайменше 9").subject_key == "injure person"
    assert _find(claims, "Сотні").low == 200
    statement = _claims("uk_statement")
    assert _find(statement, "1 340").scope == "за минулу добу"
    assert _find(statement, "214").hedges == ["за попередніми даними"]


def test_subject_keys_meet_across_languages() -> None:
    """Prisoners, captured soldiers and the injured get the same key in English, Russian and Ukrainian."""
    ru = {c.quantity: c.subject_key for c in extract_russian(
        "Среди них 12 российских пленных. ВСУ взяли в плен 102 российских военнослужащих. "
        "Еще 9 человек ранены.").claims}
    uk = {c.quantity: c.subject_key for c in extract_ukrainian(
        "Серед них 12 російських полонених. ЗСУ взяли в полон 102 російських військовослужбовців. "
        "Ще 9 людей поранено.").claims}
    en = {c.quantity: c.subject_key for c in extract(
        "Among them were 12 Russian prisoners. Ukraine said it captured 102 Russian soldiers. "
        "At least 9 people were injured, officials said.").claims}
    assert ru["12"] == uk["12"] == en["12"] == "prisoner russian"
    assert ru["102"] == uk["102"] == en["102"] == "capture russian soldier"
    assert ru["9"] == uk["9"] == en["At least 9"] == "injure person"
    ru_news = _find(_claims("ru_news"), "более 80").subject_key
    uk_news = _find(_claims("uk_news"), "сто два").subject_key
    assert ru_news == uk_news == "capture russian soldier"


def test_no_claims_from_dates_ages_money_percentages_units() -> None:
    ru = ("Сводка на 10 августа 2024 года. В 14:30 погиб мужчина в возрасте 45 лет. Ущерб составил 5 млн "
          "рублей, или 15% бюджета. Бойцы 810-й бригады и 3-й роты вернулись через 2 дня.")
    uk = ("Станом на 08:00 10.08.2024 року. О 14:30 загинув чоловік у віці 45 років. Збитки склали 25 млн "
          "гривень, або 12% бюджету. Бійці 810-ї бригади повернулися через 2 дні у 2023 році.")
    assert extract_russian(ru).claims == []
    assert extract_ukrainian(uk).claims == []
    # every number of the fixtures that is found, in order: none from "10 августа 2024 года", "80-й",
    # "47-й", "2 млрд рублей", "15%", "45 лет", "72-летняя", "30%", "08:00", "24.02.22", "810-ї", "67 років",
    # "25 млн гривень", "12%"; counts of things (attacks, tanks, drones) are claims, as in English
    assert [c.quantity for c in _claims("ru_statement")] == [
        "четыре", "до 300", "три", "пять", "12", "более 1 350", "сто два", "18", "Несколько десятков", "35"]
    assert [c.quantity for c in _claims("ru_news")] == [
        "Более 120 тысяч", "около 2 тысяч", "сотни", "двое", "15", "свыше 400", "порядка тысячи", "более 80",
        "несколько тысяч", "почти 5 тысяч"]
    assert [c.quantity for c in _claims("uk_statement")] == [
        "близько 596 150", "1 340", "152", "38", "214", "56", "4", "86", "112", "понад дві тисячі"]
    assert [c.quantity for c in _claims("uk_news")] == [
        "Понад 1 300", "сто два", "двоє", "щонайменше 9", "близько 7 тисяч", "Сотні", "1 340"]


def test_number_words_and_qualifiers() -> None:
    ru = {c.quantity: c for c in extract_russian(
        "Погибли двести человек. Эвакуированы полторы тысячи жителей. Ранены не менее 40 человек. "
        "В плен попали по меньшей мере 7 военнослужащих. Задержаны менее 30 человек. Пострадали почти "
        "сто двадцать три человека. Сообщается о более чем сотне раненых.").claims}
    assert ru["двести"].value == 200 and ru["полторы тысячи"].value == 1500
    assert ru["не менее 40"].qualifier == "at_least" and ru["по меньшей мере 7"].qualifier == "at_least"
    assert ru["менее 30"].qualifier == "less_than" and ru["менее 30"].high == 30
    assert ru["почти сто двадцать три"].value == 123 and ru["почти сто двадцать три"].qualifier == "about"
    uk = {c.quantity: c for c in extract_ukrainian(
        "Загинули п’ятеро людей. Евакуйовано до 300 мешканців. Поранено майже двісті сорок осіб.").claims}
    assert uk["п’ятеро"].value == 5
    assert uk["до 300"].qualifier == "up_to" and uk["до 300"].low is None
    assert uk["майже двісті сорок"].value == 240


def test_language_of() -> None:
    assert language_of("Ukraine said it captured 102 soldiers in one day.") == "en"
    assert language_of(_text("ru_news")) == "ru"
    assert language_of(_text("ru_statement")) == "ru"
    assert language_of(_text("uk_news")) == "uk"
    assert language_of(_text("uk_statement")) == "uk"
    assert language_of("") == "en"


def test_nothing_is_downloaded(monkeypatch: pytest.MonkeyPatch) -> None:
    """The Russian models load from the installed package: with every connection refused, a first load
    still works."""
    from vericount.claims import russian

    def refuse(*_: object) -> None:
        raise OSError("no network in this test")

    russian._pipeline.cache_clear()
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    assert [c.value for c in extract_russian("Погибли 12 человек.").claims] == [12]
    assert [c.value for c in extract_ukrainian("Загинули 12 людей.").claims] == [12]
