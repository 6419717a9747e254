"""The count's guarantees on random worlds (hypothesis): N never exceeds the people there are, N is the truth
when every pair is judged, a true "different" never lowers N, the certificate always verifies. And the
clique solver against brute force."""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vericount.tally import check as checker
from vericount.tally import solve
from vericount.tally.graph import Alignment, JudgmentData, TrackData, build, certificate, count


@dataclass
class World:
    people: int
    tracks: list[TrackData]
    person: dict[str, int]  # the truth behind each track
    judgments: list[JudgmentData] = field(default_factory=list)
    alignments: list[Alignment] = field(default_factory=list)

    def rows(self, sql: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
        """The case's tables as the checker reads them."""
        if sql == checker.TRACK_SQL:
            ref = f"{params['item']}:{params['number']}"
            t = next((t for t in self.tracks if t.ref == ref), None)
            if t is None:
                return []
            boxes = [[when, *box, 0.9] for when, box in t.boxes]
            face = None if t.face is None else t.face.astype("<f4").tobytes()
            return [(boxes, face, 120 if t.face_ok else 40, 400.0)]
        if sql == checker.JUDGMENT_SQL:
            j = next((j for j in self.judgments if j.id == params["id"]), None)
            if j is None:
                return []
            (ai, _, an), (bi, _, bn) = j.a.rpartition(":"), j.b.rpartition(":")
            return [(j.verdict, None, ai, int(an), bi, int(bn))]
        if sql == checker.MATCH_SQL:
            al = next((al for al in self.alignments if al.match == params["id"]), None)
            return [] if al is None else [(al.a, al.b, "confirmed")]
        raise AssertionError(sql)

    def judge(self, a: str, b: str) -> None:
        verdict = "same" if self.person[a] == self.person[b] else "different"
        self.judgments.append(JudgmentData(len(self.judgments) + 1, a, b, verdict, "seen", "tester",
                                           "2024-08-07"))


@st.composite
def worlds(draw: st.DrawFn) -> World:
    """People in items: each person seen in an item is one track (sometimes cut in two), placed in their own
    column of the frame so that boxes of a frame never overlap; faces near each person's identity vector
    (same person within 0.3, different people at least 0.85 apart, as a calibrated embedding would be, or
    a lookalike pair closer than the threshold); some items are repost copies of others (a mirror)."""
    rng = random.Random(draw(st.integers(0, 2**32 - 1)))
    people = draw(st.integers(1, 7))
    identity = np.eye(8, dtype=np.float32)[:people] * 0.75  # different people sqrt(2) * 0.75 ~ 1.06 apart
    if people >= 2 and draw(st.booleans()):
        identity[1] = identity[0] + np.float32(0.05)  # lookalikes: closer than the threshold
    items = draw(st.integers(1, 4))
    tracks: list[TrackData] = []
    person: dict[str, int] = {}
    for item in range(items):
        times = [round(0.25 * k, 3) for k in range(rng.randint(1, 6))]
        present = {p: [t for t in times if rng.random() < 0.6] for p in range(people)}
        number = 0
        for p, seen in present.items():
            if not seen:
                continue
            parts = [seen] if len(seen) < 2 or rng.random() < 0.7 else [seen[:1], seen[1:]]
            for part in parts:
                number += 1
                ref = f"item{item}:{number}"
                box = (100.0 * p + 10, 20.0, 100.0 * p + 90, 200.0)
                face, good = None, True
                if rng.random() < 0.5:  # a face; a poor one (small, blurred) lies anywhere up to 0.9 away
                    good = rng.random() < 0.7
                    noise = np.asarray([rng.uniform(-1, 1) for _ in range(8)], np.float32)
                    spread = rng.uniform(0, 0.3 if good else 0.9)
                    face = identity[p] + noise / np.linalg.norm(noise) * np.float32(spread)
                tracks.append(TrackData(ref, f"item{item}", [(t, box) for t in part], face, good,
                                        best_t=part[0], best_box=box))
                person[ref] = p
    world = World(people, tracks, person)
    if items >= 2 and draw(st.booleans()):  # item1 is a mirrored repost of item0: same people, same times
        copies = [t for t in tracks if t.item == "item0"]
        world.tracks = [t for t in tracks if t.item != "item1"]
        for k, t in enumerate(copies, start=1):
            ref = f"item1:{k}"
            boxes = [(when, (800 - box[2], box[1], 800 - box[0], box[3])) for when, box in t.boxes]
            world.tracks.append(TrackData(ref, "item1", boxes, t.face, t.face_ok, best_t=t.best_t,
                                          best_box=boxes[0][1]))
            person[ref] = person[t.ref]
        world.alignments.append(Alignment(7, "item0", "item1", 0.0, 2.0, 0.0, 1.0, (800, 600), (800, 600)))
    refs = [t.ref for t in world.tracks]
    for a, b in itertools.combinations(refs, 2):
        if rng.random() < draw(st.sampled_from([0.0, 0.1, 0.4])):
            world.judge(a, b)
    return world


def _tally(world: World, machine: bool = True) -> tuple[int, dict[str, Any]]:
    graph = build(world.tracks, world.judgments, world.alignments, machine)
    assert not graph.contradictions
    result = count(graph, time_limit=5)
    assert result.optimal
    assert result.at_least <= result.estimate <= result.at_most
    return result.at_least, certificate(graph, result, {t.ref: t for t in world.tracks})


def _distinct_people(world: World) -> int:
    return len({world.person[t.ref] for t in world.tracks})


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(worlds(), st.booleans())
def test_n_never_exceeds_the_truth_and_the_certificate_verifies(world: World, machine: bool) -> None:
    n, cert = _tally(world, machine)
    assert n <= _distinct_people(world)
    assert checker.check(cert, world.rows) == []
    members = [{world.person[r] for r in m["tracks"]} for m in cert["members"]]
    assert all(len(m) == 1 for m in members)  # every member is one real person
    assert len(set().union(*members)) == n if members else n == 0


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(worlds())
def test_n_is_the_truth_when_every_pair_is_judged(world: World) -> None:
    world.judgments = []
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
             if world.person[a.ref] != world.person[b.ref]]
    if not pairs:
        return
    world.judge(*pairs[pick % len(pairs)])
    after, cert = _tally(world)
    assert after >= before
    assert checker.check(cert, world.rows) == []


def test_a_tampered_certificate_is_caught_naming_the_pair() -> None:
    box = (10.0, 10.0, 50.0, 100.0)
    far = (200.0, 10.0, 240.0, 100.0)
    world = World(3, [TrackData("x:1", "x", [(0.0, box), (0.25, box)]),
                      TrackData("x:2", "x", [(0.0, far)]),
                      TrackData("y:1", "y", [(1.0, box)])], {"x:1": 0, "x:2": 1, "y:1": 2})
    world.judge("x:2", "y:1")
    world.judge("x:1", "y:1")
    n, cert = _tally(world)
    assert n == 3
    assert checker.check(cert, world.rows) == []
    reasons = {frozenset((p["a"], p["b"])): p for p in cert["pairs"]}
    assert reasons[frozenset(("x:1", "x:2"))]["reason"] == "same_frame"
    assert reasons[frozenset(("x:2", "y:1"))]["reason"] == "judged_different"

    moved = reasons[frozenset(("x:1", "x:2"))]
    moved["detail"]["t_b"] = 0.25  # x:2 was not seen then
    problems = checker.check(cert, world.rows)
    assert len(problems) == 1 and "x:1 ~ x:2" in problems[0] and "no box" in problems[0]
    moved["detail"]["t_b"] = 0.0
    world.judgments[0].verdict = "same"  # the record changed under the certificate
    assert any("x:2 ~ y:1" in p and "not 'different'" in p for p in checker.check(cert, world.rows))
    cert["pairs"] = [p for p in cert["pairs"] if frozenset((p["a"], p["b"])) != frozenset(("x:1", "y:1"))]
    assert any("no reason given" in p for p in checker.check(cert, world.rows))


def test_a_person_s_same_beats_the_machine_and_a_contradiction_blocks() -> None:
    box, far = (10.0, 10.0, 50.0, 100.0), (200.0, 10.0, 240.0, 100.0)
    tracks = [TrackData("x:1", "x", [(0.0, box)]), TrackData("x:2", "x", [(0.0, far)]),
              TrackData("y:1", "y", [(0.0, box)])]
    world = World(2, tracks, {"x:1": 0, "x:2": 0, "y:1": 1})
    world.judgments.append(JudgmentData(1, "x:1", "x:2", "same", "one man boxed twice", "u", "d"))
    assert _tally(world)[0] == 1  # the same-frame fact yields to the person who looked
    world.judgments.append(JudgmentData(2, "x:2", "y:1", "same", None, "u", "d"))
    world.judgments.append(JudgmentData(3, "x:1", "y:1", "different", "other face", "u", "d"))
    graph = build(world.tracks, world.judgments, [])
    assert len(graph.contradictions) == 1 and "x:1 and y:1" in graph.contradictions[0]


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
