"""How long `vericount verify`'s custody checks take on a big case, and what anchoring costs a commit.

Generates a case of N items (default 10,000) with the custody log an ingest and a review would have written
(item.add, item.source for half, item.status for 40%, tags for 8%), the rows inserted in bulk and the
evidence files absent (verify's hashing is timed by bench/ingest.py; here only the log, the anchors and
the state replay count). Then times `verify` (chain + anchors + state + key) and the cost of a commit
with and without anchoring.

    python bench/custody.py [--items 10000] [--db postgresql://...]
"""

from __future__ import annotations

import argparse
import hashlib
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))


def generate(root: Path, n: int, db_url: str | None) -> None:
    from sqlalchemy import insert

    from vericount.case import Case
    from vericount.store.schema import Item, ItemName, Source, Tag, utcnow

    with Case.create(root, db_url, actor="bench") as case:
        now = utcnow()
        items, names, sources, tags = [], [], [], []
        for i in range(n):
            sha = hashlib.sha256(f"bench item {i}".encode()).hexdigest()
            status = "verified" if i % 5 < 2 else "unreviewed"
            items.append({"id": sha, "kind": "image", "media_type": "image/jpeg", "size": 1000 + i,
                          "added_at": now, "added_by": "bench", "status": status,
                          "status_note": "seen" if status == "verified" else None, "revision": 1})
            names.append({"item_id": sha, "name": f"IMG_{i:05d}.jpg", "path": f"/drop/IMG_{i:05d}.jpg",
                          "seen_at": now, "seen_by": "bench"})
            if i % 2 == 0:
                sources.append({"item_id": sha, "url": f"https://t.me/c/{i}", "platform": "telegram",
                                "account": None, "posted_at": None, "notes": None, "added_at": now,
                                "added_by": "bench"})
            if i % 12 == 0:
                tags.append({"item_id": sha, "tag": "day-1", "by": "bench", "at": now})
        with case.session() as s:
            for table, rows in ((Item, items), (ItemName, names), (Source, sources), (Tag, tags)):
                for k in range(0, len(rows), 5000):
                    s.execute(insert(table), rows[k:k + 5000])
            for i, row in enumerate(items):
                case.record(s, "item.add", row["id"], name=names[i]["name"], path=names[i]["path"],
                            size=row["size"], kind="image", media_type="image/jpeg")
            for src in sources:
                case.record(s, "item.source", src["item_id"], url=src["url"], platform="telegram")
            for row in items:
                if row["status"] == "verified":
                    case.record(s, "item.status", row["id"], status="verified", note="seen",
                                before={"status": "unreviewed", "note": None})
            for tag in tags:
                case.record(s, "item.tag", tag["item_id"], tag="day-1")


def commit_ms(root: Path, anchored: bool, rounds: int = 50) -> float:
    from vericount.case import Case
    from vericount.store import audit

    times = []
    with Case.open(root, actor="bench") as case:
        for k in range(rounds):
            start = time.perf_counter()
            with case.session() as s:
                if not anchored:
                    s.info.pop(audit.ANCHOR, None)
                case.record(s, "bench.note", None, k=k)
            times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--db", default=None, help="a PostgreSQL URL (an empty database) instead of SQLite")
    args = parser.parse_args()
    from vericount.case import Case
    from vericount.verify import verify

    with tempfile.TemporaryDirectory(prefix="vericount-bench-custody-") as tmp:
        root = Path(tmp) / "case"
        start = time.perf_counter()
        generate(root, args.items, args.db)
        print(f"generated {args.items} items in {time.perf_counter() - start:.1f} s")
        with Case.open(root, actor="bench") as case:
            start = time.perf_counter()
            report = verify(case)
            seconds = time.perf_counter() - start
        kinds = sorted({p.problem for p in report.problems})
        assert report.head is not None
        print(f"verify: {report.head.count} events, {report.checked} items, {seconds:.2f} s "
              f"(chain, {report.anchored} anchored heads, state: {', '.join(report.state_checked)}); "
              f"problems: {kinds} (the evidence files are absent on purpose)")
        assert set(kinds) <= {"missing"}, [p for p in report.problems if p.problem != "missing"][:3]
        print(f"commit with one event: {commit_ms(root, True):.2f} ms anchored, "
              f"{commit_ms(root, False):.2f} ms without (median of 50)")
    print(f"command: python bench/custody.py --items {args.items}" + (f" --db {args.db}" if args.db else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
