"""Ingest benchmark: vericount add on ../shared/data against sha256sum + cp of the same files.

    python bench/ingest.py [--data ../shared/data] [--big-gb 2] [--runs 3]

Prints, for the whole data folder (many small files) and for a generated large video:
- the wall time of `vericount add` (a fresh case each run; hashing, copying with fsync, database rows,
  metadata) and of `sha256sum` over the files plus `cp -r` of them, both with the page cache warm;
- the same baseline followed by `sync`, which is what it takes for the copy to be as durable as
  vericount's (each original is fsynced before its row is written);
- the ratios, and vericount's peak memory (maximum resident set size of the process tree).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_DATA = HERE.parent.parent / "shared" / "data"
VERICOUNT = [sys.executable, "-m", "vericount"]


def run_child(cmd: list[str]) -> tuple[float, float, subprocess.CompletedProcess[str]]:
    """Run one command and measure its own peak memory (fresh measurement process each time)."""
    probe = [sys.executable, "-c", (
        "import json,resource,subprocess,sys,time;"
        "t=time.perf_counter();p=subprocess.run(sys.argv[1:],capture_output=True,text=True);"
        "e=time.perf_counter()-t;r=resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss;"
        "print(json.dumps({'s':e,'rss_kb':r,'rc':p.returncode,'out':p.stdout,'err':p.stderr}))"),
        *cmd]
    res = json.loads(subprocess.run(probe, capture_output=True, text=True, check=True).stdout)
    return res["s"], res["rss_kb"] / 1024, subprocess.CompletedProcess(cmd, res["rc"], res["out"],
                                                                       res["err"])


def settle() -> None:
    """Start every timed run, ours included, with nothing left to write back."""
    subprocess.run(["sync"], check=True)
    time.sleep(1.0)


def fresh(parent: Path, stem: str) -> Path:
    """A folder never used before: no run pays for deleting the previous one."""
    n = sum(1 for _ in parent.glob(f"{stem}-*"))
    return parent / f"{stem}-{n}"


def baseline(files: list[Path], src_root: Path, dest: Path, sync: bool) -> float:
    settle()
    start = time.perf_counter()
    lists = [files[i:i + 500] for i in range(0, len(files), 500)]
    for chunk in lists:
        subprocess.run(["sha256sum", *map(str, chunk)], stdout=subprocess.DEVNULL, check=True)
    subprocess.run(["cp", "-r", str(src_root), str(dest)], check=True)
    if sync:
        subprocess.run(["sync"], check=True)
    return time.perf_counter() - start


def ingest(src: Path, case: Path) -> tuple[float, float, dict[str, object]]:
    subprocess.run([*VERICOUNT, "init", str(case)], check=True, capture_output=True)
    settle()
    seconds, rss_mb, res = run_child([*VERICOUNT, "--case", str(case), "add", str(src), "--json"])
    if res.returncode not in (0, 1):
        raise SystemExit(f"vericount add failed: {res.stderr[-2000:]}")
    return seconds, rss_mb, json.loads(res.stdout)


def make_big_video(path: Path, size_gb: float, source: Path) -> None:
    """Remux the packets of a real clip over and over (no re-encode) until the file is size_gb."""
    import av

    target = int(size_gb * 1e9)
    with av.open(str(source)) as inp:
        packets = [p for p in inp.demux(inp.streams.video[0]) if p.size]
        stream_in = inp.streams.video[0]
        duration = inp.duration / 1e6
        with av.open(str(path), "w") as out:
            stream = out.add_stream_from_template(stream_in)
            written, loop = 0, 0
            step = int(duration / stream_in.time_base)
            while written < target:
                for pkt in packets:
                    pkt.stream = stream
                    if pkt.pts is not None:
                        pkt.pts += step if loop else 0
                    if pkt.dts is not None:
                        pkt.dts += step if loop else 0
                    out.mux(pkt)
                    written += pkt.size
                loop += 1


def row(label: str, seconds: float, ratio: float | None = None, extra: str = "") -> str:
    r = f"{ratio:5.2f}x" if ratio is not None else "      "
    return f"  {label:<48} {seconds:8.2f} s  {r}  {extra}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--big-gb", type=float, default=2.0, help="size of the generated video (0: skip)")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--work", type=Path, default=None, help="scratch folder (default: a temp dir)")
    args = ap.parse_args()
    if not args.data.is_dir():
        print(f"bench/ingest.py: {args.data} is absent; this benchmark reads ../shared/data")
        return 2
    print("$ python bench/ingest.py " + " ".join(sys.argv[1:]))
    work = Path(tempfile.mkdtemp(prefix="vc-bench-", dir=args.work))
    try:
        files = sorted(p for p in args.data.rglob("*") if p.is_file())
        total = sum(p.stat().st_size for p in files)
        print(f"data: {args.data} ({len(files)} files, {total / 1e6:.1f} MB); {os.cpu_count()} cores")
        baseline(files, args.data, fresh(work, "copy"), sync=True)  # warm the page cache
        plain, synced, runs = [], [], []
        for _ in range(args.runs):  # interleaved, so that both see the same state of the disk
            plain.append(baseline(files, args.data, fresh(work, "copy"), sync=False))
            synced.append(baseline(files, args.data, fresh(work, "copy"), sync=True))
            runs.append(ingest(args.data, fresh(work, "case")))
        vc = statistics.median(r[0] for r in runs)
        rss_small = max(r[1] for r in runs)
        report = runs[-1][2]
        b, bs = statistics.median(plain), statistics.median(synced)
        kinds = Counter()
        listing = subprocess.run([*VERICOUNT, "--case", str(fresh(work, "case").with_name(
            f"case-{args.runs - 1}")), "items", "--json"],
                                 capture_output=True, text=True, check=True)
        for item in json.loads(listing.stdout):
            kinds[item["kind"]] += 1
        refused = Counter(f["error"].split(" (")[0] for f in report["failed"])  # type: ignore[union-attr]
        print(f"\nwhole data folder, median of {args.runs} runs:")
        print(row("sha256sum + cp -r (page cache only)", b))
        print(row("sha256sum + cp -r + sync (durable copy)", bs))
        print(row("vericount add (fsync, rows, metadata)", vc, None, f"peak RSS {rss_small:.0f} MB"))
        print(f"  ratio vericount / (sha256sum + cp):        {vc / b:.2f}x")
        print(f"  ratio vericount / (sha256sum + cp + sync): {vc / bs:.2f}x   (floor: <= 1.5x)")
        print(f"  items: {sum(kinds.values())} ({dict(kinds)}); also held under another name: "
              f"{len(report['known'])}; refused: {dict(refused)}; metadata failed: "  # type: ignore[arg-type]
              f"{len(report['metadata_failed'])}")  # type: ignore[arg-type]
        if args.big_gb > 0:
            big_dir = work / "big"
            big_dir.mkdir()
            big = big_dir / "big.mp4"
            make_big_video(big, args.big_gb, args.data / "video" / "hamilton_short.mp4")
            size = big.stat().st_size
            for old in [*work.glob("copy-*"), *work.glob("case-*")]:
                shutil.rmtree(old)
            bb = baseline([big], big_dir, fresh(work, "bigcopy"), sync=False)
            bbs = baseline([big], big_dir, fresh(work, "bigcopy"), sync=True)
            for old in work.glob("bigcopy-*"):
                shutil.rmtree(old)
            vb, rss_big, rep = ingest(big_dir, fresh(work, "bigcase"))
            print(f"\none generated video of {size / 1e9:.2f} GB:")
            print(row("sha256sum + cp (page cache only)", bb))
            print(row("sha256sum + cp + sync (durable copy)", bbs))
            print(row("vericount add", vb, None, f"peak RSS {rss_big:.0f} MB, "
                      f"{size / 1e6 / vb:.0f} MB/s"))
            print(f"  ratio vericount / (sha256sum + cp):        {vb / bb:.2f}x")
            print(f"  ratio vericount / (sha256sum + cp + sync): {vb / bbs:.2f}x")
            print(f"  peak memory: {rss_big:.0f} MB for {size / 1e9:.1f} GB vs {rss_small:.0f} MB "
                  "for the small files (constant: the file is streamed in 1 MiB chunks)")
            assert not rep["failed"] and not rep["metadata_failed"], rep
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
