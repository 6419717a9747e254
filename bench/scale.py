"""Issue 22's benchmarks: vericount at team scale. Three sections, each printing its figures:

    python bench/scale.py [executors] [costs] [index] [desk] [--items 200] [--pg URL]

1. executors: the same stage (reposts: fingerprinting, the first stage every clip goes through) over the same
   200 generated items (3-second 320x240 clips of moving shapes, each its own; a case on SQLite in a
   temporary folder, the items added once and the case copied), with the local executor (2 worker
   processes) and with Ray (a local Ray head with 2 CPUs, started before the clock starts, as a cluster
   is). Printed: both wall times, the overhead ratio (floor: Ray within 1.3x of local on one machine), Ray's
   start, and the per-task overhead (the difference per item; and, apart, a no-op function over the same
   number of tasks, chunked as a stage's are). Ray binds to the machine's network interface unless it has
   none: this section runs itself again inside a network namespace with only loopback (`unshare -n`, as
   root), so nothing it sends leaves the machine.
2. costs: what each stage costs per minute of video, for docs/scale.md's sums: the three clips of
   ../shared/data/video (4 s at 1080p, 10 s at 640x360, 139 s at 768x432) added to a case, then each stage
   on each clip in this process (the serial executor), timed in CPU seconds (all of the process's threads)
   and wall seconds. Printed per stage and clip: CPU seconds per minute of video.
3. index: bench/scale_index.py (repost matching with 1,000,000 stored frame hashes and 10,000,000
   descriptors; its own docstring says what it generates and prints).
4. desk: bench/desk.py on PostgreSQL (--pg URL, default the test server's) with 100,000 items, 500,000
   tracks and 20 clients, `serve --workers 2`, twice: each client sending its next request at once, then
   pausing 2 s on average between requests as a reviewer reads (its own docstring says what it measures).
With no section named, all four run.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))

IN_NAMESPACE = "VERICOUNT_BENCH_NETNS"
DEFAULT_PG = "postgresql://vericount:vericount@127.0.0.1:5432/postgres"


def make_clip(path: Path, seed: int, seconds: float = 3.0, fps: int = 10) -> None:
    """A clip of its own: shapes of seeded colours and places drifting across a seeded background."""
    import av
    import numpy as np
    from PIL import Image, ImageDraw

    rng = np.random.default_rng(seed)
    width, height = 320, 240
    shapes = [(int(rng.integers(0, width)), int(rng.integers(0, height)), int(rng.integers(12, 60)),
               tuple(int(c) for c in rng.integers(0, 256, 3)), int(rng.integers(-4, 5)),
               int(rng.integers(-4, 5))) for _ in range(12)]
    background = tuple(int(c) for c in rng.integers(0, 256, 3))
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for k in range(int(seconds * fps)):
            image = Image.new("RGB", (width, height), background)
            draw = ImageDraw.Draw(image)
            for x, y, r, colour, dx, dy in shapes:
                cx, cy = (x + dx * k) % width, (y + dy * k) % height
                draw.rectangle((cx - r, cy - r // 2, cx + r, cy + r // 2), fill=colour)
                draw.ellipse((cx - r // 3, cy - r // 3, cx + r // 3, cy + r // 3), fill=colour[::-1])
            frame = av.VideoFrame.from_image(image)
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)


def _noop(task: int) -> int:
    return task


def executors(items: int) -> None:
    """Section 1 (inside the namespace)."""
    from vericount.case import Case
    from vericount.ingest import add
    from vericount.reposts.stage import RepostsStage
    from vericount.run.executors import LocalExecutor, SerialExecutor
    from vericount.run.ray_executor import RayExecutor
    from vericount.run.runner import run_stage

    work = Path(tempfile.mkdtemp(prefix="vericount-scale-"))
    try:
        media = work / "media"
        media.mkdir()
        start = time.perf_counter()
        for k in range(items):
            make_clip(media / f"clip{k:04d}.mp4", seed=k)
        made = time.perf_counter() - start
        case = Case.create(work / "local", None, actor="bench")
        report = add(case, sorted(media.iterdir()), SerialExecutor())
        assert not report.failed, report.failed
        case.close()
        shutil.copytree(work / "local", work / "ray")
        print(f"{items} generated clips (3 s, 320x240, 10 fps; made in {made:.0f} s), "
              "added to a case on SQLite")

        import ray

        start = time.perf_counter()
        ray_executor = RayExecutor(jobs=2)
        ray_executor.connect()
        ray_start = time.perf_counter() - start
        print(f"Ray {ray.__version__}: a local head with 2 CPUs started in {ray_start:.1f} s "
              f"(node address {ray.util.get_node_ip_address()})")

        timings: dict[str, float] = {}
        for name, executor in (("local", LocalExecutor(jobs=2)), ("ray", ray_executor)):
            with Case.open(work / name, actor="bench") as case:
                start = time.perf_counter()
                done = run_stage(case, RepostsStage(), executor)
                timings[name] = time.perf_counter() - start
                assert len(done.done) == items and not done.failed, (name, done.failed[:3])
            print(f"  reposts stage, {name:5s} executor, 2 workers: {timings[name]:6.1f} s "
                  f"({timings[name] / items * 1000:.0f} ms per item)")
        same = _same_fingerprints(work / "local", work / "ray")
        ratio = timings["ray"] / timings["local"]
        per_task = (timings["ray"] - timings["local"]) / items
        print(f"  overhead ratio Ray / local: {ratio:.2f} (floor <= 1.3); per item "
              f"{per_task * 1000:+.1f} ms; fingerprints identical: {same}")

        tasks = list(range(items))
        for name, executor in (("local", LocalExecutor(jobs=2)), ("ray", ray_executor)):
            start = time.perf_counter()
            assert len(list(executor.run(_noop, tasks))) == items
            seconds = time.perf_counter() - start
            print(f"  a no-op function over the {items} tasks, {name:5s}: {seconds:.2f} s, "
                  f"{seconds / items * 1000:.1f} ms per task (local: a new pool of 2 included)")
        ray.shutdown()
    finally:
        shutil.rmtree(work, ignore_errors=True)


VIDEOS = ROOT.parent / "shared" / "data" / "video"


def costs() -> None:
    """Section 2."""
    from vericount.case import Case
    from vericount.ingest import add
    from vericount.people.stage import PeopleStage
    from vericount.reposts.stage import RepostsStage
    from vericount.run.executors import SerialExecutor
    from vericount.run.runner import run_stage, task_for
    from vericount.store.schema import Item
    from vericount.text import whisper

    def case_item(case: Case, item_id: str) -> Item:
        with case.reading() as s:
            item = s.get(Item, item_id)
            assert item is not None
            return item
    from vericount.text.ocr import OcrStage
    from vericount.text.speech import SpeechStage

    clips = sorted(VIDEOS.glob("*.mp4"))
    if not clips:
        sys.exit(f"no clips in {VIDEOS}")
    work = Path(tempfile.mkdtemp(prefix="vericount-costs-"))
    try:
        case = Case.create(work / "case", None, actor="bench")
        cpu, wall = time.process_time(), time.perf_counter()
        report = add(case, clips, SerialExecutor())
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        minutes_all = 0.0
        ids: dict[str, tuple[str, float]] = {}
        silent: set[str] = set()
        with case.reading() as s:
            for item in s.query(Item):
                meta = item.media_meta or {}
                seconds = float(meta.get("duration_s") or 0.0)
                ids[item.id] = (next(c.name for c in clips if c.stat().st_size == item.size), seconds)
                if not meta.get("audio_streams"):
                    silent.add(item.id)
                minutes_all += seconds / 60
        assert not report.failed, report.failed
        print(f"{len(clips)} clips, {minutes_all * 60:.0f} s of video; ingest (hash, store, probe): "
              f"{cpu / minutes_all:.1f} CPU s per minute of video ({wall:.1f} s wall in all)")
        stages: list[Any] = [RepostsStage(), PeopleStage(), OcrStage()]
        if whisper.installed():
            stages.append(SpeechStage())
        names = [ids[i][0] for i in sorted(ids, key=lambda i: ids[i][0])]
        print(f"  {'stage':8s} " + " ".join(f"{n[:22]:>24s}" for n in names) + "   all clips")
        for stage in stages:
            row, total_cpu, total_minutes = [], 0.0, 0.0
            first = min(ids, key=lambda i: ids[i][1])
            with contextlib.suppress(Exception):  # load the models: a worker does it once, not per clip
                stage.compute(task_for(case, case_item(case, first)))
            for item_id in sorted(ids, key=lambda i: ids[i][0]):
                minutes = ids[item_id][1] / 60
                if stage.name == "speech" and item_id in silent:
                    row.append(f"{'no audio':>24s}")
                    continue
                cpu = time.process_time()
                done = run_stage(case, stage, SerialExecutor(), only=[item_id])
                cpu = time.process_time() - cpu
                if done.failed or not done.done:
                    row.append(f"{'-':>24s}")  # not for this clip (speech: no audio stream)
                    continue
                total_cpu, total_minutes = total_cpu + cpu, total_minutes + minutes
                row.append(f"{cpu / minutes:>17.1f} CPU s")
            per_minute = total_cpu / max(total_minutes, 1e-9)
            print(f"  {stage.name:8s} " + " ".join(row) + f"   {per_minute:.1f} CPU s")
        print("  (CPU seconds per minute of video, each stage's models loaded before the clock starts)")
        case.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _same_fingerprints(a: Path, b: Path) -> bool:
    from sqlalchemy import select

    from vericount.case import Case
    from vericount.store.schema import FingerprintRow

    found: list[dict[str, str]] = []
    for root in (a, b):
        with Case.open(root, actor="bench") as case, case.reading() as s:
            found.append({row.item_id: hashlib.sha256(row.data).hexdigest()
                          for row in s.scalars(select(FingerprintRow))})
    return found[0] == found[1]


def in_namespace(args: list[str]) -> int:
    """Run this script's executors section again inside a network namespace with only loopback."""
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        sys.exit("the executors section needs root for `unshare -n` "
                 "(Ray would talk over the network otherwise)")
    env = dict(os.environ, **{IN_NAMESPACE: "1"})
    script = 'ip link set lo up && exec "$@"'
    return subprocess.call(["unshare", "--net", "--", "sh", "-c", script, "sh", sys.executable, __file__,
                            "executors", *args], env=env)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("sections", nargs="*", metavar="SECTION",
                        help="executors, costs, index, desk (default: all)")
    parser.add_argument("--items", type=int, default=200)
    parser.add_argument("--pg", default=os.environ.get("VERICOUNT_TEST_PG", DEFAULT_PG))
    args = parser.parse_args()
    sections = args.sections or ["executors", "costs", "index", "desk"]
    unknown = set(sections) - {"executors", "costs", "index", "desk"}
    if unknown:
        parser.error(f"unknown section(s): {', '.join(sorted(unknown))}")
    if os.environ.get(IN_NAMESPACE):
        executors(args.items)
        return
    print("$ python " + " ".join([str(Path(sys.argv[0])), *sys.argv[1:]]))
    code = 0
    if "executors" in sections:
        print("\n1. The same stage through the local executor and through Ray, on this machine")
        sys.stdout.flush()
        code |= in_namespace(["--items", str(args.items)])
    if "costs" in sections:
        print("\n2. What each stage costs per minute of video (../shared/data/video)")
        sys.stdout.flush()
        costs()
    if "index" in sections:
        print("\n3. Repost matching at 1,000,000 frame hashes and 10,000,000 descriptors "
              "(bench/scale_index.py)")
        code |= subprocess.call([sys.executable, str(HERE / "scale_index.py")])
    if "desk" in sections:
        print("\n4. The desk on PostgreSQL: 100,000 items, 500,000 tracks, 20 clients (bench/desk.py)")
        code |= subprocess.call([sys.executable, str(HERE / "desk.py"), "--db", args.pg, "--items", "100000",
                                 "--tracks", "5", "--clients", "20", "--workers", "2", "--pace", "0",
                                 "--pace", "2"])
    sys.exit(code)


if __name__ == "__main__":
    main()
