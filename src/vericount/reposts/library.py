"""The fingerprints of a case, indexed for search, kept between runs.

A :class:`Library` holds two FAISS binary indexes: the PDQ hash (variant 0) of every usable frame, and the ORB
descriptors of every keyframe, with each row's item, frame or keyframe and time. Matching an item queries
both with the item's own frames (all eight PDQ variants, so mirrored and rotated copies are found) and its
keyframes' descriptors (and those of their mirror images), which costs one index scan per query rather than
a comparison with every item. Candidate keyframes found by descriptor votes are checked geometrically
(reposts/match.py ``verify``), and the hits of each other item are judged (``judge``).

Only the indexes stay in memory: a fingerprint is needed again only for the items a query finds, and is
fetched then (``loader``, from the case's database). A small library's indexes are flat (exact; one scan per
query). Past ``PDQ_MULTI_FROM`` hashes and ``DESC_MULTI_FROM`` descriptors an index is a multi-index hash
(reposts/multihash.py), whose cost hardly grows with the library: a flat scan of ten million descriptors takes
about 200 s for a one-minute item's 20,000 queries, the multi-index about 0.5 s (bench/scale_index.py).
It finds for sure every hash within 35 bits when it holds a million (``PDQ_NFLIP``: all that PDQ alone can
confirm, 31 bits or closer) and every descriptor within 21 bits at ten million (``DESC_NFLIP``), and most
farther ones: a keyframe pair needs only ``local_votes`` of its descriptors found. :meth:`save` and
:meth:`load` keep the indexes beside the case (derived/reposts/library/), so a run that adds ten items to
ten thousand indexes the ten, not the ten thousand.
"""

from __future__ import annotations

import json
import os
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from vericount.reposts.fingerprint import HASH_BYTES, VARIANTS, Fingerprint
from vericount.reposts.match import (
    Found,
    Hit,
    MatchParams,
    _local_similarity,
    _pdq_similarity,
    judge,
    verify,
)
from vericount.reposts.multihash import MultiIndex

if TYPE_CHECKING:
    from numpy.typing import NDArray

Loader = Callable[[list[str]], dict[str, Fingerprint]]
PDQ_MULTI_FROM = 500_000  # frame hashes from which the PDQ index is a multi-index hash (flat below)
DESC_MULTI_FROM = 250_000  # ORB descriptors from which the descriptor index is one
PDQ_NFLIP = 2  # substring bits flipped in a lookup (reposts/multihash.py): exact within 35 bits at 1M hashes
DESC_NFLIP = 1  # ...exact within 21 bits at 10M descriptors
FORMAT = 2


class Library:
    """The fingerprints of a case, indexed for search (see the module's docstring)."""

    def __init__(self, params: MatchParams | None = None, loader: Loader | None = None) -> None:
        import faiss

        faiss.omp_set_num_threads(1)
        self.params = params or MatchParams()
        self.loader = loader
        self.ids: list[str] = []
        self._number: dict[str, int] = {}
        self._prints: dict[int, Fingerprint] = {}
        self._kept: set[int] = set()
        self._pdq: Any = faiss.IndexBinaryFlat(HASH_BYTES * 8)
        self._desc: Any = faiss.IndexBinaryFlat(HASH_BYTES * 8)
        self._pdq_rows: list[NDArray[Any]] = []  # per add: item number, frame number, time
        self._desc_rows: list[NDArray[Any]] = []  # per add: item number, keyframe number, time
        self._pdq_owner: NDArray[Any] | None = None
        self._desc_owner: NDArray[Any] | None = None

    def __len__(self) -> int:
        return len(self.ids)

    def add(self, item_id: str, fp: Fingerprint, keep: bool = True) -> None:
        """Index an item's frames and keyframes; ``keep``: hold its fingerprint in memory (else it is
        fetched with ``loader`` when a query finds it)."""
        number = len(self.ids)
        self.ids.append(item_id)
        self._number[item_id] = number
        if keep:
            self._prints[number] = fp
            self._kept.add(number)
        frames = np.flatnonzero(fp.usable)
        if len(frames):
            self._pdq.add(np.ascontiguousarray(fp.hashes[frames, 0]))
            self._pdq_rows.append(_rows(number, frames, fp.times[frames]))
        if len(fp.descriptors):
            keyframe = np.repeat(np.arange(len(fp.key_times)), np.diff(fp.key_offsets))
            self._desc.add(np.ascontiguousarray(fp.descriptors))
            self._desc_rows.append(_rows(number, keyframe, fp.key_times[keyframe]))
        self._pdq_owner = self._desc_owner = None
        if self._pdq.ntotal >= PDQ_MULTI_FROM and not isinstance(self._pdq, MultiIndex):
            self._pdq = _to_multi(self._pdq, PDQ_NFLIP)
        if self._desc.ntotal >= DESC_MULTI_FROM and not isinstance(self._desc, MultiIndex):
            self._desc = _to_multi(self._desc, DESC_NFLIP)

    def fingerprint(self, item_id: str) -> Fingerprint:
        return self._fetch([self._number[item_id]])[self._number[item_id]]

    def match(self, item_id: str, skip: set[str] | None = None) -> list[Found]:
        """Every item (other than ``item_id`` and those in ``skip``) that shares footage with it."""
        number = self._number[item_id]
        fp = self._fetch([number])[number]
        skipped = {self._number[i] for i in (skip or ()) if i in self._number} | {number}
        hits: dict[int, list[Hit]] = defaultdict(list)
        for other, hit in self._pdq_hits(fp):
            if other not in skipped:
                hits[other].append(hit)
        for other, hit in self._local_hits(fp, skipped):
            hits[other].append(hit)
        prints = self._fetch(list(hits))
        found = []
        for other, pair_hits in hits.items():
            result = judge(item_id, fp, self.ids[other], prints[other], pair_hits, self.params)
            if result is not None and result.score >= self.params.low:
                found.append(result)
        for number in list(self._prints):  # keep the cache to what add() was told to keep
            if number not in self._kept:
                del self._prints[number]
        return found

    # -- keeping it beside the case ----------------------------------------------------------------

    def save(self, folder: Path, stamp: str) -> None:
        """Write the indexes and their rows to ``folder`` (replacing what is there), under ``stamp`` (what
        they were built from: the caller's word for the settings)."""
        import faiss

        folder.mkdir(parents=True, exist_ok=True)
        partial = folder / "manifest.json.partial"
        partial.unlink(missing_ok=True)
        (folder / "manifest.json").unlink(missing_ok=True)  # invalid while the files change
        kinds = {}
        for name, index in (("pdq", self._pdq), ("desc", self._desc)):
            for old in folder.glob(f"{name}.*"):
                old.unlink()  # the other kind's files, if the index changed kind
            if isinstance(index, MultiIndex):
                index.save(folder / name)
                kinds[name] = "multi"
            else:
                faiss.write_index_binary(index, str(folder / f"{name}.faiss"))
                kinds[name] = "flat"
        np.save(folder / "pdq_rows.npy", self._owner("pdq"))
        np.save(folder / "desc_rows.npy", self._owner("desc"))
        partial.write_text(json.dumps({"format": FORMAT, "stamp": stamp, "indexes": kinds, "ids": self.ids}))
        partial.replace(folder / "manifest.json")

    @classmethod
    def load(cls, folder: Path, stamp: str, params: MatchParams, loader: Loader) -> Library | None:
        """The library saved in ``folder`` under ``stamp``, or None (none, another stamp, unreadable)."""
        import faiss

        try:
            manifest = json.loads((folder / "manifest.json").read_text())
            if manifest.get("format") != FORMAT or manifest.get("stamp") != stamp:
                return None
            library = cls(params, loader)
            kinds = manifest["indexes"]
            library._pdq = (MultiIndex.load(folder / "pdq", PDQ_NFLIP) if kinds["pdq"] == "multi"
                            else faiss.read_index_binary(str(folder / "pdq.faiss")))
            library._desc = (MultiIndex.load(folder / "desc", DESC_NFLIP) if kinds["desc"] == "multi"
                             else faiss.read_index_binary(str(folder / "desc.faiss")))
            library._pdq_owner = np.load(folder / "pdq_rows.npy")
            library._desc_owner = np.load(folder / "desc_rows.npy")
        except (OSError, ValueError, RuntimeError, KeyError, TypeError):
            return None
        library._pdq_rows, library._desc_rows = [library._pdq_owner], [library._desc_owner]
        library.ids = list(manifest["ids"])
        library._number = {item_id: k for k, item_id in enumerate(library.ids)}
        if len(library._pdq_owner) != library._pdq.ntotal or len(library._desc_owner) != library._desc.ntotal:
            return None
        return library

    # -- search -------------------------------------------------------------------------------------

    def _owner(self, which: str) -> NDArray[Any]:
        if which == "pdq":
            if self._pdq_owner is None:
                self._pdq_owner = _concat(self._pdq_rows)
                self._pdq_rows = [self._pdq_owner]
            return self._pdq_owner
        if self._desc_owner is None:
            self._desc_owner = _concat(self._desc_rows)
            self._desc_rows = [self._desc_owner]
        return self._desc_owner

    def _fetch(self, numbers: Iterable[int]) -> dict[int, Fingerprint]:
        wanted = [n for n in numbers if n not in self._prints]
        if wanted:
            if self.loader is None:
                raise KeyError(f"{self.ids[wanted[0]]}: not held, and the library has no loader")
            got = self.loader([self.ids[n] for n in wanted])
            for n in wanted:
                self._prints[n] = got[self.ids[n]]
        return {n: self._prints[n] for n in numbers}

    def _pdq_hits(self, fp: Fingerprint) -> list[tuple[int, Hit]]:
        frames = np.flatnonzero(fp.usable)
        if not len(frames) or self._pdq.ntotal == 0:
            return []
        owner = self._owner("pdq")
        queries = np.ascontiguousarray(fp.hashes[frames].reshape(-1, HASH_BYTES))
        lims, dist, rows = self._pdq.range_search(queries, self.params.pdq_radius + 1)
        best: dict[tuple[int, int, int], tuple[int, float]] = {}  # (other, frame, other frame): distance, tb
        for q in range(len(queries)):
            frame = int(frames[q // VARIANTS])
            for d, row in zip(dist[lims[q]:lims[q + 1]].tolist(), rows[lims[q]:lims[q + 1]].tolist(),
                              strict=True):
                other, other_frame, tb = owner[row]
                key = (int(other), frame, int(other_frame))
                if d < best.get(key, (999, 0.0))[0]:
                    best[key] = (d, float(tb))
        return [(other, Hit(float(fp.times[frame]), tb, _pdq_similarity(d, self.params), "pdq", d))
                for (other, frame, _), (d, tb) in best.items()]

    def _local_hits(self, fp: Fingerprint, skipped: set[int]) -> list[tuple[int, Hit]]:
        if not len(fp.descriptors) or self._desc.ntotal == 0:
            return []
        views = [(False, fp.descriptors, fp.key_offsets)]
        if fp.mirrored is not None and len(fp.mirrored.descriptors):
            views.append((True, fp.mirrored.descriptors, fp.mirrored.offsets))
        checks = [(mirrored, *c) for mirrored, descriptors, offsets in views
                  for c in self._candidates(descriptors, offsets, skipped)]
        prints = self._fetch({other for _, _, other, _ in checks})
        out = []
        for mirrored, own, other, other_key in checks:
            inliers, moving = verify(fp, own, prints[other], other_key, self.params, mirrored)
            if inliers >= self.params.local_min_inliers:
                hit = Hit(float(fp.key_times[own]), float(prints[other].key_times[other_key]),
                          _local_similarity(inliers, self.params), "local", inliers, moving)
                out.append((other, hit))
        return out

    def _candidates(self, descriptors: NDArray[np.uint8], offsets: NDArray[np.int32], skipped: set[int]
                    ) -> list[tuple[int, int, int]]:
        """(own keyframe, other item, other keyframe) worth a geometric check: for each other item, the own
        keyframes with enough descriptor votes, each with its best two other keyframes; at most
        ``local_checks`` own keyframes per other item, spread evenly over them (a fixed camera's room votes
        for every keyframe of every copy of it: checking them all cost seconds an item)."""
        # Every stored descriptor within the radius votes (not the k nearest: with many copies of one
        # picture in the case, the nearest neighbours would all be the copies already found).
        with _all_cores():  # the matching runs alone, after the fingerprinting: 1.8x faster on 2 cores
            lims, _, rows = self._desc.range_search(np.ascontiguousarray(descriptors),
                                                    self.params.local_radius)
        own_key = np.repeat(np.arange(len(offsets) - 1, dtype=np.int64), np.diff(offsets))
        owners = self._owner("desc")[rows][:, :2].astype(np.int64)
        query = np.repeat(np.arange(len(descriptors), dtype=np.int64), np.diff(lims.astype(np.int64)))
        if skipped:
            keep = ~np.isin(owners[:, 0], np.fromiter(skipped, np.int64))
            owners, query = owners[keep], query[keep]
        span = int(owners[:, 1].max(initial=0)) + 1
        items = len(self.ids)
        # one vote per query descriptor and other keyframe
        votes = np.unique((query * items + owners[:, 0]) * span + owners[:, 1])
        other_key, rest = votes % span, votes // span
        other, query = rest % items, rest // items
        pairs, counts = np.unique((own_key[query] * items + other) * span + other_key, return_counts=True)
        strong = counts >= self.params.local_votes
        best: dict[tuple[int, int], list[tuple[int, int]]] = defaultdict(list)  # (other, own): votes, key
        for key, count in zip(pairs[strong].tolist(), counts[strong].tolist(), strict=True):
            rest_key, other_frame = divmod(key, span)
            own, item = divmod(rest_key, items)
            best[(item, own)].append((count, other_frame))
        by_item: dict[int, list[int]] = defaultdict(list)
        for item, own in sorted(best):
            by_item[item].append(own)
        out = []
        for item, owns in by_item.items():
            picks = sorted(set(np.linspace(0, len(owns) - 1, min(len(owns), self.params.local_checks))
                               .round().astype(int).tolist()))
            out += [(owns[k], item, other_key) for k in picks
                    for _, other_key in sorted(best[(item, owns[k])], reverse=True)[:2]]
        return out


@contextmanager
def _all_cores() -> Iterator[None]:
    """FAISS on every core for a while (one thread otherwise: most searches are too small to share)."""
    import faiss

    faiss.omp_set_num_threads(os.cpu_count() or 1)
    try:
        yield
    finally:
        faiss.omp_set_num_threads(1)


def _to_multi(flat: Any, nflip: int) -> MultiIndex:
    """A flat FAISS index's codes as a multi-index hash."""
    import faiss

    return MultiIndex(nflip, faiss.vector_to_array(flat.xb).reshape(flat.ntotal, HASH_BYTES))


def _rows(number: int, index: NDArray[Any], times: NDArray[Any]) -> NDArray[np.float64]:
    return np.stack([np.full(len(index), number), index, times], axis=1).astype(np.float64)


def _concat(parts: list[NDArray[Any]]) -> NDArray[Any]:
    return np.concatenate(parts) if parts else np.zeros((0, 3), np.float64)
