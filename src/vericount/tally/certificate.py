"""The certificate of a count: a proof crop per member, who confirmed each member's tracks, and the reason
for every pair (checked by tally/check.py, standard library only).

Format 2 (``vericount-certificate/2``) names its kind: ``certified`` rests only on reviewers' decisions and
same-frame facts; ``proposed`` is the machine's reading, and every fact in it that rests on a model is marked
``"machine": true`` and counted in ``machine_calls``.
"""

from __future__ import annotations

import itertools
from typing import Any

from vericount.tally.check import DIFFERENT_FACE_DISTANCE, FORMAT_V2, MAX_OVERLAP, SAME_FRAME_WINDOW
from vericount.tally.graph import MACHINE_REASONS, Count, Graph, TrackData


def certificate(graph: Graph, result: Count) -> dict[str, Any]:
    by_ref = graph.tracks
    members = []
    machine = 0
    for u in result.members:
        refs = sorted(graph.nodes[u])
        shown = max(refs, key=lambda r: (by_ref[r].crop is not None, by_ref[r].face is not None,
                                         len(by_ref[r].boxes), r))
        t = by_ref[shown]
        confirmed = [_confirmation(by_ref[r]) for r in refs]
        machine += sum(1 for c in confirmed if c.get("machine"))
        joins = [r.to_json() for r in graph.merges[u]]
        for join in joins:
            if join["reason"] == "repost_copy":  # people paired across copies by position: computed
                join["machine"] = True
                machine += 1
        members.append({"track": shown, "item": t.item, "time": t.best_t,
                        "box": [round(v, 1) for v in t.best_box], "crop": t.crop, "tracks": refs,
                        "confirmed": confirmed, "merged_by": joins})
    pairs = []
    for u, v in itertools.combinations(result.members, 2):
        pair = graph.reason(u, v).to_json()
        if pair["reason"] in MACHINE_REASONS:
            pair["machine"] = True
            machine += 1
        pairs.append(pair)
    return {"format": FORMAT_V2, "kind": graph.policy.name, "at_least": len(members),
            "machine_calls": machine, "face_threshold": DIFFERENT_FACE_DISTANCE,
            "same_frame_window": SAME_FRAME_WINDOW, "max_overlap": MAX_OVERLAP, "members": members,
            "pairs": pairs}


def machine_calls(graph: Graph, result: Count) -> int:
    """How many machine calls the clique's certificate would rest on, without writing it: members' tracks
    nobody confirmed, joins across copies, and pairs with no reason but a face distance."""
    members = set(result.members)
    calls = sum(1 for u in members for r in graph.nodes[u]
                if graph.tracks[r].confirmed is None and not graph.tracks[r].mark)
    calls += sum(1 for u in members for j in graph.merges[u] if j.reason == "repost_copy")
    explicit = sum(1 for u, v in graph._explicit if u in members and v in members)
    return calls + len(members) * (len(members) - 1) // 2 - explicit


def _confirmation(t: TrackData) -> dict[str, Any]:
    if t.confirmed is not None:
        return {"track": t.ref, **t.confirmed}
    if t.mark:
        return {"track": t.ref, "mark": True}
    return {"track": t.ref, "machine": True, "detector_score": round(t.score, 3)}
