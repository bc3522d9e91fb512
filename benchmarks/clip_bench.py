"""Clip sampling benchmark: frames sampled per second from a 1080p H.264 clip, CPU per clip.

Run: `python -m benchmarks.clip_bench` (prints figures; not part of scripts/bench).
"""

from __future__ import annotations

from fractions import Fraction
import os
from pathlib import Path
import sys
import tempfile
import time
from typing import Any

import av
from av.video.stream import VideoStream
import numpy as np

from custom_components.home_security_intelligence.pipeline.clip_frames import load_clip

SIZE = (1920, 1080)
RATE = 25


def encode_camera_clip(path: Path, seconds: float, bframes: int) -> Path:
    """Write a 1080p H.264 clip like a camera's: textured scene, people-sized boxes moving."""
    width, height = SIZE
    rng = np.random.default_rng(7)
    scene = rng.integers(40, 200, (height // 8, width // 8, 3), dtype=np.uint8)
    scene = scene.repeat(8, axis=0).repeat(8, axis=1)
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream(
            "libx264", rate=RATE, options={"preset": "veryfast", "bf": str(bframes), "g": "50"}
        )
        assert isinstance(stream, VideoStream)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.codec_context.bit_rate = 4_000_000
        for index in range(round(seconds * RATE)):
            rgb = scene.copy()
            for lane in range(3):
                x = (index * (8 + 4 * lane)) % (width - 160)
                y = 200 + lane * 280
                rgb[y : y + 260, x : x + 120] = (220 - 60 * lane, 80, 40 + 70 * lane)
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            frame.pts, frame.time_base = index, Fraction(1, RATE)
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return path


def measure(path: Path, runs: int = 3, **settings: Any) -> dict[str, float]:
    """Sample the clip `runs` times; return frames, frames/s (wall) and CPU s per clip (median)."""
    walls: list[float] = []
    cpus: list[float] = []
    frames = 0
    for _ in range(runs):
        wall, cpu = time.perf_counter(), time.process_time()
        clip = load_clip(path, path.parent, **settings)
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
        frames = len(clip.frames)
    wall_s, cpu_s = sorted(walls)[runs // 2], sorted(cpus)[runs // 2]
    return {"frames": frames, "wall_s": wall_s, "fps": frames / wall_s, "cpu_s": cpu_s}


def main() -> None:
    """Encode the clips once, then print one line per sampling setting."""
    print(f"cores: {os.cpu_count()}, PyAV {av.__version__}, {SIZE[0]}x{SIZE[1]} H.264 {RATE} fps")
    with tempfile.TemporaryDirectory() as tmp:
        for bframes in (0, 2):
            path = encode_camera_clip(Path(tmp) / f"clip_bf{bframes}.mp4", 20.0, bframes)
            mb = path.stat().st_size / 1e6
            for label, settings in (
                ("default (1/s, max 10)", {}),
                ("1/s, whole 20 s clip", {"max_frames": 20}),
                ("1 per 4 s (seeking)", {"fps": 0.25}),
            ):
                r = measure(path, **settings)
                print(
                    f"B-frames {bframes} ({mb:.1f} MB, 20 s) {label:24s} "
                    f"{r['frames']:3.0f} frames  {r['wall_s'] * 1000:7.0f} ms  "
                    f"{r['fps']:6.1f} sampled frames/s  CPU {r['cpu_s'] * 1000:7.0f} ms/clip"
                )
    sys.stdout.flush()


if __name__ == "__main__":
    main()
