"""The distinctness graph: tracks merged into people, "distinct" edges with their reasons, the count.

Pure computation on plain data (no database), so that the property tests can build worlds directly.

Two readings of the same records, by :class:`Policy`:

- **certified** (what a newsroom may publish): only what people decided and facts no model can get wrong.
  A node is a track a reviewer confirmed shows one real person (or a reviewer's own mark), joined with
  others by a person's "same" (a pair or a group judgment). Two nodes are different people when a reviewer
  said so (a pair or a group judgment) or when both were seen in one frame, boxes apart (overlapping less
  than ``MAX_OVERLAP`` of the smaller one). No join across repost copies: which person of one copy is which
  of the other is computed from positions (a missed box in a crowd pairs the wrong two), so it is a
  proposal, even when a person confirmed that the copies are one footage. Leaving a join out never
  overcounts: two unjoined tracks with no reason between them never both count.
- **proposed** (the machine's reading, labelled so): every track nobody rejected, but the open ones the
  detector doubts (a calibrated score under people/score.py's DOUBTFUL: more likely not a person), joined
  across copies (confirmed by the matcher or a person), and different also when their faces are farther
  apart than the threshold.

A repost join is never made across a "distinct" fact; a person's "same" beats the frame (two boxes in one
frame can be one person boxed twice), and a chain of "same" against a "different" is a contradiction that
blocks the count. At least N: a maximum clique (``solve.max_clique``). About M: nodes clustered by face
distance, never across an edge (faces only; the body embedding is too weak, see bench/faces.py). At most K:
the number of nodes, and one more for each open track the proposed reading leaves out as doubtful.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from vericount.people.score import DOUBTFUL
from vericount.tally.check import DIFFERENT_FACE_DISTANCE
from vericount.tally.facts import FramePairs, repost_pairs, same_frame
from vericount.tally.solve import max_clique

Box = tuple[float, float, float, float]
# Faces this close are likely one person: the estimate joins them (dlib's documented threshold). Between it
# and DIFFERENT_FACE_DISTANCE the machine says nothing.
SAME_FACE_DISTANCE = 0.6


@dataclass
class TrackData:
    ref: str  # "<item sha256>:<track number>"
    item: str
    boxes: list[tuple[float, Box]]  # (time, box) per sighting
    face: NDArray[np.float32] | None = None  # identity embedding of the track's best face
    face_ok: bool = True  # the face is good enough to call people different (check.face_ok)
    best_t: float = 0.0
    best_box: Box = (0.0, 0.0, 0.0, 0.0)
    crop: str | None = None
    mark: bool = False  # a reviewer's mark: one sighting, compared with sightings within the window
    confirmed: dict[str, Any] | None = None  # who confirmed it shows one person: {"review", "by", "at"}
    rejected: bool = False  # a reviewer said it shows no person
    score: float = 1.0  # how sure the detector is that it is a person (tally.service._score; 1 for a mark)


@dataclass
class JudgmentData:
    id: int
    a: str
    b: str
    verdict: str  # same | different | cant_tell
    reason: str | None
    by: str
    at: str


@dataclass
class GroupData:
    """A group judgment: ``different``: every track of ``a`` is another person than every track of ``b``
    (``b`` empty: the tracks of ``a`` are pairwise different people); ``same``: ``a`` is one person."""

    id: int
    verdict: str
    a: list[str]
    b: list[str]
    reason: str | None
    by: str
    at: str


@dataclass
class Alignment:
    """A confirmed repost match: item b's time = b_start + speed * (item a's time - a_start)."""

    match: int
    a: str
    b: str
    a_start: float
    a_end: float
    b_start: float
    speed: float
    frame_a: tuple[int, int] = (1, 1)  # frame sizes, to compare positions as fractions
    frame_b: tuple[int, int] = (1, 1)
    by_person: bool = True  # a person confirmed the copies (else the matcher did: a proposal)


@dataclass(frozen=True)
class Policy:
    """Which records a reading of the graph rests on."""

    name: str
    confirmed_only: bool  # nodes are tracks a reviewer confirmed (and marks)
    repost_joins: bool  # join the people of two copies of one footage by their aligned positions
    face_calls: bool  # also call people different by face distance
    min_score: float = 0.0  # an open track under this score is left out (more likely not a person)


CERTIFIED = Policy("certified", confirmed_only=True, repost_joins=False, face_calls=False)
PROPOSED = Policy("proposed", confirmed_only=False, repost_joins=True, face_calls=True, min_score=DOUBTFUL)
MACHINE_REASONS = frozenset({"face_distance"})  # pair reasons that rest on a model


@dataclass
class Reason:
    a: str  # the tracks that carry the reason
    b: str
    reason: str  # same_frame | judged_different | group_different | face_distance | judged_same | ...
    detail: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {"a": self.a, "b": self.b, "reason": self.reason, "detail": self.detail}


@dataclass
class FaceDistances:
    node: NDArray[np.float32]  # closest faces of two nodes
    node_row: list[int]  # row of each node in ``node`` (-1: no face)
    track: NDArray[np.float32]  # between tracks with a face
    track_row: dict[str, int]
    good: set[str]  # tracks whose face may call people different

    def closest(self, u: list[str], v: list[str], good_only: bool = False) -> tuple[str, str, float]:
        """The tracks of two nodes whose faces are closest (with ``good_only``, among the faces good enough to
        call people different: the weakest link of a face_distance edge)."""
        pairs = [(float(self.track[self.track_row[a], self.track_row[b]]), a, b)
                 for a in u if a in self.track_row for b in v if b in self.track_row
                 if not good_only or (a in self.good and b in self.good)]
        distance, a, b = min(pairs)
        return a, b, distance


@dataclass
class Graph:
    nodes: list[list[str]]  # track refs per node
    adj: list[set[int]]
    merges: list[list[Reason]]  # per node, why its tracks are one person
    policy: Policy = CERTIFIED
    contradictions: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)  # repost joins not made, and why
    tracks: dict[str, TrackData] = field(default_factory=dict)  # the tracks in the graph, by ref
    _explicit: dict[tuple[int, int], Reason] = field(default_factory=dict)
    _face: FaceDistances | None = None
    _faces_only: FaceDistances | None = None  # face distances even when they make no edge (proposals)

    def reason(self, u: int, v: int) -> Reason:
        """Why nodes u and v are different people (they must share an edge)."""
        key = (min(u, v), max(u, v))
        found = self._explicit.get(key)
        if found is None and self._face is not None:
            a, b, distance = self._face.closest(self.nodes[u], self.nodes[v], good_only=True)
            found = Reason(a, b, "face_distance",
                           {"distance": round(distance, 4), "threshold": DIFFERENT_FACE_DISTANCE})
        if found is None:
            raise KeyError(f"nodes {u} and {v} share no edge")
        return found

    @property
    def faces(self) -> FaceDistances | None:
        """Face distances between the graph's tracks, whether or not the policy lets them call anyone
        different (the estimate and the proposals use them)."""
        return self._face or self._faces_only

    def node_of(self) -> dict[str, int]:
        return {r: k for k, refs in enumerate(self.nodes) for r in refs}


@dataclass
class Records:
    """Everything a count reads, as plain data: the tracks in scope (rejected ones too), the standing pair and
    group judgments, and the confirmed repost alignments."""

    tracks: list[TrackData]
    judgments: list[JudgmentData] = field(default_factory=list)
    alignments: list[Alignment] = field(default_factory=list)
    groups: list[GroupData] = field(default_factory=list)
    _frames: tuple[frozenset[str], FramePairs] | None = None

    def graph(self, policy: Policy, tracks: list[TrackData] | None = None,
              groups: list[GroupData] | None = None, faces: bool = True) -> Graph:
        """The graph of ``policy`` (over other confirmations or group judgments when given: the same
        sightings, so the same-frame facts are computed once)."""
        tracks = self.tracks if tracks is None else tracks
        return build(tracks, self.judgments, self.alignments, self.groups if groups is None else groups,
                     policy, faces, self.frame_pairs(tracks))

    def frame_pairs(self, tracks: list[TrackData]) -> FramePairs:
        """The same-frame facts between the tracks nobody rejected (cached while that set is the same)."""
        alive = frozenset(t.ref for t in tracks if not t.rejected)
        if self._frames is None or self._frames[0] != alive:
            self._frames = (alive, same_frame([t for t in tracks if not t.rejected]))
        return self._frames[1]


def build(tracks: list[TrackData], judgments: list[JudgmentData], alignments: list[Alignment],
          groups: list[GroupData] | tuple[GroupData, ...] = (), policy: Policy = CERTIFIED,
          faces: bool = True, frame_pairs: FramePairs | None = None) -> Graph:
    """The graph of ``policy``; without ``faces`` (a policy without face calls only), no face distances
    are computed for the estimate and the proposals' evidence."""
    tracks = [t for t in tracks if not t.rejected and (t.mark or t.confirmed or (
        not policy.confirmed_only and t.score >= policy.min_score))]
    by_ref = {t.ref: t for t in tracks}
    judgments = [j for j in judgments if j.a in by_ref and j.b in by_ref]
    alignments = alignments if policy.repost_joins else []
    parent = {t.ref: t.ref for t in tracks}

    def find(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    joins = _person_joins(judgments, groups, by_ref, parent, find)
    different = _differences(judgments, groups, by_ref)
    contradictions = [
        f"{r.a} and {r.b}: judged different ({_source(r)}), but a chain of 'same' judgments makes them one "
        "person" for r in different if find(r.a) == find(r.b)]
    frame_pairs = (same_frame(tracks) if frame_pairs is None
                   else {k: v for k, v in frame_pairs.items() if k[0] in by_ref and k[1] in by_ref})
    apart: dict[str, set[str]] = defaultdict(set)  # per root, the roots recorded as other people
    for a, b in [*frame_pairs, *((r.a, r.b) for r in different)]:
        apart[find(a)].add(find(b))
        apart[find(b)].add(find(a))
    refused: list[str] = []
    for a, b, how in repost_pairs(tracks, alignments, refused):
        ra, rb = find(a), find(b)
        if ra == rb:
            continue
        if rb in apart[ra]:
            refused.append(f"{a} and {b}: aligned copies ({how['match']}), but recorded as different people")
            continue
        parent[ra] = rb
        joins.append(Reason(a, b, "repost_copy", how))
        for other in apart.pop(ra, set()):
            apart[other].discard(ra)
            apart[other].add(rb)
            apart[rb].add(other)

    roots = sorted({find(t.ref) for t in tracks})
    index = {r: i for i, r in enumerate(roots)}
    node_of = {t.ref: index[find(t.ref)] for t in tracks}
    nodes: list[list[str]] = [[] for _ in roots]
    for t in tracks:
        nodes[node_of[t.ref]].append(t.ref)
    merges: list[list[Reason]] = [[] for _ in roots]
    for r in joins:
        merges[node_of[r.a]].append(r)
    graph = Graph(nodes, [set() for _ in roots], merges, policy, contradictions, refused, by_ref)

    def link(reason: Reason) -> None:
        u, v = node_of[reason.a], node_of[reason.b]
        if u == v:
            return
        key = (min(u, v), max(u, v))
        graph.adj[u].add(v)
        graph.adj[v].add(u)
        if key not in graph._explicit:
            graph._explicit[key] = reason

    for r in different:
        link(r)
    for (a, b), detail in frame_pairs.items():
        link(Reason(a, b, "same_frame", detail))
    if faces or policy.face_calls:
        _face_edges(graph, tracks, node_of, policy.face_calls)
    return graph


def _person_joins(judgments: list[JudgmentData], groups: list[GroupData] | tuple[GroupData, ...],
                  by_ref: dict[str, TrackData], parent: dict[str, str], find: Any) -> list[Reason]:
    """Tracks a person said are one: pair and group "same" judgments (``parent`` is updated)."""
    joins: list[Reason] = []
    for j in judgments:
        if j.verdict == "same":
            parent[find(j.a)] = find(j.b)
            joins.append(Reason(j.a, j.b, "judged_same", _judged(j)))
    for g in groups:
        if g.verdict == "same":
            inside = [r for r in g.a if r in by_ref]
            for a, b in itertools.pairwise(inside):
                parent[find(a)] = find(b)
                joins.append(Reason(a, b, "group_same", _grouped(g)))
    return joins


def _differences(judgments: list[JudgmentData], groups: list[GroupData] | tuple[GroupData, ...],
                 by_ref: dict[str, TrackData]) -> list[Reason]:
    """Pairs of tracks a person said are different people: pair and group "different" judgments."""
    out = [Reason(j.a, j.b, "judged_different", _judged(j)) for j in judgments if j.verdict == "different"]
    for g in groups:
        if g.verdict == "different":
            out += [Reason(a, b, "group_different", _grouped(g)) for a, b in _group_pairs(g, by_ref)]
    return out


def _group_pairs(g: GroupData, by_ref: dict[str, TrackData]) -> list[tuple[str, str]]:
    a = [r for r in g.a if r in by_ref]
    if not g.b:
        return list(itertools.combinations(a, 2))
    b = [r for r in g.b if r in by_ref]
    return [(x, y) for x in a for y in b if x != y]


def _judged(j: JudgmentData) -> dict[str, Any]:
    return {"judgment": j.id, "by": j.by, "at": j.at, "reason": j.reason}


def _grouped(g: GroupData) -> dict[str, Any]:
    return {"group": g.id, "by": g.by, "at": g.at, "reason": g.reason}


def _source(r: Reason) -> str:
    kind = (f"judgment {r.detail['judgment']}" if "judgment" in r.detail
            else f"group judgment {r.detail['group']}")
    return f"{kind} by {r.detail['by']}: {r.detail.get('reason') or 'no reason'}"


def _face_edges(graph: Graph, tracks: list[TrackData], node_of: dict[str, int], calls: bool) -> None:
    """Face distances for every pair of tracks with a face, and the minimum over each pair of nodes. With
    ``calls``, nodes whose closest faces are farther apart than the threshold are different people (a
    machine's call): only faces good enough (``face_ok``) make the call, but any close face blocks it."""
    with_face = sorted((node_of[t.ref], t.ref, t.face) for t in tracks if t.face is not None)
    by_ref_ok = {t.ref: t.face_ok for t in tracks}
    if len(with_face) < 2:
        return
    node_ids = np.array([n for n, _, _ in with_face])
    refs = [r for _, r, _ in with_face]
    vectors = np.stack([f for _, _, f in with_face]).astype(np.float32)
    starts = np.flatnonzero(np.r_[True, node_ids[1:] != node_ids[:-1]])
    groups = node_ids[starts]
    dist = _distances(vectors)
    good = np.array([by_ref_ok[r] for r in refs])
    node_dist = _node_min(dist, starts)
    good_dist = _node_min(np.where(good[:, None] & good[None, :], dist, np.inf), starts)
    index = {int(n): i for i, n in enumerate(groups)}
    faces = FaceDistances(node_dist, [index.get(n, -1) for n in range(len(graph.nodes))], dist,
                          {r: k for k, r in enumerate(refs)}, {r for r in refs if by_ref_ok[r]})
    if not calls:
        graph._faces_only = faces
        return
    far = (node_dist > DIFFERENT_FACE_DISTANCE) & np.isfinite(good_dist)
    np.fill_diagonal(far, False)
    for i, n in enumerate(groups.tolist()):
        graph.adj[n].update(groups[np.flatnonzero(far[i])].tolist())
    graph._face = faces


def _node_min(dist: NDArray[np.float32], starts: NDArray[np.intp]) -> NDArray[np.float32]:
    out: NDArray[np.float32] = np.minimum.reduceat(np.minimum.reduceat(dist, starts, axis=0), starts, axis=1)
    return out


def _distances(x: NDArray[np.float32]) -> NDArray[np.float32]:
    sq = (x * x).sum(axis=1)
    d2 = sq[:, None] + sq[None, :] - 2.0 * (x @ x.T)
    out: NDArray[np.float32] = np.sqrt(np.maximum(d2, 0.0)).astype(np.float32)
    return out


@dataclass
class Count:
    at_least: int
    members: list[int]
    clique_upper: int
    optimal: bool
    estimate: int
    clusters: list[int]  # cluster index per node
    at_most: int
    seconds: float


def count(graph: Graph, time_limit: float = 10.0, estimate: bool = True) -> Count:
    """The clique (at least N) and, with ``estimate``, the estimate's clusters (else one per node)."""
    clique = max_clique(graph.adj, time_limit)
    clusters = estimate_clusters(graph) if estimate else list(range(len(graph.nodes)))
    return Count(len(clique.members), clique.members, clique.upper, clique.optimal,
                 len(set(clusters)), clusters, len(graph.nodes), clique.seconds)


def estimate_clusters(graph: Graph) -> list[int]:
    """Nodes whose faces are within the threshold joined, closest first, never across an edge, and only when
    every face of one is within it of every face of the other (complete linkage: a chain of lookalikes,
    each close to the next, stays apart; bench/faces.py found different people as close as 0.576)."""
    n = len(graph.nodes)
    cluster = list(range(n))
    members: dict[int, set[int]] = {i: {i} for i in range(n)}
    apart: dict[int, set[int]] = {i: set(graph.adj[i]) for i in range(n)}
    if graph.faces is not None:
        node_dist, index = graph.faces.node, graph.faces.node_row
        with_face = [u for u in range(n) if index[u] >= 0]
        pos = np.array([index[u] for u in with_face], dtype=int)
        sub = node_dist[np.ix_(pos, pos)] if len(pos) else np.zeros((0, 0), np.float32)
        ii, jj = np.nonzero(np.triu(sub <= SAME_FACE_DISTANCE, k=1))
        for k in np.argsort(sub[ii, jj], kind="stable"):
            u, v = with_face[int(ii[k])], with_face[int(jj[k])]
            cu, cv = cluster[u], cluster[v]
            if cu == cv or members[cv] & apart[cu]:
                continue
            rows_u = [index[w] for w in members[cu] if index[w] >= 0]
            rows_v = [index[w] for w in members[cv] if index[w] >= 0]
            if float(node_dist[np.ix_(rows_u, rows_v)].max()) > SAME_FACE_DISTANCE:
                continue
            for w in members[cv]:
                cluster[w] = cu
            members[cu] |= members.pop(cv)
            apart[cu] |= apart.pop(cv)
    return cluster


