"""The count's guarantees on random worlds (hypothesis): certified N never exceeds the people there are,
whatever the machine gets wrong (false detections, lookalikes, age gaps, false repost joins), also at every
step of a truthful review; N is the truth when every track and pair is decided; a true "different" never
lowers N; the certificates always verify. And the clique solver against brute force."""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.reviewer import Reviewer, make_world
from vericount.tally import check as checker
from vericount.tally import solve
from vericount.tally.certificate import certificate
from vericount.tally.graph import (
    CERTIFIED,
    PROPOSED,
    Alignment,
    GroupData,
    JudgmentData,
    Policy,
    Records,
    TrackData,
    count,
)


@dataclass
class World:
    people: int
    tracks: list[TrackData]
    person: dict[str, int | None]  # the truth behind each track (None: no person at all)
    judgments: list[JudgmentData] = field(default_factory=list)
    alignments: list[Alignment] = field(default_factory=list)
    groups: list[GroupData] = field(default_factory=list)

    def records(self) -> Records:
        return Records(self.tracks, self.judgments, self.alignments, self.groups)

    def rows(self, sql: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
        """The case's tables as the checker reads them."""
        if sql == checker.TRACK_SQL:
            ref = f"{params['item']}:{params['number']}"
            t = next((t for t in self.tracks if t.ref == ref), None)
            if t is None:
                return []
            boxes = [[when, *box, 0.9] for when, box in t.boxes]
            face = None if t.face is None else t.face.astype("<f4").tobytes()
            return [(boxes, face, 120 if t.face_ok else 40, 400.0, "mark" if t.mark else "detector",
                     "tester" if t.mark else None)]
        if sql == checker.REVIEWS_SQL:
            ref = f"{params['item']}:{params['number']}"
            t = next((t for t in self.tracks if t.ref == ref), None)
            if t is None or t.confirmed is None or t.confirmed.get("review") is None:
                return []
            return [(t.confirmed["review"], "person", None)]
        if sql == checker.JUDGMENT_SQL:
            j = next((j for j in self.judgments if j.id == params["id"]), None)
            if j is None:
                return []
            (ai, _, an), (bi, _, bn) = j.a.rpartition(":"), j.b.rpartition(":")
            return [(j.verdict, None, ai, int(an), bi, int(bn))]
        if sql == checker.GROUP_SQL:
            g = next((g for g in self.groups if g.id == params["id"]), None)
            return [] if g is None else [(g.verdict, None, list(g.a), list(g.b))]
        if sql == checker.MATCH_SQL:
            al = next((al for al in self.alignments if al.match == params["id"]), None)
            return [] if al is None else [(al.a, al.b, "confirmed", "tester" if al.by_person else None)]
        raise AssertionError(sql)

    def judge(self, a: str, b: str) -> None:
        if self.person[a] is None or self.person[b] is None:
            return  # a reviewer rejects what is no person; they do not judge it
        verdict = "same" if self.person[a] == self.person[b] else "different"
        self.judgments.append(JudgmentData(len(self.judgments) + 1, a, b, verdict, "seen", "tester",
                                           "2024-08-07"))

    def confirm(self, fraction: float, rng: random.Random) -> None:
        """A truthful reviewer's decisions on some tracks: real people confirmed, the rest rejected."""
        for k, t in enumerate(self.tracks):
            if rng.random() < fraction:
                if self.person[t.ref] is None:
                    self.tracks[k] = replace(t, rejected=True)
                else:
                    self.tracks[k] = replace(t, confirmed={"review": 1000 + k, "by": "tester", "at": "d"})


@st.composite
def worlds(draw: st.DrawFn) -> World:
    """People in items: each person seen in an item is one track (sometimes cut in two), placed in their own
    column of the frame so that boxes of a frame never overlap; faces near each person's identity vector
    (same person within 0.3, different people at least 0.85 apart, as a calibrated embedding would be), or
    the hard cases: a lookalike pair up to 0.75 apart, photos of one person years apart as far as 0.75 from
    each other, poor faces anywhere; detections of no person (a coat, a poster) and one person boxed twice
    in one frame; some items are repost copies of others (a mirror), and sometimes the matcher joins two
    photos of lookalikes as copies. A truthful reviewer has confirmed or rejected some of the tracks and
    judged some pairs."""
    rng = random.Random(draw(st.integers(0, 2**32 - 1)))
    people = draw(st.integers(1, 7))
    items = draw(st.integers(1, 4))
    lookalike = draw(st.sampled_from([None, 0.05, 0.5, 0.75])) if people >= 2 else None
    copy = draw(st.sampled_from([None, True, False])) if items >= 2 else None
    tracks, person, alignments = make_world(rng, people, items, lookalike=lookalike, aged=draw(st.booleans()),
                                            copy=copy, false_join=draw(st.booleans()))
    world = World(people, tracks, person, alignments=alignments)
    world.confirm(draw(st.sampled_from([0.0, 0.5, 1.0])), rng)
    refs = [t.ref for t in world.tracks]
    for a, b in itertools.combinations(refs, 2):
        if rng.random() < draw(st.sampled_from([0.0, 0.1, 0.4])):
            world.judge(a, b)
    duplicates = [(a.ref, b.ref) for a, b in itertools.combinations(world.tracks, 2)
                  if a.item == b.item and person[a.ref] is not None and person[a.ref] == person[b.ref]
                  and a.confirmed and b.confirmed]
    for a, b in duplicates:  # a reviewer who confirmed both says they are one person
        world.judge(a, b)
    return world


def _tally(world: World, policy: Policy = CERTIFIED) -> tuple[int, dict[str, Any]]:
    graph = world.records().graph(policy)
    assert not graph.contradictions
    result = count(graph, time_limit=5)
    assert result.optimal
    if policy is PROPOSED:
        assert result.at_least <= result.estimate <= result.at_most
    return result.at_least, certificate(graph, result)


def _distinct_people(world: World) -> int:
    return len({world.person[t.ref] for t in world.tracks} - {None})


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(worlds())
def test_certified_n_never_exceeds_the_truth_and_the_certificate_verifies(world: World) -> None:
    n, cert = _tally(world)
    assert n <= _distinct_people(world)
    assert cert["kind"] == "certified" and cert["machine_calls"] == 0
    assert checker.check(cert, world.rows) == []
    members = [{world.person[r] for r in m["tracks"]} for m in cert["members"]]
    assert all(len(m) == 1 and None not in m for m in members)  # every member is one real person
    assert len(set().union(*members)) == n if members else n == 0
    assert all(c.get("review") is not None or c.get("mark") for m in cert["members"] for c in m["confirmed"])
    _, pcert = _tally(world, PROPOSED)
    assert pcert["kind"] == "proposed" and checker.check(pcert, world.rows) == []


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(worlds())
def test_n_is_the_truth_when_every_track_and_pair_is_decided(world: World) -> None:
    world.judgments = []
    world.confirm(1.0, random.Random(1))
    for a, b in itertools.combinations([t.ref for t in world.tracks], 2):
        world.judge(a, b)
    n, cert = _tally(world)
    assert n == _distinct_people(world)
    assert checker.check(cert, world.rows) == []


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(worlds(), st.integers(0, 10_000))
def test_a_true_different_judgment_never_lowers_n(world: World, pick: int) -> None:
    before, _ = _tally(world)
    pairs = [(a.ref, b.ref) for a, b in itertools.combinations(world.tracks, 2)
             if None not in (world.person[a.ref], world.person[b.ref])
             and world.person[a.ref] != world.person[b.ref]]
    if not pairs:
        return
    world.judge(*pairs[pick % len(pairs)])
    after, cert = _tally(world)
    assert after >= before
    assert checker.check(cert, world.rows) == []


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(worlds())
def test_a_truthful_review_never_overcounts_and_reaches_the_truth(world: World) -> None:
    """The simulated reviewer takes the top proposal each time: certified N is never above the truth at any
    step, and when no proposal gains anything more, every pair still open is one the records cannot
    settle without more footage (N is the truth when every track has a face or shares frames)."""
    truth = _distinct_people(world)
    reviewer = Reviewer(world.records(), dict(world.person))
    steps = reviewer.run(max_actions=200)
    assert all(step.certified <= truth for step in steps)
    world.tracks, world.judgments, world.groups = (reviewer.records.tracks, reviewer.records.judgments,
                                                   reviewer.records.groups)
    n, cert = _tally(world)
    assert n <= truth and checker.check(cert, world.rows) == []


def test_machine_calls_never_certify() -> None:
    """Faces far apart, a coat beside a person, a join only the matcher made: N' counts them, N does not."""
    far = np.eye(8, dtype=np.float32)[0], np.eye(8, dtype=np.float32)[1]
    tracks = [TrackData("x:1", "x", [(0.0, (10.0, 10.0, 50.0, 100.0))], far[0]),
              TrackData("y:1", "y", [(0.0, (10.0, 10.0, 50.0, 100.0))], far[1]),
              TrackData("y:2", "y", [(0.0, (300.0, 10.0, 340.0, 100.0))], score=0.3)]
    world = World(2, tracks, {"x:1": 0, "y:1": 0, "y:2": None})  # one woman, 25 years apart, and a coat
    assert _tally(world, PROPOSED)[0] == 2  # the machine's reading: two people where there is one
    assert _tally(world)[0] == 0
    world.confirm(1.0, random.Random(0))  # the reviewer confirms the two photos and rejects the coat
    n, cert = _tally(world)
    assert n == 1 and checker.check(cert, world.rows) == []
    forged = dict(cert, members=[*cert["members"], {"track": "y:2", "tracks": ["y:2"], "confirmed": []}])
    forged["at_least"] = 2
    assert any("not confirmed by a reviewer" in p for p in checker.check(forged, world.rows))
    proposed, pcert = _tally(world, PROPOSED)
    assert proposed == 2 and pcert["machine_calls"] == 1  # the face distance, marked
    pcert["kind"] = "certified"
    assert any("machine's call" in p for p in checker.check(pcert, world.rows))


def test_a_tampered_certificate_is_caught_naming_the_pair() -> None:
    box = (10.0, 10.0, 50.0, 100.0)
    far = (200.0, 10.0, 240.0, 100.0)
    world = World(3, [TrackData("x:1", "x", [(0.0, box), (0.25, box)]),
                      TrackData("x:2", "x", [(0.0, far)]),
                      TrackData("y:1", "y", [(1.0, box)])], {"x:1": 0, "x:2": 1, "y:1": 2})
    world.confirm(1.0, random.Random(0))
    world.judge("x:2", "y:1")
    world.groups.append(GroupData(50, "different", ["x:1"], ["y:1"], "other coat", "tester", "d"))
    n, cert = _tally(world)
    assert n == 3
    assert checker.check(cert, world.rows) == []
    reasons = {frozenset((p["a"], p["b"])): p for p in cert["pairs"]}
    assert reasons[frozenset(("x:1", "x:2"))]["reason"] == "same_frame"
    assert reasons[frozenset(("x:2", "y:1"))]["reason"] == "judged_different"
    assert reasons[frozenset(("x:1", "y:1"))]["reason"] == "group_different"

    moved = reasons[frozenset(("x:1", "x:2"))]
    moved["detail"]["t_b"] = 0.25  # x:2 was not seen then
    problems = checker.check(cert, world.rows)
    assert len(problems) == 1 and "x:1 ~ x:2" in problems[0] and "no box" in problems[0]
    moved["detail"]["t_b"] = 0.0
    world.judgments[0].verdict = "same"  # the record changed under the certificate
    assert any("x:2 ~ y:1" in p and "not 'different'" in p for p in checker.check(cert, world.rows))
    world.judgments[0].verdict = "different"
    world.groups[0].b = ["x:2"]  # the group judgment no longer covers the pair
    assert any("does not cover" in p for p in checker.check(cert, world.rows))
    cert["pairs"] = [p for p in cert["pairs"] if frozenset((p["a"], p["b"])) != frozenset(("x:1", "y:1"))]
    assert any("no reason given" in p for p in checker.check(cert, world.rows))


def test_a_person_s_same_beats_the_frame_and_a_contradiction_blocks() -> None:
    box, far = (10.0, 10.0, 50.0, 100.0), (200.0, 10.0, 240.0, 100.0)
    tracks = [TrackData("x:1", "x", [(0.0, box)]), TrackData("x:2", "x", [(0.0, far)]),
              TrackData("y:1", "y", [(0.0, box)])]
    world = World(2, tracks, {"x:1": 0, "x:2": 0, "y:1": 1})
    world.confirm(1.0, random.Random(0))
    world.judgments.append(JudgmentData(1, "x:1", "x:2", "same", "one man boxed twice", "u", "d"))
    assert _tally(world)[0] == 1  # the same-frame fact yields to the person who looked
    world.judgments.append(JudgmentData(2, "x:2", "y:1", "same", None, "u", "d"))
    world.groups.append(GroupData(3, "different", ["x:1", "y:1"], [], "other face", "u", "d"))
    graph = world.records().graph(CERTIFIED)
    assert len(graph.contradictions) == 1 and "x:1 and y:1" in graph.contradictions[0]


def test_a_version_1_certificate_still_checks() -> None:
    """Certificates written before format 2 (members without confirmations, face distances as proof)."""
    a, b = np.eye(8, dtype=np.float32)[0], np.eye(8, dtype=np.float32)[1]
    world = World(2, [TrackData("x:1", "x", [(0.0, (10.0, 10.0, 50.0, 100.0))], a),
                      TrackData("y:1", "y", [(0.0, (10.0, 10.0, 50.0, 100.0))], b)], {"x:1": 0, "y:1": 1})
    cert = {"format": "vericount-certificate/1", "at_least": 2,
            "members": [{"track": "x:1", "tracks": ["x:1"], "merged_by": []},
                        {"track": "y:1", "tracks": ["y:1"], "merged_by": []}],
            "pairs": [{"a": "x:1", "b": "y:1", "reason": "face_distance",
                       "detail": {"distance": round(float(np.linalg.norm(a - b)), 4)}}]}
    assert checker.check(cert, world.rows) == []
    assert "format 1" in checker.describe(cert)
    cert["pairs"][0]["detail"]["distance"] = 0.9
    assert any("not 0.9" in p for p in checker.check(cert, world.rows))


def _brute(adj: list[set[int]]) -> int:
    for size in range(len(adj), 0, -1):
        for c in itertools.combinations(range(len(adj)), size):
            if all(b in adj[a] for a, b in itertools.combinations(c, 2)):
                return size
    return 0


@pytest.mark.parametrize("decompose", [False, True])
def test_the_clique_solver_against_brute_force(decompose: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    if decompose:
        monkeypatch.setattr(solve, "MAX_NON_EDGES", 0)  # the vertex-by-vertex path
    rng = random.Random(7)
    for _ in range(60):
        n, p = rng.randint(0, 11), rng.random()
        adj: list[set[int]] = [set() for _ in range(n)]
        for a, b in itertools.combinations(range(n), 2):
            if rng.random() < p:
                adj[a].add(b)
                adj[b].add(a)
        found = solve.max_clique(adj, time_limit=5)
        assert all(b in adj[a] for a, b in itertools.combinations(found.members, 2))
        assert len(found.members) == _brute(adj) == found.upper
        assert found.optimal
