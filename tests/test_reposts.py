"""The reposts stage: frame sampling, fingerprints, matching with alignment, decisions, groups, bad input.

Uses the bundled sample media (public domain) and copies made from them here.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageOps

from tests.conftest import Cli
from tests.mediagen import (
    make_audio_only,
    make_black_video,
    make_clip_from,
    make_two_shot_video,
    make_video,
    random_bytes,
    truncate,
)
from vericount.errors import DecodeError
from vericount.media.frames import Sampler, SampleStats
from vericount.reposts.fingerprint import Fingerprinter
from vericount.reposts.library import Library
from vericount.reposts.match import Hit, align

SAMPLES = Path(__file__).resolve().parent.parent / "samples" / "media"
HAMILTON = SAMPLES / "hamilton_short.mp4"


# -- sampling ----------------------------------------------------------------------------------------


def test_sampler_takes_rate_first_last_and_shot_frames(tmp_path: Path) -> None:
    video = make_two_shot_video(tmp_path / "cut.mp4", seconds=3.0, fps=10)
    stats = SampleStats()
    frames = list(Sampler(fps=1.0, skip_unneeded=False).frames(video, "video", stats))
    reasons = [(round(f.t, 1), f.reason) for f in frames]
    assert reasons[0] == (0.0, "first")
    assert (1.5, "shot") in reasons
    assert reasons[-1] == (2.9, "last")
    assert {t for t, r in reasons if r == "rate"} >= {1.0, 2.0}
    assert stats.decoded == 30
    assert stats.shots == [1.5]
    assert stats.duration == pytest.approx(3.0, abs=0.01)
    # skipping the B-frames no sample needs gives the very same frames, with fewer decoded
    fast_stats = SampleStats()
    fast = list(Sampler(fps=1.0).frames(video, "video", fast_stats))
    assert [(f.t, f.reason) for f in fast] == [(f.t, f.reason) for f in frames]
    assert all(np.array_equal(a.image, b.image) for a, b in zip(fast, frames, strict=True))
    assert fast_stats.decoded < stats.decoded and fast_stats.shots == [1.5]


def test_sampler_applies_rotation_and_bounds_size(tmp_path: Path) -> None:
    plain = make_video(tmp_path / "plain.mp4", size=(64, 48), seconds=0.5)
    turned = make_video(tmp_path / "turned.mp4", size=(64, 48), seconds=0.5, rotation=90)
    upright = next(Sampler().frames(plain, "video")).image
    rotated = next(Sampler().frames(turned, "video")).image
    assert upright.shape == (48, 64, 3)
    assert rotated.shape == (64, 48, 3)
    # rotation=90 means a player turns the picture 90 degrees clockwise
    expected = np.rot90(upright, k=-1)
    assert np.abs(rotated.astype(int) - expected.astype(int)).mean() < 6
    big = next(Sampler(max_side=32).frames(plain, "video")).image
    assert max(big.shape[:2]) == 32


def test_sampler_streams_long_videos_gifs_and_images(tmp_path: Path) -> None:
    gif = make_video(tmp_path / "anim.gif", seconds=2.0, fps=5)
    frames = list(Sampler().frames(gif, "video"))
    assert [round(f.t, 1) for f in frames] == [0.0, 1.0, 1.8]
    image = list(Sampler().frames(SAMPLES / "obama.jpg", "image"))
    assert len(image) == 1 and image[0].reason == "image" and max(image[0].image.shape[:2]) == 512


@pytest.mark.parametrize("maker", ["audio", "garbage", "empty"])
def test_sampler_refuses_what_has_no_frames(tmp_path: Path, maker: str) -> None:
    path = tmp_path / f"{maker}.mp4"
    if maker == "audio":
        make_audio_only(path)
    elif maker == "garbage":
        random_bytes(path)
    else:
        path.write_bytes(b"")
    with pytest.raises(DecodeError, match=rf"{maker}\.mp4"):
        list(Sampler().frames(path, "video"))


def test_truncated_video_keeps_what_decodes(tmp_path: Path) -> None:
    video = make_video(tmp_path / "long.mp4", seconds=4.0, size=(96, 64), fps=10)
    cut = truncate(video, 0.6)
    stats = SampleStats()
    try:
        frames = list(Sampler().frames(cut, "video", stats))
    except DecodeError as exc:  # an MP4 cut before its index: nothing to decode, said plainly
        assert "long-truncated.mp4" in str(exc)
        return
    assert 0 < stats.decoded < 40
    assert frames


# -- fingerprints ------------------------------------------------------------------------------------


def test_borders_are_trimmed_and_flat_frames_dropped(tmp_path: Path) -> None:
    fingerprinter = Fingerprinter()
    picture = np.asarray(Image.open(SAMPLES / "obama.jpg").convert("RGB").resize((200, 250)))
    boxed = np.zeros((300, 533, 3), np.uint8)
    boxed[25:275, 166:366] = picture
    top, bottom, left, right = fingerprinter.content_box(boxed)
    near = 533 / 128 + 1  # found on a thumbnail 128 pixels wide: within one of its pixels
    assert abs(top - 25) <= near and abs(bottom - 275) <= near
    assert abs(left - 166) <= near and abs(right - 366) <= near
    black = make_black_video(tmp_path / "black.mp4", seconds=2.0)
    fp = fingerprinter.fingerprint(black, "video")
    assert len(fp.times) >= 2 and fp.dropped == len(fp.times)


def test_fingerprint_round_trips_through_bytes() -> None:
    fp = Fingerprinter().fingerprint(SAMPLES / "obama.jpg", "image")
    back = type(fp).from_bytes(fp.to_bytes(), kind=fp.kind, duration=fp.duration, decoded=fp.decoded,
                               shots=fp.shots, min_quality=fp.min_quality)
    assert np.array_equal(back.hashes, fp.hashes) and np.array_equal(back.descriptors, fp.descriptors)
    assert fp.hashes.shape == (1, 8, 32) and len(fp.descriptors) > 50


def _library(paths: dict[str, tuple[Path, str]]) -> Library:
    library = Library()
    fingerprinter = Fingerprinter()
    for name, (path, kind) in paths.items():
        library.add(name, fingerprinter.fingerprint(path, kind))
    return library


def _save(image: Image.Image, path: Path) -> Path:
    image.save(path, quality=80)
    return path


def test_image_copies_match_and_other_photos_do_not(tmp_path: Path) -> None:
    photo = Image.open(SAMPLES / "obama.jpg").convert("RGB")
    w, h = photo.size
    copies = {
        "mirror": _save(ImageOps.mirror(photo), tmp_path / "mirror.jpg"),
        "rotated": _save(photo.rotate(90, expand=True), tmp_path / "rotated.jpg"),
        "crop25": _save(photo.crop((int(w * 0.2), 0, w, int(h * 0.8))), tmp_path / "crop.jpg"),
        "small": _save(photo.resize((w // 4, h // 4)), tmp_path / "small.jpg"),
    }
    captioned = photo.copy()
    draw = ImageDraw.Draw(captioned)
    draw.rectangle((0, int(h * 0.85), w, h), fill=(0, 0, 0))
    draw.text((20, int(h * 0.88)), "BREAKING: surrender footage", fill=(255, 255, 255))
    copies["caption"] = _save(captioned, tmp_path / "caption.jpg")
    items = {"original": (SAMPLES / "obama.jpg", "image"), "other": (SAMPLES / "biden.jpg", "image"),
             "same person": (SAMPLES / "obama2.jpg", "image")}
    items.update({name: (path, "image") for name, path in copies.items()})
    library = _library(items)
    found = {frozenset((f.a, f.b)): f for f in library.match("original")}
    for name in copies:
        assert frozenset(("original", name)) in found, name
        assert found[frozenset(("original", name))].state(library.params) == "confirmed", name
    assert frozenset(("original", "other")) not in found
    assert frozenset(("original", "same person")) not in found


def test_video_excerpt_is_aligned_and_image_is_frame_of(tmp_path: Path) -> None:
    excerpt = make_clip_from(HAMILTON, tmp_path / "excerpt.mp4", start=3.0, end=6.0,
                             transform=ImageOps.mirror, size=(320, 180))
    still = tmp_path / "still.jpg"
    frames = list(Sampler(fps=1.0).frames(HAMILTON, "video"))
    Image.fromarray(next(f for f in frames if f.t >= 5.0).image).save(still)
    other = make_video(tmp_path / "other.mp4", seconds=3.0, size=(160, 120))
    library = _library({"full": (HAMILTON, "video"), "excerpt": (excerpt, "video"),
                        "still": (still, "image"), "other": (other, "video")})
    found = {frozenset((f.a, f.b)): f for f in library.match("full")}
    cut = found[frozenset(("full", "excerpt"))]
    assert (cut.a, cut.b, cut.type) == ("excerpt", "full", "excerpt")
    assert cut.state(library.params) == "confirmed"
    assert cut.b_segment is not None and cut.a_segment is not None
    assert 2.5 <= cut.b_segment[0] <= 4.0 and 5.0 <= cut.b_segment[1] <= 6.5
    assert cut.speed == pytest.approx(1.0, abs=0.1)
    frame = found[frozenset(("full", "still"))]
    assert (frame.a, frame.b, frame.type) == ("still", "full", "frame_of")
    assert frame.b_segment is not None and 4.0 <= frame.b_segment[0] <= 6.0
    assert frozenset(("full", "other")) not in found


def _fixed_camera(path: Path, seconds: float, walkers: list[tuple[float, float, tuple[int, int, int]]],
                  start: float = 0.0) -> Path:
    """A fixed camera on a textured room (the same background in every clip made here): each walker crosses
    it at a height (share of the frame), speed (pixels a second) and colour; ``start`` shifts their clocks,
    so two clips with different starts show the same room at different moments."""
    import av

    rng = np.random.default_rng(7)
    room = np.repeat(np.repeat(rng.integers(30, 220, (45, 80, 3), dtype=np.uint8), 8, axis=0), 8, axis=1)
    room = np.asarray(Image.fromarray(room).resize((640, 360)), np.uint8)
    fps = 10
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = 640, 360, "yuv420p"
        for k in range(int(seconds * fps)):
            t = start + k / fps
            frame = room.copy()
            for n, (height, speed, colour) in enumerate(walkers):
                x = int((40 + speed * t + 170 * n) % 700) - 60
                y = int(height * 360)
                body = np.zeros((120, 50, 3), np.uint8)
                body[:] = colour
                body[::6] = 255 - np.asarray(colour, np.uint8)  # stripes: features that move with them
                x0, x1 = max(0, x), min(640, x + 50)
                if x1 > x0:
                    frame[y:y + 120, x0:x1] = body[:, x0 - x:x1 - x]
            video = av.VideoFrame.from_ndarray(frame, format="rgb24")
            video.pts = k
            out.mux(stream.encode(video))
        out.mux(stream.encode())
    return path


def test_the_same_place_at_another_moment_is_never_confirmed(tmp_path: Path) -> None:
    """Two stretches of one fixed camera, a minute apart with other people passing, match frame for frame
    on the room: at most a suggestion. A re-encoded, downscaled copy of the first shares its moments (the
    walkers where they were) and is confirmed."""
    walkers = [(0.4, 60.0, (200, 40, 40)), (0.55, 45.0, (40, 40, 200))]
    first = _fixed_camera(tmp_path / "first.mp4", 12.0, walkers)
    later = _fixed_camera(tmp_path / "later.mp4", 12.0, [(0.3, 80.0, (40, 160, 40))], start=70.0)
    copy = make_clip_from(first, tmp_path / "copy.mp4", size=(480, 270))
    library = _library({"first": (first, "video"), "later": (later, "video"), "copy": (copy, "video")})
    found = {frozenset((f.a, f.b)): f for f in library.match("first")}
    same = found[frozenset(("first", "copy"))]
    assert same.state(library.params) == "confirmed" and isinstance(same.evidence["moments"], dict)
    place = found[frozenset(("first", "later"))]  # the room alone (0.97 without the check): for a person
    assert place.state(library.params) == "suggested"
    assert str(place.evidence["moments"]).startswith("not shown")


def test_alignment_recovers_speed_and_offset() -> None:
    hits = [Hit(t, 0.8 * t + 2.0, 0.9, "pdq", 10) for t in np.arange(0, 10, 1.0)]
    hits += [Hit(3.0, 40.0, 0.9, "pdq", 10), Hit(7.0, 1.0, 0.7, "pdq", 40)]  # stray hits
    speed, inliers = align(hits)
    assert speed == pytest.approx(0.8, abs=0.02)
    assert len(inliers) == 10


# -- the stage, decisions and groups in a case ---------------------------------------------------------


def _reposts(cli: Cli, *extra: str) -> dict[str, object]:
    result = cli("reposts", "--json", *extra)
    assert result.exit_code in (0, 1), result.output
    return json.loads(result.stdout)


def test_reposts_in_a_case(cli: Cli, tmp_path: Path) -> None:
    media = tmp_path / "media"
    media.mkdir()
    make_clip_from(HAMILTON, media / "excerpt.mp4", start=2.0, end=6.0, size=(256, 144))
    Image.open(SAMPLES / "obama.jpg").transpose(Image.Transpose.FLIP_LEFT_RIGHT).save(media / "flip.jpg")
    for name in ("hamilton_short.mp4", "obama.jpg", "biden.jpg"):
        (media / name).write_bytes((SAMPLES / name).read_bytes())
    make_audio_only(media / "sound.mp4")
    make_black_video(media / "black.mp4")
    assert cli("add", str(media)).exit_code == 0
    ids = {name: json.loads(cli("show", name, "--json").stdout)["id"]
           for name in ("excerpt.mp4", "flip.jpg", "hamilton_short.mp4", "obama.jpg", "biden.jpg",
                        "sound.mp4", "black.mp4")}
    out = _reposts(cli)
    assert [f["item"] for f in out["failed"]] == [ids["sound.mp4"]]  # type: ignore[index]
    assert "no video stream" in out["failed"][0]["error"]  # type: ignore[index]
    assert any(w["item"] == ids["black.mp4"] and "too flat" in w["warning"]  # type: ignore[index]
               for w in out["warnings"])  # type: ignore[union-attr]
    groups = {frozenset(g["members"]) for g in out["groups"]}  # type: ignore[index,union-attr]
    assert groups == {frozenset((ids["excerpt.mp4"], ids["hamilton_short.mp4"])),
                      frozenset((ids["flip.jpg"], ids["obama.jpg"]))}
    excerpt = next(m for m in out["matches"] if m["type"] == "excerpt")  # type: ignore[union-attr]
    assert excerpt["a"] == ids["excerpt.mp4"] and excerpt["state"] == "confirmed"
    assert 1.5 <= excerpt["b_segment"][0] <= 3.0 and 5.0 <= excerpt["b_segment"][1] <= 6.5

    # nothing new: nothing fingerprinted or matched again
    again = cli("reposts")
    assert "fingerprinted 0 item(s)" in again.stdout and "matched 0 new item(s)" in again.stdout

    # a person rejects a machine match: it stays rejected when matching runs again with new settings
    rejected = cli("match", "reject", "flip.jpg", "obama.jpg", "--reason", "different crop of event")
    assert rejected.exit_code == 0, rejected.output
    rerun = _reposts(cli, "--high", "0.85")
    pair = next(m for m in rerun["matches"] if {m["a"], m["b"]} == {ids["flip.jpg"], ids["obama.jpg"]})  # type: ignore[union-attr]
    assert pair["state"] == "rejected" and pair["decided_by"] == "tester"
    assert len(rerun["groups"]) == 1  # type: ignore[arg-type]

    # a person confirms a pair the matcher did not find
    assert cli("match", "confirm", "biden.jpg", "obama.jpg").exit_code == 0
    listed = json.loads(cli("matches", "obama.jpg", "--json").stdout)
    states = {(m["a"], m["b"]): (m["state"], m["type"]) for m in listed["matches"]}
    assert states[(ids["biden.jpg"], ids["obama.jpg"])] == ("confirmed", "overlap")
    log = cli("log", "--action", "match.reject").stdout
    assert "match.reject" in log and "reason=different crop" in log
    assert cli("match", "reject", "biden.jpg", "obama.jpg").exit_code == 2  # --reason is required
    same = cli("match", "confirm", "biden.jpg", "biden.jpg")
    assert same.exit_code == 1 and "same item" in same.stderr


def test_only_new_items_are_matched(cli: Cli, tmp_path: Path) -> None:
    first = tmp_path / "first"
    first.mkdir()
    (first / "obama.jpg").write_bytes((SAMPLES / "obama.jpg").read_bytes())
    (first / "biden.jpg").write_bytes((SAMPLES / "biden.jpg").read_bytes())
    cli("add", str(first))
    assert "matched 2 new item(s)" in cli("reposts").stdout
    later = tmp_path / "later"
    later.mkdir()
    Image.open(SAMPLES / "biden.jpg").convert("L").save(later / "grey.jpg")
    cli("add", str(later))
    out = cli("reposts").stdout
    assert "fingerprinted 1 item(s)" in out and "matched 1 new item(s): 1 confirmed" in out


def test_the_library_is_kept_between_runs(cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A run indexes only what is new: the library of the items matched before comes from the case's
    derived/ folder, not from every fingerprint again; when it no longer fits (its files gone, other
    settings) it is built anew, with the same result."""
    from vericount.reposts import library as library_module

    media = tmp_path / "media"
    media.mkdir()
    for name in ("obama.jpg", "biden.jpg", "obama2.jpg"):
        (media / name).write_bytes((SAMPLES / name).read_bytes())
    cli("add", str(media))
    assert cli("reposts").exit_code == 0
    kept = cli.case_dir / "derived" / "reposts" / "library"
    assert sorted(json.loads((kept / "manifest.json").read_text())["ids"]) == sorted(
        json.loads(cli("items", "--json").stdout)[k]["id"] for k in range(3))
    added: list[bool] = []
    real_add = library_module.Library.add
    monkeypatch.setattr(library_module.Library, "add", lambda self, item_id, fp, keep=True: (
        added.append(keep), real_add(self, item_id, fp, keep)))
    later = tmp_path / "later"
    later.mkdir()
    Image.open(SAMPLES / "biden.jpg").convert("L").save(later / "grey.jpg")
    cli("add", str(later))
    assert "matched 1 new item(s): 1 confirmed" in cli("reposts").stdout
    assert added == [True]  # only the new one; nothing re-indexed
    assert len(json.loads((kept / "manifest.json").read_text())["ids"]) == 4
    for path in kept.iterdir():
        path.unlink()  # the cache gone: the next run builds it again, and finds the same
    Image.open(SAMPLES / "obama.jpg").convert("RGB").resize((300, 375)).save(later / "small.jpg")
    cli("add", str(later / "small.jpg"))
    added.clear()
    assert "matched 1 new item(s): 1 confirmed" in cli("reposts").stdout
    assert sorted(added) == [False, False, False, False, True]


def test_a_large_library_finds_what_the_flat_index_finds(monkeypatch: pytest.MonkeyPatch, tmp_path: Path
                                                         ) -> None:
    """Past PDQ_MULTI_FROM hashes and DESC_MULTI_FROM descriptors the library searches multi-index hashes
    (lowered here so a few photos cross them); saved and loaded, and after an item added to what was loaded
    (merged into the tables), it still finds the copies of a photo, and not another photo."""
    from vericount.reposts import library as library_module
    from vericount.reposts.multihash import MultiIndex

    monkeypatch.setattr(library_module, "PDQ_MULTI_FROM", 2)
    monkeypatch.setattr(library_module, "DESC_MULTI_FROM", 500)
    photo = Image.open(SAMPLES / "obama.jpg").convert("RGB")
    w, h = photo.size
    items = {"original": (SAMPLES / "obama.jpg", "image"), "other": (SAMPLES / "biden.jpg", "image"),
             "group": (SAMPLES / "obama_and_biden.jpg", "image"),
             "crop": (_save(photo.crop((int(w * 0.2), 0, w, int(h * 0.8))), tmp_path / "crop.jpg"), "image"),
             "mirror": (_save(ImageOps.mirror(photo), tmp_path / "mirror.jpg"), "image")}
    library = _library(items)
    assert isinstance(library._pdq, MultiIndex) and isinstance(library._desc, MultiIndex)
    library.save(tmp_path / "kept", "stamp")
    assert not list((tmp_path / "kept").glob("*.faiss"))
    prints = {name: library.fingerprint(name) for name in items}
    again = Library.load(tmp_path / "kept", "stamp", library.params, lambda ids: {i: prints[i] for i in ids})
    assert again is not None and Library.load(tmp_path / "kept", "other", library.params, dict) is None
    assert isinstance(again._pdq, MultiIndex) and again._desc.ntotal == library._desc.ntotal
    scaled = _save(photo.resize((w // 2, h // 2)), tmp_path / "scaled.jpg")
    again.add("scaled", Fingerprinter().fingerprint(scaled, "image"))
    for lib, copies in ((library, {"crop", "mirror"}), (again, {"crop", "mirror", "scaled"})):
        found = {frozenset((f.a, f.b)): f for f in lib.match("original")}
        assert copies <= {next(iter(k - {"original"})) for k in found}
        assert frozenset(("original", "other")) not in found


def test_the_multi_index_finds_every_code_within_its_exact_distance(tmp_path: Path) -> None:
    """Generated codes with copies of the queries planted at known distances: the multi-index finds every copy
    within its exact distance (as a flat scan does, with the same distances), after codes merged into its
    tables and after it is saved and loaded; it finds nothing a flat scan does not."""
    import faiss

    from vericount.reposts.multihash import MultiIndex

    rng = np.random.default_rng(0)
    stored = rng.integers(0, 256, (20_000, 32), dtype=np.uint8)
    queries = rng.integers(0, 256, (50, 32), dtype=np.uint8)
    planted = []
    for bits in (0, 5, 15, 31, 40, 60):
        for query in queries:
            copy = np.unpackbits(query)
            copy[rng.choice(256, bits, replace=False)] ^= 1
            planted.append(np.packbits(copy))
    index = MultiIndex(1, stored)
    index.add(np.asarray(planted[:100]))
    index.range_search(queries[:1], 10)  # builds the tables
    index.add(np.asarray(planted[100:]))  # merged into them at the next search
    assert index.tables == 16 and index.exact == 31
    flat = faiss.IndexBinaryFlat(256)
    flat.add(np.concatenate([stored, np.asarray(planted)]))
    want_lims, want_dist, want_rows = flat.range_search(queries, 65)
    index.save(tmp_path / "desc")
    for searched in (index, MultiIndex.load(tmp_path / "desc", 1)):
        lims, dist, rows = searched.range_search(queries, 65)
        for q in range(len(queries)):
            got = set(zip(rows[lims[q]:lims[q + 1]].tolist(), dist[lims[q]:lims[q + 1]].tolist(),
                          strict=True))
            want = set(zip(want_rows[want_lims[q]:want_lims[q + 1]].tolist(),
                           want_dist[want_lims[q]:want_lims[q + 1]].tolist(), strict=True))
            assert got <= want
            assert {(row, d) for row, d in want if d <= searched.exact} <= got
            assert {len(stored) + k * len(queries) + q for k in range(4)} <= {row for row, _ in got}


def test_grey_frames_read_from_the_luma_plane_match_swscale(monkeypatch: pytest.MonkeyPatch,
                                                              tmp_path: Path) -> None:
    """Grey frames are the Y plane scaled by area and stretched to full range: within a few grey levels of
    swscale's grey conversion (which they replace for speed), upright and at the same size."""
    from vericount.media import frames as frames_module

    video = make_video(tmp_path / "v.mp4", seconds=1.0, fps=10, size=(640, 360))
    grey = Sampler(fps=4, max_side=384, grey=True)
    fast = [f.image for f in grey.frames(video, "video")]
    monkeypatch.setattr(frames_module, "_LUMA_8BIT", frozenset())
    slow = [f.image for f in grey.frames(video, "video")]
    assert len(fast) == len(slow) >= 4
    for a, b in zip(fast, slow, strict=True):
        assert a.shape == b.shape == (216, 384) and a.dtype == np.uint8
        assert np.abs(a.astype(int) - b).mean() < 3.0
        assert a.min() < 40 and a.max() > 215  # full range, as swscale gives


def test_sampler_single_frame_vfr_and_8k(tmp_path: Path) -> None:
    one = make_video(tmp_path / "one.mp4", seconds=0.1, fps=10)
    frames = list(Sampler().frames(one, "video"))
    assert [(f.t, f.reason) for f in frames] == [(0.0, "first")]
    vfr = make_video(tmp_path / "vfr.mkv", seconds=3.0, fps=10, vfr=True)
    times = [f.t for f in Sampler().frames(vfr, "video")]
    assert times == sorted(times) and times[0] == 0.0
    assert all(b - a <= 1.0 + 0.151 for a, b in itertools.pairwise(times))  # 150 ms: longest gap
    huge = make_video(tmp_path / "8k.mp4", seconds=0.1, fps=10, size=(7680, 4320))
    (frame,) = Sampler().frames(huge, "video")
    assert frame.image.shape == (288, 512, 3)
