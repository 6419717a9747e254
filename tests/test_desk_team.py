"""The desk for a team: `vericount serve --workers 2` in its own processes, over real HTTP on loopback,
with four reviewers judging, confirming and setting statuses at once, some of them from the same stale
page. Afterwards the case holds every accepted edit exactly once, and every refused one was answered as a
conflict (409, naming who got there first) with nothing of it written."""

from __future__ import annotations

import html
import re
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image
from sqlalchemy import select

from tests.conftest import Cli
from vericount.case import Case
from vericount.store.schema import AuditEvent, Item, Judgment, PersonTrack, TrackReview, utcnow

PASSWORD = "correct horse battery"
TEAM = ("ana", "ben", "cat", "dan")
ITEMS = 6
TRACKS = 3  # per item
META = re.compile(r'<meta name="csrf" content="([^"]+)">')
REVISION = re.compile(r'name="revision" value="(\d+)"')
ACCEPT = re.compile(r'<form method="post" action="/people/accept" id="accept-form">(.*?)</form>', re.S)
HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value=(?:"([^"]*)"|\'([^\']*)\')')


class Reviewer:
    """One reviewer's browser: a signed-in httpx client of its own (cookies, CSRF token)."""

    def __init__(self, base: str, name: str) -> None:
        self.name = name
        self.http = httpx.Client(base_url=base, follow_redirects=False, timeout=30.0)
        self.http.get("/login").raise_for_status()
        signed = self.http.post("/login", data={"name": name, "password": PASSWORD, "next": "/items",
                                                "csrf": self.http.cookies["vericount_login"]})
        assert signed.status_code == 303, signed.text
        found = META.search(self.open("/items"))
        assert found is not None
        self.csrf = found.group(1)

    def open(self, path: str) -> str:
        page = self.http.get(path)
        assert page.status_code == 200, (path, page.status_code, page.text[:300])
        return page.text

    def post(self, path: str, form: dict[str, str]) -> httpx.Response:
        return self.http.post(path, data={**form, "csrf": self.csrf})

    def accept_form(self, item: str) -> dict[str, str]:
        """The hidden fields of the item's page of crops to confirm, as the browser would send them."""
        found = ACCEPT.search(self.open(f"/people?item={item}"))
        assert found is not None, f"no page of crops to confirm for {item[:12]}"
        return {name: html.unescape(dq or sq) for name, dq, sq in HIDDEN.findall(found.group(1))}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def served(cli: Cli, case_dir: Path, tmp_path: Path) -> Iterator[tuple[str, list[str]]]:
    """A case with ITEMS photos of TRACKS detected people each and the four reviewers, served by
    `vericount serve --workers 2` on a free loopback port. Yields the base URL and the item ids."""
    media = tmp_path / "media"
    media.mkdir()
    for k in range(ITEMS):
        Image.new("RGB", (64, 48), (40 * k, 90, 200 - 30 * k)).save(media / f"p{k}.png")
    assert cli("add", "--jobs", "1", str(media)).exit_code == 0
    for name in TEAM:
        added = cli("user", "add", name, "--role", "reviewer", "--password-stdin", input=PASSWORD + "\n")
        assert added.exit_code == 0, added.output
    with Case.open(case_dir, actor="tester") as case, case.session() as s:
        ids = sorted(s.scalars(select(Item.id)))
        for item in ids:
            for n in range(1, TRACKS + 1):
                s.add(PersonTrack(item_id=item, number=n, source="detector", start=0.0, end=0.0,
                                  frame_width=64, frame_height=48, boxes=[[0.0, n, 1, 10 + n, 40, 0.9]],
                                  best_t=0.0, best_box=[n, 1, 10 + n, 40], score=0.9, crop=None,
                                  created_at=utcnow()))
    port = free_port()
    child = subprocess.Popen([sys.executable, "-m", "vericount", "--case", str(case_dir), "--actor", "tester",
                              "serve", "--port", str(port), "--workers", "2"],
                             stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert child.poll() is None, child.stderr.read().decode() if child.stderr else child.returncode
            try:
                if httpx.get(f"{base}/login", timeout=2.0).status_code == 200:
                    break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "the desk did not come up in 60 s"
                time.sleep(0.1)
        yield base, ids
    finally:
        child.terminate()
        try:
            child.wait(15)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def at_once(calls: list[Callable[[], httpx.Response]]) -> list[httpx.Response]:
    """Each call on its own thread, released together; their answers in order."""
    gate = threading.Barrier(len(calls))
    out: list[Any] = [None] * len(calls)

    def run(k: int) -> None:
        gate.wait()
        try:
            out[k] = calls[k]()
        except BaseException as exc:  # reported by the assertion below
            out[k] = exc

    threads = [threading.Thread(target=run, args=(k,)) for k in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    for answer in out:
        assert isinstance(answer, httpx.Response), answer
    return out


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)  # a team's case; ~12 s a run
def test_a_team_on_several_server_processes_loses_no_edit(served: tuple[str, list[str]],
                                                           case_dir: Path) -> None:
    base, ids = served
    team = {name: Reviewer(base, name) for name in TEAM}
    ana, ben, cat, dan = (team[n] for n in TEAM)
    # Everyone has every page open before anyone saves: the item pages (their revision) and the people
    # pages of the items whose crops two of them will decide on.
    seen = {item: int(REVISION.findall(ana.open(f"/items/{item}"))[0]) for item in ids}
    pages = {(r.name, item): r.accept_form(item) for item in ids[:2] for r in (ana, ben)}

    # 1. Two reviewers set the status of the same item from the same page (one per item, all at once);
    #    the other two judge pairs of their own, and a pair both of them judge.
    def status(r: Reviewer, item: str, verdict: str) -> Callable[[], httpx.Response]:
        return lambda: r.post(f"/items/{item}/status", {"status": verdict, "note": f"{r.name} checked",
                                                        "revision": str(seen[item])})

    def judge(r: Reviewer, a: str, b: str, verdict: str = "different") -> Callable[[], httpx.Response]:
        return lambda: r.post("/judge", {"a": a, "b": b, "verdict": verdict, "reason": f"{r.name}: coats"})

    contested = ids[2:]
    calls = [status(ana, item, "verified") for item in contested] + \
            [status(ben, item, "rejected") for item in contested]
    own = [(cat, f"{ids[0]}:1", f"{ids[1]}:{n}") for n in range(1, TRACKS + 1)] + \
          [(dan, f"{ids[2]}:1", f"{ids[3]}:{n}") for n in range(1, TRACKS + 1)]
    calls += [judge(r, a, b) for r, a, b in own]
    shared_pair = (f"{ids[4]}:2", f"{ids[5]}:2")
    calls += [judge(cat, *shared_pair, "same"), judge(dan, *shared_pair, "different")]
    answers = at_once(calls)
    statuses = answers[:2 * len(contested)]
    judged = answers[2 * len(contested):]

    # 2. The same two decide on the crops of two items, again from pages both opened before: ana confirms
    #    every crop of the first and ben flips one of them; ben confirms the second, ana flips one.
    flip = {ids[0]: f"{ids[0]}:2", ids[1]: f"{ids[1]}:3"}
    accepts = at_once([
        lambda: ana.post("/people/accept", pages[("ana", ids[0])]),
        lambda: ben.post("/people/accept", {**pages[("ben", ids[0])], f"flip:{flip[ids[0]]}": "not_person"}),
        lambda: ben.post("/people/accept", pages[("ben", ids[1])]),
        lambda: ana.post("/people/accept", {**pages[("ana", ids[1])], f"flip:{flip[ids[1]]}": "twice"}),
    ])

    for r in team.values():
        r.http.close()
    with Case.open(case_dir, actor="tester") as case, case.reading() as s:
        log = list(s.scalars(select(AuditEvent).order_by(AuditEvent.id)))
        items = {i.id: i for i in s.scalars(select(Item))}
        judgments = list(s.scalars(select(Judgment).order_by(Judgment.id)))
        reviews = list(s.scalars(select(TrackReview).order_by(TrackReview.id)))
        s.expunge_all()  # kept as read: the read-only transaction's rollback would expire them

    # Statuses: per item exactly one save went through, the other was told whose change beat it.
    for k, item in enumerate(contested):
        pair = {"ana": statuses[k], "ben": statuses[len(contested) + k]}
        codes = sorted(a.status_code for a in pair.values())
        assert codes == [303, 409], (item[:12], {n: (a.status_code, a.text[:200]) for n, a in pair.items()})
        winner = next(n for n, a in pair.items() if a.status_code == 303)
        loser = next(n for n, a in pair.items() if a.status_code == 409)
        refusal = pair[loser].text
        assert "someone else changed this item after you opened it; nothing was saved" in refusal
        assert winner in refusal and f"{winner} checked" in refusal
        changes = [(e.actor, e.detail["status"]) for e in log
                   if e.action == "item.status" and e.item_id == item]
        assert changes == [(winner, "verified" if winner == "ana" else "rejected")]
        assert items[item].status_note == f"{winner} checked" and items[item].revision == seen[item] + 1
    for item in ids[:2]:  # untouched by status saves
        assert items[item].revision == seen[item] and items[item].status == "unreviewed"

    # Judgments: all eight went through; each pair judged by one reviewer is there once, standing; the pair
    # judged by both has both in the log and one standing (the newest), the other undone by its author.
    assert [a.status_code for a in judged] == [303] * len(judged), [a.text[:200] for a in judged]
    added = Counter((e.actor, e.detail["a"], e.detail["b"], e.detail["verdict"])
                    for e in log if e.action == "judgment.add")
    expected = Counter((r.name, a, b, "different") for r, a, b in own)
    expected.update([("cat", *sorted(shared_pair), "same"), ("dan", *sorted(shared_pair), "different")])
    assert added == expected
    standing = [j for j in judgments if j.undone_at is None]
    by_pair = Counter((f"{j.a_item}:{j.a_number}", f"{j.b_item}:{j.b_number}") for j in standing)
    assert set(by_pair.values()) == {1} and len(standing) == len(own) + 1
    on_shared = [j for j in judgments if (f"{j.a_item}:{j.a_number}", f"{j.b_item}:{j.b_number}")
                 == tuple(sorted(shared_pair))]
    assert len(on_shared) == 2 and on_shared[0].undone_at is not None and on_shared[1].undone_at is None
    assert on_shared[0].undone_by == on_shared[1].by  # the later one superseded the earlier, knowingly

    # Pages of crops: on each item one reviewer's page stands whole, the other was refused with nothing
    # written; no track has two standing decisions.
    mine = {ids[0]: ("ana", "ben"), ids[1]: ("ben", "ana")}  # (who confirms all, who flips one)
    answer = {ids[0]: (accepts[0], accepts[1]), ids[1]: (accepts[2], accepts[3])}
    standing_reviews = Counter((r.item_id, r.number) for r in reviews if r.undone_at is None)
    assert set(standing_reviews.values()) == {1}
    for item in ids[:2]:
        first, second = answer[item]
        assert sorted((first.status_code, second.status_code)) == [303, 409], (first.text[:200],
                                                                               second.text[:200])
        won, lost = (0, 1) if first.status_code == 303 else (1, 0)
        winner, loser = mine[item][won], mine[item][lost]
        refusal = answer[item][lost].text
        shown = TRACKS if lost == 0 else TRACKS - 1  # the loser's confirmations are checked first
        assert f"someone else decided on {shown} of these tracks" in refusal and winner in refusal
        decided = {(r.number, r.verdict, r.by) for r in reviews if r.item_id == item}
        flipped = int(flip[item].rpartition(":")[2])
        if won == 0:  # the reviewer who confirmed everything
            assert decided == {(n, "person", winner) for n in range(1, TRACKS + 1)}
        else:
            assert decided == {(n, "not_person" if n == flipped else "person", winner)
                               for n in range(1, TRACKS + 1)}
        logged = [e for e in log if e.action == "track.review" and
                  any(t.startswith(item) for t in e.detail["tracks"])]
        assert {e.actor for e in logged} == {winner}
        assert sorted(t for e in logged for t in e.detail["tracks"]) == [f"{item}:{n}"
                                                                        for n in range(1, TRACKS + 1)]
