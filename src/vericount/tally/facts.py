"""Facts read off the sightings, shared by both readings of the graph (tally/graph.py): pairs of tracks seen
in one frame, boxes apart, and the people of two aligned repost copies paired by position."""

from __future__ import annotations

import itertools
from collections import defaultdict
from typing import TYPE_CHECKING, Any

import numpy as np

from vericount.tally.check import MAX_OVERLAP, SAME_FRAME_WINDOW, overlap

if TYPE_CHECKING:
    from vericount.tally.graph import Alignment, TrackData

Box = tuple[float, float, float, float]
FramePairs = dict[tuple[str, str], dict[str, Any]]  # same-frame facts by pair of track refs


def same_frame(tracks: list[TrackData]) -> FramePairs:
    """Pairs of tracks seen together in one frame of one item, with the frame where they overlap least."""
    sightings: dict[str, list[tuple[float, str, Box, bool]]] = defaultdict(list)
    for t in tracks:
        for when, box in t.boxes:
            sightings[t.item].append((when, t.ref, box, t.mark))
    out: dict[tuple[str, str], dict[str, Any]] = {}
    best: dict[tuple[str, str], float] = {}
    for item, seen in sightings.items():
        seen.sort()
        for i, (ta, ra, ba, ma) in enumerate(seen):
            for tb, rb, bb, mb in itertools.islice(seen, i + 1, None):
                if tb - ta > SAME_FRAME_WINDOW + 1e-9:
                    break
                if ra == rb or (tb - ta > 1e-6 and not (ma or mb)):
                    continue  # only a reviewer's mark is compared with frames near it
                cover = overlap(ba, bb)
                if cover >= MAX_OVERLAP:
                    continue
                key = (ra, rb) if ra < rb else (rb, ra)
                if cover < best.get(key, 2.0):
                    best[key] = cover
                    first, second = ((ta, ba), (tb, bb)) if ra < rb else ((tb, bb), (ta, ba))
                    out[key] = {"item": item, "t_a": first[0], "t_b": second[0],
                                "box_a": list(first[1]), "box_b": list(second[1]), "overlap": round(cover, 4)}
    return out


def repost_pairs(tracks: list[TrackData], alignments: list[Alignment],
                  refused: list[str]) -> list[tuple[str, str, dict[str, Any]]]:
    """Tracks of two aligned copies that are one person: at the aligned times, the boxes are matched by
    position (as fractions of the frame, straight or mirrored, whichever fits the copy better) one to one,
    and a pair is joined when it is matched in most of the frames the two tracks share. When the straight and
    the mirrored reading fit equally well but pair people differently, nothing is joined (``refused``)."""
    by_item: dict[str, list[TrackData]] = defaultdict(list)
    for t in tracks:
        if not t.mark:
            by_item[t.item].append(t)
    out = []
    for al in alignments:
        pairs = _aligned_frames(al, by_item.get(al.a, []), by_item.get(al.b, []))
        if not pairs:
            continue
        readings = [[_assign(sa, sb, mirror) for sa, sb in pairs] for mirror in (False, True)]
        costs = [sum(cost for _, cost in reading) for reading in readings]
        mirror = costs[1] < costs[0]
        if abs(costs[0] - costs[1]) < 0.02 * len(pairs) and any(
                set(a) != set(b) for (a, _), (b, _) in zip(*readings, strict=True)):
            refused.append(f"copies {al.a[:12]} and {al.b[:12]} (match {al.match}): the people stand so that "
                           "the straight and the mirrored copy fit equally well; their tracks are not joined")
            continue
        votes: dict[tuple[str, str], int] = defaultdict(int)
        shared: dict[tuple[str, str], int] = defaultdict(int)
        for (sa, sb), (matched, _) in zip(pairs, readings[mirror], strict=True):
            for ra, _ in sa:
                for rb, _ in sb:
                    shared[(ra, rb)] += 1
            for pair in matched:
                votes[pair] += 1
        out += [(ra, rb, {"match": al.match, "item_a": al.a, "item_b": al.b, "frames": n, "mirrored": mirror,
                          "by_person": al.by_person})
                for (ra, rb), n in votes.items() if 2 * n > shared[(ra, rb)]]
    return out


Seen = list[tuple[str, Box]]


def _aligned_frames(al: Alignment, a_tracks: list[TrackData],
                    b_tracks: list[TrackData]) -> list[tuple[Seen, Seen]]:
    """The boxes (as fractions of the frame) of each sampled frame of copy a in the aligned part, with those
    of copy b's frame nearest the aligned time."""
    if not a_tracks or not b_tracks:
        return []
    b_frames: dict[float, Seen] = defaultdict(list)
    for t in b_tracks:
        for when, box in t.boxes:
            b_frames[round(when, 3)].append((t.ref, _fraction(box, al.frame_b)))
    b_times = np.array(sorted(b_frames))
    a_frames: dict[float, Seen] = defaultdict(list)
    for t in a_tracks:
        for when, box in t.boxes:
            if al.a_start - 0.01 <= when <= al.a_end + 0.01:
                a_frames[round(when, 3)].append((t.ref, _fraction(box, al.frame_a)))
    pairs = []
    for when, seen in a_frames.items():
        tb = al.b_start + al.speed * (when - al.a_start)
        k = int(np.argmin(np.abs(b_times - tb)))
        if abs(b_times[k] - tb) <= SAME_FRAME_WINDOW:
            pairs.append((seen, b_frames[float(b_times[k])]))
    return pairs


def _fraction(box: Box, size: tuple[int, int]) -> Box:
    w, h = max(size[0], 1), max(size[1], 1)
    return (box[0] / w, box[1] / h, box[2] / w, box[3] / h)


def _assign(a: list[tuple[str, Box]], b: list[tuple[str, Box]],
            mirror: bool) -> tuple[list[tuple[str, str]], float]:
    """Boxes of two aligned frames paired one to one by centre distance (mutual nearest within 0.15 of the
    frame); the cost is the summed distance, unpaired boxes costing 0.15 each."""
    limit = 0.15

    def centre(box: Box, flip: bool) -> tuple[float, float]:
        x = (box[0] + box[2]) / 2
        return (1 - x if flip else x, (box[1] + box[3]) / 2)

    ca = [centre(box, False) for _, box in a]
    cb = [centre(box, mirror) for _, box in b]
    dist = np.array([[np.hypot(p[0] - q[0], p[1] - q[1]) for q in cb] for p in ca]).reshape(len(ca), len(cb))
    pairs, cost = [], limit * abs(len(a) - len(b))
    for i in range(len(a)):
        if not cb:
            break
        j = int(np.argmin(dist[i]))
        if dist[i, j] <= limit and int(np.argmin(dist[:, j])) == i:
            pairs.append((a[i][0], b[j][0]))
            cost += float(dist[i, j])
        else:
            cost += limit
    return pairs, cost
