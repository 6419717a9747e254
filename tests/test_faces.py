"""Faces: CenterFace detection, dlib embeddings and face quality on the bundled White House photos (public
domain), plus images no camera would give (1 pixel, black, 24 megapixels) and bad boxes."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from vericount.errors import VericountError
from vericount.people.faces import (
    DIFFERENT_DISTANCE,
    MIN_FACE_PIXELS,
    Face,
    FaceDetector,
    FaceEmbedder,
    FaceError,
    _centerface,
    _nms,
    distance,
    face_quality,
)

SAMPLES = Path(__file__).resolve().parent.parent / "samples" / "media"
NAMES = ("obama", "obama2", "biden", "obama_and_biden", "obama_partial_face")


@pytest.fixture(scope="module")
def images() -> dict[str, np.ndarray]:
    return {name: np.asarray(Image.open(SAMPLES / f"{name}.jpg").convert("RGB")) for name in NAMES}


@pytest.fixture(scope="module")
def detector() -> FaceDetector:
    return FaceDetector()


@pytest.fixture(scope="module")
def found(images: dict[str, np.ndarray], detector: FaceDetector) -> dict[str, list[Face]]:
    return {name: detector.detect(image) for name, image in images.items()}


@pytest.fixture(scope="module")
def embedder() -> FaceEmbedder:
    return FaceEmbedder()


@pytest.fixture(scope="module")
def portraits(images: dict[str, np.ndarray], found: dict[str, list[Face]],
              embedder: FaceEmbedder) -> dict[str, np.ndarray]:
    """Embeddings of the one face of each single-person photo."""
    return {name: embedder.embed(images[name], found[name][0].box) for name in NAMES
            if name != "obama_and_biden"}


def test_faces_found(images: dict[str, np.ndarray], found: dict[str, list[Face]]) -> None:
    # obama_and_biden.jpg: Biden and Obama, and a girl's face low on the right (real, smaller, half in shade)
    assert {name: len(faces) for name, faces in found.items()} == {
        "obama": 1, "obama2": 1, "biden": 1, "obama_and_biden": 3, "obama_partial_face": 1}
    for name, faces in found.items():
        height, width = images[name].shape[:2]
        assert [f.score for f in faces] == sorted((f.score for f in faces), reverse=True)
        for face in faces:
            x0, y0, x1, y1 = face.box
            assert 0 <= x0 < x1 <= width and 0 <= y0 < y1 <= height, (name, face.box)
            assert 0.5 <= face.score <= 1.0
            assert face.landmarks.shape == (5, 2) and face.landmarks.dtype == np.float32
            xs, ys = face.landmarks[:, 0], face.landmarks[:, 1]
            assert ((xs >= x0 - 1) & (xs <= x1 + 1) & (ys >= y0 - 1) & (ys <= y1 + 1)).all(), (name, face)
            assert xs[0] < xs[1] and xs[3] < xs[4]  # eyes, then mouth corners, left to right
            assert ys[0] < ys[2] < ys[3]  # eyes above the nose above the mouth (upright faces)
    # the adults' faces are the large ones, Biden on the left; the cropped face touches the left edge
    adults = sorted(found["obama_and_biden"], key=lambda f: f.box[0] - f.box[2])[:2]
    assert all(f.box[2] - f.box[0] > 150 for f in adults)
    assert found["obama_partial_face"][0].box[0] == 0


def test_same_person_closer_than_different(portraits: dict[str, np.ndarray]) -> None:
    same = distance(portraits["obama"], portraits["obama2"])
    different = distance(portraits["obama"], portraits["biden"])
    assert portraits["obama"].shape == (128,) and portraits["obama"].dtype == np.float32
    assert same < DIFFERENT_DISTANCE < different
    assert same < 0.5 and different > 0.7  # dlib's usual ranges (bench/faces.py: same <= 0.54)
    assert distance(portraits["obama2"], portraits["biden"]) > DIFFERENT_DISTANCE
    # a crop of the same photo cut at the left edge of the face: clipped box, still Obama
    assert distance(portraits["obama_partial_face"], portraits["obama"]) < 0.45


def test_group_photo_faces_match_portraits(images: dict[str, np.ndarray], found: dict[str, list[Face]],
                                           embedder: FaceEmbedder, portraits: dict[str, np.ndarray]) -> None:
    left, right = sorted(sorted(found["obama_and_biden"], key=lambda f: f.box[0] - f.box[2])[:2],
                         key=lambda f: f.box[0])
    biden = embedder.embed(images["obama_and_biden"], left.box)
    obama = embedder.embed(images["obama_and_biden"], right.box)
    assert distance(obama, portraits["obama"]) < DIFFERENT_DISTANCE < distance(obama, portraits["biden"])
    assert distance(biden, portraits["biden"]) < DIFFERENT_DISTANCE < distance(biden, portraits["obama"])


@pytest.mark.parametrize("shape", [(1, 1, 3), (3, 3, 3), (480, 640, 3), (5, 3000, 3), (3000, 2, 3)])
def test_no_faces_in_tiny_or_black_images(detector: FaceDetector, shape: tuple[int, int, int]) -> None:
    assert detector.detect(np.zeros(shape, np.uint8)) == []


def test_huge_image(images: dict[str, np.ndarray], found: dict[str, list[Face]], detector: FaceDetector,
                    embedder: FaceEmbedder) -> None:
    original = images["obama_and_biden"]  # 2000 x 1428, scaled 2.8 times and padded to 6000 x 4000
    huge = np.zeros((4000, 6000, 3), np.uint8)
    huge[:3998, :5600] = cv2.resize(original, (5600, 3998), interpolation=cv2.INTER_LINEAR)
    faces = detector.detect(huge)
    assert len(faces) == len(found["obama_and_biden"])
    for face, expected in zip(sorted(faces, key=lambda f: f.box[0]),
                              sorted(found["obama_and_biden"], key=lambda f: f.box[0]), strict=True):
        scaled = np.asarray(expected.box) * 2.8
        assert np.allclose(face.box, scaled, atol=0.06 * (scaled[2] - scaled[0])), (face.box, scaled)
        if expected.box[2] - expected.box[0] > 170:  # the adults (the girl's shaded face moves 0.2-0.4 in
            # embedding when its box moves 5%; the adults' 0.04-0.06, and 0.08-0.09 here, box and resampling)
            assert distance(embedder.embed(huge, face.box), embedder.embed(original, expected.box)) < 0.15


def test_box_outside_the_image(images: dict[str, np.ndarray], found: dict[str, list[Face]],
                               embedder: FaceEmbedder, portraits: dict[str, np.ndarray]) -> None:
    image = images["biden"]
    height, width = image.shape[:2]
    x0, y0, x1, y1 = found["biden"][0].box
    # partly outside: clipped to the image, so the same face and the same embedding as the clipped box
    wide = (x0 - 2 * width, y0, x1, y1 + 5 * height)
    clipped = (0.0, y0, x1, float(height))
    assert np.array_equal(embedder.embed(image, wide), embedder.embed(image, clipped))
    assert face_quality(image, wide) == face_quality(image, clipped)
    # empty, wholly outside, or too small: a one-line vericount error
    for box in [(x0, y0, x0, y1), (x0, y0, x1, y0), (width + 10.0, 0.0, width + 200.0, 200.0),
                (-300.0, -300.0, -10.0, -10.0), (x1, y0, x0, y1)]:
        with pytest.raises(FaceError, match=r"outside the \d+ x \d+ image or is empty") as info:
            embedder.embed(image, box)
        assert isinstance(info.value, VericountError) and "\n" not in str(info.value)
        assert face_quality(image, box) == {"size": 0, "sharpness": 0.0}
    small = (x0, y0, x0 + MIN_FACE_PIXELS - 1, y0 + MIN_FACE_PIXELS - 1)
    with pytest.raises(FaceError, match=f"under the {MIN_FACE_PIXELS}-pixel minimum"):
        embedder.embed(image, small)
    assert FaceEmbedder(min_face_pixels=8).embed(image, small).shape == (128,)
    assert distance(portraits["biden"], embedder.embed(image, (x0, y0, x1, y1))) == 0.0


def test_face_quality(images: dict[str, np.ndarray], found: dict[str, list[Face]]) -> None:
    image = images["obama"]
    box = found["obama"][0].box
    sharp = face_quality(image, box)
    assert sharp["size"] == int(min(box[2] - box[0], box[3] - box[1]))
    blurred = face_quality(np.asarray(cv2.GaussianBlur(image, (0, 0), 4), np.uint8), box)
    assert blurred["size"] == sharp["size"]
    assert blurred["sharpness"] < sharp["sharpness"] / 3
    assert face_quality(image, (10.0, 10.0, 13.0, 12.0))["size"] == 2


def test_bad_images_are_refused(detector: FaceDetector, embedder: FaceEmbedder) -> None:
    for image in [np.zeros((64, 64), np.uint8), np.zeros((64, 64, 4), np.uint8), np.zeros((64, 64, 3))]:
        with pytest.raises(ValueError, match="H x W x 3 RGB uint8"):
            detector.detect(image)  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="H x W x 3 RGB uint8"):
            embedder.embed(image, (0.0, 0.0, 40.0, 40.0))  # type: ignore[arg-type]


def test_nms_and_model_loaded_once() -> None:
    boxes = np.asarray([[0, 0, 10, 10], [1, 1, 11, 11], [20, 20, 30, 30], [0, 0, 10, 9]], np.float32)
    scores = np.asarray([0.6, 0.9, 0.8, 0.7], np.float32)
    assert _nms(boxes, scores, 0.3).tolist() == [1, 2]
    assert _nms(boxes[:0], scores[:0], 0.3).tolist() == []
    assert _centerface(1) is _centerface(1)
    inputs = _centerface(1).get_inputs()
    assert [i.name for i in inputs] == ["input.1"] and inputs[0].shape == [1, 3, "H", "W"]


def test_the_face_thresholds_are_one_value_each() -> None:
    """people.faces documents the calibration; the standalone checker and the graph carry the same values."""
    from vericount.people.faces import SAME_DISTANCE
    from vericount.tally.check import DIFFERENT_FACE_DISTANCE
    from vericount.tally.graph import SAME_FACE_DISTANCE

    assert DIFFERENT_DISTANCE == DIFFERENT_FACE_DISTANCE and SAME_DISTANCE == SAME_FACE_DISTANCE
    assert SAME_DISTANCE < DIFFERENT_DISTANCE


def test_a_small_persons_face_is_found_in_their_box(images: dict[str, np.ndarray],
                                                    detector: FaceDetector) -> None:
    """Obama's portrait shrunk to 45 pixels on a 720p frame: a 9-pixel face, under what the whole frame's pass
    finds; looked for in the head of the person's box, enlarged, it is found where it is."""
    portrait = images["obama"]
    small = cv2.resize(portrait, (36, 45), interpolation=cv2.INTER_AREA)
    frame = np.full((720, 1280, 3), 90, np.uint8)
    frame[300:345, 600:636] = small
    person = (600.0, 300.0, 636.0, 345.0)
    assert detector.detect(frame) == []
    (face,) = detector.detect_in(frame, [person], [])
    expect = [600 + 36 * v / portrait.shape[1] for v in (372, 600)] + [300 + 45 * v / portrait.shape[0]
                                                                      for v in (112, 420)]
    x0, x1, y0, y1 = expect
    assert face.box == pytest.approx((x0, y0, x1, y1), abs=2.5)  # back in the frame's pixels
    assert face.score > 0.5 and face.landmarks.shape == (5, 2)
    assert detector.detect_in(frame, [person], [face]) == []  # a box that holds a face already is skipped
    assert detector.detect_in(frame, [(600.0, 100.0, 700.0, 345.0)], []) == []  # tall: the frame's job
    assert detector.detect_in(frame, [(100.0, 100.0, 136.0, 145.0)], []) == []  # no face in that box
