"""Place box labels so that no label covers another, always inside the image (pure)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

type Box = tuple[int, int, int, int]
"""x, y, width, height in image pixels (as Detection.bbox)."""
type Size = tuple[int, int]
type Point = tuple[int, int]

_STACK = 4  # how many label heights a label may move away from its first spots


def place_labels(
    boxes: Sequence[Box],
    label_sizes: Sequence[Size],
    image_size: Size,
    confidences: Sequence[float] | None = None,
) -> list[Point]:
    """Return the top-left corner of each box's label, in the order of `boxes`.

    Greedy, highest confidence first (input order without `confidences`): each label
    takes the first free spot of: above the box, inside its top, below it (left- then
    right-aligned), then the same spots moved up to _STACK label heights further out,
    then the free spot nearest the box anywhere in the image. A spot is free when it
    overlaps no label placed before. Every spot is clamped inside the image; only when
    no free spot exists at all (more label area than image) may a label overlap.
    """
    if len(label_sizes) != len(boxes) or (
        confidences is not None and len(confidences) != len(boxes)
    ):
        raise ValueError("boxes, label_sizes and confidences must have the same length")
    order = sorted(
        range(len(boxes)), key=lambda i: -confidences[i] if confidences is not None else 0.0
    )
    placed: list[tuple[int, int, int, int]] = []
    positions: dict[int, Point] = {}
    for index in order:
        width, height = label_sizes[index]
        first: Point | None = None
        for spot in _spots(boxes[index], (width, height), image_size):
            first = first or spot
            rect = (spot[0], spot[1], width, height)
            if not any(_overlap(rect, other) for other in placed):
                break
        else:
            spot = first or (0, 0)
        placed.append((spot[0], spot[1], width, height))
        positions[index] = spot
    return [positions[i] for i in range(len(boxes))]


def _spots(box: Box, label: Size, image: Size) -> Iterator[Point]:
    """Candidate label corners in order of preference, clamped inside the image."""
    x, y, w, h = box
    lw, lh = label
    for step in range(_STACK + 1):
        shift = step * lh
        for top in (y - lh - shift, y + shift, y + h + shift):  # above, inside, below
            for left in (x, x + w - lw):
                yield _clamp((left, top), label, image)
    # Anywhere: a grid of label-sized steps, nearest to the preferred spot first.
    width, height = image
    grid = [
        (gx, gy)
        for gy in range(0, max(1, height - lh + 1), max(1, lh // 2))
        for gx in range(0, max(1, width - lw + 1), max(1, lw // 4))
    ]
    grid.sort(key=lambda p: (p[0] - x) ** 2 + (p[1] - (y - lh)) ** 2)
    yield from grid


def _clamp(point: Point, label: Size, image: Size) -> Point:
    return (
        max(0, min(point[0], image[0] - label[0])),
        max(0, min(point[1], image[1] - label[1])),
    )


def _overlap(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> bool:
    """Return True when two rectangles share area (touching edges do not count)."""
    return a[0] < b[0] + b[2] and b[0] < a[0] + a[2] and a[1] < b[1] + b[3] and b[1] < a[1] + a[3]
