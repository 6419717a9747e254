"""Pair suggestions: the pairs whose "different" would add a person to the certified clique (N + 1), and the
pairs of two estimated people that are likely one (M - 1)."""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Any

import numpy as np

from vericount.tally.check import DIFFERENT_FACE_DISTANCE
from vericount.tally.graph import SAME_FACE_DISTANCE, Count, Graph, TrackData

MAX_NEEDED = 3  # judgments a suggestion may need to raise N by one
FRAGMENT_GAP = 2.0  # seconds between the end of one track and the start of another to suggest joining them


def different(graph: Graph, result: Count, skip: set[frozenset[str]], limit: int) -> list[dict[str, Any]]:
    """For each node outside the clique, the members it is not yet proved different from: judging those
    pairs different adds it to the clique (N + 1). Fewest judgments first, then the likeliest (faces
    farthest apart)."""
    clique = set(result.members)
    found: list[tuple[int, float, str, str, str, int]] = []
    for v in range(len(graph.nodes)):
        if v in clique:
            continue
        missing = []
        for u in result.members:
            if u not in graph.adj[v]:
                missing.append(u)
                if len(missing) > MAX_NEEDED:
                    break
        if len(missing) > MAX_NEEDED:
            continue
        for u in missing:
            a, b, distance, why = _pair_view(graph, v, u)
            if frozenset((a, b)) not in skip:
                found.append((len(missing), -distance, a, b, why, v))
    found.sort()
    return [{"kind": "different", "a": a, "b": b, "gain": 1, "judgments_needed": k, "why": why, "node": v}
            for k, _, a, b, why, v in found[:limit]]


def same(graph: Graph, result: Count, skip: set[frozenset[str]], limit: int) -> list[dict[str, Any]]:
    """Pairs in two estimated people that are likely one, each lowering the estimate by one: a track that ends
    just before another starts near it in the same item (a track cut in two), then faces just over the
    threshold."""
    candidates = _fragments(graph.tracks) + _near_faces(graph)
    node_of = graph.node_of()
    seen: set[tuple[int, int]] = set()
    out: list[dict[str, Any]] = []
    for _, _, a, b, why in sorted(candidates):
        if a not in node_of or b not in node_of:
            continue
        u, v = node_of[a], node_of[b]
        key = (min(result.clusters[u], result.clusters[v]), max(result.clusters[u], result.clusters[v]))
        if key[0] == key[1] or key in seen or frozenset((a, b)) in skip:
            continue
        if v in graph.adj[u] and graph.reason(u, v).reason != "face_distance":
            continue  # proved different: no "same" can be right
        seen.add(key)
        out.append({"kind": "same", "a": a, "b": b, "gain": -1, "why": why})
        if len(seen) >= limit:
            break
    return out


def _fragments(by_ref: dict[str, TrackData]) -> list[tuple[int, float, str, str, str]]:
    """A track that ends shortly before another starts near where it ended, in the same item."""
    out = []
    for item_tracks in _by_item(by_ref).values():
        item_tracks.sort(key=lambda t: t.boxes[0][0])
        for i, t in enumerate(item_tracks):
            end_t, end_box = t.boxes[-1]
            for s in item_tracks[i + 1:]:
                start_t, start_box = s.boxes[0]
                if start_t - end_t > FRAGMENT_GAP:
                    break
                if start_t <= end_t:
                    continue
                height = max(end_box[3] - end_box[1], 1.0)
                shift = math.hypot((start_box[0] + start_box[2] - end_box[0] - end_box[2]) / 2,
                                   (start_box[1] + start_box[3] - end_box[1] - end_box[3]) / 2) / height
                if shift <= 1.0:
                    gap = start_t - end_t
                    out.append((0, gap, t.ref, s.ref, f"one ends {gap:.2f} s before the other starts, "
                                f"{shift:.2f} box heights away: one track cut in two?"))
    return out


def _near_faces(graph: Graph) -> list[tuple[int, float, str, str, str]]:
    """Faces the machine calls neither one person nor clearly different: the likeliest to be one person
    among those the estimate keeps apart."""
    faces = graph.faces
    if faces is None:
        return []
    refs = sorted(faces.track_row)
    rows = np.array([faces.track_row[r] for r in refs], dtype=int)
    near = faces.track[np.ix_(rows, rows)]
    ii, jj = np.nonzero(np.triu((near > SAME_FACE_DISTANCE) & (near <= DIFFERENT_FACE_DISTANCE), k=1))
    return [(1, float(near[i, j]), refs[i], refs[j],
             f"faces {float(near[i, j]):.3f} apart: neither clearly one person nor clearly two")
            for i, j in zip(ii.tolist(), jj.tolist(), strict=True)]


def _by_item(by_ref: dict[str, TrackData]) -> dict[str, list[TrackData]]:
    out: dict[str, list[TrackData]] = defaultdict(list)
    for t in by_ref.values():
        if t.boxes and not t.mark:
            out[t.item].append(t)
    return out


def _pair_view(graph: Graph, v: int, u: int) -> tuple[str, str, float, str]:
    """The tracks to show for an undecided pair of nodes, with their face distance when both have faces."""
    faces = graph.faces
    if faces is not None and faces.node_row[v] >= 0 and faces.node_row[u] >= 0:
        a, b, distance = faces.closest(graph.nodes[v], graph.nodes[u])
        return a, b, distance, f"faces {distance:.3f} apart"
    return graph.nodes[v][0], graph.nodes[u][0], -1.0, "no face to compare"
