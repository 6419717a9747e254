"""Faces blurred in every exported image: prisoners of war are protected from public curiosity (Geneva
Convention III, art. 13), and so is anyone else a case's footage shows.

Each face CenterFace finds (at a low score: a missed face is worse than a blurred chin) is pixelated
strongly, over a box grown by ``FACE_MARGIN`` on each side: a face becomes at most ``BLOCKS`` blocks across,
each block flattened to its mean colour and then the blocks smoothed into each other, so neither a face nor
its outline can be read back. A person with no face found in the upper half of their box (a face turned
away, too small, too blurred for the detector) is pixelated whole. The caller says which is which: for a
proof crop the whole crop is the person.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from numpy.typing import NDArray

Box = tuple[float, float, float, float]

FACE_SCORE = 0.3  # CenterFace's own default is 0.5; lower finds more faces, and a wrong one costs a blur
FACE_MARGIN = 0.25  # each side of a face box is pushed out by this fraction (hair, ears, chin)
BLOCKS = 4  # at most this many blocks across a face's longer side
MIN_BLOCK = 6  # pixels


@dataclass(frozen=True)
class Blurred:
    image: NDArray[np.uint8]
    faces: list[Box]  # the face boxes pixelated (grown by the margin, clipped to the image)
    people: list[Box]  # the person boxes pixelated whole (no face found in them)


def pixelate(image: NDArray[np.uint8], box: Box, blocks: int = BLOCKS) -> None:
    """Pixelate ``box`` of ``image`` in place: blocks of its mean colours, smoothed together."""
    import cv2

    height, width = image.shape[:2]
    x0, y0 = max(0, int(box[0])), max(0, int(box[1]))
    x1, y1 = min(width, int(np.ceil(box[2]))), min(height, int(np.ceil(box[3])))
    if x1 - x0 < 1 or y1 - y0 < 1:
        return
    region = image[y0:y1, x0:x1]
    side = max(x1 - x0, y1 - y0)
    block = max(MIN_BLOCK, int(np.ceil(side / blocks)))
    small = cv2.resize(region, (max(1, round((x1 - x0) / block)), max(1, round((y1 - y0) / block))),
                       interpolation=cv2.INTER_AREA)
    big = cv2.resize(small, (x1 - x0, y1 - y0), interpolation=cv2.INTER_NEAREST)
    kernel = (2 * block) | 1  # odd, two blocks wide: edges between blocks melt
    image[y0:y1, x0:x1] = cv2.blur(big, (kernel, kernel), borderType=cv2.BORDER_REPLICATE)


def grow(box: Box, margin: float, width: int, height: int) -> Box:
    x0, y0, x1, y1 = box
    mx, my = (x1 - x0) * margin, (y1 - y0) * margin
    return (max(0.0, x0 - mx), max(0.0, y0 - my), min(float(width), x1 + mx), min(float(height), y1 + my))


def find_faces(image: NDArray[np.uint8]) -> list[Box]:
    from vericount.people.faces import FaceDetector

    return [face.box for face in FaceDetector().detect(image, min_score=FACE_SCORE)]


def blur(image: NDArray[np.uint8], people: Iterable[Box] = (), known_faces: Iterable[Box] = (),
         detect: bool = True) -> Blurred:
    """A copy of ``image`` (H x W x 3 RGB) with every face pixelated, and every person in ``people`` whose
    box holds no face in its upper half pixelated whole. ``known_faces`` (from the people stage) are
    pixelated as well as those found now."""
    out = np.array(image, dtype=np.uint8, copy=True)
    height, width = out.shape[:2]
    faces = [*known_faces, *(find_faces(out) if detect else [])]
    grown = [grow(face, FACE_MARGIN, width, height) for face in faces]
    whole = [person for person in people if not any(_holds(person, face) for face in faces)]
    for box in whole:
        pixelate(out, box, blocks=2 * BLOCKS)
    for box in grown:
        pixelate(out, box)
    return Blurred(out, grown, whole)


def blur_crop(crop: NDArray[np.uint8], known_faces: Iterable[Box] = ()) -> Blurred:
    """A person crop: its faces pixelated, or the whole crop when none is found."""
    height, width = crop.shape[:2]
    return blur(crop, people=[(0.0, 0.0, float(width), float(height))], known_faces=known_faces)


def _holds(person: Box, face: Box) -> bool:
    cx, cy = (face[0] + face[2]) / 2, (face[1] + face[3]) / 2
    x0, y0, x1, y1 = person
    return x0 <= cx <= x1 and y0 <= cy <= y0 + 0.5 * (y1 - y0)
