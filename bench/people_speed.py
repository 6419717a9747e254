"""People stage speed and memory: the stage against bare model inference on the same frames, and peak memory
on a generated 10-minute video against a 1-minute one (it must not grow with length).

    python bench/people_speed.py [--data ../shared/data] [--minutes 10]

Speed: the stage's compute() on the videos of ../shared/data/video (the stage samples 4 frames a second)
against the bare inference those frames need (NanoDet-m and SSD on the frame and their tiles, CenterFace
every 0.5 s on the frame and in the small people's heads, the body and face embeddings of the tracks
found), timed on the same frames decoded beforehand. Then ms per 1080p frame (sampled at 1280 x 720) on 1
and 2 onnxruntime threads. The issue's floor: the stage costs at most 1.5x bare inference. Memory: peak
RSS of a child process running compute() on a generated clip (moving shapes on a textured background,
640 x 360, 10 fps) of 1 and of N minutes.
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
            people = fused.detect(image)  # the two models on the frame and their tiles, fused
            t = k / stage.sampler.fps
            if t >= next_face:
                next_face = t + stage.face_every
                faces.detect_in(image, [d.box for d in people], faces.detect(image))
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


def per_frame(path: Path) -> None:
    """ms per frame of a 1080p video as the stage samples it (1280 x 720): the two models on the frame and
    their tiles, fused and scored, and CenterFace on the frame and in the small people's heads (the stage
    does faces every other frame: half of it is counted), with onnxruntime on 1 and on 2 threads."""
    from vericount.people.detect import NanoDet
    from vericount.people.faces import FaceDetector
    from vericount.people.fuse import FusedDetector
    from vericount.people.score import CalibratedScore
    from vericount.people.ssd import SsdMobileNet
    from vericount.people.stage import PROPOSAL_SCORE, PeopleStage

    frames = [f.image for f in PeopleStage().sampler.frames(path, "video")]
    print(f"\n{path.name}: {len(frames)} frames of {frames[0].shape[1]} x {frames[0].shape[0]}")
    for threads in (1, 2):
        fused = FusedDetector([NanoDet(min_score=0.05, threads=threads),
                               SsdMobileNet(min_score=0.05, threads=threads)],
                              min_score=PROPOSAL_SCORE, scorer=CalibratedScore())
        faces = FaceDetector(threads=threads)
        fused.detect(frames[0])
        faces.detect(frames[0])
        spent = {"people": 0.0, "faces": 0.0}
        for image in frames:
            start = time.perf_counter()
            people = fused.detect(image)
            spent["people"] += time.perf_counter() - start
            start = time.perf_counter()
            faces.detect_in(image, [d.box for d in people], faces.detect(image))
            spent["faces"] += (time.perf_counter() - start) / 2
        ms = {k: 1000 * v / len(frames) for k, v in spent.items()}
        print(f"  {threads} thread(s): {ms['people'] + ms['faces']:.0f} ms a frame (detectors "
              f"{ms['people']:.0f}, faces {ms['faces']:.0f})")


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
    per_frame(video / "crowd_walking_1080p.mp4")
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
