"""Proposals ranked by certified people gained per reviewer action.

Nothing here counts: each proposal is a question for a reviewer, with the tracks it concerns, what the
certified N would gain if the answer is yes, how many actions that takes (a page of people confirmed at once
is one action, a group judgment is one) and the exact commands that record the answer. The machine's
evidence (face distances, frames shared, the estimate's clusters) only orders them.

- ``confirm``: the proposed people of one item, or of the whole scope, a page of up to ``PAGE`` at a time,
  the surest first; the doubtful ones (the detector's score under DOUBTFUL) apart, on pages of their own
  after every other question, where each starts as "not a person";
- ``confirm+group``: confirm the people of one item and judge them different from the certified members;
- ``group``: confirmed people of estimated persons the certificate does not hold yet, and the certified
  members, all different people (one look at their faces side by side);
- ``different``: one pair, judged different, adds a member (``pairs.different``);
- ``same``: two estimated people that are likely one (lowers M; ``pairs.same``).
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from dataclasses import replace
from typing import Any

import numpy as np

from vericount.people.score import DOUBTFUL
from vericount.tally import pairs
from vericount.tally.facts import same_frame
from vericount.tally.graph import (
    CERTIFIED,
    PROPOSED,
    SAME_FACE_DISTANCE,
    Count,
    FaceDistances,
    Graph,
    GroupData,
    Records,
    TrackData,
)
from vericount.tally.solve import max_clique

PAGE = 48  # people a reviewer confirms, or compares, in one look
REASON = "REASON"  # where a command needs the reviewer's own words


def rank(records: Records, certified: Graph, counted: Count, proposed: Graph, estimated: Count,
         budget: float = 3.0, limit: int = 12) -> list[dict[str, Any]]:
    """The proposals, best first: most certified people per action, then most people."""
    deadline = time.perf_counter() + budget
    view = _View(records, certified, counted, proposed, estimated)
    found: list[dict[str, Any]] = []
    found += view.confirm_all(deadline)
    found += view.confirm_items(deadline)
    found += view.group()
    skip = {frozenset((j.a, j.b)) for j in records.judgments}
    several: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for s in pairs.different(certified, counted, skip, 3 * limit):
        if s["judgments_needed"] == 1:
            found.append(_proposal("different", [s["a"], s["b"]], [], 1, 1, s["why"],
                                   [_judge(s["a"], s["b"], "different")]))
        else:
            several[s["node"]].append(s)
    for group in several.values():  # one person against the few members not yet proved other people
        one = view._rep(certified, group[0]["node"])
        against = sorted({s["b"] for s in group})
        found.append(_proposal("group", [one], against, 1, 1,
                               f"one confirmed person against the {len(against)} certified it is not yet "
                               "proved different from: " + "; ".join(dict.fromkeys(s["why"] for s in group)),
                               [_group([one], against)], group=[one]))
    found = [p for p in found if p["gain"] > 0]
    if not found:  # long shots: a confirmed face the estimate takes for a certified member's
        found = view.against_members({s["node"] for group in several.values() for s in group}, limit)
    found.sort(key=lambda p: (-p["gain"] / p["actions"], -p["gain"], p["actions"], p["doubt"],
                             len(p["tracks"]), p["tracks"][:1]))
    same = [_proposal("same", [s["a"], s["b"]], [], 0, 1, s["why"], [_judge(s["a"], s["b"], "same")],
                      effect="M -1") for s in pairs.same(proposed, estimated, skip, limit)]
    doubtful = view.check_doubtful()  # after the likelier questions, whatever it might gain
    out = found[:limit - len(doubtful)] + doubtful
    out += same[:max(0, limit - len(out))]
    for k, p in enumerate(out, start=1):
        p["rank"] = k
    return out


class _View:
    def __init__(self, records: Records, certified: Graph, counted: Count, proposed: Graph,
                 estimated: Count) -> None:
        self.records, self.certified, self.counted = records, certified, counted
        self.proposed, self.estimated = proposed, estimated
        self.n = counted.at_least
        undecided = [t for t in records.tracks if not t.rejected and not t.confirmed and not t.mark]
        by_score = sorted(undecided, key=lambda t: (-t.score, t.ref))  # pages: the surest first
        self.open = [t for t in by_score if t.score >= DOUBTFUL]
        self.doubtful = [t for t in by_score if t.score < DOUBTFUL]  # asked apart, never confirmed in bulk
        node_of = proposed.node_of()
        self.cluster = {r: estimated.clusters[u] for r, u in node_of.items()}
        self.members = [self._rep(certified, u) for u in counted.members]
        self.represented = {self.cluster.get(r) for u in counted.members for r in certified.nodes[u]}

    def _rep(self, graph: Graph, u: int) -> str:
        refs = graph.nodes[u]
        return max(refs, key=lambda r: (graph.tracks[r].face is not None and graph.tracks[r].face_ok,
                                        graph.tracks[r].face is not None, len(graph.tracks[r].boxes), r))

    def gain_if(self, confirm: set[str], groups: tuple[GroupData, ...] = ()) -> int:
        tracks = [replace(t, confirmed={"review": None}) if t.ref in confirm else t
                  for t in self.records.tracks]
        graph = self.records.graph(CERTIFIED, tracks, [*self.records.groups, *groups], faces=False)
        if graph.contradictions:
            return 0
        return len(max_clique(graph.adj, 1.0).members) - self.n

    def confirm_all(self, deadline: float) -> list[dict[str, Any]]:
        if not self.open or time.perf_counter() > deadline:
            return []
        refs = [t.ref for t in self.open]
        gain = self.gain_if(set(refs))
        pages = math.ceil(len(refs) / PAGE)
        items = len({t.item for t in self.open})
        pages_of = [_confirm(refs[k:k + PAGE]) for k in range(0, len(refs), PAGE)]
        out = [_proposal("confirm", refs, [], gain, pages,
                         f"every proposed person of the scope: {len(refs)} track(s) in {items} item(s), "
                         f"{pages} page(s) of up to {PAGE}; flip the few that are not a person", pages_of)]
        new = self._one_per_person(self.proposed, set(refs))
        if len(new) + len(self.members) >= 2 and len(new) > gain:
            out.append(_proposal(
                "confirm+group", refs, self.members, len(new), pages + 1,
                f"confirm every proposed person of the scope ({len(refs)} tracks, {pages} page(s)), then "
                f"judge one of each of the {len(new)} persons the estimate sees beyond the "
                f"{_people(len(self.members))} certified all different people: " + self._faces_apart(new),
                [*pages_of, _group([*new, *self.members])], group=new))
        return out

    def _one_per_person(self, graph: Graph, allowed: set[str]) -> list[str]:
        """One track (the best face) of each estimated person the certificate does not hold, among the
        confirmed tracks and ``allowed``."""
        best: dict[int, tuple[tuple[bool, bool, int], str]] = {}
        for refs in graph.nodes:
            for ref in refs:
                t = graph.tracks[ref]
                if t.face is None or not (t.confirmed or t.mark or ref in allowed):
                    continue  # a group is judged by comparing faces side by side
                c = self.cluster.get(ref)
                if c is None or c in self.represented:
                    continue
                key = (t.face is not None and t.face_ok, t.face is not None, len(t.boxes))
                if c not in best or key > best[c][0]:
                    best[c] = (key, ref)
        chosen = sorted((ref for _, ref in best.values()), key=lambda r: (not graph.tracks[r].face_ok, r))
        return chosen[:PAGE]

    def confirm_items(self, deadline: float) -> list[dict[str, Any]]:
        by_item: dict[str, list[TrackData]] = defaultdict(list)
        for t in self.open:
            by_item[t.item].append(t)
        if len(by_item) < 2 and self.n == 0:
            return []  # confirm_all says the same
        scored = []
        for item, tracks in by_item.items():
            clique = _frame_clique(tracks)
            scored.append((len(clique), item, tracks, clique))
        scored.sort(key=lambda s: (-s[0], s[1]))
        out: list[dict[str, Any]] = []
        for size, item, tracks, clique in scored[:PAGE]:
            refs = [t.ref for t in tracks]
            if time.perf_counter() < deadline and len(out) < 4:
                gain = self.gain_if(set(refs))
                if gain > 0:
                    out.append(_proposal("confirm", refs, [], gain, math.ceil(len(refs) / PAGE),
                                         f"{_people(len(refs))} proposed in item {item[:12]}, {size} of "
                                         "them seen in one frame", [_confirm(refs)]))
            new = [r for r in clique if self.cluster.get(r) not in self.represented]
            if self.members and new:
                seen = (f"the {len(new)} of them seen in one frame" if len(new) > 1
                        else "the one" if len(refs) == 1 else "one of them")
                why = (f"confirm {_people(len(refs))} proposed in item {item[:12]}, then judge {seen} "
                       f"different from the {_people(len(self.members))} certified: "
                       + self._faces_apart(new))
                out.append(_proposal("confirm+group", refs, self.members, len(new), 2, why,
                                     [_confirm(refs), _group([*new, *self.members])], group=new))
        return out

    def check_doubtful(self) -> list[dict[str, Any]]:
        """The doubtful proposals (score under DOUBTFUL), a page at a time, each crop starting as "not a
        person": after every likelier question, and never in a bulk confirmation."""
        if not self.doubtful:
            return []
        refs = [t.ref for t in self.doubtful]
        pages = math.ceil(len(refs) / PAGE)
        gain = self.gain_if(set(refs))
        return [_proposal("confirm", refs, [], max(gain, 0), pages,
                          f"{_people(len(refs))} the detector doubts (its score under {DOUBTFUL}: more "
                          f"likely not a person), {pages} page(s): each starts as not a person; pick out the "
                          "people",
                          [_confirm(refs[k:k + PAGE], doubtful=True) for k in range(0, len(refs), PAGE)],
                          effect=f"N up to +{max(gain, 0)}",
                          doubt=round(1.0 - sum(t.score for t in self.doubtful) / len(refs), 3))]

    def group(self) -> list[dict[str, Any]]:
        """Confirmed people of estimated persons the certificate does not hold, one each, with the members."""
        new = self._one_per_person(self.certified, set())
        if len(new) + len(self.members) < 2 or not new:
            return []
        everyone = [*new, *self.members]
        gain = self.gain_if(set(), (GroupData(0, "different", everyone, [], "proposed", "", ""),))
        why = (f"{_people(len(new))} confirmed, whom the estimate takes for as many persons not yet counted, "
               f"and the {_people(len(self.members))} certified: all different people? "
               + self._faces_apart(new))
        return [_proposal("group", new, self.members, max(gain, 0), 1, why, [_group(everyone)], group=new)]

    def against_members(self, skip: set[int], limit: int) -> list[dict[str, Any]]:
        """Each confirmed person outside the clique against every certified member: the estimate
        takes their face for a member's, so the machine expects "the same person" (then "same as" that
        member is the answer, and the question is settled); a reviewer's "different" adds one."""
        clique = set(self.counted.members)
        faces = self.proposed.faces
        if not self.members:
            return []
        if faces is None:
            faces = FaceDistances(np.zeros((0, 0), np.float32), [], np.zeros((0, 0), np.float32), {}, set())
        ranked = []
        for v in range(len(self.certified.nodes)):
            one = self._rep(self.certified, v)
            if v in clique or v in skip:
                continue
            near = [float(faces.track[faces.track_row[one], faces.track_row[m]]) for m in self.members
                    if one in faces.track_row and m in faces.track_row]
            # the least like any member first; no face to compare: after the unlike, before the alike
            ranked.append((1.0 - (min(near) if near else SAME_FACE_DISTANCE + 0.01), one))
        out: list[dict[str, Any]] = []
        for doubt, one in sorted(ranked)[:limit]:
            faced = one in faces.track_row
            ask = (f"the estimate takes this face for one of the {_people(len(self.members))} certified"
                   if faced else f"no face to compare with the {_people(len(self.members))} certified")
            out.append(_proposal("group", [one], self.members, 1, 1,
                                 f"{ask}: the same person as one of them, or another? "
                                 + (self._faces_apart([one]) if faced else "look at the people"),
                                 [_group([one], self.members)], group=[one], doubt=round(doubt, 3)))
        return out

    def _faces_apart(self, refs: list[str]) -> str:
        """How far the faces of ``refs`` are from each other and the members' (the machine's evidence)."""
        faces = self.proposed.faces
        row = faces.track_row if faces is not None else {}
        others = sorted({*refs, *self.members} & row.keys())
        d = [float(faces.track[row[r], row[o]]) for r in refs if r in row for o in others
             if o != r] if faces is not None else []
        missing = sum(r not in row for r in refs)
        if not d:
            return "no two faces to compare: look at the people" if refs else ""
        closest = min(d)
        flag = "" if closest > SAME_FACE_DISTANCE else f" (some closer than {SAME_FACE_DISTANCE}: look twice)"
        return (f"their faces are {closest:.2f}-{max(d):.2f} from the others'{flag}"
                + (f"; {missing} without a face" if missing else ""))


def _frame_clique(tracks: list[TrackData]) -> list[str]:
    """The largest set of an item's tracks seen pairwise in one frame, boxes apart (no model involved)."""
    index = {t.ref: k for k, t in enumerate(tracks)}
    adj: list[set[int]] = [set() for _ in tracks]
    for a, b in same_frame(tracks):
        adj[index[a]].add(index[b])
        adj[index[b]].add(index[a])
    found = max_clique(adj, 0.5)
    return sorted(tracks[u].ref for u in found.members)


def _proposal(kind: str, tracks: list[str], against: list[str], gain: int, actions: int, why: str,
              steps: list[dict[str, Any]], group: list[str] | None = None,
              effect: str | None = None, doubt: float = 0.0) -> dict[str, Any]:
    """``steps``: what accepting records, in order (``confirm`` tracks; a ``group`` judgment; a ``judge``d
    pair), for the desk and scripts; ``commands``: the same steps as CLI commands."""
    commands = [_command(step) for step in steps]
    out: dict[str, Any] = {"kind": kind, "tracks": tracks, "against": against, "gain": gain,
                           "actions": actions, "per_action": round(gain / actions, 3) if actions else 0.0,
                           "effect": effect or f"N +{gain}", "why": why, "steps": steps, "commands": commands,
                           "needs_reason": any(REASON in c for c in commands),
                           "doubt": doubt}  # 0: the machine expects a yes; higher: a longer shot
    if group is not None:
        out["group"] = group
    return out


def _people(n: int) -> str:
    return "1 person" if n == 1 else f"{n} people"


def _short(ref: str) -> str:
    item, _, number = ref.rpartition(":")
    return f"{item[:12]}:{number}"


def _confirm(refs: list[str], doubtful: bool = False) -> dict[str, Any]:
    return {"do": "confirm", "tracks": refs, **({"doubtful": True} if doubtful else {})}


def _group(refs: list[str], against: list[str] | None = None) -> dict[str, Any]:
    return {"do": "group", "verdict": "different", "a": refs, "b": against or []}


def _judge(a: str, b: str, verdict: str) -> dict[str, Any]:
    return {"do": "judge", "a": a, "b": b, "verdict": verdict}


def _command(step: dict[str, Any]) -> str:
    if step["do"] == "confirm" and step.get("doubtful"):
        shown = " ".join(_short(r) for r in step["tracks"])
        return f"vericount people confirm PEOPLE  (PEOPLE: those of {shown} that are people)"
    if step["do"] == "confirm":
        return "vericount people confirm " + " ".join(_short(r) for r in step["tracks"])
    if step["do"] == "group":
        tail = f" --against {','.join(_short(r) for r in step['b'])}" if step["b"] else ""
        return (f"vericount judge-group {step['verdict']} {' '.join(_short(r) for r in step['a'])}{tail} "
                f"--reason {REASON}")
    tail = f" --reason {REASON}" if step["verdict"] == "different" else ""
    return f"vericount judge {_short(step['a'])} {_short(step['b'])} {step['verdict']}{tail}"


__all__ = ["PAGE", "PROPOSED", "rank"]
