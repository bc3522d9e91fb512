"""Turn the JSON results into a table (stdout) and BENCHMARKS.md; check the pipeline worked.

`python -m benchmarks.report COMMAND SECONDS` exits non-zero only when a pipeline result is
missing or shows no image processed, never because a figure misses its target.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
import platform
import sys
from typing import Any

from benchmarks.common import QUICK, RESULTS

REPO = Path(__file__).resolve().parents[1]
TARGETS_NOTE = "instant detector on 127.0.0.1; targets from issue 6"


def load(name: str) -> dict[str, Any]:
    """One result file, or {} when that benchmark did not run."""
    path = RESULTS / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else {}


def fmt(value: Any, digits: int = 1) -> str:
    """Format a number for the table."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return str(value)


def machine() -> list[str]:
    """CPU model, cores, RAM, Python and Home Assistant versions."""
    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem_kb = next(
        int(line.split()[1])
        for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal")
    )
    from homeassistant.const import __version__ as ha_version  # noqa: PLC0415

    load1, load5, _ = os.getloadavg()
    return [
        f"- CPU: {cpu}, {os.cpu_count()} cores; RAM {mem_kb / 1024 / 1024:.1f} GB",
        f"- Python {platform.python_version()}, Home Assistant {ha_version}, {platform.system()} {platform.release()}",
        f"- Load average at the end: {load1:.1f} (1 min), {load5:.1f} (5 min)",
    ]


def rows() -> tuple[list[tuple[str, str, str, str]], list[tuple[str, str, bool | None]]]:
    """(benchmark, figure, value, baseline/ratio) rows and (target, value, met) checks."""
    table: list[tuple[str, str, str, str]] = []
    checks: list[tuple[str, str, bool | None]] = []
    for backend in ("embedded", "redis"):
        res = load(f"pipeline_{backend}")
        if not res:
            continue
        name = f"1 pipeline ({backend}, {res['cameras']} cameras)"
        settle_ms = res["settle_s"] * 1000
        for phase in ("rate", "burst"):
            ph = res[phase]
            lat = ph["latency_ms"]
            label = f"{phase} {ph['images']} img" + (
                f" @ {ph['rate_asked']:.0f}/s" if ph["rate_asked"] else " as fast as written"
            )
            table.append((name, f"{label}: images/s", fmt(ph["images_per_s"]), ""))
            for key, text in (
                ("stored", "complete -> stored"),
                ("event", "complete -> detection event"),
                ("entity", "complete -> entity state"),
            ):
                s = lat[key]
                table.append(
                    (
                        name,
                        f"{label}: {text} ms p50/p95/p99",
                        f"{fmt(s['p50'])} / {fmt(s['p95'])} / {fmt(s['p99'])}",
                        "",
                    )
                )
            lag = ph["loop_lag_ms"]
            table.append(
                (
                    name,
                    f"{label}: loop lag ms p50/p99/max",
                    f"{fmt(lag['p50'])} / {fmt(lag['p99'])} / {fmt(lag['max'])}",
                    "",
                )
            )
            table.append((name, f"{label}: process CPU ms/image", fmt(ph["cpu_ms_per_image"]), ""))
        burst = res["burst"]
        checks.append(
            (
                f"{backend}: >= 100 images/s sustained (burst)",
                fmt(burst["images_per_s"]),
                burst["images_per_s"] >= 100,
            )
        )
        p99 = res["rate"]["latency_ms"]["stored"]["p99"]
        checks.append(
            (
                f"{backend}: p99 complete -> stored <= settle + 50 ms ({settle_ms + 50:.0f} ms), fixed rate",
                fmt(p99),
                p99 <= settle_ms + 50,
            )
        )
        p99b = burst["latency_ms"]["stored"]["p99"]
        checks.append((f"{backend}: same, during the burst", fmt(p99b), p99b <= settle_ms + 50))
        lag = burst["loop_lag_ms"]
        checks.append(
            (
                f"{backend}: loop lag p99 <= 20 ms and max <= 100 ms (burst)",
                f"{fmt(lag['p99'])} / {fmt(lag['max'])}",
                lag["p99"] <= 20 and lag["max"] <= 100,
            )
        )
        checks.append(
            (
                f"{backend}: pipeline CPU <= 5 ms per image (burst, whole HA process)",
                fmt(burst["cpu_ms_per_image"]),
                burst["cpu_ms_per_image"] <= 5,
            )
        )
        if redis := res.get("redis"):
            trips = redis["round_trips_per_image"]
            calls = ", ".join(f"{k} {v:.2f}" for k, v in redis["commands_per_image"].items())
            table.append((name, "Redis round trips per image", fmt(trips, 2), calls))
            checks.append(
                ("<= 2 Redis round trips per image (pipeline)", fmt(trips, 2), trips <= 2)
            )
    if thumb := load("thumbnail"):
        for size, r in thumb.items():
            table.append(
                (
                    "2 thumbnail 320x240, 5 boxes",
                    f"{size}: ours vs naive CPU ms/op",
                    f"{fmt(r['ours_ms'], 2)} vs {fmt(r['naive_ms'], 2)}",
                    f"{r['ratio']:.1f}x",
                )
            )
            checks.append(
                (
                    f"thumbnail >= 4x faster than naive ({size})",
                    f"{r['ratio']:.1f}x",
                    r["ratio"] >= 4,
                )
            )
    if val := load("validation"):
        for size, r in val.items():
            table.append(
                (
                    "3 image validation",
                    f"{size}: load_image vs full decode CPU ms",
                    f"{fmt(r['load_image_ms'], 3)} vs {fmt(r['full_decode_ms'], 2)}",
                    f"{r['ratio']:.0f}x",
                )
            )
    if red := load("redis"):
        for key, text in (
            ("per_add_detections", "commands per add_detections"),
            ("per_close_batch", "commands per close_batch"),
            ("per_queued_image", "commands per image queued+taken+acked"),
        ):
            table.append(
                ("4 Redis", text, ", ".join(f"{k} {v:.2f}" for k, v in red[key].items()), "")
            )
        table.append(
            (
                "4 Redis",
                "add_detections(+close every 10) ops/s: Redis vs embedded",
                f"{fmt(red['redis_ops_per_s'], 0)} vs {fmt(red['embedded_ops_per_s'], 0)}",
                f"{red['ratio']:.1f}x",
            )
        )
    if sql := load("sqlite"):
        table.append(
            (
                "5 SQLite",
                f"store_detections ({sql['store_detections_images']} images x 2)",
                f"{fmt(sql['detections_per_s'], 0)} detections/s",
                f"{fmt(sql['images_per_s'], 0)} images/s",
            )
        )
        for key, text in (
            (
                "latest_event_ms",
                f"a camera's newest event (query_events, limit 1) on {sql['events']:,} events, CPU ms",
            ),
            (
                "camera_time_range_ms",
                f"camera + 1-day range, newest 50, {sql['events']:,} events, CPU ms",
            ),
        ):
            s = sql[key]
            table.append(
                ("5 SQLite", f"{text} p50/p99", f"{fmt(s['p50'], 2)} / {fmt(s['p99'], 2)}", "")
            )
        table.append(("5 SQLite", "plan: latest_event", sql["latest_event_plan"], ""))
        table.append(("5 SQLite", "plan: camera + time range", sql["camera_time_range_plan"], ""))
    if back := load("backlog"):
        name = f"6 backlog {back['backlog']:,} images"
        table.append((name, "async_setup of the entry, s", fmt(back["setup_s"], 3), ""))
        table.append(
            (
                name,
                "processed / drain time s / images/s",
                f"{back['processed']} / {fmt(back['drain_s'])} / {fmt(back['drain_images_per_s'])}",
                "",
            )
        )
        table.append(
            (
                name,
                "RSS MB before -> peak (growth)",
                f"{fmt(back['rss_before_mb'])} -> {fmt(back['rss_peak_during_mb'])} ({fmt(back['rss_growth_mb'])})",
                "",
            )
        )
        checks.append(
            ("setup < 1 s with the backlog waiting", fmt(back["setup_s"], 3), back["setup_s"] < 1)
        )
        checks.append(
            (
                f"RSS growth <= 64 MB for the backlog ({back['backlog']:,})",
                fmt(back["rss_growth_mb"]),
                back["rss_growth_mb"] <= 64,
            )
        )
    return table, checks


def markdown(table: list[tuple[str, ...]], header: tuple[str, ...]) -> list[str]:
    """Render a Markdown table."""
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out.extend("| " + " | ".join(cell.replace("|", "/") for cell in row) + " |" for row in table)
    return out


def main() -> int:
    """Print the table, rewrite BENCHMARKS.md, return the exit status."""
    command, seconds = sys.argv[1], float(sys.argv[2])
    table, checks = rows()
    check_rows = [
        (target, value, "n/a" if met is None else ("met" if met else "MISSED"))
        for target, value, met in checks
    ]
    width = max(len(r[1]) for r in table) if table else 20
    for bench, figure, value, extra in table:
        print(f"{bench[:34]:34} {figure:{width}} {value} {extra}")
    print()
    for target, value, status in check_rows:
        print(f"{status:7} {target}: {value}")
    intro = (
        (REPO / "benchmarks" / "NOTES.md").read_text()
        if (REPO / "benchmarks" / "NOTES.md").exists()
        else ""
    )
    doc = [
        "# Benchmarks",
        "",
        "Latest output of `scripts/bench` (rewritten by every run; the discussion of what is",
        "measured and what limits the figures is in `benchmarks/NOTES.md`, included below).",
        "",
        f"- Command: `{command}`{' (quick mode: smaller sizes, figures indicative only)' if QUICK else ''}",
        f"- Duration: {seconds:.0f} s",
        *machine(),
        f"- Conditions: {TARGETS_NOTE}; CPU figures are CPU time, wall figures include",
        "  whatever else the machine was running.",
        "",
        "## Targets",
        "",
        *markdown(check_rows, ("Target", "Measured", "Status")),
        "",
        "## Figures",
        "",
        *markdown(table, ("Benchmark", "Figure", "Value", "Baseline / ratio / detail")),
        "",
        intro,
    ]
    (REPO / "BENCHMARKS.md").write_text("\n".join(doc).rstrip() + "\n")
    broken = [
        backend
        for backend in ("embedded", "redis")
        if not (res := load(f"pipeline_{backend}")) or res["burst"]["images_per_s"] <= 0
    ]
    if not load("backlog").get("processed"):
        broken.append("backlog")
    if broken:
        print(f"bench: the pipeline did not process images ({', '.join(broken)})", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
