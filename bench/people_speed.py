"""People stage speed and memory: the stage against bare model inference on the same frames, and peak memory
on a generated 10-minute video against a 1-minute one (it must not grow with length).

    python bench/people_speed.py [--data ../shared/data] [--minutes 10]

Speed: the stage's compute() on the videos of ../shared/data/video (the stage samples 4 frames a second)
against the bare inference those frames need (NanoDet-m and SSD on the frame and their tiles, CenterFace
every 0.5 s, the body and face embeddings of the tracks found), timed on the same frames decoded
beforehand. The issue's floor: the stage costs at most 1.5x bare inference. Memory: peak RSS of a child
process running compute() on a generated clip (moving shapes on a textured background, 640 x 360,
10 fps) of 1 and of N minutes.
"""

from __future__ import annotations

import argparse
import multiprocessing
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
DEFAULT_DATA = HERE.parent.parent / "shared" / "data"
sys.path.insert(0, str(HERE.parent / "src"))


def make_clip(path: Path, minutes: float) -> Path:
    import av

    rng = np.random.default_rng(0)
    background = rng.integers(0, 255, (360, 640, 3), dtype=np.uint8)
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=10)
        stream.width, stream.height, stream.pix_fmt = 640, 360, "yuv420p"
        stream.options = {"preset": "ultrafast"}
        for i in range(int(minutes * 60 * 10)):
            frame = background.copy()
            x = (i * 7) % 560
            frame[100:300, x:x + 60] = (200, 180, 160)  # a tall moving block
            video = av.VideoFrame.from_ndarray(frame, format="rgb24")
            video.pts = i
            out.mux(stream.encode(video))
        out.mux(stream.encode())
    return path


def _peak(path: str, queue: object) -> None:
    from vericount.people.stage import PeopleStage
    from vericount.run.stage import Task

    result = PeopleStage().compute(Task("x", "video", Path(path)))
    queue.put((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, result.frames))  # type: ignore[attr-defined]


def peak_rss(path: Path) -> tuple[float, int]:
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_peak, args=(str(path), queue))
    proc.start()
    value = queue.get()
    proc.join()
    return value


def speed(videos: list[Path]) -> None:
    from vericount.people.body import BodyEmbedder
    from vericount.people.faces import FaceDetector, FaceEmbedder
    from vericount.people.stage import PeopleStage, _bundled
    from vericount.run.stage import Task

    stage = PeopleStage()
    fused, faces = _bundled(), FaceDetector()
    body, face_embedder = BodyEmbedder(), FaceEmbedder()
    total_stage = total_bare = 0.0
    total_frames = 0
    print("| video | frames | stage s | bare inference s | ratio |")
    print("|---|--:|--:|--:|--:|")
    for path in videos:
        stage.compute(Task("w", "video", path))  # warm: models loaded, files cached
        start = time.perf_counter()
        result = stage.compute(Task("x", "video", path))
        stage_s = time.perf_counter() - start
        frames = [f.image for f in stage.sampler.frames(path, "video")]
        start = time.perf_counter()
        next_face = 0.0
        for k, image in enumerate(frames):
            for detector, tiler in zip(fused.detectors, fused.tilers, strict=True):
                tiler.detect(detector, image)
            t = k / stage.sampler.fps
            if t >= next_face:
                next_face = t + stage.face_every
                faces.detect(image)
        crops = [image[: image.shape[0] // 2, : image.shape[1] // 4] for _ in result.tracks]
        body.embed(crops)
        for track in result.tracks:
            if track.face_embedding is not None and track.face_box is not None:
                x0, y0, x1, y1 = track.face_box
                face_embedder.embed(frames[0], (0.0, 0.0, x1 - x0, y1 - y0))
        bare_s = time.perf_counter() - start
        total_stage += stage_s
        total_bare += bare_s
        total_frames += result.frames
        print(f"| {path.name} | {result.frames} | {stage_s:.2f} | {bare_s:.2f} | {stage_s / bare_s:.2f} |")
    ratio = total_stage / total_bare
    print(f"| all | {total_frames} | {total_stage:.2f} | {total_bare:.2f} | {ratio:.2f} |")
    print(f"\nstage {total_frames / total_stage:.1f} frames/s on one core; stage / bare inference "
          f"{ratio:.2f}x (floor <= 1.5: {'PASS' if ratio <= 1.5 else 'FAIL'})")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--minutes", type=float, default=10.0)
    args = ap.parse_args()
    video = args.data / "video"
    if not video.is_dir():
        print(f"bench/people_speed.py: {args.data} is absent; this benchmark reads ../shared/data")
        return 2
    print(f"$ python bench/people_speed.py {' '.join(sys.argv[1:])}\n")
    speed([video / "hamilton_short.mp4", video / "crowd_walking_1080p.mp4",
           video / "intel_gifs" / "classroom.gif"])
    with tempfile.TemporaryDirectory() as tmp:
        short = make_clip(Path(tmp) / "one.mp4", 1.0)
        long = make_clip(Path(tmp) / "long.mp4", args.minutes)
        rss_short, frames_short = peak_rss(short)
        rss_long, frames_long = peak_rss(long)
    print(f"\npeak RSS of compute(): 1-minute clip {rss_short:.0f} MB ({frames_short} frames), "
          f"{args.minutes:g}-minute clip {rss_long:.0f} MB ({frames_long} frames); growth "
          f"{rss_long - rss_short:+.0f} MB ({'flat' if rss_long - rss_short < 50 else 'GROWS'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
