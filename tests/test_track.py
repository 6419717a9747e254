"""Tracking within shots: people followed across frames, weak detections only continue, cuts split."""

from __future__ import annotations

import numpy as np

from vericount.people.detect import Detection
from vericount.people.track import Tracker, appearance


def _walker(t: float, x0: float, speed: float, score: float = 0.8) -> Detection:
    x = x0 + speed * t
    return Detection((x, 100.0, x + 50.0, 250.0), score)


def test_two_people_crossing_stay_two_tracks() -> None:
    frames = []
    for k in range(32):  # they meet at 5 s and walk on past each other
        t = k * 0.25
        frames.append((t, k == 0, [_walker(t, 0, 60), _walker(t, 600, -60)]))
    tracks = Tracker().run(frames)
    assert len(tracks) == 2
    starts = sorted(tr.sightings[0].box[0] for tr in tracks)
    assert starts == [0.0, 600.0]
    for tr in tracks:
        assert len(tr.sightings) >= 30
        xs = [s.box[0] for s in tr.sightings]
        assert xs == sorted(xs) or xs == sorted(xs, reverse=True)  # nobody swapped identity


def test_weak_detections_continue_but_never_start_tracks() -> None:
    frames = [(0.0, True, [_walker(0.0, 0, 100)]),
              (0.25, False, [_walker(0.25, 0, 100, score=0.3)]),  # occluded: weak, continues
              (0.5, False, [_walker(0.5, 0, 100), Detection((800.0, 0.0, 850.0, 60.0), 0.3)])]  # weak stray
    (track,) = Tracker().run(frames)
    assert [s.t for s in track.sightings] == [0.0, 0.25, 0.5]


def test_a_cut_or_a_long_gap_ends_a_track() -> None:
    still = Detection((100.0, 100.0, 150.0, 250.0), 0.9)
    cut = Tracker().run([(0.0, True, [still]), (0.5, False, [still]), (1.0, True, [still]),
                         (1.5, False, [still])])
    assert [(tr.start, tr.end) for tr in cut] == [(0.0, 0.5), (1.0, 1.5)]
    gap = Tracker(max_gap=1.0).run([(0.0, True, [still]), (0.5, False, [still]), (3.0, False, [still]),
                                    (3.5, False, [still])])
    assert len(gap) == 2


def test_lonely_weak_sightings_are_dropped() -> None:
    frames = [(0.0, True, [Detection((0.0, 0.0, 10.0, 20.0), 0.46)]),
              (5.0, True, [Detection((0.0, 0.0, 10.0, 20.0), 0.9)]),
              (9.0, True, [Detection((0.0, 0.0, 10.0, 20.0), 0.97)])]
    tracks = Tracker().run(frames)
    assert [tr.start for tr in tracks] == [9.0]  # one very sure sighting is a person; one weak one is not
    assert tracks[0].score == 0.97


def _look(colour: tuple[int, int, int]) -> np.ndarray:
    image = np.zeros((300, 120, 3), np.uint8)
    image[:] = colour
    look = appearance(image, (0.0, 0.0, 120.0, 300.0))
    assert look is not None
    return look


def test_appearance_keeps_two_people_apart_where_their_paths_cross_and_turn() -> None:
    """Two people meet, and each turns back the way they came: motion alone, predicting them onwards,
    swaps who is who; their coats (red, blue) keep them apart."""
    red, blue = _look((200, 30, 30)), _look((30, 30, 200))
    frames = []
    for k in range(12):
        t = k * 0.25
        x = 60.0 * min(t, 1.5) - 60.0 * max(0.0, t - 1.5)  # walk in for 1.5 s, then back
        frames.append((t, k == 0, [Detection((200 + x, 100.0, 250 + x, 250.0), 0.9),
                                   Detection((320 - x, 100.0, 370 - x, 250.0), 0.9)], [red, blue]))
    outcomes = []
    for tracker in (Tracker(), Tracker(appearance=0.0)):
        run = tracker.start()
        for t, new_shot, detections, looks in frames:
            run.step(t, new_shot, detections, looks if tracker.appearance else None)
        tracks = run.finish()
        red_track = next(tr for tr in tracks if tr.sightings[0].box[0] == 200.0)
        outcomes.append((len(tracks), red_track.sightings[-1].box[0] < 260.0))  # red ends near 215
    assert outcomes[0] == (2, True)  # with the look: two people, each whole, nobody swapped
    assert outcomes[1] != (2, True)  # motion alone: cut into pieces at the turn (or swapped)


def test_a_jolt_of_the_camera_is_bridged_by_the_look_not_by_overlap() -> None:
    """The phone jerks: the person's box jumps most of its width between two samples, no overlap left."""
    grey = _look((120, 120, 120))
    frames = [(0.0, True, [Detection((100.0, 100.0, 150.0, 250.0), 0.9)]),
              (0.25, False, [Detection((102.0, 100.0, 152.0, 250.0), 0.9)]),
              (0.5, False, [Detection((160.0, 110.0, 210.0, 260.0), 0.9)]),
              (0.75, False, [Detection((162.0, 110.0, 212.0, 260.0), 0.9)])]
    for tracker, expected in ((Tracker(), 1), (Tracker(appearance=0.0), 2)):
        run = tracker.start()
        for t, new_shot, detections in frames:
            run.step(t, new_shot, detections, [grey] if tracker.appearance else None)
        assert len(run.finish()) == expected
    other = _look((20, 160, 40))  # someone else in green where the grey one stood: not the same person
    run = Tracker().start()
    for k, (t, new_shot, detections) in enumerate(frames):
        run.step(t, new_shot, detections, [grey if k < 2 else other])
    assert len(run.finish()) == 2
