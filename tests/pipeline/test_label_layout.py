"""Label placement: above, inside, below, shifted; never overlapping; always inside the image."""

from __future__ import annotations

import random

import pytest

from custom_components.home_security_intelligence.pipeline.label_layout import place_labels

IMAGE = (640, 480)
LABEL = (90, 18)


def _rects(
    positions: list[tuple[int, int]], sizes: list[tuple[int, int]]
) -> list[tuple[int, int, int, int]]:
    return [(x, y, w, h) for (x, y), (w, h) in zip(positions, sizes, strict=True)]


def _overlaps(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> bool:
    return a[0] < b[0] + b[2] and b[0] < a[0] + a[2] and a[1] < b[1] + b[3] and b[1] < a[1] + a[3]


def _assert_clean(
    positions: list[tuple[int, int]], sizes: list[tuple[int, int]], image: tuple[int, int]
) -> None:
    rects = _rects(positions, sizes)
    for i, a in enumerate(rects):
        assert a[0] >= 0 and a[0] + a[2] <= image[0], f"label {i} leaves the image: {a}"
        assert a[1] >= 0 and a[1] + a[3] <= image[1], f"label {i} leaves the image: {a}"
        for j, b in enumerate(rects[i + 1 :], i + 1):
            assert not _overlaps(a, b), f"labels {i} and {j} overlap: {a} {b}"


@pytest.mark.parametrize(
    ("box", "expected"),
    [
        ((100, 100, 200, 300), (100, 82)),  # room above: above, left-aligned
        ((100, 0, 200, 300), (100, 0)),  # at the top edge: inside its top
        ((600, 100, 40, 100), (550, 82)),  # at the right edge: shifted left into the image
        ((0, 470, 30, 10), (0, 452)),  # tiny box at the bottom: above it
    ],
)
def test_single_label(box: tuple[int, int, int, int], expected: tuple[int, int]) -> None:
    """One label takes its preferred spot, clamped inside the image."""
    assert place_labels([box], [LABEL], IMAGE) == [expected]


def test_issue_example_overlapping_people() -> None:
    """'person 75%' must not cover 'person 97%'; the 97 % label keeps the spot above its box."""
    boxes = [(112, 96, 180, 320), (100, 90, 190, 330)]  # the 75 % box listed first
    sizes = [(110, 20), (110, 20)]
    positions = place_labels(boxes, sizes, IMAGE, confidences=[0.75, 0.97])
    assert positions[1] == (100, 70)
    _assert_clean(positions, sizes, IMAGE)


def test_same_box_twice_stacks_labels() -> None:
    """Two detections with identical boxes still get separate labels."""
    boxes = [(200, 200, 100, 100)] * 3
    sizes = [LABEL] * 3
    positions = place_labels(boxes, sizes, IMAGE, [0.9, 0.8, 0.7])
    assert positions[0] == (200, 182)
    _assert_clean(positions, sizes, IMAGE)


@pytest.mark.parametrize("seed", range(6))
def test_crowded_scene_never_overlaps(seed: int) -> None:
    """Forty random boxes with varied label widths: no overlap, all inside the image."""
    rng = random.Random(seed)
    boxes = []
    for _ in range(40):
        w, h = rng.randint(5, 300), rng.randint(5, 300)
        boxes.append((rng.randint(0, IMAGE[0] - w), rng.randint(0, IMAGE[1] - h), w, h))
    sizes = [(rng.randint(40, 140), 18) for _ in boxes]
    confidences = [rng.random() for _ in boxes]
    positions = place_labels(boxes, sizes, IMAGE, confidences)
    _assert_clean(positions, sizes, IMAGE)
    best = max(range(len(boxes)), key=confidences.__getitem__)
    x, y, _, _ = boxes[best]
    assert positions[best] == (min(x, IMAGE[0] - sizes[best][0]), max(0, y - 18))


def test_label_larger_than_image_and_empty_input() -> None:
    """A label wider than the image starts at its left edge; no boxes, no labels."""
    assert place_labels([(10, 10, 5, 5)], [(800, 20)], IMAGE) == [(0, 0)]
    assert place_labels([], [], IMAGE) == []


def test_lengths_must_match() -> None:
    """Mismatched inputs are a programming error."""
    with pytest.raises(ValueError, match="same length"):
        place_labels([(0, 0, 1, 1)], [], IMAGE)
    with pytest.raises(ValueError, match="same length"):
        place_labels([(0, 0, 1, 1)], [LABEL], IMAGE, confidences=[])
