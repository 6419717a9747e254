"""A simulated reviewer: it takes the top-ranked proposal, answers it truthfully from the ground truth, and
records the answer as a reviewer would (confirmations, rejections, pair and group judgments). Used by the
property tests (tests/test_review.py) and by bench/review.py on real and generated worlds.

Actions are counted as the desk counts them: a page of confirmations is one, a group judgment is one, a
pair judgment is one, and every track flipped on a page (not a person, one person boxed twice) or taken out
of a group (the same person as another in it) is one more.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field, replace
from typing import Any

from vericount.tally import proposals
from vericount.tally.graph import CERTIFIED, PROPOSED, GroupData, JudgmentData, Records, count


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
            self.confirm(proposal["tracks"])
        if kind in ("group", "confirm+group"):
            self.actions += 1
            self.group([*proposal["against"], *proposal.get("group", proposal["tracks"])])
        if kind in ("different", "same"):
            self.actions += 1
            self.judge(*proposal["tracks"])

    def confirm(self, refs: list[str]) -> None:
        by_ref = {t.ref: t for t in self.records.tracks}
        confirmed = []
        for ref in refs:
            t = by_ref[ref]
            if self.truth[ref] is None:
                by_ref[ref] = replace(t, rejected=True)
                self.actions += 1  # flipped: not a person
            else:
                by_ref[ref] = replace(t, confirmed={"review": self._id(), "by": "oracle", "at": "now"})
                confirmed.append(ref)
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
