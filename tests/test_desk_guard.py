"""The desk against a hostile user and careless settings: sign-in throttling (both back ends, several
processes), the Host allowlist, lock waits answered 503, hostile numbers, body and mark limits, redirects."""

from __future__ import annotations

import re
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import func, select

from tests.conftest import Cli
from tests.test_desk import PASSWORD, client, csrf, desk, events, item_id, revision, template  # noqa: F401
from vericount.case import Case
from vericount.desk.app import create_app
from vericount.desk.users import add_user
from vericount.store.schema import AuditEvent, PersonTrack, utcnow


class Later:
    """A clock that runs with the real one, ``ahead`` seconds in front of it."""

    def __init__(self) -> None:
        self.ahead = 0.0

    def __call__(self) -> datetime:
        return utcnow() + timedelta(seconds=self.ahead)


def login_form(c: TestClient) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', c.get("/login").text)
    assert found is not None
    return found.group(1)


def attempt(c: TestClient, token: str, name: str, password: str) -> Any:
    return c.post("/login", data={"name": name, "password": password, "csrf": token, "next": "/"},
                  follow_redirects=False)


def audit_actions(case: Case) -> list[str]:
    with case.reading() as s:
        return list(s.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))


@pytest.fixture
def team(cli: Cli, case_dir: Path, tmp_path: Path) -> Iterator[Case]:
    """A case (SQLite or PostgreSQL) with one photo and a reviewer, ana."""
    Image.new("RGB", (64, 48), (200, 90, 40)).save(tmp_path / "p.png")
    assert cli("add", str(tmp_path / "p.png")).exit_code == 0
    with Case.open(case_dir, actor="tester") as case:
        add_user(case, "ana", "reviewer", PASSWORD)
    with Case.open(case_dir, actor="tester") as case:
        yield case


# -- 1. sign-in throttling ---------------------------------------------------------------------------


def test_wrong_passwords_lock_the_name_out_then_it_passes(team: Case) -> None:
    app = create_app(team)
    c = TestClient(app, base_url="http://127.0.0.1")
    token = login_form(c)
    before = audit_actions(team)
    answers = [attempt(c, token, "ana", f"guess {n}") for n in range(12)]
    assert [a.status_code for a in answers[:5]] == [401] * 5
    assert {a.status_code for a in answers[5:]} == {429}  # locked after the 5th failure
    locked = answers[-1]
    assert int(locked.headers["retry-after"]) > 0 and "too many failed sign-ins" in locked.text
    right = attempt(c, token, "ana", PASSWORD)
    assert right.status_code == 429 and "vericount_session" not in right.headers.get("set-cookie", "")
    added = audit_actions(team)[len(before):]
    assert added.count("user.sign_in_failed") == 5 and "user.sign_in" not in added
    assert len(added) <= 7  # the 5 failures that were checked and the lock-out, not one per attempt

    clock = Later()  # the lock-out runs out
    app.state.throttle.clock = clock
    clock.ahead = int(right.headers["retry-after"]) + 1
    assert attempt(c, token, "ana", PASSWORD).status_code == 303
    again = TestClient(app, base_url="http://127.0.0.1")
    assert attempt(again, login_form(again), "ana", "wrong again").status_code == 401  # count reset


def test_unknown_names_are_counted_per_address_not_logged_each(team: Case) -> None:
    c = TestClient(create_app(team), base_url="http://127.0.0.1", client=("203.0.113.9", 40000))
    token = login_form(c)
    before = len(audit_actions(team))
    codes = [attempt(c, token, f"nobody-{uuid.uuid4().hex[:8]}", "x" * 12).status_code for _ in range(60)]
    assert codes[:20] == [401] * 20 and set(codes[20:]) == {429}
    added = audit_actions(team)[before:]
    assert added == ["desk.sign_in_throttled"]  # one event for 60 attempts under 60 made-up names
    with team.reading() as s:
        event = s.scalars(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(1)).one()
        assert event.detail["address"] == "203.0.113.9" and event.detail["by_unknown_names"] == 20
    assert attempt(c, token, "ana", PASSWORD).status_code == 429  # the address is locked for every name
    other = TestClient(create_app(team), base_url="http://127.0.0.1", client=("198.51.100.7", 40000))
    assert attempt(other, login_form(other), "ana", PASSWORD).status_code == 303  # ana is not


def test_the_lock_out_holds_across_server_processes(team: Case) -> None:
    """`serve --workers N`: each worker opens the case itself; the counters are in the database."""
    first = TestClient(create_app(team), base_url="http://127.0.0.1")
    token = login_form(first)
    for n in range(5):
        assert attempt(first, token, "ana", f"guess {n}").status_code == 401
    with Case.open(team.root, actor="tester") as again:  # another engine, as in another process
        second = TestClient(create_app(again), base_url="http://127.0.0.1")
        assert attempt(second, login_form(second), "ana", PASSWORD).status_code == 429


# -- 5. the Host header ------------------------------------------------------------------------------


def test_only_configured_host_names_are_answered(team: Case, cli: Cli,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    c = TestClient(create_app(team), base_url="http://127.0.0.1")
    for host in ("127.0.0.1", "localhost:8000", "[::1]:8000"):
        assert c.get("/login", headers={"Host": host}).status_code == 200, host
    for host in ("evil.example", "127.0.0.1.evil.example:8000", "", "a b"):
        r = c.get("/login", headers={"Host": host})
        assert r.status_code == 400 and r.text == "unknown host", host
    import uvicorn

    served: dict[str, Any] = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: served.update(app=app, **kw))
    assert cli("serve", "--port", "8123", "--allow-host", "desk.example").exit_code == 0
    proxied = TestClient(served["app"], base_url="http://127.0.0.1")
    for host, code in (("127.0.0.1:8123", 200), ("localhost:8123", 200), ("desk.example", 200),
                       ("desk.example:8443", 200), ("127.0.0.1:9999", 400), ("evil.example:8123", 400)):
        assert proxied.get("/login", headers={"Host": host}).status_code == code, host
    bad = cli("serve", "--allow-host", "https://desk.example/")
    assert bad.exit_code != 0 and "--allow-host" in bad.output and "Traceback" not in bad.output


# -- 6. lock waits ---------------------------------------------------------------------------------------


def test_a_write_waiting_on_a_lock_is_answered_busy(team: Case, backend: str) -> None:
    c = TestClient(create_app(team), base_url="http://127.0.0.1", raise_server_exceptions=False)
    attempt(c, login_form(c), "ana", PASSWORD)
    photo = item_id(team, "p.png")
    token = csrf(c)
    held = threading.Event()
    release = threading.Event()

    def hold() -> None:  # another writer holds the lock (at most 12 s, so a server that waits on returns)
        if backend == "sqlite":
            conn = sqlite3.connect(team.root / "case.db", isolation_level=None)
            conn.execute("BEGIN IMMEDIATE")
        else:
            import psycopg

            conn = psycopg.connect(str(team.engine.url.set(drivername="postgresql")
                                       .render_as_string(hide_password=False)))
            conn.execute("LOCK TABLE notes IN EXCLUSIVE MODE")
        held.set()
        release.wait(12)
        conn.rollback()
        conn.close()

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert held.wait(10)
        assert c.get("/items").status_code == 200  # reading does not wait
        started = time.monotonic()
        r = c.post(f"/items/{photo}/notes", data={"text": "while locked", "csrf": token},
                   follow_redirects=False)
        waited = time.monotonic() - started
    finally:
        release.set()
        holder.join()
    assert r.status_code == 503 and "busy, try again" in r.text and r.headers["retry-after"] == "2"
    assert waited < 8
    assert c.post(f"/items/{photo}/notes", data={"text": "after", "csrf": token},
                  follow_redirects=False).status_code == 303


# -- 4. hostile numbers ------------------------------------------------------------------------------


def test_hostile_numbers_get_a_plain_400(desk: Case) -> None:  # noqa: F811
    c = client(desk, "rey")
    c = TestClient(c.app, base_url="http://127.0.0.1", cookies=c.cookies, raise_server_exceptions=False)
    clip, photo = item_id(desk, "clip.mp4"), item_id(desk, "obama.jpg")
    for path in ("/items", "/audit"):
        for page in ("4611686018427387904", "-1", "0", "1e9", "abc", "²"):
            r = c.get(f"{path}?page={page}")
            assert r.status_code == 400 and "page" in r.text and "whole number" in r.text, (path, page)
        assert c.get(f"{path}?page=2").status_code == 200
    for t in ("nan", "inf", "-1", "1e309", "abc"):
        r = c.get(f"/frame/{clip}?t={t}")
        assert r.status_code == 400 and "t: a time in seconds" in r.text, t
        assert c.get(f"/items/{clip}?t={t}").status_code == 200  # where to start playing: a hint
    token, rev = csrf(c), str(revision(desk, photo))
    before = events(desk)
    posts = [(f"/items/{clip}/mark", {"t": "nan", "points": "[[0.5, 0.5]]"}, "t: a time"),
             (f"/items/{clip}/mark", {"t": "1e400", "points": "[[0.5, 0.5]]"}, "t: a time"),
             (f"/items/{clip}/mark", {"t": "0", "points": "[" * 5000 + "]" * 5000}, "points"),
             (f"/items/{photo}/place", {"lat": "nan", "lon": "1", "revision": rev}, "lat: a number"),
             (f"/items/{photo}/place", {"lat": "1", "lon": "1", "precision": "1e999", "revision": rev},
              "precision"),
             (f"/items/{photo}/status", {"status": "rejected", "note": "x",
                                         "revision": "-99999999999999999999999"}, "revision"),
             ("/judge", {"a": f"{photo}:99999999999999999999", "b": f"{clip}:1", "verdict": "same"},
              "ITEM:NUMBER"),
             ("/judge", {"a": f"{photo}:²", "b": f"{clip}:1", "verdict": "same"}, "ITEM:NUMBER")]
    for path, data, said in posts:
        r = c.post(path, data={**data, "csrf": token}, follow_redirects=False)
        assert r.status_code == 400 and said in r.text, (path, data)
    assert events(desk) == before


# -- 7. and 8. limits, uploads, redirects ------------------------------------------------------------------


def test_a_mark_takes_at_most_50_points(desk: Case) -> None:  # noqa: F811
    c = client(desk, "rey")
    clip = item_id(desk, "clip.mp4")

    def tracks() -> int:
        with desk.reading() as s:
            return s.scalar(select(func.count()).select_from(PersonTrack)) or 0

    before, logged = tracks(), events(desk)
    points = "[" + ", ".join("[0.5, 0.5]" for _ in range(51)) + "]"
    r = c.post(f"/items/{clip}/mark", data={"t": "1", "points": points, "csrf": csrf(c)})
    assert r.status_code == 400 and "51 points in one mark: at most 50 at a time" in r.text
    assert tracks() == before and events(desk) == logged


def test_the_cli_mark_takes_at_most_50_points(cli: Cli, tmp_path: Path) -> None:
    Image.new("RGB", (64, 48), (10, 90, 40)).save(tmp_path / "m.png")
    assert cli("add", str(tmp_path / "m.png")).exit_code == 0
    result = cli("mark", "m.png", *(["0.5", "0.5"] * 51))
    assert result.exit_code != 0
    assert result.stderr.strip().splitlines() == ["error: 51 points in one mark: at most 50 at a time"]
    assert "marked" not in result.stdout
    assert '"tracks": []' in cli("tracks", "m.png", "--json").stdout


def test_oversized_bodies_uploads_and_floods_are_refused(desk: Case) -> None:  # noqa: F811
    c = client(desk, "rey")
    clip = item_id(desk, "clip.mp4")
    token = csrf(c)
    before = events(desk)
    big = c.post(f"/items/{clip}/notes", data={"text": "x" * (2 << 20), "csrf": token})
    assert big.status_code == 413 and "too large" in big.text
    chunked = c.post(f"/items/{clip}/notes", content=iter([b"text=" + b"x" * (1 << 20), b"x" * (1 << 20)]),
                     headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert chunked.status_code == 413  # no Content-Length: counted as it comes
    upload = c.post(f"/items/{clip}/notes", data={"text": "a file", "csrf": token},
                    files={"f": ("a.bin", b"\0" * 1000)})
    assert upload.status_code == 400  # the desk takes no files
    tags = c.post(f"/items/{clip}/tags", data={"tags": ",".join(f"t{n}" for n in range(500)), "csrf": token})
    assert tags.status_code == 400 and "500 tags at once: at most 20" in tags.text
    assert events(desk) == before


def test_sign_in_redirects_stay_on_the_site(desk: Case) -> None:  # noqa: F811
    for target in ("//evil.example", "/\\evil.example", "/\t/evil.example", "/\n/evil.example",
                   "/ /evil.example", "https://evil.example", "javascript:alert(1)"):
        c = client(desk)
        r = c.post("/login", data={"name": "rey", "password": PASSWORD, "csrf": login_form(c),
                                   "next": target}, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/", target
    c = client(desk)
    r = c.post("/login", data={"name": "rey", "password": PASSWORD, "csrf": login_form(c),
                               "next": "/items?status=verified"}, follow_redirects=False)
    assert r.headers["location"] == "/items?status=verified"
