"""Client for the object detector: `POST {url}/detect` (RT-DETRv2-style servers)."""

from __future__ import annotations

import io
import json
import logging
import math
from typing import Any

import aiohttp
from PIL import Image

from .http_body import BodyTooLargeError, read_limited
from .models import Detection

_LOGGER = logging.getLogger(__name__)

DETECT_TIMEOUT = aiohttp.ClientTimeout(total=30)
HEALTH_TIMEOUT = aiohttp.ClientTimeout(total=10)
MAX_RESPONSE_BYTES = 4 * 1024 * 1024
MAX_DETECTIONS = 500
MAX_CLASS_LENGTH = 40


class DetectorError(Exception):
    """The detector could not be reached or did not answer; the image must wait, not be skipped."""


class DetectorUnreachableError(DetectorError):
    """No HTTP answer (connection refused, DNS, timeout) or a 5xx."""


class DetectorProtocolError(DetectorError):
    """The server answered, but not in the detector contract."""


class DetectorRejectedError(DetectorError):
    """The detector refused this image (400, 413, 415, 422): retrying cannot help."""


API_DETECT = "detect"
API_DEEPSTACK = "deepstack"
DETECTOR_APIS = (API_DETECT, API_DEEPSTACK)
_PATHS = {API_DETECT: "/detect", API_DEEPSTACK: "/v1/vision/detection"}
_FIELDS = {API_DETECT: "file", API_DEEPSTACK: "image"}


class DetectorClient:
    """Sends images to the detector over one long-lived session.

    `api` is `detect` (RT-DETRv2-style `POST /detect`) or `deepstack` (DeepStack and
    CodeProject.AI `POST /v1/vision/detection`).
    """

    def __init__(self, session: aiohttp.ClientSession, url: str, api: str = API_DETECT) -> None:
        """Use `session` (HA's shared one) for every call to `url`."""
        self._session = session
        self.url = url.rstrip("/")
        self.api = api

    async def detect_objects(
        self,
        image: bytes,
        filename: str,
        content_type: str,
        size: tuple[int, int],
        threshold: float,
    ) -> list[Detection]:
        """Return the detections at or above `threshold`, boxes clamped to the image.

        Raises DetectorError on any failure: an error is never "nothing seen".
        """
        payload = await self._post(image, filename, content_type, threshold)
        return parse_detections(self._normalise(payload), size, threshold)

    def _normalise(self, payload: Any) -> Any:
        """Turn a DeepStack answer into the `/detect` shape."""
        if self.api != API_DEEPSTACK:
            return payload
        if not isinstance(payload, dict) or not isinstance(
            predictions := payload.get("predictions"), list
        ):
            raise DetectorProtocolError("answer has no `predictions` list")
        return {"detections": [_from_deepstack(p) for p in predictions]}

    async def _post(self, image: bytes, filename: str, content_type: str, threshold: float) -> Any:
        form = aiohttp.FormData()
        form.add_field(_FIELDS[self.api], image, filename=filename, content_type=content_type)
        if self.api == API_DEEPSTACK:
            form.add_field("min_confidence", str(threshold))
        try:
            async with self._session.post(
                f"{self.url}{_PATHS[self.api]}", data=form, timeout=DETECT_TIMEOUT
            ) as resp:
                if resp.status >= 500:
                    raise DetectorUnreachableError(f"detector answered HTTP {resp.status}")
                if resp.status in (400, 413, 415, 422):
                    text = (await resp.content.read(200)).decode(errors="replace")
                    raise DetectorRejectedError(f"HTTP {resp.status} {text}".strip())
                if resp.status != 200:
                    raise DetectorProtocolError(f"detector answered HTTP {resp.status}")
                body = await read_limited(resp, MAX_RESPONSE_BYTES)
        except BodyTooLargeError as err:
            raise DetectorProtocolError(str(err)) from err
        except (aiohttp.ClientError, TimeoutError) as err:
            raise DetectorUnreachableError(
                f"detector unreachable: {err or type(err).__name__}"
            ) from err
        try:
            return json.loads(body)
        except RecursionError as err:
            raise DetectorProtocolError("detector answer is nested too deeply") from err
        except ValueError as err:
            raise DetectorProtocolError("detector answer is not JSON") from err

    async def health_check(self) -> bool:
        """Return True when `/health` answers 200, or the server answers at all without it."""
        try:
            async with self._session.get(f"{self.url}/health", timeout=HEALTH_TIMEOUT) as resp:
                return resp.status in (200, 404)
        except (aiohttp.ClientError, TimeoutError):
            return False

    async def verify(self) -> None:
        """Send a tiny real image and check the answer follows the API (config flow)."""
        payload = await self._post(_probe_jpeg(), "probe.jpg", "image/jpeg", 0.5)
        normalised = self._normalise(payload)
        if not isinstance(normalised, dict) or not isinstance(normalised.get("detections"), list):
            raise DetectorProtocolError("answer has no `detections` list")


def _from_deepstack(item: Any) -> Any:
    """Map a DeepStack prediction (label, x_min...) to a `/detect` detection."""
    if not isinstance(item, dict):
        return item
    try:
        left, top = float(item["x_min"]), float(item["y_min"])
        width, height = float(item["x_max"]) - left, float(item["y_max"]) - top
    except (KeyError, TypeError, ValueError):
        return None
    return {
        "class": item.get("label"),
        "confidence": item.get("confidence"),
        "bbox": [left, top, width, height],
    }


def _probe_jpeg() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (64, 64), (90, 90, 90)).save(buf, "JPEG")
    return buf.getvalue()


def parse_detections(payload: Any, size: tuple[int, int], threshold: float) -> list[Detection]:
    """Validate a detector answer; malformed entries are dropped, the rest clamped."""
    if not isinstance(payload, dict) or not isinstance(raw := payload.get("detections"), list):
        raise DetectorProtocolError("answer has no `detections` list")
    found = [d for item in raw if (d := _parse_one(item, size, threshold)) is not None]
    if len(found) > MAX_DETECTIONS:
        _LOGGER.warning(
            "Detector returned %d detections; keeping the %d most confident",
            len(found),
            MAX_DETECTIONS,
        )
        found = sorted(found, key=lambda d: d.confidence, reverse=True)[:MAX_DETECTIONS]
    return found


def _parse_one(item: Any, size: tuple[int, int], threshold: float) -> Detection | None:
    if not isinstance(item, dict):
        return None
    label = item.get("class", item.get("label"))
    confidence = item.get("confidence")
    if not isinstance(label, str) or not label.strip():
        return None
    if isinstance(confidence, bool) or not isinstance(confidence, (int, float)):
        return None
    if not math.isfinite(confidence) or not 0 <= confidence <= 1 or confidence < threshold:
        return None
    box = _parse_bbox(item.get("bbox"), size)
    if box is None:
        return None
    return Detection(label.strip().lower()[:MAX_CLASS_LENGTH], round(float(confidence), 4), box)


def _parse_bbox(raw: Any, size: tuple[int, int]) -> tuple[int, int, int, int] | None:
    if isinstance(raw, dict):
        raw = [raw.get("x"), raw.get("y"), raw.get("width"), raw.get("height")]
    if not isinstance(raw, (list, tuple)) or len(raw) != 4:
        return None
    if not all(
        isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in raw
    ):
        return None
    width, height = size
    x, y, w, h = (float(v) for v in raw)
    left, top = max(0.0, x), max(0.0, y)
    right, bottom = min(float(width), x + w), min(float(height), y + h)
    if right - left < 1 or bottom - top < 1:
        return None
    return (round(left), round(top), round(right - left), round(bottom - top))
