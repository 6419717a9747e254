"""Tracking within shots: people followed across frames, weak detections only continue, cuts split."""

from __future__ import annotations

from vericount.people.detect import Detection
from vericount.people.track import Tracker


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
              (5.0, True, [Detection((0.0, 0.0, 10.0, 20.0), 0.9)])]
    tracks = Tracker().run(frames)
    assert [tr.start for tr in tracks] == [5.0]  # one confident sighting is a person; one weak one is not
