"""Thumbnails on real images: size, letterboxing, box colours and label placement."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image
import pytest

from custom_components.home_security_intelligence.pipeline.models import Detection
from custom_components.home_security_intelligence.pipeline.thumbnail_generator import (
    COLORS,
    DEFAULT_COLOR,
    ThumbnailGenerator,
    color_for,
    image_id_of,
    label_tile,
)

from ..conftest import make_jpeg

PERSON = (0xE7, 0x48, 0x56)
GREY = (128, 128, 128)


def _encode(img: Image.Image, fmt: str = "JPEG") -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **({"quality": 95} if fmt == "JPEG" else {}))
    return buf.getvalue()


def _plain(
    size: tuple[int, int], color: tuple[int, ...] = (200, 200, 200), fmt: str = "JPEG"
) -> bytes:
    return _encode(Image.new("RGB", size, color), fmt)


def _px(img: Image.Image, xy: tuple[int, int]) -> tuple[int, int, int]:
    pixel = img.getpixel(xy)
    assert isinstance(pixel, tuple)
    return (pixel[0], pixel[1], pixel[2])


def _near(pixel: tuple[int, ...], expected: tuple[int, ...], tol: int = 40) -> bool:
    return all(abs(a - b) <= tol for a, b in zip(pixel, expected, strict=True))


def _thumbnail(folder: Path, image: bytes, detections: list[Detection], image_id: int) -> Path:
    """Render and save, as the pipeline does."""
    gen = ThumbnailGenerator(folder)
    return gen.save(gen.render(image, detections), image_id)


def _open(path: Path) -> Image.Image:
    img = Image.open(path)
    img.load()
    return img


def test_output_is_320x240_jpeg_named_by_id(tmp_path: Path) -> None:
    """The thumbnail is a 320x240 JPEG at {image id}.jpg; missing folders are created."""
    gen = ThumbnailGenerator(tmp_path / "thumbs" / "deep")
    path = gen.save(gen.render(make_jpeg(640, 480), []), 42)
    assert path == tmp_path / "thumbs" / "deep" / "42.jpg"
    assert path == gen.get_output_path(42)
    img = _open(path)
    assert (img.format, img.size, img.mode) == ("JPEG", (320, 240), "RGB")
    assert not list(path.parent.glob("*.tmp"))


def test_16_9_input_gets_bars_top_and_bottom(tmp_path: Path) -> None:
    """1280x720 scales to 320x180 with 30-pixel black bars above and below."""
    path = _thumbnail(tmp_path, _plain((1280, 720)), [], 1)
    img = _open(path)
    for y in (2, 26, 214, 237):
        assert _near(_px(img, (160, y)), (0, 0, 0), 12), y
    for y in (34, 120, 206):
        assert _near(_px(img, (160, y)), (200, 200, 200), 12), y
    assert _near(_px(img, (2, 120)), (200, 200, 200), 12)
    assert _near(_px(img, (317, 120)), (200, 200, 200), 12)


def test_portrait_input_gets_bars_left_and_right(tmp_path: Path) -> None:
    """480x640 scales to 180x240 centred: black from x<70 and x>=250."""
    path = _thumbnail(tmp_path, _plain((480, 640)), [], 2)
    img = _open(path)
    for x in (2, 66, 254, 317):
        assert _near(_px(img, (x, 120)), (0, 0, 0), 12), x
    for x in (74, 160, 246):
        assert _near(_px(img, (x, 120)), (200, 200, 200), 12), x
    assert _near(_px(img, (160, 2)), (200, 200, 200), 12)


def test_1080p_input(tmp_path: Path) -> None:
    """A 1920x1080 frame becomes a letterboxed 320x240 thumbnail."""
    path = _thumbnail(tmp_path, _plain((1920, 1080), (30, 160, 60)), [], 3)
    img = _open(path)
    assert img.size == (320, 240)
    assert _near(_px(img, (160, 10)), (0, 0, 0), 12)
    assert _near(_px(img, (160, 120)), (30, 160, 60), 12)


def test_png_input_with_alpha(tmp_path: Path) -> None:
    """A PNG (RGBA) input works and keeps its colour."""
    data = _encode(Image.new("RGBA", (320, 240), (10, 20, 230, 255)), "PNG")
    img = _open(_thumbnail(tmp_path, data, [], 4))
    assert img.size == (320, 240)
    assert _near(_px(img, (160, 120)), (10, 20, 230), 12)


def test_person_box_drawn_at_scaled_position(tmp_path: Path) -> None:
    """A person box at (100,100,200,200) in 640x480 is drawn at (50..150) in #E74856."""
    det = Detection("person", 0.9, (100, 100, 200, 200))
    path = _thumbnail(tmp_path, _plain((640, 480), GREY), [det], 5)
    img = _open(path)
    assert _near(_px(img, (50, 110)), PERSON), _px(img, (50, 110))
    assert _near(_px(img, (100, 50)), PERSON), _px(img, (100, 50))
    # Right and bottom lines (149..150) straddle JPEG chroma cells: only clearly red.
    for xy in ((150, 110), (100, 150)):
        r, g, b = _px(img, xy)
        assert r > g + 50 and r > b + 40, xy
    assert _near(_px(img, (100, 110)), GREY, 12)
    assert _near(_px(img, (40, 110)), GREY, 12)


def test_box_exact_pixels_on_canvas() -> None:
    """draw_bounding_boxes maps source pixels through scale and offset exactly."""
    canvas = Image.new("RGB", (320, 240), GREY)
    det = Detection("person", 0.9, (100, 100, 200, 200))
    ThumbnailGenerator(Path()).draw_bounding_boxes(canvas, [det], 0.25, (10, 30))
    # left 10+25=35, top 30+25=55, right 10+75=85, bottom 30+75=105, line width 2
    assert canvas.getpixel((35, 80)) == PERSON
    assert canvas.getpixel((36, 80)) == PERSON
    assert canvas.getpixel((37, 80)) == GREY
    assert canvas.getpixel((34, 80)) == GREY
    assert canvas.getpixel((85, 80)) == PERSON
    assert canvas.getpixel((60, 105)) == PERSON
    assert canvas.getpixel((60, 106)) == GREY


def test_unknown_class_is_white() -> None:
    """Classes without a colour get the default white; known ones their own."""
    assert color_for("giraffe") == DEFAULT_COLOR == "#FFFFFF"
    assert color_for("car") == COLORS["car"] == "#3B82F6"
    canvas = Image.new("RGB", (320, 240), GREY)
    ThumbnailGenerator(Path()).draw_bounding_boxes(
        canvas, [Detection("giraffe", 0.7, (100, 100, 50, 50))], 1.0, (0, 0)
    )
    assert canvas.getpixel((100, 125)) == (255, 255, 255)


def _ink(canvas: Image.Image) -> Image.Image:
    """Mask of the dark text pixels (background and label colour are both lighter)."""
    return Image.eval(canvas.convert("L"), lambda v: 255 if v < 80 else 0)


def _ink_count(canvas: Image.Image) -> int:
    return _ink(canvas).histogram()[255]


def _render(bbox: tuple[int, int, int, int]) -> Image.Image:
    canvas = Image.new("RGB", (320, 240), GREY)
    ThumbnailGenerator(Path()).draw_bounding_boxes(
        canvas, [Detection("person", 0.87, bbox)], 1.0, (0, 0)
    )
    return canvas


@pytest.mark.parametrize(
    "bbox",
    [
        (0, 0, 60, 60),  # top-left corner
        (120, 0, 60, 60),  # top edge
        (300, 100, 20, 40),  # right edge
        (0, 120, 20, 40),  # left edge
        (280, 0, 40, 240),  # full height at the right
        (250, 235, 70, 5),  # bottom-right corner
        (-50, -50, 500, 500),  # larger than the canvas
    ],
)
def test_label_stays_inside_image(bbox: tuple[int, int, int, int]) -> None:
    """At any edge the whole label text is drawn (same ink as a label in the middle)."""
    reference = _render((120, 120, 60, 60))
    ink = _ink_count(reference)
    assert ink > 20
    edge = _render(bbox)
    assert _ink_count(edge) == ink
    # The label background surrounds the text: the text's ink box has colour on all sides.
    left, top, right, bottom = _ink(edge).getbbox() or (0, 0, 0, 0)
    assert left >= 1
    assert top >= 1
    assert right <= 319
    assert bottom <= 239
    assert edge.getpixel((left - 1, top)) == PERSON
    assert edge.getpixel((right, bottom - 1)) == PERSON


def test_label_sits_above_box_when_room() -> None:
    """With room above the box, the label is above its top edge."""
    canvas = _render((120, 120, 60, 60))
    box = _ink(canvas).getbbox()
    assert box is not None
    assert box[3] <= 120


def test_saving_again_overwrites_the_thumbnail(tmp_path: Path) -> None:
    """A retry of the same image replaces its file: one file, the newest content, no temp left."""
    gen = ThumbnailGenerator(tmp_path / "thumbnails")
    first = gen.save(gen.render(_plain((640, 480), GREY), []), 9)
    again = gen.save(gen.render(_plain((640, 480), (30, 160, 60)), []), 9)
    assert again == first == tmp_path / "thumbnails" / "9.jpg"
    assert [p.name for p in gen.output_dir.iterdir()] == ["9.jpg"]
    assert _near(_px(_open(again), (160, 120)), (30, 160, 60), 12)


def test_overlapping_boxes_get_labels_that_do_not_cover_each_other() -> None:
    """Two people side by side at the same height: both labels are readable, none covered.

    Issue 15: "person 75%" covered "person 97%". Each label's text must be drawn whole:
    the ink of both together is the ink of each drawn alone.
    """
    gen = ThumbnailGenerator(Path())
    high = Detection("person", 0.97, (100, 100, 60, 100))
    low = Detection("person", 0.75, (110, 100, 60, 100))

    def drawn(dets: list[Detection]) -> Image.Image:
        canvas = Image.new("RGB", (320, 240), GREY)
        return gen.draw_bounding_boxes(canvas, dets, 1.0, (0, 0))

    both = _ink_count(drawn([high, low]))
    assert both == _ink_count(drawn([high])) + _ink_count(drawn([low]))
    # The higher confidence keeps the first spot, right above its box.
    alone = _ink(drawn([high])).getbbox()
    together = _ink(drawn([high, low]))
    assert alone is not None
    assert together.crop(alone).histogram()[255] == _ink(drawn([high])).histogram()[255]


def test_labels_are_drawn_over_every_box_line() -> None:
    """Boxes first, labels after: a label is never cut by another box's outline."""
    gen = ThumbnailGenerator(Path())
    label_only = Image.new("RGB", (320, 240), GREY)
    gen.draw_bounding_boxes(label_only, [Detection("car", 0.9, (100, 100, 100, 80))], 1.0, (0, 0))
    crossed = Image.new("RGB", (320, 240), GREY)
    # A second box whose left edge runs through the first box's label (x=130).
    gen.draw_bounding_boxes(
        crossed,
        [Detection("car", 0.9, (100, 100, 100, 80)), Detection("dog", 0.5, (130, 60, 100, 150))],
        1.0,
        (0, 0),
    )
    car_label = _ink(label_only).getbbox()
    assert car_label is not None
    assert (
        _ink(crossed).crop(car_label).histogram()[255]
        == _ink(label_only).crop(car_label).histogram()[255]
    )


def test_label_tiles_are_drawn_once() -> None:
    """The same label in the same colour reuses its tile."""
    label_tile.cache_clear()
    canvas = Image.new("RGB", (320, 240), GREY)
    dets = [Detection("person", 0.9, (20 + 60 * i, 100, 40, 40)) for i in range(4)]
    ThumbnailGenerator(Path()).draw_bounding_boxes(canvas, dets, 1.0, (0, 0))
    info = label_tile.cache_info()
    assert (info.misses, info.hits) == (1, 3)


@pytest.mark.parametrize(
    ("box", "expected"),
    [
        (None, (1920, 1080)),
        ((0, 0), (1920, 1080)),
        ((3840, 2160), (1920, 1080)),  # never above the original
        ((960, 0), (960, 540)),
        ((0, 270), (480, 270)),
        ((800, 800), (800, 450)),
        ((1280, 200), (356, 200)),
    ],
)
def test_render_fit_sizes(box: tuple[int, int] | None, expected: tuple[int, int]) -> None:
    """The sharp frame fits the box asked for, keeps its aspect and is never upscaled."""
    jpeg = ThumbnailGenerator(Path()).render_fit(
        _plain((1920, 1080), GREY), [Detection("person", 0.9, (960, 540, 200, 300))], box
    )
    with Image.open(io.BytesIO(jpeg)) as img:
        assert (img.format, img.size) == ("JPEG", expected)


def test_render_fit_draws_boxes_at_full_scale() -> None:
    """On a full-size frame the box sits at its source pixels, with a thicker line."""
    jpeg = ThumbnailGenerator(Path()).render_fit(
        _plain((1920, 1080), GREY), [Detection("person", 0.9, (400, 300, 400, 400))], None
    )
    with Image.open(io.BytesIO(jpeg)) as img:
        assert _near(_px(img, (401, 500)), PERSON)
        assert _near(_px(img, (600, 500)), GREY, 12)
        assert _near(_px(img, (600, 299 + 2)), PERSON)


def test_image_id_of_inverts_the_output_path(tmp_path: Path) -> None:
    """A thumbnail's file name gives back its image id; other names give None."""
    gen = ThumbnailGenerator(tmp_path)
    assert image_id_of(gen.get_output_path(1234)) == 1234
    for name in ("x.jpg", "12.png", "\u0661\u0662.jpg", "-3.jpg", ".12.jpg"):
        assert image_id_of(tmp_path / name) is None
