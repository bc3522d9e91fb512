"""Shared helpers of the benchmark suite: photo-like JPEGs, statistics, result files."""

from __future__ import annotations

from collections.abc import Sequence
import io
import json
import math
import os
from pathlib import Path
import resource
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

QUICK = os.environ.get("HSI_BENCH_QUICK") == "1"
RESULTS = Path(os.environ.get("HSI_BENCH_OUT", "/tmp/hsi_bench"))  # noqa: S108 - local scratch

SIZES = {"1080p": (1920, 1080), "1440p": (2560, 1440), "480p": (640, 480)}
CAMERAS = 2 if QUICK else 4


def photo_jpeg(width: int, height: int, seed: int = 0, quality: int = 85) -> bytes:
    """Return a photo-like JPEG: smooth lighting, textured ground, a figure, sensor noise.

    Noise and texture give the entropy (and file size) of a real camera frame,
    which a flat synthetic picture would not: a 1080p frame comes out near 0.5 MB.
    """
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    sky = np.stack([90 + 60 * yy / height, 110 + 50 * yy / height, 150 - 40 * yy / height], axis=-1)
    texture = rng.normal(0, 1, (height // 8 + 1, width // 8 + 1)).astype(np.float32)
    texture_img = Image.fromarray(((texture * 40) + 128).clip(0, 255).astype(np.uint8))
    texture_img = texture_img.resize((width, height), Image.Resampling.BICUBIC)
    ground = np.asarray(texture_img, dtype=np.float32)[..., None] * np.array(
        [0.45, 0.5, 0.35], dtype=np.float32
    )
    horizon = (yy > height * 0.55)[..., None]
    base = np.where(horizon, ground + 20, sky)
    base += rng.normal(0, 6, base.shape).astype(np.float32) + 8 * np.sin(xx / 37.0)[..., None]
    img = Image.fromarray(base.clip(0, 255).astype(np.uint8), "RGB")
    draw = ImageDraw.Draw(img)
    for i in range(6):
        x = int(width * (0.05 + 0.15 * i))
        draw.rectangle(
            (x, int(height * 0.3), x + width // 12, int(height * 0.6)),
            fill=(120 + 10 * i, 100, 80),
        )
    cx = int(width * (0.4 + 0.05 * (seed % 4)))
    draw.ellipse(
        (cx, int(height * 0.32), cx + width // 20, int(height * 0.41)), fill=(210, 170, 140)
    )
    draw.rectangle(
        (cx - width // 80, int(height * 0.41), cx + width // 16, int(height * 0.75)),
        fill=(40, 40, 150),
    )
    img = img.filter(ImageFilter.GaussianBlur(0.6))
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile (NaN for no values)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


def summary(values: Sequence[float]) -> dict[str, float]:
    """p50/p95/p99/max and count of a list of samples."""
    return {
        "n": len(values),
        "p50": percentile(values, 50),
        "p95": percentile(values, 95),
        "p99": percentile(values, 99),
        "max": max(values) if values else math.nan,
    }


def rss_mb() -> float:
    """Resident set size of this process now, in MB (from /proc)."""
    with open("/proc/self/statm", encoding="ascii") as statm:
        pages = int(statm.read().split()[1])
    return pages * resource.getpagesize() / 1024 / 1024


def save(name: str, data: dict[str, Any]) -> None:
    """Write one benchmark's results as JSON for the report."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(data, indent=2, default=str))


def frames() -> dict[str, bytes]:
    """Make the frames every pipeline run writes: two 1080p and two 640x480 photo-like JPEGs."""
    return {
        f"{name}_{seed}": photo_jpeg(*size, seed=seed)
        for name, size in (("1080p", (1920, 1080)), ("480p", (640, 480)))
        for seed in range(2)
    }


def plan(root: Path, phase: str, count: int, images: dict[str, bytes]) -> list[tuple[Path, bytes]]:
    """Files `root/cam{i}/snap/...jpg`, round-robin over cameras and frames (half 1080p)."""
    keys = list(images)
    return [
        (
            root / f"cam{i % CAMERAS}" / "snap" / f"{phase}_{i:05d}_{keys[i % len(keys)]}.jpg",
            images[keys[i % len(keys)]],
        )
        for i in range(count)
    ]


def cpu_model() -> str:
    """Return the CPU's "model name" from /proc/cpuinfo and the number of cores."""
    name = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "model name":
            name = value.strip()
            break
    return f"{name}, {os.cpu_count()} cores"
