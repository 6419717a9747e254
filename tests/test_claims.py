"""Claims: extraction on a report written for the test in the founding report's patterns, the ledger and
the comparison through the CLI, and bad input."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import Cli
from vericount.claims.extract import extract

# Written for vericount (fictional); the sentence shapes follow news reports like the founding Kursk report.
# samples/reports/example_report.txt holds the same text for the demo.
REPORT = """Videos appear to show Southland soldiers surrendering, experts say
The Daily Example reviewed more than 40 photos and videos taken since the offensive began on March 3rd.
Most of the videos appeared to have been filmed by Northland soldiers, the outlet said. The Ledger could not \
independently verify the footage.
The Example said that footage it verified showed that Northland had captured at least 75 Southland soldiers.
Before the offensive, Southland President Jan Kowal said Northland was holding 1,200 Southland soldiers.
Northland said it captured 30 soldiers in one day. Officials also told the Morning Ledger that the total \
number of captured Southland soldiers was in the "hundreds."
Northland says that it has taken more than 90 square miles of Southland territory.
According to Anna Berg, a spokeswoman for the Northland army, about two hundred captured troops were moved.
"""


def _by_quantity(text: str) -> dict[str, dict[str, object]]:
    return {c.quantity: c.to_json() for c in extract(text).claims}


def test_claims_in_the_founding_report_s_patterns() -> None:
    found = _by_quantity(REPORT)
    assert set(found) >= {"more than 40", "at least 75", "1,200", "30", "hundreds", "more than 90",
                          "about two hundred"}
    photos = found["more than 40"]
    assert (photos["low"], photos["high"], photos["qualifier"]) == (40.0, None, "more_than")
    assert photos["subject"] == "photos and videos" and photos["event"] == "reviewed"
    assert photos["speaker"] == "The Daily Example" and "offensive" in str(photos["scope"])
    assert "The Ledger could not independently verify the footage." in photos["hedges"]  # type: ignore[operator]
    verified = found["at least 75"]
    assert verified["speaker"] == "The Daily Example" and verified["subject"] == "Southland soldiers"
    assert verified["event"] == "captured" and "verified" in verified["hedges"]  # type: ignore[operator]
    held = found["1,200"]
    assert (held["low"], held["high"], held["event"]) == (1200.0, 1200.0, "holding")
    assert "Jan Kowal" in str(held["speaker"]) and held["scope"] == "Before the offensive"
    day = found["30"]
    assert (day["speaker"], day["scope"], day["event"]) == ("Northland", "in one day", "captured")
    total = found["hundreds"]
    assert total["speaker"] == "Officials" and total["via"] == ["the Morning Ledger"]
    assert (total["low"], total["high"], total["qualifier"]) == (200.0, 999.0, "vague")
    assert total["subject"] == "captured Southland soldiers"
    land = found["more than 90"]
    assert land["subject"] == "square miles of Southland territory" and land["speaker"] == "Northland"
    moved = found["about two hundred"]
    assert moved["value"] == 200.0 and moved["qualifier"] == "about" and moved["speaker"] == "Anna Berg"
    # "Southland soldiers captured" and "captured Southland troops" meet
    assert verified["subject_key"] == total["subject_key"] == "capture soldier southland"
    sentence = REPORT[int(day["start"]):int(day["end"])]  # type: ignore[call-overload]
    assert sentence.startswith("Northland said it captured 30 soldiers") and sentence == day["sentence"]


def test_no_numbers_no_claims_and_dates_are_not_claims() -> None:
    assert extract("The war began on August 6th, 2024, and several days later it was over.").claims == []
    assert extract("Nothing here is counted at all.").claims == []


def test_claims_commands(cli: Cli, tmp_path: Path) -> None:
    report = tmp_path / "daily_example.txt"
    report.write_text(REPORT, encoding="utf-8")
    page = tmp_path / "page.html"
    page.write_text("<!doctype html><html><head><title>Border news</title><script>alert('x')</script></head>"
                    "<body><iframe src='http://evil.example'></iframe><article><p>Officials said that "
                    "<b>about 60</b> soldiers surrendered near the border on Tuesday, the Herald "
                    "reported.</p><p>More reporting followed later in the day from the region.</p></article>"
                    "<script>document.write('<p>99 fake soldiers</p>')</script></body></html>",
                    encoding="utf-8")
    foreign = tmp_path / "bericht.txt"
    foreign.write_text("Die Soldaten wurden gestern gefangen genommen, sagte der Sprecher der Armee in der "
                       "Stadt.", encoding="utf-8")
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    done = cli("claims", "add", str(report), str(page), str(foreign), "--outlet", "The Ledger",
               "--published", "2024-08-14")
    assert done.exit_code == 0, done.output
    assert "claims are read in English, Russian and Ukrainian" in done.stderr
    bad = cli("claims", "add", str(empty))
    assert bad.exit_code == 1 and "empty.txt" in bad.stderr
    assert cli("claims", "add", str(report), "--published", "last week").exit_code == 1

    out = json.loads(cli("claims", "--json").stdout)
    claims = out["claims"]
    keys = {"id", "report", "value", "low", "high", "qualifier", "subject", "event", "scope", "speaker",
            "via", "hedges", "sentence", "start", "end"}
    assert all(keys <= set(c) for c in claims)
    assert {c["quantity"] for c in claims} >= {"at least 75", "30", "about 60"}
    assert "99" not in {c["quantity"] for c in claims}  # the script's text is not the page's
    sixty = next(c for c in claims if c["quantity"] == "about 60")
    assert sixty["via"][0] == "The Ledger" and sixty["speaker"] == "Officials"
    assert all(c["via"][0] == "The Ledger" for c in claims)
    group = next(g for g in out["groups"] if g["key"] == "capture soldier southland")
    assert len(group["claims"]) == 2 and group["counts_people"]
    stored = cli("show", "page.html", "--json")
    assert stored.exit_code == 0 and json.loads(stored.stdout)["kind"] == "text"  # kept as evidence

    # reports in Russian and Ukrainian are read by their own rules, and their claims meet the English ones
    russian, ukrainian = tmp_path / "svodka.txt", tmp_path / "zvit.txt"
    russian.write_text("Министерство обороны России заявило, что за сутки в плен сдались 30 военнослужащих "
                       "Южландии.", encoding="utf-8")
    ukrainian.write_text("Генеральний штаб повідомив, що понад 40 військовослужбовців Південної країни "
                         "взяли в полон.", encoding="utf-8")
    assert cli("claims", "add", str(russian), str(ukrainian)).exit_code == 0
    out = json.loads(cli("claims", "--json").stdout)
    read = {name: next(c for c in out["claims"] if c["sentence"].startswith(start))
            for name, start in (("svodka.txt", "Министерство"), ("zvit.txt", "Генеральний"))}
    assert read["svodka.txt"]["value"] == 30 and read["svodka.txt"]["scope"] == "за сутки"
    assert read["svodka.txt"]["speaker"] == "Министерство обороны России"
    assert read["zvit.txt"]["qualifier"] == "more_than" and read["zvit.txt"]["low"] == 40
    assert read["zvit.txt"]["speaker"] == "Генеральний штаб"
    assert all("soldier" in c["subject_key"].split() for c in read.values())
    keys = {read["svodka.txt"]["subject_key"], read["zvit.txt"]["subject_key"]}
    assert all(g["counts_people"] for g in out["groups"] if g["key"] in keys)

    compared = json.loads(cli("claims", "compare", "--json").stdout)
    assert compared["tally"]["at_least"] == 0
    assert {c["quantity"] for c in compared["claims"]} >= {"at least 75", "30", "hundreds"}
    assert "more than 90" not in {c["quantity"] for c in compared["claims"]}  # land is not people
    assert all("not yet supported" in c["verdict"] for c in compared["claims"])


def test_attributions_give_source_cue_and_content_spans() -> None:
    from vericount.claims.attribution import attributions

    text = ('The Daily Example reports that 40 soldiers surrendered near the river.\n'
            '"We saw them walk out with their hands up," a witness said.')
    spans = [(text[a.source[0]:a.source[1]] if a.source else None, text[a.cue[0]:a.cue[1]],
              text[a.content[0]:a.content[1]] if a.content else None) for a in attributions(text)]
    assert ("The Daily Example", "reports", "that 40 soldiers surrendered near the river") in spans
    assert ("a witness", "said", '"We saw them walk out with their hands up,"') in spans  # marks and all


def test_attributions_of_run_on_quotations_polls_and_colons() -> None:
    from vericount.claims.attribution import attributions

    text = ('\u201cWe counted 40 of them,\u201d the commander continued. \u201cMore came later.\n'
            '\u201cNobody fired a shot.\u201d\n'
            'In a Kyiv poll released Monday, 60 percent of respondents backed the talks.\n'
            'Jane Roe: \u201cThere were at least 12 trucks.\u201d')

    def said(a):
        return (text[a.source[0]:a.source[1]] if a.source else None, text[a.cue[0]:a.cue[1]],
                text[a.content[0]:a.content[1]] if a.content else "")

    spans = [said(a) for a in attributions(text)]
    commander = next(s for s in spans if s[1] == "continued")
    assert commander[0] == "the commander"
    assert "We counted 40" in commander[2] and "Nobody fired a shot" in commander[2]  # runs on
    poll = next(s for s in spans if s[1] == "In")
    assert poll[0] == "a Kyiv poll released Monday" and "60 percent" in poll[2]
    assert next(s for s in spans if s[1] == ":")[:2] == ("Jane Roe", ":")


def test_a_line_longer_than_the_parser_takes_is_read_in_pieces() -> None:
    from vericount.claims.extract import extract
    from vericount.claims.parse import PARAGRAPH_CHARS, paragraphs

    sentence = "Officials said 40 soldiers were captured near the river. "
    text = "Intro.\n" + sentence * (3 * PARAGRAPH_CHARS // len(sentence))
    pieces = list(paragraphs(text))
    assert all(len(p) <= PARAGRAPH_CHARS for _, p in pieces) and len(pieces) >= 4
    assert all(text[o:o + len(p)] == p for o, p in pieces)
    assert "".join(p for _, p in pieces[1:]) == text[7:]
    claims = extract(text[:7 + 200 * len(sentence)]).claims
    assert len(claims) == 200 and all(c.value == 40 and c.speaker == "Officials" for c in claims)


def test_a_quotation_gives_its_claims_its_speaker_across_paragraphs() -> None:
    from vericount.claims.extract import extract

    text = ('\u201cWe took 40 prisoners near the bridge,\u201d the commander continued. '
            '\u201cThey had no food.\n'
            '\u201cAnother 12 soldiers surrendered at dawn.\u201d\n'
            'The weather was cold. Some 30 villagers left.')
    speakers = {c.value: c.speaker for c in extract(text).claims}
    assert speakers == {40: "the commander", 12: "the commander", 30: None}


def test_the_outlets_own_voice_up_to_passives_and_ages() -> None:
    from vericount.claims.extract import extract

    text = ("Ukraine captured 102 soldiers near Sudzha on Tuesday. Up to 40 people were evacuated, officials "
            "said. In addition, 33 were reported hurt. One of the victims was a teacher. The dead were aged "
            "nine, ten and thirteen. The quake struck at 2024 Friday, UTC.")
    claims = {c.quantity: c for c in extract(text).claims}
    # nobody in the text says Ukraine captured them: the outlet says so, not the country that did it
    assert claims["102"].speaker is None
    assert claims["Up to 40"].qualifier == "up_to" and claims["Up to 40"].high == 40
    assert claims["Up to 40"].low is None and claims["Up to 40"].speaker == "officials"
    assert claims["33"].speaker is None  # what was reported is not who reported it
    assert claims["One"].value == 1 and "victims" in claims["One"].subject
    assert not {"nine", "ten", "thirteen", "2024"} & set(claims), claims  # ages and a clock time

    said = {c.quantity: c.speaker for c in extract(
        "Estimates by relief workers indicate 400 people fled. According to the town's mayor, Anna Berg, 12 "
        "people died.").claims}
    assert said == {"400": "relief workers", "12": "Anna Berg"}  # who is behind the estimate; the name
    [named] = extract("The Committee to Protect Journalists reports sixteen journalist deaths.").claims
    assert named.speaker == "The Committee to Protect Journalists"  # a name kept whole
