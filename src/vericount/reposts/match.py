"""Judging what two items share: the time alignment between them, its type and score.

The search is reposts/library.py's. Candidate keyframes found by descriptor votes are checked geometrically
here (``verify``: a RANSAC similarity transform between the two keyframes' ORB points), which is what
survives crops, captions and screen-recording frames.

The hits between two items (query time, other time, similarity) are aligned with a line ``tb = r * ta + c``
found by voting over speed ratios; the inliers give the segments, coverages, the speed ratio and the score.

The same place is not the same footage. Two stretches of a fixed camera's footage an hour apart match frame
for frame on the background, so a pair involving a video is confirmed only when it shares **moments**:
an aligned PDQ match clearly closer than the best match of that frame with any other moment of the other
clip (``moment_margin`` bits closer than every frame ``moment_gap`` seconds or more away), in
``moment_frames`` frames; or a keyframe pair whose RANSAC inliers include ``local_moving`` features that move
in their clips (keyframes.py marks the still ones), unless ``moment_denial`` or more aligned frames were
compared and fewer than ``moment_frames`` came out closer than other moments. Without either, the pair is
at most suggested, with ``moments: not shown`` in its evidence, for a person to judge; when neither test can
be made (two clips too short to hold another moment) the pair is judged as before.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from vericount.reposts.fingerprint import Fingerprint

if TYPE_CHECKING:
    from numpy.typing import NDArray

@dataclass(frozen=True)
class MatchParams:
    high: float = 0.80  # score at or above: confirmed without a human
    low: float = 0.50  # score at or above (and below high): suggested to a human
    # PDQ distance (of 256 bits) searched for. Similarity falls from 1 at distance 0 to 0.8 at 31 (PDQ's
    # own match threshold) and to 0.5 at pdq_radius: different photos of one scene land at 70-80.
    pdq_radius: int = 64
    local_radius: int = 48  # ORB descriptor distance (of 256 bits) that counts as a vote
    local_votes: int = 6  # descriptor votes for a keyframe pair to be checked geometrically
    local_checks: int = 12  # keyframes of an item checked against one other item, spread over the item
    # The inliers must cover this share of both keyframes (a logo or watermark does not) and not lie on
    # a thin band (a line of caption text): their bounding box's short side over its long side.
    local_spread: float = 0.03
    local_band: float = 0.2
    local_min_inliers: int = 12  # RANSAC inliers for a keyframe pair to count at all (similarity 0.5)
    local_strong_inliers: int = 20  # ...and to count as strongly as a PDQ distance of 32 (0.8)
    covered: float = 0.85  # share of an item inside the aligned segment to call it covered end to end
    # shared moments (see the module's docstring)
    moment_gap: float = 1.0
    moment_margin: int = 10
    moment_frames: int = 3
    moment_denial: int = 5
    local_moving: int = 12

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class Hit:
    ta: float
    tb: float
    sim: float  # 0..1
    method: str  # pdq | local
    value: float  # PDQ distance or RANSAC inliers
    moving: int | None = None  # local: inliers among features that move in their clips


@dataclass
class Found:
    """One pair found by the matcher, oriented: for excerpt and frame_of, ``a`` lies inside ``b``."""

    a: str
    b: str
    type: str
    score: float
    a_segment: tuple[float, float] | None
    b_segment: tuple[float, float] | None
    a_cover: float
    b_cover: float
    speed: float | None
    evidence: dict[str, Any] = field(default_factory=dict)

    def state(self, params: MatchParams) -> str | None:
        if self.score >= params.high:
            return "confirmed"
        if self.score >= params.low:
            return "suggested"
        return None


def judge(a_id: str, a: Fingerprint, b_id: str, b: Fingerprint, hits: list[Hit], params: MatchParams
      ) -> Found | None:
    """What the hits between two items say: the pair's type, score, aligned segments and evidence."""
    if a.kind == "image" or b.kind == "image":
        best = max(hits, key=lambda h: h.sim)
        evidence = _evidence([best])
        if a.kind == "image" and b.kind == "image":
            return Found(a_id, b_id, "duplicate", round(best.sim, 4), None, None, 1.0, 1.0, None,
                         evidence)
        if a.kind == "video":  # orient: the image is a frame of the video
            a, b = b, a
            a_id, b_id, best = b_id, a_id, Hit(best.tb, best.ta, best.sim, best.method, best.value,
                                               best.moving)
        score = _moments(a, b, [best], evidence, best.sim, params)
        return Found(a_id, b_id, "frame_of", round(score, 4), None, (best.tb, best.tb), 1.0,
                     0.0, None, evidence)
    speed, inliers = align(hits)
    if not inliers:
        return None
    # as many aligned frames as the two can have in common, up to 3 (keyframes only, when only local
    # features matched: a crop of a 3-second clip has two)
    possible = 0
    if any(h.method == "pdq" for h in inliers):
        possible = min(int(a.usable.sum()), int(b.usable.sum()))
    if any(h.method == "local" for h in inliers):
        possible = max(possible, min(len(a.key_times), len(b.key_times)))
    need = max(1, min(3, possible))
    sims = sorted((h.sim for h in _one_per_time(inliers)), reverse=True)
    score = float(np.mean(sims[:need])) * min(1.0, len(sims) / need)
    a_seg = (min(h.ta for h in inliers), max(h.ta for h in inliers))
    b_seg = (min(h.tb for h in inliers), max(h.tb for h in inliers))
    a_cover, b_cover = _cover(a_seg, a), _cover(b_seg, b)
    covered = params.covered
    if a_cover >= covered and b_cover >= covered:
        kind = "duplicate"
    elif a_cover >= covered or b_cover >= covered:
        kind = "excerpt"
    else:
        kind = "overlap"
    evidence = _evidence(inliers)
    score = _moments(a, b, inliers, evidence, score, params)
    found = Found(a_id, b_id, kind, round(score, 4), _round(a_seg), _round(b_seg), round(a_cover, 3),
                  round(b_cover, 3), round(speed, 3), evidence)
    if kind == "excerpt" and b_cover >= covered and a_cover < covered:  # orient: a inside b
        found = Found(b_id, a_id, kind, found.score, found.b_segment, found.a_segment, found.b_cover,
                      found.a_cover, round(1.0 / speed, 3), found.evidence)
    return found


def _moments(a: Fingerprint, b: Fingerprint, inliers: list[Hit], evidence: dict[str, Any], score: float,
         p: MatchParams) -> float:
    """``score``, or under ``high`` when ``b`` is a video and the evidence shows no shared moment (see
    the module's docstring); what was found goes into ``evidence``."""
    if b.kind != "video" or score < p.high:
        return score
    moving = [h.moving for h in inliers if h.method == "local" and h.moving is not None]
    margins = [m for h in inliers if h.method == "pdq" and (m := _margin(a, b, h, p)) is not None]
    shown = sum(m >= p.moment_margin for m in margins)
    # many aligned frames compared, and too few of them closer than to other moments, say "the same
    # place", whatever a few unmoved features the fingerprint missed as still say
    pdq_denies = len(margins) >= p.moment_denial and shown < p.moment_frames
    if shown >= p.moment_frames or (max(moving, default=0) >= p.local_moving and not pdq_denies):
        evidence["moments"] = {"pdq_frames": shown, "moving_inliers": max(moving, default=0)}
        return score
    if not moving and len(margins) < p.moment_frames:
        return score  # too little footage to compare a moment with another
    evidence["moments"] = "not shown: the frames match other moments as well (the same place?)"
    return min(score, p.high - 0.01)


def _margin(a: Fingerprint, b: Fingerprint, hit: Hit, params: MatchParams) -> int | None:
    """How much closer (PDQ bits) a's frame at hit.ta is to b's frame at hit.tb than to b's best frame
    ``moment_gap`` seconds or more from it; None where b has no such frame."""
    frame = int(np.argmin(np.abs(a.times - hit.ta)))
    others = np.flatnonzero(b.usable & (np.abs(b.times - hit.tb) >= params.moment_gap))
    if not len(others):
        return None
    xor = np.bitwise_xor(a.hashes[frame][:, None, :], b.hashes[others, 0][None, :, :])  # 8 x n x 32
    nearest = int(_BITS[xor].sum(axis=2).min())
    return nearest - int(hit.value)


_BITS = np.asarray([bin(v).count("1") for v in range(256)], np.uint8)


def align(hits: list[Hit]) -> tuple[float, list[Hit]]:
    """The speed ratio r and the hits on the line tb = r * ta + c that gathers the most similarity."""
    ta = np.asarray([h.ta for h in hits])
    tb = np.asarray([h.tb for h in hits])
    weight = np.asarray([h.sim for h in hits])
    ratios = {1.0}
    if len(hits) > 1:
        rng = np.random.default_rng(0)
        i = rng.integers(0, len(hits), 400)
        j = rng.integers(0, len(hits), 400)
        dt = ta[j] - ta[i]
        ok = np.abs(dt) >= 1.0
        r = (tb[j][ok] - tb[i][ok]) / dt[ok]
        r = r[(r >= 0.25) & (r <= 4.0)]
        if len(r):
            values, counts = np.unique(np.round(r / 0.02) * 0.02, return_counts=True)
            ratios |= {float(v) for v in values[np.argsort(-counts)[:8]]}
    best: tuple[float, float, float] = (-1.0, 1.0, 0.0)  # (weight, ratio, offset)
    for ratio in sorted(ratios, key=lambda v: abs(np.log(v))):
        tol = 0.75 * max(1.0, ratio)
        offsets = tb - ratio * ta
        order = np.argsort(offsets)
        sorted_offsets, sorted_weight = offsets[order], weight[order]
        ends = np.searchsorted(sorted_offsets, sorted_offsets + 2 * tol, side="right")
        cumulative = np.concatenate([[0.0], np.cumsum(sorted_weight)])
        totals = cumulative[ends] - cumulative[: len(order)]
        k = int(np.argmax(totals))
        # normal speed unless another ratio gathers clearly more (similar frames at other times of a
        # slow scene must not pass for a speed change)
        margin = 1.0 if ratio == 1.0 else max(1.1 * best[0], best[0] + 1.0)
        if totals[k] > margin + 1e-9 or best[0] < 0:
            centre = float(np.median(sorted_offsets[k:ends[k]]))
            best = (float(totals[k]), ratio, centre)
    _, ratio, offset = best
    tol = 0.75 * max(1.0, ratio)
    inliers = [h for h in hits if abs(h.tb - (ratio * h.ta + offset)) <= tol]
    if _distinct(inliers, "ta") >= 3:  # refine the ratio on the inliers
        x = np.asarray([h.ta for h in inliers])
        y = np.asarray([h.tb for h in inliers])
        if np.ptp(x) >= 2.0:
            fitted, _ = np.polyfit(x, y, 1)
            if 0.25 <= fitted <= 4.0 and abs(fitted - ratio) < 0.1 * ratio:
                ratio = float(fitted)
    return ratio, inliers


def verify(a: Fingerprint, a_key: int, b: Fingerprint, b_key: int, params: MatchParams,
            mirrored: bool = False) -> tuple[int, int | None]:
    """RANSAC inliers of a similarity transform between two keyframes' ORB matches (ratio-tested), 0 when
    the inliers gather in a small part of either picture or on a thin band (a shared logo or caption); and
    how many of them move in both clips (None when neither says which of its features stand still).
    ``mirrored``: a's features found on its mirrored picture."""
    import cv2

    offsets, a_points, a_desc, a_static = a.key_offsets, a.points, a.descriptors, a.static
    if mirrored and a.mirrored is not None:
        m = a.mirrored
        offsets, a_points, a_desc, a_static = m.offsets, m.points, m.descriptors, m.static
    a_slice = slice(offsets[a_key], offsets[a_key + 1])
    b_slice = slice(b.key_offsets[b_key], b.key_offsets[b_key + 1])
    da, db = a_desc[a_slice], b.descriptors[b_slice]
    if len(da) < 2 or len(db) < 2:
        return 0, None
    pairs = cv2.BFMatcher(cv2.NORM_HAMMING).knnMatch(da, db, k=2)
    good = [p[0] for p in pairs if len(p) == 2 and p[0].distance < 0.8 * p[1].distance]
    if len(good) < 6:
        return 0, None
    ia = np.asarray([g.queryIdx for g in good])
    ib = np.asarray([g.trainIdx for g in good])
    pa, pb = a_points[a_slice][ia], b.points[b_slice][ib]
    _, mask = cv2.estimateAffinePartial2D(pa, pb, method=cv2.RANSAC, ransacReprojThreshold=6.0)
    if mask is None or int(mask.sum()) < 3:
        return 0, None
    inside = mask.ravel().astype(bool)
    if not (_spread(pa[inside], a.key_sizes[a_key], params)
            and _spread(pb[inside], b.key_sizes[b_key], params)):
        return 0, None
    if a_static is None and b.static is None:
        return int(inside.sum()), None
    still = np.zeros(len(good), bool)
    if a_static is not None:
        still |= a_static[a_slice][ia]
    if b.static is not None:
        still |= b.static[b_slice][ib]
    return int(inside.sum()), int((inside & ~still).sum())


def _spread(points: NDArray[np.float32], size: NDArray[np.float32], params: MatchParams) -> bool:
    """Whether inliers cover enough of a keyframe (not a logo) and not a thin band (not a caption line)."""
    import cv2

    width, height = float(size[0]), float(size[1])
    if cv2.contourArea(cv2.convexHull(points)) < params.local_spread * width * height:
        return False
    _, _, box_w, box_h = cv2.boundingRect(points)
    return bool(min(box_w, box_h) >= params.local_band * max(box_w, box_h, 1))


def _pdq_similarity(distance: int, params: MatchParams) -> float:
    if distance <= 31:
        return 1.0 - 0.2 * distance / 31
    return 0.8 - 0.3 * (distance - 31) / max(1, params.pdq_radius - 31)


def _local_similarity(inliers: float, params: MatchParams) -> float:
    """0.5 at local_min_inliers, 0.8 at local_strong_inliers, at most 0.99."""
    span = max(1, params.local_strong_inliers - params.local_min_inliers)
    return min(0.99, 0.5 + 0.3 * (inliers - params.local_min_inliers) / span)


def _one_per_time(hits: list[Hit]) -> list[Hit]:
    best: dict[float, Hit] = {}
    for h in hits:
        key = round(h.ta, 2)
        if key not in best or h.sim > best[key].sim:
            best[key] = h
    return list(best.values())


def _distinct(hits: list[Hit], side: str) -> int:
    return len({round(getattr(h, side), 2) for h in hits})


def _cover(segment: tuple[float, float], fp: Fingerprint) -> float:
    if fp.duration <= 0:
        return 1.0
    step = float(np.median(np.diff(fp.times))) if len(fp.times) > 1 else fp.duration
    step = min(step, fp.duration)
    return min(1.0, (segment[1] - segment[0] + step) / fp.duration)


def _round(segment: tuple[float, float]) -> tuple[float, float]:
    return round(segment[0], 3), round(segment[1], 3)


def _evidence(hits: list[Hit]) -> dict[str, Any]:
    pdq = [h.value for h in hits if h.method == "pdq"]
    local = [h.value for h in hits if h.method == "local"]
    out: dict[str, Any] = {"frames": _distinct(hits, "ta")}
    if pdq:
        out["pdq_frames"], out["pdq_median_distance"] = len(pdq), float(np.median(pdq))
    if local:
        out["local_keyframes"], out["local_max_inliers"] = len(local), int(max(local))
    return out
