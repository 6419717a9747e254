"""The review desk over HTTP (in process): sign-in, every page and action, roles, CSRF, conflicts, escaping,
media (range requests, no path traversal), proposals accepted (a page of crops confirmed with flips, a group
judgment) and two reviewers deciding on the same tracks."""

from __future__ import annotations

import html
import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import func, select

from tests import mediagen as mg
from tests.conftest import Cli
from vericount.case import Case
from vericount.desk.app import COOKIE, create_app
from vericount.desk.users import add_user
from vericount.store.schema import AuditEvent, Item, PersonTrack, utcnow

SAMPLES = Path(__file__).resolve().parent.parent / "samples" / "media"
PHOTOS = ("obama.jpg", "obama2.jpg", "biden.jpg", "obama_and_biden.jpg")
HOSTILE = "<script>alert(1).png"
PASSWORD = "correct horse battery"
PAGES = ("/", "/items", "/people", "/tally", "/claims", "/audit")


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite case with the sample photos (people found, verified, tallied), a generated video, a file
    with markup in its name and a report; three users. Each test works on its own copy."""
    root = tmp_path_factory.mktemp("desk")
    media = root / "media"
    media.mkdir()
    for name in PHOTOS:
        shutil.copy(SAMPLES / name, media / name)
    mg.make_video(media / "clip.mp4", seconds=2.0)
    mg.make_image(media / HOSTILE)
    (media / "report.txt").write_text("Officials said that 40 soldiers were captured in one day.\n")
    Case.create(root / "case", actor="tester").close()
    cli = Cli(root / "case")
    assert cli("add", str(media)).exit_code == 0
    for name in PHOTOS:
        assert cli("status", name, "verified", "--note", "sample photo").exit_code == 0
    assert cli("people").exit_code == 0
    assert cli("people", "confirm", *PHOTOS).exit_code == 0  # a reviewer looked: each track is a person
    assert cli("claims", "add", str(media / "report.txt"), "--outlet", "Example News").exit_code == 0
    assert cli("tally").exit_code == 0
    with Case.open(root / "case", actor="tester") as case:
        for name, role in (("ada", "admin"), ("rey", "reviewer"), ("rex", "reviewer"), ("vic", "viewer")):
            add_user(case, name, role, PASSWORD)
    return root / "case"


@pytest.fixture
def desk(template: Path, tmp_path: Path) -> Iterator[Case]:
    shutil.copytree(template, tmp_path / "case")
    with Case.open(tmp_path / "case", actor="tester") as case:
        yield case


def client(case: Case, user: str | None = None) -> TestClient:
    c = TestClient(create_app(case), base_url="http://127.0.0.1")
    if user is not None:
        page = c.get("/login")
        token = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert token is not None
        done = c.post("/login", data={"name": user, "password": PASSWORD, "csrf": token.group(1),
                                      "next": "/"},
                      follow_redirects=False)
        assert done.status_code == 303, done.text
    return c


def csrf(c: TestClient, path: str = "/") -> str:
    found = re.search(r'<meta name="csrf" content="([^"]+)">', c.get(path).text)
    assert found is not None
    return found.group(1)


def item_id(case: Case, name: str) -> str:
    from vericount.items import show

    return show(case, name).id


def revision(case: Case, item: str) -> int:
    with case.session() as s:
        found = s.get(Item, item)
        assert found is not None
        return found.revision


def events(case: Case) -> int:
    with case.session() as s:
        return s.scalar(select(func.count()).select_from(AuditEvent)) or 0


def latest_tally(c: TestClient) -> dict[str, int]:
    text = c.get("/").text
    numbers = {key: re.search(rf'id="{key}">([^<]+)<', text) for key in ("at-least", "estimate", "at-most")}
    return {k: int(m.group(1)) for k, m in numbers.items() if m is not None and m.group(1).isdigit()}


def accept_form(c: TestClient, path: str = "/people") -> dict[str, str]:
    """The hidden fields of the open proposal's form on the people page, as the browser would send them."""
    page = c.get(path)
    assert page.status_code == 200, page.text
    form = re.search(r'<form method="post" action="/people/accept" id="accept-form">(.*?)</form>', page.text,
                     re.S)
    assert form is not None, "no open proposal on " + path
    fields = re.findall(r'<input type="hidden" name="([^"]+)" value=(?:"([^"]*)"|\'([^\']*)\')',
                        form.group(1))
    return {name: html.unescape(dq or sq) for name, dq, sq in fields}


def decisions(case: Case) -> dict[str, str]:
    from vericount.tally.reviews import review_states

    return {r["track"]: r["decision"] for r in review_states(case)}


def test_unauthenticated_requests_go_to_sign_in(desk: Case) -> None:
    c = client(desk)
    photo = item_id(desk, "obama.jpg")
    for path in (*PAGES, f"/items/{photo}", f"/media/{photo}", f"/thumb/{photo}", "/tally/certificate.json"):
        r = c.get(path, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/login?next="), path
    before = events(desk)
    r = c.post(f"/items/{photo}/status", data={"status": "rejected", "note": "x", "revision": "1"},
               follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    assert events(desk) == before


def test_sign_in_out_and_cookie(desk: Case) -> None:
    c = client(desk)
    form = c.get("/login")
    token = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert token is not None
    wrong = c.post("/login", data={"name": "rey", "password": "nope", "csrf": token.group(1)})
    assert wrong.status_code == 401 and "wrong name or password" in wrong.text
    stale = client(desk).post("/login", data={"name": "rey", "password": PASSWORD, "csrf": "forged"})
    assert stale.status_code == 403
    ok = c.post("/login", data={"name": "rey", "password": PASSWORD, "csrf": token.group(1),
                                "next": "//evil.example"},
                follow_redirects=False)
    assert ok.status_code == 303 and ok.headers["location"] == "/"  # never off-site
    cookie = ok.headers["set-cookie"]
    assert f"{COOKIE}=" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie
    assert "Secure" not in cookie  # plain HTTP on loopback; behind TLS it is set
    assert c.get("/").status_code == 200
    old = c.cookies.get(COOKIE)
    assert c.post("/logout", data={"csrf": csrf(c)}, follow_redirects=False).status_code == 303
    other = client(desk)
    other.cookies.set(COOKIE, old or "")
    assert other.get("/", follow_redirects=False).status_code == 303  # the session is gone server-side


def test_every_page_renders_what_the_case_holds(desk: Case) -> None:
    c = client(desk, "vic")
    dashboard = c.get("/").text
    assert "(certified)" in dashboard and 'id="at-least">3<' in dashboard and 'id="proposed">4<' in dashboard
    assert "40" in c.get("/claims").text and "Example News" in c.get("/claims").text
    items = c.get("/items").text
    assert all(name in items for name in ("obama.jpg", "clip.mp4", "report.txt"))
    assert "7 found" in items
    assert "4 found" in c.get("/items?status=verified").text
    assert "1 found" in c.get("/items?kind=video").text
    with_people = c.get("/items?people=yes").text
    assert "obama_and_biden.jpg" in with_people and "clip.mp4" not in with_people
    assert "1 found" in c.get("/items?sort=-size&page=1&kind=text").text
    from vericount.desk import pages

    kept = pages.COUNT_CAP, pages.PAGE
    pages.COUNT_CAP, pages.PAGE = 2, 2  # a filter's matches are counted up to the cap, then "+"
    try:
        capped = c.get("/items?status=verified").text
        assert "2+ found" in capped and "page 1 of 2+" in capped and 'rel="next"' in capped
        assert "4 found" in c.get("/items?status=verified&page=2").text  # counted to the page shown
        assert "7 found" in c.get("/items").text  # no filter: counted whole
    finally:
        pages.COUNT_CAP, pages.PAGE = kept
    for name in (*PHOTOS, "clip.mp4", "report.txt"):
        page = c.get(f"/items/{item_id(desk, name)}")
        assert page.status_code == 200 and name in page.text, name
    group = c.get(f"/items/{item_id(desk, 'obama_and_biden.jpg')}").text
    assert group.count('class="crop"') >= 4  # the group photo's people, with their crops
    report = c.get(f"/items/{item_id(desk, 'report.txt')}").text
    sentence = "Officials said that 40 soldiers were captured in one day."
    assert re.search(rf'<mark id="sentence-\d+">{sentence}</mark>', report)  # where it stands in the report
    people = c.get("/people").text
    assert "Proposals" in people and 'id="focus"' in people and "/derived/people/" in people
    assert 'action="/people/accept"' not in people  # a viewer sees the proposals, with no form to accept
    tally = c.get("/tally").text
    assert "one proof crop per person" in tally and tally.count('class="crop"') == 3
    from vericount.desk.pages import latest_tally as stored

    at_most = (stored(desk) or {})["at_most"]
    assert 'id="at-least">3<' in tally and 'id="proposed">4<' in tally and f'id="at-most">{at_most}<' in tally
    cert = c.get("/tally/certificate.json")
    assert cert.headers["content-type"] == "application/json"
    assert cert.json()["at_least"] == 3 and len(cert.json()["pairs"]) == 3
    assert all(m["confirmed"] and m["confirmed"][0]["by"] == "tester" for m in cert.json()["members"])
    audit = c.get("/audit?actor=tester&action=item").text
    assert "item.status" in audit and "people.mark" not in audit
    assert c.get("/audit?item=" + item_id(desk, "obama.jpg")[:10]).text.count("<tr>") >= 2


def test_a_viewer_cannot_change_anything(desk: Case) -> None:
    c = client(desk, "vic")
    token = csrf(c)
    photo = item_id(desk, "obama.jpg")
    before = events(desk)
    posts = [(f"/items/{photo}/status", {"status": "rejected", "note": "no", "revision": "2"}),
             (f"/items/{photo}/notes", {"text": "hello"}),
             (f"/items/{photo}/tags", {"tags": "x"}),
             (f"/items/{photo}/mark", {"t": "0", "points": "[[0.5, 0.5]]"}),
             ("/judge", {"a": f"{photo}:1", "b": f"{item_id(desk, 'biden.jpg')}:1", "verdict": "same"}),
             ("/people/accept", {"page": f"{photo}:1", "seen": json.dumps({f"{photo}:1": 0})}),
             ("/people/review/undo", {"track": f"{photo}:1", "verdict": "person"}),
             ("/people/group/undo", {"group": "1"}),
             ("/tally/compute", {})]
    for path, data in posts:
        r = c.post(path, data={**data, "csrf": token}, follow_redirects=False)
        assert r.status_code == 403 and "vic is a viewer" in r.text, path
    assert events(desk) == before
    assert 'id="status-form"' not in c.get(f"/items/{photo}").text  # and no form is offered


def test_csrf_token_required(desk: Case) -> None:
    c = client(desk, "rey")
    photo = item_id(desk, "clip.mp4")
    before = events(desk)
    for data in ({}, {"csrf": "forged"}):
        r = c.post(f"/items/{photo}/notes", data={"text": "sneaky", **data}, follow_redirects=False)
        assert r.status_code == 403 and "security token" in r.text
    assert events(desk) == before
    r = c.post(f"/items/{photo}/notes", data={"text": "by header"}, headers={"X-CSRF-Token": csrf(c)},
               follow_redirects=False)
    assert r.status_code == 303 and events(desk) == before + 1
    form = accept_form(c)
    r = c.post("/people/accept", data={**form, "reason": "faces side by side", "csrf": "forged"})
    assert r.status_code == 403 and "security token" in r.text and events(desk) == before + 1


def test_review_an_item(desk: Case) -> None:
    c = client(desk, "rey")
    token = csrf(c)
    clip = item_id(desk, "clip.mp4")
    r = c.post(f"/items/{clip}/status", data={"status": "needs-info", "note": "who filmed it?", "csrf": token,
                                              "revision": str(revision(desk, clip))}, follow_redirects=False)
    assert r.status_code == 303 and "needs-info" in c.get("/items?status=needs-info").text
    r = c.post(f"/items/{clip}/status", data={"status": "verified", "note": "", "csrf": token,
                                              "revision": str(revision(desk, clip))})
    assert r.status_code == 400 and "a note" in r.text
    r = c.post(f"/items/{clip}/status", data={"status": "verified", "note": "matches the street view",
                                              "csrf": token, "revision": str(revision(desk, clip))},
               follow_redirects=False)
    assert r.status_code == 303
    r = c.post(f"/items/{clip}/place", data={"lat": "51.73", "lon": "36.19", "precision": "50",
                                             "geo_method": "roofs", "date_from": "2024-08-07", "date_to": "",
                                             "date_method": "shadows",
                                             "csrf": token, "revision": str(revision(desk, clip))},
               follow_redirects=False)
    assert r.status_code == 303
    c.post(f"/items/{clip}/tags", data={"tags": "kursk, day-1", "csrf": token})
    c.post(f"/items/{clip}/tags", data={"remove": "day-1", "csrf": token})
    c.post(f"/items/{clip}/notes", data={"text": "second look tomorrow", "csrf": token})
    page = c.get(f"/items/{clip}").text
    assert "verified" in page and "matches the street view" in page and "second look tomorrow" in page
    assert "51.73" in page and "2024-08-07" in page and "kursk" in page
    assert "day-1" not in page.split("Notes")[0]
    assert "kursk" in c.get("/items?tag=kursk").text and "1 found" in c.get("/items?tag=kursk").text
    with desk.session() as s:
        mine = s.scalars(select(AuditEvent).where(AuditEvent.item_id == clip,
                                                  AuditEvent.actor == "rey")).all()
    assert {e.action for e in mine} >= {"item.status", "item.locate", "item.date", "item.tag", "item.untag",
                                          "item.note"}


def test_two_reviewers_on_one_item_the_second_sees_a_conflict(desk: Case) -> None:
    first, second = client(desk, "rey"), client(desk, "rex")
    clip = item_id(desk, "clip.mp4")
    seen = str(revision(desk, clip))  # both opened the item at this revision
    r = first.post(f"/items/{clip}/status", data={"status": "rejected", "note": "staged, old footage",
                                                  "csrf": csrf(first), "revision": seen},
                   follow_redirects=False)
    assert r.status_code == 303
    r = second.post(f"/items/{clip}/status", data={"status": "verified", "note": "looks fine",
                                                   "csrf": csrf(second), "revision": seen})
    assert r.status_code == 409
    assert "someone else changed this item" in r.text and "rey" in r.text and "staged, old footage" in r.text
    from vericount.items import show

    assert show(desk, clip).status == "rejected"


def test_user_text_is_shown_as_text(desk: Case) -> None:
    c = client(desk, "rey")
    clip = item_id(desk, "clip.mp4")
    c.post(f"/items/{clip}/notes", data={"text": "<script>alert('note')</script>", "csrf": csrf(c)})
    page = c.get(f"/items/{clip}").text
    assert "&lt;script&gt;alert(&#39;note&#39;)&lt;/script&gt;" in page and "<script>alert" not in page
    listing = c.get("/items").text
    assert "&lt;script&gt;alert(1).png" in listing and "<script>alert(1)" not in listing
    hostile = c.get(f"/items/{item_id(desk, HOSTILE)}").text
    assert "&lt;script&gt;alert(1).png" in hostile and "<script>alert(1)" not in hostile
    assert "script-src 'self'" in c.get("/").headers["content-security-policy"]


def test_media_is_the_case_s_own_and_seekable(desk: Case) -> None:
    c = client(desk, "vic")
    clip = item_id(desk, "clip.mp4")
    whole = desk.evidence.path(clip).read_bytes()
    r = c.get(f"/media/{clip}", headers={"Range": "bytes=10-99"})
    assert r.status_code == 206 and r.content == whole[10:100]
    assert r.headers["content-range"] == f"bytes 10-99/{len(whole)}"
    assert r.headers["content-type"] == "video/mp4"
    assert c.get(f"/media/{clip}").content == whole
    assert c.get(f"/media/{item_id(desk, 'obama.jpg')}").headers["content-type"] == "image/jpeg"
    assert c.get(f"/media/{item_id(desk, 'report.txt')}").headers["content-type"].startswith("text/plain")
    for path in ("/derived/..%2Fcase.db", "/derived/people/..%2F..%2Fcase.db", "/derived/%2Fetc%2Fpasswd",
                 "/media/..%2Fcase.db", "/media/" + "0" * 64, "/thumb/..%2F..%2Fcase.db",
                 "/static/..%2Fapp.py", "/derived/thumbs"):
        assert c.get(path).status_code == 404, path
    crop = re.search(r'src="/derived/(people/[^"]+\.jpg)"', c.get("/tally").text)
    assert crop is not None
    r = c.get(f"/derived/{crop.group(1)}")
    assert r.status_code == 200 and r.headers["content-type"] == "image/jpeg"
    thumb = c.get(f"/thumb/{clip}")
    assert thumb.status_code == 200 and thumb.content[:2] == b"\xff\xd8"
    frame = c.get(f"/frame/{clip}?t=1.0")
    assert frame.status_code == 200 and frame.content[:2] == b"\xff\xd8"


def test_a_group_judgment_raises_the_certified_count_and_undo_lowers_it(desk: Case) -> None:
    c = client(desk, "rey")
    assert latest_tally(c)["at-least"] == 3
    form = accept_form(c)
    steps = json.loads(form["steps"])
    assert steps and steps[0]["do"] == "group" and not form["page"]  # the top proposal: one look at faces
    r = c.post("/people/accept", data={**form, "csrf": csrf(c)})
    assert r.status_code == 400 and "needs a reason" in r.text and latest_tally(c)["at-least"] == 3
    r = c.post("/people/accept", data={**form, "reason": "faces side by side: another man", "csrf": csrf(c)},
               follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/people"
    assert latest_tally(c)["at-least"] == 4
    people = c.get("/people").text
    assert "faces side by side: another man" in people
    group = re.search(r'name="group" value="(\d+)"', people)
    assert group is not None
    r = c.post("/people/group/undo", data={"group": group[1], "csrf": csrf(c)}, follow_redirects=False)
    assert r.status_code == 303 and latest_tally(c)["at-least"] == 3
    for bad in ({"steps": "{not json"}, {"seen": "[1, 2]"}, {"steps": "[]", "page": ""}):
        r = c.post("/people/accept", data={**form, "reason": "x", **bad, "csrf": csrf(c)})
        assert r.status_code == 400, bad
    assert latest_tally(c)["at-least"] == 3


def test_a_page_of_crops_confirmed_at_once_with_a_flip(desk: Case) -> None:
    from vericount.tally.reviews import review

    group = item_id(desk, "obama_and_biden.jpg")
    refs = [f"{group}:{n}" for n in range(1, 5)]
    review(desk, refs, "person", undo=True)  # the group photo's four people, not yet looked at
    c = client(desk, "rey")
    c.post("/tally/compute", data={"csrf": csrf(c)})
    page = c.get(f"/items/{group}").text
    assert "4 proposed by the detector" in page and f'href="/people?item={group}"' in page
    form = accept_form(c, f"/people?item={group}")
    assert form["page"].split(",") == refs and json.loads(form["seen"]) == dict.fromkeys(refs, 0)
    r = c.post("/people/accept", data={**form, f"flip:{refs[3]}": "twice", "csrf": csrf(c)},
               follow_redirects=False)
    assert r.status_code == 303
    states = decisions(desk)
    assert [states[r] for r in refs] == ["person", "person", "person", "not_person"]
    people = c.get("/people").text
    assert "the same person boxed twice" in people  # listed among the rejections, with its undo
    r = c.post("/people/review/undo", data={"track": refs[3], "verdict": "not_person", "csrf": csrf(c)},
               follow_redirects=False)
    assert r.status_code == 303 and decisions(desk)[refs[3]] == "open"
    bad = c.post("/people/accept", data={**accept_form(c, f"/people?item={group}"), f"flip:{refs[3]}": "gone",
                                         "csrf": csrf(c)})
    assert bad.status_code == 400 and "flip:" in bad.text


def test_two_reviewers_deciding_on_the_same_tracks_the_second_sees_a_conflict(desk: Case) -> None:
    from vericount.tally.reviews import review

    group = item_id(desk, "obama_and_biden.jpg")
    refs = [f"{group}:{n}" for n in range(1, 5)]
    review(desk, refs, "person", undo=True)
    first, second = client(desk, "rey"), client(desk, "rex")
    seen_first, seen_second = (accept_form(x, f"/people?item={group}") for x in (first, second))
    r = first.post("/people/accept", data={**seen_first, f"flip:{refs[0]}": "not_person",
                                           "flip_reason": "a poster <script>alert(1)</script>",
                                           "csrf": csrf(first)},
                   follow_redirects=False)
    assert r.status_code == 303
    listed = first.get("/people").text  # the reviewer's words are shown as text, never run
    assert "a poster &lt;script&gt;alert(1)&lt;/script&gt;" in listed and "<script>alert(1)" not in listed
    before = events(desk)
    r = second.post("/people/accept", data={**seen_second, "csrf": csrf(second)})
    assert r.status_code == 409
    assert "someone else decided on 4 of these tracks" in r.text and "rey" in r.text and "a poster" in r.text
    states = decisions(desk)
    assert states[refs[0]] == "not_person" and events(desk) == before  # nothing of the second was saved
    again = accept_form(second, f"/people?item={group}")  # reloaded: nothing is left open on this item
    assert again["page"] == ""


def test_marking_a_missed_person_makes_a_track(desk: Case) -> None:
    c = client(desk, "rey")
    clip = item_id(desk, "clip.mp4")
    r = c.post(f"/items/{clip}/mark", data={"t": "1.0", "points": "[[0.25, 0.5], [0.75, 0.5]]",
                                            "csrf": csrf(c)},
               follow_redirects=False)
    assert r.status_code == 303
    with desk.session() as s:
        marks = s.scalars(select(PersonTrack).where(PersonTrack.item_id == clip)).all()
    assert len(marks) == 2 and all(t.source == "mark" and t.marked_by == "rey" for t in marks)
    bad = c.post(f"/items/{clip}/mark", data={"t": "1.0", "points": "[[2, 0.5]]", "csrf": csrf(c)})
    assert bad.status_code == 400 and "fractions" in bad.text


def test_settings_are_remembered(desk: Case) -> None:
    c = client(desk, "vic")
    body = c.get("/").text.split("<body")[1][:120]
    assert "greyscale" not in body and "blurred" not in body
    c.post("/settings", data={"greyscale": "on", "blur": "on", "csrf": csrf(c), "next": "/items"})
    again = client(desk, "vic").get("/items").text  # a new sign-in: the settings are the user's
    body = again.split("<body")[1][:120]
    assert "greyscale" in body and "blurred" in body


def test_the_desk_on_each_backend(cli: Cli, case_dir: Path, tmp_path: Path) -> None:
    """Sign in, judge, see the tally move and the judgment attributed, on SQLite and PostgreSQL."""
    for k in range(2):
        Image.new("RGB", (64, 48), (90 * k, 90, 200)).save(tmp_path / f"p{k}.png")
        assert cli("add", str(tmp_path / f"p{k}.png")).exit_code == 0
        assert cli("status", f"p{k}.png", "verified", "--note", "test").exit_code == 0
    with Case.open(case_dir, actor="tester") as case:
        ids = [item_id(case, f"p{k}.png") for k in range(2)]
        with case.session() as s:
            for k, item in enumerate(ids):
                s.add(PersonTrack(item_id=item, number=1, source="detector", start=0.0, end=0.0,
                                  frame_width=64, frame_height=48, boxes=[[0.0, 1, 1, 30 + k, 40, 0.9]],
                                  best_t=0.0, best_box=[1, 1, 30 + k, 40], crop=None, created_at=utcnow()))
        add_user(case, "rey", "reviewer", PASSWORD)
        add_user(case, "rex", "reviewer", PASSWORD)
        c, other = client(case, "rey"), client(case, "rex")
        c.post("/tally/compute", data={"csrf": csrf(c)})
        assert latest_tally(c)["at-least"] == 0  # two detections nobody looked at: proposals, not people
        form, stale = accept_form(c), accept_form(other)  # both open the top proposal: confirm one of them
        first = form["page"]
        assert first in {f"{i}:1" for i in ids}
        r = c.post("/people/accept", data={**form, "csrf": csrf(c)}, follow_redirects=False)
        assert r.status_code == 303 and latest_tally(c)["at-least"] == 1
        r = other.post("/people/accept", data={**stale, f"flip:{first}": "not_person", "csrf": csrf(other)})
        assert r.status_code == 409 and "rey" in r.text  # rex's rejection is refused, not applied over rey
        form = accept_form(c)  # the next: confirm the other one and judge it different from the certified
        assert form["page"] in {f"{i}:1" for i in ids} - {first}
        assert [st["do"] for st in json.loads(form["steps"])] == ["group"]
        r = c.post("/people/accept", data={**form, "reason": "one is a woman", "csrf": csrf(c)},
                   follow_redirects=False)
        assert r.status_code == 303
        assert latest_tally(c)["at-least"] == 2
        groups = json.loads(cli("judgments", "--json").stdout)["groups"]
        assert [(g["verdict"], g["by"], g["reason"]) for g in groups] == [
            ("different", "rey", "one is a woman")]
        r = c.post("/judge", data={"a": f"{ids[0]}:1", "b": f"{ids[1]}:1", "verdict": "different",
                                   "reason": "one is a woman", "csrf": csrf(c)}, follow_redirects=False)
        assert r.status_code == 303
        assert latest_tally(c)["at-least"] == 2
        assert set(decisions(case).values()) == {"person"}
    judgments = json.loads(cli("judgments", "--json").stdout)["judgments"]
    assert [(j["verdict"], j["by"]) for j in judgments] == [("different", "rey")]


def test_an_items_attachments_are_listed_and_served_inert(desk: Case, tmp_path: Path) -> None:
    from vericount.attachments import keep

    clip = item_id(desk, "clip.mp4")
    sidecar = tmp_path / "post.info.json"
    sidecar.write_text('{"title": "<script>alert(1)</script>"}')
    warc = tmp_path / "page.warc.gz"
    warc.write_bytes(b"\x1f\x8b not really a warc")
    with desk.session() as s:
        json_sha = keep(desk, s, [clip], sidecar, "sidecar", name="<b>post</b>.info.json").sha256
        warc_sha = keep(desk, s, [clip], warc, "warc", url="https://example.org/post/1").sha256
    assert client(desk).get(f"/attachments/{clip}/{json_sha}", follow_redirects=False).status_code == 303
    c = client(desk, "vic")  # a viewer may look
    page = c.get(f"/items/{clip}").text
    assert "Kept with it" in page and "&lt;b&gt;post&lt;/b&gt;.info.json" in page and "<b>post" not in page
    assert f'href="/attachments/{clip}/{warc_sha}"' in page and "https://example.org/post/1" in page
    shown = c.get(f"/attachments/{clip}/{json_sha}")
    assert shown.status_code == 200 and shown.content == sidecar.read_bytes()
    assert shown.headers["content-type"].startswith("text/plain")  # JSON shown as text, never run
    assert shown.headers["x-content-type-options"] == "nosniff"
    got = c.get(f"/attachments/{clip}/{warc_sha}")
    assert got.content == warc.read_bytes() and got.headers["content-disposition"].startswith("attachment")
    assert c.get(f"/attachments/{item_id(desk, 'biden.jpg')}/{warc_sha}").status_code == 404  # not its own
    assert c.get(f"/attachments/{clip}/{clip}").status_code == 404  # an original is no attachment


def test_search_page_and_an_items_text(desk: Case) -> None:
    from vericount.store.schema import Item as ItemRow
    from vericount.text.lines import Line, replace_lines

    clip = item_id(desk, "clip.mp4")
    with desk.session() as s:
        row = s.get(ItemRow, clip)
        assert row is not None
        replace_lines(s, row, "ocr", [Line("@kursk_now", 1.0, 3.0, 0.9, "en", (0.1, 0.1, 0.2, 0.05)),
                                      Line("<script>alert(1)</script> Пленные", 2.0, 2.0, 0.8, "ru")])
    c = client(desk, "vic")
    page = c.get("/search", params={"q": "ПЛЁННЫЕ"})
    assert page.status_code == 200 and 'id="hit-count">1 hit(s)' in page.text
    assert f'href="/items/{clip}?t=2.0"' in page.text and "&lt;script&gt;" in page.text
    assert "<script>alert" not in page.text
    assert "Nothing found" in c.get("/search", params={"q": "absent"}).text
    assert "nothing to search for" in c.get("/search", params={"q": "!!!"}).text
    assert c.get("/search", params={"q": "kursk", "kind": "note"}).text.count("Nothing found") == 1
    item = c.get(f"/items/{clip}").text
    assert 'id="text-lines"' in item and 'class="seek" data-t="1.0"' in item and "@kursk_now" in item

    # a reviewer marks a line relevant from the item's page (the report quotes marked lines only)
    from vericount.store.schema import TextLine

    with desk.session() as s:
        handle = s.scalars(select(TextLine).where(TextLine.text == "@kursk_now")).one().id
    assert "mark relevant" not in item  # a viewer sees no form
    assert c.post(f"/items/{clip}/text", data={"line": str(handle), "csrf": csrf(c)}).status_code == 403
    rey = client(desk, "rey")
    token = csrf(rey, f"/items/{clip}")
    r = rey.post(f"/items/{clip}/text", data={"line": str(handle), "csrf": token}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].endswith(f"#line-{handle}")
    item = rey.get(f"/items/{clip}").text
    row = item[item.index(f'id="line-{handle}"') :].split("</tr>")[0]
    assert "rey" in row and ">unmark</button>" in row
    undo = {"line": str(handle), "undo": "1", "csrf": token}
    assert rey.post(f"/items/{clip}/text", data=undo).status_code == 200
    with desk.session() as s:
        logged = s.scalars(select(AuditEvent.action).where(AuditEvent.action.like("text.%"))).all()
    assert logged == ["text.mark", "text.unmark"]
    photo = item_id(desk, "obama.jpg")
    other = rey.post(f"/items/{photo}/text", data={"line": str(handle), "csrf": token})  # not its line
    assert other.status_code == 400 and f"no line of text {handle}" in other.text
    assert rey.post(f"/items/{clip}/text", data={"line": "x", "csrf": token}).status_code == 400

    # a claim said in the clip: the claims page links to the moment it is said
    from vericount.claims.said import claims_in_lines, replace_claims

    with desk.session() as s:
        replace_claims(s, clip, "speech", [(c, 12.0) for c, _ in claims_in_lines(
            [("Officials said 40 soldiers surrendered.", None)])])
    claims = c.get("/claims").text
    assert f'href="/items/{clip}?t=12.0">said at 0:12</a>' in claims
