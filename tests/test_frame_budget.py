"""The frame sampler's per-item budget: a small file that decodes into a very long animation (a GIF of many
one-pixel frames) is sampled only so far, and the item says so in both stages that use the sampler."""

from __future__ import annotations

import json
import time
from dataclasses import replace
from pathlib import Path

import pytest

from vericount.case import Case
from vericount.media.frames import MAX_DECODE_SECONDS, MAX_FRAMES, Sampler, SampleStats
from vericount.run.executors import SerialExecutor

from . import mediagen as mg
from .conftest import Cli


@pytest.fixture(scope="module")
def long_gif(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """3,000 frames of 1 cs each: 30 seconds of animation in about 70 KB."""
    return mg.make_many_frame_gif(tmp_path_factory.mktemp("gif") / "long.gif", frames=3000)


def test_the_frame_budget_stops_decoding_and_says_how_far(long_gif: Path) -> None:
    assert long_gif.stat().st_size < 80_000
    stats = SampleStats()
    frames = list(Sampler(fps=2.0, max_frames=500).frames(long_gif, "video", stats))
    assert stats.decoded == 500
    assert stats.budget == ("sampled only the first 0:05 of 0:30 (500 frames decoded): the per-item "
                            "budget of 500 decoded frames")
    assert stats.warnings == [stats.budget]
    assert frames[-1].index == 499 and frames[-1].t < 5.0  # the last frame decoded is still sampled
    assert [f.t for f in frames[:-1]] == pytest.approx([i * 0.5 for i in range(10)])

    whole = SampleStats()
    everything = list(Sampler(fps=2.0).frames(long_gif, "video", whole))
    assert whole.decoded == 3000 and whole.budget is None and whole.warnings == []
    assert everything[-1].t == pytest.approx(29.99)


def test_the_time_budget_counts_decoding_not_the_consumers_work(long_gif: Path) -> None:
    stats = SampleStats()
    list(Sampler(fps=2.0, max_decode_seconds=0.05).frames(long_gif, "video", stats))
    assert stats.budget is not None and stats.budget.endswith("the per-item budget of 0.05 s of decoding")
    assert 0 < stats.decoded < 3000

    short = mg.make_many_frame_gif(long_gif.with_name("short.gif"), frames=300)  # 3 s
    slow = SampleStats()
    started = time.perf_counter()
    for _ in Sampler(fps=10.0, max_decode_seconds=1.0).frames(short, "video", slow):
        time.sleep(0.05)  # a stage's work on each of the ~31 frames: 1.5 s, not decoding
    assert time.perf_counter() - started > 1.0
    assert slow.budget is None and slow.decoded == 300


def test_the_budget_is_a_parameter_of_both_stages_and_its_defaults() -> None:
    from vericount.people.stage import PeopleStage
    from vericount.reposts.stage import RepostsStage

    for params in (RepostsStage().params()["sampler"], PeopleStage().params()["sampler"]):
        assert (params["max_frames"], params["max_decode_seconds"]) == (MAX_FRAMES, MAX_DECODE_SECONDS)
    assert (MAX_FRAMES, MAX_DECODE_SECONDS) == (50_000, 300.0)


def test_both_stages_record_the_budget_note_on_the_item(cli: Cli, case: Case, long_gif: Path) -> None:
    from vericount.people.stage import PeopleStage
    from vericount.reposts.fingerprint import Fingerprinter
    from vericount.reposts.service import run_reposts
    from vericount.reposts.stage import RepostsStage
    from vericount.run.runner import run_stage

    assert cli("add", str(long_gif)).exit_code == 0
    fingerprinter = Fingerprinter()
    fingerprinter = replace(fingerprinter, sampler=replace(fingerprinter.sampler, max_frames=400))
    report, _ = run_reposts(case, SerialExecutor(), stage=RepostsStage(fingerprinter))
    assert report.failed == [] and len(report.done) == 1
    people = PeopleStage()
    people.sampler = replace(people.sampler, max_frames=200)
    assert run_stage(case, people, SerialExecutor()).failed == []

    shown = json.loads(cli("show", "long.gif", "--json").stdout)
    assert shown["stages"]["reposts"]["note"].startswith(  # (then the frames too flat to match)
        "sampled only the first 0:04 of 0:30 (400 frames decoded): the per-item budget of 400 decoded frames")
    assert shown["stages"]["people"]["note"] == (
        "sampled only the first 0:02 of 0:30 (200 frames decoded): the per-item budget of 200 decoded frames")
    text = cli("show", "long.gif").stdout
    assert f"stage reposts v{RepostsStage.version}: done: sampled only the first 0:04 of 0:30" in text
    listed = json.loads(cli("items", "--json").stdout)
    assert listed[0]["stages"]["people"]["note"].startswith("sampled only the first 0:02")
