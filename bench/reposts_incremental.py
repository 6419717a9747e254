"""The incremental floor of bench/reposts.py: add 10 real items to a case that already holds 10,000
fingerprinted and matched ones, and time `vericount reposts` (the reposts stage, then matching).

The 10,000 are generated from the bench's real fingerprints, one real item's shape each (its frames, times,
keyframes, points): its PDQ hashes with 80 bits flipped (beyond pdq_radius, 64) and its ORB descriptors with
56 bits flipped (beyond local_radius, 48), so the indexes hold as many rows as 10,000 such items would, laid
out like real ones, and none of them is a copy of anything. They are written to the case's database as the
stage writes them (items, stage states, fingerprints marked matched with the current settings), and the
library is built and kept once, as a run that matched them would have left it.
"""

from __future__ import annotations

import functools
import hashlib
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np


@functools.cache
def _masks(bits: int) -> np.ndarray:
    """4,096 random 256-bit masks with ``bits`` bits set."""
    rng = np.random.default_rng(bits)
    masks = np.zeros((4096, 256), np.uint8)
    np.put_along_axis(masks, np.argsort(rng.random((4096, 256)), axis=1)[:, :bits], 1, axis=1)
    return np.packbits(masks, axis=1)


def _flipped(rng: np.random.Generator, rows: np.ndarray, bits: int) -> np.ndarray:
    """``rows`` (of 32 bytes) with ``bits`` random bits of each flipped."""
    flat = rows.reshape(-1, 32)
    bank = _masks(bits)
    return (flat ^ bank[rng.integers(0, len(bank), len(flat))]).reshape(rows.shape)


def generated(template: Any, rng: np.random.Generator) -> Any:
    mirrored = template.mirrored
    if mirrored is not None:
        mirrored = replace(mirrored, descriptors=_flipped(rng, mirrored.descriptors, 56))
    return replace(template, hashes=_flipped(rng, template.hashes, 80),
                   descriptors=_flipped(rng, template.descriptors, 56), mirrored=mirrored)


def incremental(work: Path, templates: list[Any], added: list[Path], n: int = 10_000) -> dict[str, Any]:
    """Build the case of ``n`` generated items, add the files ``added``, and time the reposts run."""
    from sqlalchemy import func, insert, select

    from vericount.case import Case
    from vericount.ingest import add
    from vericount.media.metadata import MetadataStage
    from vericount.reposts import service
    from vericount.reposts.library import Library
    from vericount.reposts.match import MatchParams
    from vericount.reposts.stage import RepostsStage
    from vericount.run.executors import SerialExecutor
    from vericount.store.schema import FingerprintRow, Item, Match, StageState

    out: dict[str, Any] = {"n": n}
    rng = np.random.default_rng(18)
    params = MatchParams()
    current = service.params_hash(params)
    stages = [MetadataStage(), RepostsStage()]
    start = time.perf_counter()
    case = Case.create(work / "incremental-case", None, actor="bench")
    library = Library(params)
    now = datetime.now(UTC)
    for chunk in range(0, n, 500):
        items, states, prints = [], [], []
        for k in range(chunk, min(n, chunk + 500)):
            fp = generated(templates[k % len(templates)], rng)
            item_id = hashlib.sha256(f"generated {k}".encode()).hexdigest()
            items.append({"id": item_id, "kind": fp.kind, "media_type": "video/mp4" if fp.kind == "video"
                          else "image/jpeg", "size": 1, "added_at": now, "added_by": "bench"})
            states += [{"item_id": item_id, "stage": st.name, "status": "done", "version": st.version,
                        "params": st.params(), "params_hash": st.params_hash(), "updated_at": now}
                       for st in stages]
            prints.append({"item_id": item_id, "kind": fp.kind, "duration": fp.duration,
                           "decoded": fp.decoded, "frames": len(fp.times), "dropped": fp.dropped,
                           "shots": fp.shots, "min_quality": fp.min_quality, "data": fp.to_bytes(),
                           "matched": current})
            library.add(item_id, fp, keep=False)
        with case.session() as s:
            s.execute(insert(Item), items)
            s.execute(insert(StageState), states)
            s.execute(insert(FingerprintRow), prints)
    service._keep(library, case.derived / "reposts" / "library", current)
    out["descriptors"], out["hashes"] = library._desc.ntotal, library._pdq.ntotal
    out["index"] = type(library._desc).__name__
    out["build_s"] = time.perf_counter() - start
    del library

    start = time.perf_counter()
    report = add(case, added, SerialExecutor())
    out["add_s"] = time.perf_counter() - start
    out["add_failed"] = [f.message for f in report.failed]
    start = time.perf_counter()
    stage_report, match_report = service.run_reposts(case, SerialExecutor(), params=params)
    out["reposts_s"] = time.perf_counter() - start
    out["fingerprinted"], out["matched"], out["match_s"] = len(stage_report.done), match_report.matched, \
        match_report.seconds
    with case.reading() as s:
        out["pairs"] = {frozenset((m.a, m.b)): m.state for m in s.scalars(select(Match))}
        out["items"] = s.scalar(select(func.count()).select_from(Item))
    case.close()
    return out
