"""Report benchmark: how long the report, the exports and the evidence bundle take on a case of 1,000 items.

    python bench/report.py [--items 1000] [--tracks 5] [--certified 60] [--keep DIR]

1. A generated SQLite case (bench/desk.py's generator): 1,000 items (a quarter verified), 5 person tracks
   each, a source for half of them, one custody event per item. On top: a proof crop per track of the
   verified items (a public-domain sample photo, samples/media/obama.jpg, scaled to the track's box, so the
   face blurring runs on real faces), "different" judgments between one track of each of --certified
   verified items (so the certificate has that many members at least), 40 items geolocated around Kursk and
   dated, and a report item with 12 claims.
2. Timed, each as the CLI runs it (in this process, through click): `vericount report` (HTML and PDF),
   `vericount export --format csv`, `--format json`, and `vericount export --bundle` (no originals: the
   generated items have no files), then `vericount verify-bundle` on that bundle.
Printed: the wall time of each, the report's own breakdown (facts incl. the tally, HTML, PDF), the sizes
and page count, and where the files are (--keep DIR keeps the case; a screenshot of page 1 is written there
with pdftoppm when it is installed). It reads no shared data.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "samples" / "media" / "obama.jpg"


def _desk_generator():  # bench/ is not a package
    spec = importlib.util.spec_from_file_location("bench_desk", ROOT / "bench" / "desk.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.generate


def augment(root: Path, certified: int) -> dict[str, int]:
    """Crops, judgments, places, dates and claims on the generated case."""
    from PIL import Image
    from sqlalchemy import insert, select

    from vericount.case import Case
    from vericount.people.stage import people_folder
    from vericount.store.schema import (
        ClaimRow,
        Item,
        ItemName,
        Judgment,
        PersonTrack,
        ReportText,
        Source,
        utcnow,
    )

    photo = Image.open(SAMPLE).convert("RGB")
    case = Case.open(root, actor="bench")
    crops = judgments = 0
    with case.session() as s:
        verified = list(s.scalars(select(Item).where(Item.status == "verified").order_by(Item.id)))
        chosen = []
        for item in verified:
            folder = people_folder(case.derived, item.id)
            folder.mkdir(parents=True, exist_ok=True)
            for track in s.scalars(select(PersonTrack).where(PersonTrack.item_id == item.id)):
                x0, y0, x1, y1 = track.best_box
                w, h = max(8, int(x1 - x0)), max(8, int(y1 - y0))
                path = folder / f"track-{track.number}.jpg"
                photo.resize((w, h)).save(path, quality=85)
                track.crop = path.relative_to(case.derived).as_posix()
                crops += 1
            chosen.append(item)
        first = {t.item_id: t for t in s.scalars(select(PersonTrack).where(PersonTrack.number == 1))}
        members = [first[i.id] for i in chosen[:certified]]
        now = utcnow()
        rows = []
        for a in range(len(members)):
            for b in range(a + 1, len(members)):
                ta, tb = members[a], members[b]
                if (ta.item_id, ta.number) > (tb.item_id, tb.number):
                    ta, tb = tb, ta
                rows.append({"a_item": ta.item_id, "a_number": ta.number, "b_item": tb.item_id,
                             "b_number": tb.number, "verdict": "different",
                             "reason": "bench: different uniforms", "by": "bench", "at": now,
                             "a_span": [ta.start, ta.end], "b_span": [tb.start, tb.end]})
        s.execute(insert(Judgment), rows)
        judgments = len(rows)
        for k, item in enumerate(chosen[:40]):
            item.lat, item.lon = 51.2 + (k % 8) * 0.08, 34.9 + (k // 8) * 0.12
            item.geo_precision_m, item.geo_method = 100.0, "bench"
            item.date_from = item.date_to = f"2024-08-{6 + k % 10:02d}"
        report_id = "f" * 64
        s.add(Item(id=report_id, kind="text", media_type="text/plain", size=1000, added_at=now,
                   added_by="bench",
                   status="unreviewed"))
        s.flush()
        s.add(ItemName(item_id=report_id, name="report.txt", path="/bench/report.txt", seen_at=now,
                       seen_by="bench"))
        s.add(Source(item_id=report_id, platform="news", account="The Bench", posted_at="2024-08-14",
                     added_at=now,
                     added_by="bench"))
        s.add(ReportText(item_id=report_id, title="Bench report", language="en", chars=1000, sentences=12,
                         hedges=[]))
        for k in range(12):
            value = [102, 247, 30, 1200][k % 4]
            s.add(ClaimRow(item_id=report_id, value=value, low=value, high=value, qualifier="exact",
                           vague=None,
                           quantity=str(value), subject="soldiers", subject_key="soldier", event="captured",
                           scope=None, speaker="Officials", via=[], hedges=[],
                           sentence=f"{value} soldiers were captured, officials said.", start=k * 50,
                           end=k * 50 + 40))
    case.close()
    return {"crops": crops, "judgments": judgments}


def timed(label: str, args: list[str], root: Path, results: dict[str, float]) -> str:
    from click.testing import CliRunner

    from vericount.cli import main

    start = time.perf_counter()
    out = CliRunner().invoke(main, ["--case", str(root), "--actor", "bench", *args], catch_exceptions=False)
    results[label] = time.perf_counter() - start
    if out.exit_code != 0:
        sys.exit(f"{label}: exit {out.exit_code}: {out.output}")
    return str(out.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--items", type=int, default=1000)
    parser.add_argument("--tracks", type=int, default=5)
    parser.add_argument("--certified", type=int, default=60)
    parser.add_argument("--keep", type=Path, default=None, help="Keep the case and outputs in this folder.")
    args = parser.parse_args()
    base = args.keep or Path(tempfile.mkdtemp(prefix="vericount-bench-report-"))
    if base.exists() and any(base.iterdir()):
        shutil.rmtree(base)
    base.mkdir(parents=True, exist_ok=True)
    root = base / "case"
    started = time.perf_counter()
    held = _desk_generator()(root, args.items, args.tracks)
    added = augment(root, args.certified)
    print(f"case: {held['items']} items, {held['tracks']} tracks, {added['crops']} crops, "
          f"{added['judgments']} judgments ({time.perf_counter() - started:.1f} s to generate)")
    results: dict[str, float] = {}
    written = json.loads(timed("report (html+pdf)", ["report", "--out", str(base / "report"), "--json"], root,
                               results))
    timed("export --format csv", ["export", "--out", str(base / "csv"), "--format", "csv"], root, results)
    timed("export --format json", ["export", "--out", str(base / "json"), "--format", "json"], root, results)
    timed("export --bundle", ["export", "--bundle", str(base / "case.zip")], root, results)
    timed("verify-bundle", ["verify-bundle", str(base / "case.zip")], root, results)
    pdf = base / "report" / "report.pdf"
    pages = "?"
    if shutil.which("pdfinfo"):
        info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=False).stdout
        pages = next((line.split()[-1] for line in info.splitlines() if line.startswith("Pages:")), "?")
    if shutil.which("pdftoppm"):
        subprocess.run(["pdftoppm", "-f", "1", "-l", "1", "-r", "80", "-png", str(pdf), str(base / "page")],
                       check=False)
    print(f"\ncommand: python bench/report.py --items {args.items} --tracks {args.tracks} "
          f"--certified {args.certified}")
    print(f"certified: at least {written['at_least']}; "
          f"certificate problems: {len(written['certificate_problems'])}")
    print(f"{'step':<24}{'seconds':>10}")
    for label, seconds in results.items():
        print(f"{label:<24}{seconds:>10.1f}")
    print("report breakdown (s): " + ", ".join(f"{k} {v}" for k, v in written["seconds"].items()))
    print(f"report.html {(base / 'report' / 'report.html').stat().st_size / 1e6:.1f} MB, report.pdf "
          f"{pdf.stat().st_size / 1e6:.1f} MB, {pages} pages; "
          f"bundle {(base / 'case.zip').stat().st_size / 1e6:.1f} MB")
    shots = sorted(base.glob("page-*.png"))
    print(f"files: {base}" + (f" (page 1: {shots[0]})" if shots else ""))


if __name__ == "__main__":
    main()
