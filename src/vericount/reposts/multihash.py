"""Multi-index hashing: range search over many 256-bit codes (PDQ hashes, ORB descriptors) without a scan.

Each code is cut into ``tables`` substrings of ``bits`` bits (``bits`` about log2 of the number of codes, so
a bucket holds about one code); each table lists the codes by their substring. A query looks up its own
substring in every table, and every substring ``nflip`` bits or fewer from it, and measures its full
distance only to the codes found there. By the pigeonhole principle a code within ``tables * (nflip + 1) - 1``
bits of the query has, in some table, a substring within ``nflip`` bits of the query's, so everything within
that distance is found (``exact``); farther codes are found when one substring happens to be that close
(Norouzi, Punjani and Fleet, "Fast search in Hamming space with multi-index hashing", 2012).

A table is two arrays, the codes' row numbers sorted by substring and each substring's first place in them
(CSR), about ``4 * tables`` bytes a code plus ``4 * tables * 2**bits`` bytes: at ten million codes, 23-bit
substrings in 11 tables, 1.1 GB with the codes. Codes added later wait in ``pending`` and are merged into the
tables at the next search or save (the whole is rebuilt, with ``bits`` chosen again, when the index has
doubled since it was built).
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from numpy.typing import NDArray

CODE_BYTES = 32
MIN_BITS, MAX_BITS = 16, 24  # substring bits: about log2(codes), within these
CHUNK = 4096  # queries looked up together (bounds the memory a search takes)


class MultiIndex:
    """Range search over 256-bit codes by multi-index hashing (see the module's docstring)."""

    def __init__(self, nflip: int, codes: NDArray[np.uint8] | None = None) -> None:
        self.nflip = nflip
        self.bits = MIN_BITS
        self.codes = np.zeros((0, CODE_BYTES), np.uint8)
        self._order = np.zeros((0, 0), np.int32)  # tables x codes: row numbers sorted by substring
        self._offsets = np.zeros((0, 0), np.int32)  # tables x (2**bits + 1): each substring's first place
        self._built = 0  # codes when bits was chosen
        self._pending: list[NDArray[np.uint8]] = []
        if codes is not None:
            self.add(codes)

    @property
    def ntotal(self) -> int:
        return len(self.codes) + sum(len(p) for p in self._pending)

    @property
    def tables(self) -> int:
        return 256 // self.bits

    @property
    def exact(self) -> int:
        """Distance within which every code is found."""
        return self.tables * (self.nflip + 1) - 1

    def add(self, codes: NDArray[np.uint8]) -> None:
        if len(codes):
            self._pending.append(np.ascontiguousarray(codes, np.uint8).reshape(-1, CODE_BYTES))

    def range_search(self, queries: NDArray[np.uint8], radius: int
                     ) -> tuple[NDArray[np.int64], NDArray[np.int32], NDArray[np.int64]]:
        """As FAISS's ``range_search``: every code closer than ``radius`` bits to each query (those within
        ``exact`` bits for sure), as ``lims, distances, rows`` (query q's: ``lims[q]:lims[q + 1]``)."""
        self._settle()
        queries = np.ascontiguousarray(queries, np.uint8).reshape(-1, CODE_BYTES)
        words = self.codes.view(np.uint64)
        flips = _flips(self.bits, self.nflip)
        found: list[NDArray[np.int64]] = []
        dists: list[NDArray[np.int32]] = []
        for start in range(0, len(queries) if len(words) else 0, CHUNK):
            chunk = queries[start:start + CHUNK].view(np.uint64)
            owner = np.repeat(np.arange(len(chunk), dtype=np.int64), len(flips))
            keys, rows, near = [], [], []
            for table in range(self.tables):
                probes = (self._key(chunk, table)[:, None] ^ flips[None, :]).ravel()
                offsets = self._offsets[table]
                first = np.take(offsets, probes)
                counts = np.take(offsets, probes + 1) - first
                hit = np.flatnonzero(counts)
                first, counts = first[hit], counts[hit]
                ends = np.cumsum(counts)
                if not len(ends):
                    continue
                places = np.repeat(first - (ends - counts), counts) + np.arange(int(ends[-1]), dtype=np.int32)
                candidates = np.take(self._order[table], places)
                query = np.repeat(owner[hit], counts)
                xor = np.take(words, candidates, axis=0)
                xor ^= np.take(chunk, query, axis=0)
                ones = np.bitwise_count(xor)
                distance = ones[:, 0].astype(np.int32)
                for word in range(1, 4):
                    distance += ones[:, word]
                keep = np.flatnonzero(distance < radius)
                keys.append((query[keep] + start) * len(words) + candidates[keep])
                near.append(distance[keep])
                rows.append(candidates[keep])
            if keys:
                unique, first_seen = np.unique(np.concatenate(keys), return_index=True)  # by query, then row
                found.append(unique)
                dists.append(np.concatenate(near)[first_seen])
        pairs = np.concatenate(found) if found else np.zeros(0, np.int64)
        lims = np.zeros(len(queries) + 1, np.int64)
        np.cumsum(np.bincount(pairs // max(1, len(words)), minlength=len(queries)), out=lims[1:])
        distances = np.concatenate(dists) if dists else np.zeros(0, np.int32)
        return lims, distances, pairs % max(1, len(words))

    # -- kept beside the case -----------------------------------------------------------------------

    def save(self, stem: Path) -> None:
        """Write the codes and tables to ``stem``.codes.npy, .order.npy and .offsets.npy."""
        self._settle()
        for part, array in (("codes", self.codes), ("order", self._order), ("offsets", self._offsets)):
            np.save(stem.with_name(f"{stem.name}.{part}.npy"), array)

    @classmethod
    def load(cls, stem: Path, nflip: int) -> MultiIndex:
        index = cls(nflip)
        index.codes = np.load(stem.with_name(f"{stem.name}.codes.npy"))
        index._order = np.load(stem.with_name(f"{stem.name}.order.npy"))
        index._offsets = np.load(stem.with_name(f"{stem.name}.offsets.npy"))
        bits = (index._offsets.shape[1] - 1).bit_length() - 1
        if (index.codes.shape[1:] != (CODE_BYTES,) or index._order.shape != (256 // bits, len(index.codes))
                or index._offsets.shape[1] != 2**bits + 1):
            raise ValueError(f"{stem}: the multi-index tables do not fit its codes")
        index.bits, index._built = bits, len(index.codes)
        return index

    # -- building -------------------------------------------------------------------------------------

    def _settle(self) -> None:
        """Merge the pending codes into the tables (rebuild them when the index has doubled)."""
        if not self._pending:
            return
        new = np.concatenate(self._pending)
        self._pending = []
        old = len(self.codes)
        self.codes = np.concatenate([self.codes, new]) if old else new
        if len(self.codes) >= 2**31:
            raise ValueError("a multi-index holds fewer than 2**31 codes")
        if not old or len(self.codes) >= 2 * self._built:
            self._build()
            return
        words = new.view(np.uint64)
        order, offsets = [], []
        for table in range(self.tables):
            keys = self._key(words, table)
            rank = np.argsort(keys, kind="stable")
            # each new code goes to the end of its substring's run; every later run moves down
            order.append(np.insert(self._order[table], self._offsets[table][keys[rank] + 1],
                                   (old + rank).astype(np.int32)))
            moved = np.zeros(len(self._offsets[table]), np.int32)
            np.cumsum(np.bincount(keys, minlength=2**self.bits), out=moved[1:])
            offsets.append(self._offsets[table] + moved)
        self._order, self._offsets = np.stack(order), np.stack(offsets)

    def _build(self) -> None:
        n = len(self.codes)
        self.bits = int(np.clip(round(np.log2(max(n, 2))), MIN_BITS, MAX_BITS))
        self._built = n
        words = self.codes.view(np.uint64)
        self._order = np.empty((self.tables, n), np.int32)
        self._offsets = np.zeros((self.tables, 2**self.bits + 1), np.int32)
        for table in range(self.tables):
            keys = self._key(words, table)
            self._order[table] = np.argsort(keys)
            np.cumsum(np.bincount(keys, minlength=2**self.bits), out=self._offsets[table, 1:])

    def _key(self, words: NDArray[Any], table: int) -> NDArray[np.int64]:
        """Substring ``table`` of each code (given as four 64-bit words), as a number."""
        start = table * self.bits
        word, shift = divmod(start, 64)
        value = words[:, word] >> np.uint64(shift)
        if shift + self.bits > 64:
            value |= words[:, word + 1] << np.uint64(64 - shift)
        key: NDArray[np.int64] = (value & np.uint64(2**self.bits - 1)).astype(np.int64)
        return key


def _flips(bits: int, nflip: int) -> NDArray[np.int64]:
    """Every mask of ``bits`` bits with ``nflip`` or fewer set, the empty one first."""
    masks = [sum(1 << b for b in chosen) for k in range(nflip + 1)
             for chosen in itertools.combinations(range(bits), k)]
    return np.asarray(masks, np.int64)
