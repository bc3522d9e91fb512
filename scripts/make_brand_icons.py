"""Draw the integration's brand icons (a shield with a camera lens), flat style."""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw

BRAND = Path(__file__).resolve().parent.parent / (
    "custom_components/home_security_intelligence/brand"
)
SCALE = 4  # draw large, then downsample for smooth edges


def shield(size: int) -> Image.Image:
    """Return a size x size RGBA icon with a transparent background."""
    s = size * SCALE
    img = Image.new("RGBA", (s, s), (0, 0, 0, 0))
    d = ImageDraw.Draw(img)

    def p(x: float, y: float) -> tuple[float, float]:
        return (x * s, y * s)

    # Shield outline: flat top with rounded shoulders, tapering to a point.
    outline = [p(0.5, 0.04), p(0.88, 0.16), p(0.88, 0.46), p(0.80, 0.68), p(0.5, 0.96)]
    outline += [p(0.20, 0.68), p(0.12, 0.46), p(0.12, 0.16)]
    d.polygon(outline, fill=(3, 105, 161, 255))  # dark blue rim
    inner = [p(0.5, 0.095), p(0.83, 0.195), p(0.83, 0.455), p(0.76, 0.65), p(0.5, 0.9)]
    inner += [p(0.24, 0.65), p(0.17, 0.455), p(0.17, 0.195)]
    d.polygon(inner, fill=(14, 165, 233, 255))  # sky blue face
    # Right half a shade darker for a flat two-tone look.
    d.polygon(
        [p(0.5, 0.095), p(0.83, 0.195), p(0.83, 0.455), p(0.76, 0.65), p(0.5, 0.9)],
        fill=(2, 132, 199, 255),
    )

    # Camera lens: white ring, dark barrel, blue glass, highlight.
    cx, cy = 0.5, 0.45
    for r, colour in (
        (0.215, (255, 255, 255, 255)),
        (0.175, (15, 23, 42, 255)),
        (0.115, (30, 64, 175, 255)),
        (0.065, (8, 47, 73, 255)),
    ):
        d.ellipse([p(cx - r, cy - r), p(cx + r, cy + r)], fill=colour)
    d.ellipse([p(0.545, 0.375), p(0.59, 0.42)], fill=(224, 242, 254, 255))
    # Recording dot.
    d.ellipse([p(0.655, 0.245), p(0.705, 0.295)], fill=(231, 72, 86, 255))
    return img.resize((size, size), Image.Resampling.LANCZOS)


if __name__ == "__main__":
    BRAND.mkdir(parents=True, exist_ok=True)
    shield(256).save(BRAND / "icon.png", optimize=True)
    shield(512).save(BRAND / "icon@2x.png", optimize=True)
    print(f"wrote {BRAND}/icon.png and icon@2x.png")
