"""Benchmark 1b: the seed's way and the floor on the pipeline's frames and detector.

Run by scripts/bench after test_pipeline.py, in the same pytest process and against the
same detector process, so the pipeline's CPU per image is compared with references
measured in the same run on the same machine (see benchmarks/seed_way.py).
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from benchmarks import seed_way
from benchmarks.common import QUICK, frames, plan, save

IMAGES = 120 if QUICK else 600


def write_files(root: Path) -> list[Path]:
    """Write the frames into camera folders as the pipeline run does (blocking)."""
    files = plan(root, "reference", IMAGES, frames())
    for path, data in files:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return [path for path, _ in files]


@pytest.mark.timeout(600)
async def test_seed_way_and_floor(
    tmp_path: Path, detector_url: str, redis_url: str, socket_enabled: None
) -> None:
    """Process the same frames the seed's way, then with the least work; save CPU per image."""
    with ThreadPoolExecutor(1) as pool:  # shut down before the test ends (no lingering thread)
        paths = await asyncio.get_running_loop().run_in_executor(
            pool, write_files, tmp_path / "cameras"
        )
    seed = await seed_way.seed_way(paths, detector_url, redis_url, tmp_path / "seed")
    least = await seed_way.floor(paths, detector_url, tmp_path / "floor")
    assert seed["images"] == least["images"] == IMAGES
    result = {"seed": seed, "floor": least}
    save("reference", result)
    print(f"\nreference: {result}")
