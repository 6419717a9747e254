"""A simulated reviewer: it takes the top-ranked proposal, answers it truthfully from the ground truth, and
records the answer as a reviewer would (confirmations, rejections, pair and group judgments). Used by the
property tests (tests/test_review.py) and by bench/review.py on real and generated worlds.

Actions are counted as the desk counts them: a page of confirmations is one, a group judgment is one, a
pair judgment is one, and every track flipped on a page (not a person, one person boxed twice) or taken out
of a group (the same person as another in it) is one more.
"""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from vericount.tally import proposals
from vericount.tally.graph import (
    CERTIFIED,
    PROPOSED,
    Alignment,
    GroupData,
    JudgmentData,
    Records,
    TrackData,
    count,
)


@dataclass
class Step:
    actions: int  # actions so far
    kind: str
    certified: int
    proposed: int
    estimate: int
    at_most: int


@dataclass
class Reviewer:
    records: Records
    truth: dict[str, int | None]  # the person behind each track; None: no person (a coat, a poster)
    actions: int = 0
    steps: list[Step] = field(default_factory=list)
    _next_id: int = 10_000

    def people(self) -> int:
        return len({p for p in self.truth.values() if p is not None})

    def tally(self) -> dict[str, Any]:
        certified_graph = self.records.graph(CERTIFIED)
        certified = count(certified_graph, 5.0)
        proposed_graph = self.records.graph(PROPOSED)
        estimated = count(proposed_graph, 5.0)
        assert not certified_graph.contradictions, certified_graph.contradictions  # a truthful reviewer
        ranked = proposals.rank(self.records, certified_graph, certified, proposed_graph, estimated)
        return {"certified": certified.at_least, "proposed": estimated.at_least,
                "estimate": estimated.estimate, "at_most": estimated.at_most, "proposals": ranked,
                "graph": certified_graph, "count": certified}

    def run(self, max_actions: int = 500) -> list[Step]:
        """Review until the top proposal would gain nothing more (or the action budget is spent)."""
        while self.actions < max_actions:
            now = self.tally()
            useful = [p for p in now["proposals"] if p["gain"] > 0]
            if not useful:
                break
            self.answer(useful[0])
            after = self.tally()
            self.steps.append(Step(self.actions, useful[0]["kind"], after["certified"], after["proposed"],
                                   after["estimate"], after["at_most"]))
        return self.steps

    def answer(self, proposal: dict[str, Any]) -> None:
        kind = proposal["kind"]
        if kind in ("confirm", "confirm+group"):
            self.actions += max(1, proposal["actions"] - (1 if kind == "confirm+group" else 0))
            doubtful = any(st.get("doubtful") for st in proposal.get("steps", []))
            self.confirm(proposal["tracks"], doubtful)
        if kind in ("group", "confirm+group"):
            self.actions += 1
            self.group([*proposal["against"], *proposal.get("group", proposal["tracks"])])
        if kind in ("different", "same"):
            self.actions += 1
            self.judge(*proposal["tracks"])

    def confirm(self, refs: list[str], doubtful: bool = False) -> None:
        """A page: the crops in the wrong state are flipped first, one action each (on a page of doubtful
        tracks, which start as "not a person", the people)."""
        by_ref = {t.ref: t for t in self.records.tracks}
        confirmed = []
        for ref in refs:
            t = by_ref[ref]
            if self.truth[ref] is None:
                by_ref[ref] = replace(t, rejected=True)
                self.actions += not doubtful  # flipped: not a person
            else:
                by_ref[ref] = replace(t, confirmed={"review": self._id(), "by": "oracle", "at": "now"})
                confirmed.append(ref)
                self.actions += doubtful  # flipped back: a person
        self.records.tracks = [by_ref[t.ref] for t in self.records.tracks]
        # one person boxed twice in one frame: the reviewer says so ("same"), or the frame would split them
        fresh = set(confirmed)
        everyone = [t for t in by_ref.values() if t.confirmed is not None or t.mark]
        for a, b in itertools.combinations(everyone, 2):
            if ((a.ref in fresh or b.ref in fresh) and a.item == b.item
                    and self.truth[a.ref] == self.truth[b.ref] and _together(a, b)):
                self.judge(a.ref, b.ref)
                self.actions += 1

    def group(self, refs: list[str]) -> None:
        kept: list[str] = []
        persons: dict[int, str] = {}
        for ref in dict.fromkeys(refs):
            person = self.truth[ref]
            if person is None or person in persons:
                self.actions += 1  # taken out: not a person, or "same as" one already in the group
                if person is not None:
                    self.judge(ref, persons[person])
                continue
            persons[person] = ref
            kept.append(ref)
        if len(kept) >= 2:
            self.records.groups.append(GroupData(self._id(), "different", kept, [], "compared faces",
                                                 "oracle", "now"))

    def judge(self, a: str, b: str) -> None:
        verdict = "same" if self.truth[a] == self.truth[b] and self.truth[a] is not None else "different"
        if self.truth[a] is None or self.truth[b] is None:
            for ref in (a, b):  # a pair with no person in it: reject the one that is none
                if self.truth[ref] is None:
                    self.records.tracks = [replace(t, rejected=True) if t.ref == ref else t
                                           for t in self.records.tracks]
            return
        self.records.judgments.append(JudgmentData(self._id(), a, b, verdict, "looked", "oracle", "now"))

    def _id(self) -> int:
        self._next_id += 1
        return self._next_id


def _together(a: Any, b: Any) -> bool:
    times = {round(t, 3) for t, _ in a.boxes}
    return any(round(t, 3) in times for t, _ in b.boxes)


def make_world(rng: random.Random, people: int, items: int, *, lookalike: float | None = None,
               aged: bool = False, copy: bool | None = None, false_join: bool = False,
               coats: float = 0.4, boxed_twice: float = 0.3
               ) -> tuple[list[TrackData], dict[str, int | None], list[Alignment]]:
    """A generated world with its truth: people in items, each seen in an item one track (sometimes cut in
    two), in their own column of the frame so that boxes of a frame never overlap; faces near each person's
    identity vector (same person within 0.3, different people about 1.06 apart, as a calibrated embedding
    would be; poor faces anywhere up to 0.9 away), and the hard cases: a lookalike of person 0 (``lookalike``
    apart), person 0 photographed years apart (faces 0.75 from each other), detections of no person (a coat:
    ``coats``) and one person boxed twice in one frame (legs apart from the body: ``boxed_twice``); item1 a
    mirrored repost of item0 (``copy``: True when a person confirmed the copies, False when only the
    matcher), or (``false_join``, with a lookalike) the matcher taking photos of the two lookalikes for
    copies."""
    identity = np.eye(8, dtype=np.float32)[:people] * 0.75  # different people sqrt(2) * 0.75 ~ 1.06 apart
    if lookalike is not None and people >= 2:
        identity[1] = identity[0] + np.float32(lookalike / np.sqrt(2))
    tracks: list[TrackData] = []
    person: dict[str, int | None] = {}
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
                if rng.random() < 0.5:
                    good = rng.random() < 0.7
                    noise = np.asarray([rng.uniform(-1, 1) for _ in range(8)], np.float32)
                    spread = rng.uniform(0, 0.3 if good else 0.9)
                    if aged and p == 0 and item % 2:
                        spread = 0.75
                    face = identity[p] + noise / np.linalg.norm(noise) * np.float32(spread)
                tracks.append(TrackData(ref, f"item{item}", [(t, box) for t in part], face, good,
                                        best_t=part[0], best_box=box))
                person[ref] = p
        if times and rng.random() < coats:  # a coat on a chair, in the last column
            number += 1
            ref = f"item{item}:{number}"
            tracks.append(TrackData(ref, f"item{item}", [(times[0], (710.0, 20.0, 790.0, 200.0))], score=0.4))
            person[ref] = None
        boxed = [t for t in tracks if t.item == f"item{item}"]
        if boxed and rng.random() < boxed_twice:  # one person boxed twice: legs apart from the body
            t = boxed[0]
            number += 1
            ref = f"item{item}:{number}"
            legs = (t.best_box[0], 400.0, t.best_box[2], 560.0)
            tracks.append(TrackData(ref, t.item, [(t.boxes[0][0], legs)], score=0.5))
            person[ref] = person[t.ref]
    alignments: list[Alignment] = []
    if items >= 2 and copy is not None:  # item1 is a mirrored repost of item0: same people, same times
        originals = [t for t in tracks if t.item == "item0"]
        tracks = [t for t in tracks if t.item != "item1"]
        for k, t in enumerate(originals, start=1):
            ref = f"item1:{k}"
            boxes = [(when, (800 - box[2], box[1], 800 - box[0], box[3])) for when, box in t.boxes]
            tracks.append(TrackData(ref, "item1", boxes, t.face, t.face_ok, best_t=t.best_t,
                                    best_box=boxes[0][1], score=t.score))
            person[ref] = person[t.ref]
        alignments.append(Alignment(7, "item0", "item1", 0.0, 2.0, 0.0, 1.0, (800, 600), (800, 600),
                                    by_person=copy))
    elif items >= 3 and lookalike is not None and false_join:
        alignments.append(Alignment(8, "item1", "item2", 0.0, 2.0, 0.0, 1.0, (800, 600), (800, 600),
                                    by_person=False))
    return tracks, {t.ref: person[t.ref] for t in tracks}, alignments
