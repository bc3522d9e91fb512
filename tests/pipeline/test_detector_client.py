"""Detector client against real HTTP servers: the contract server and odd ones."""

from __future__ import annotations

import logging
import math
from typing import Any

from aiohttp import web
import pytest

from custom_components.home_security_intelligence.pipeline.detector_client import (
    API_DEEPSTACK,
    MAX_CLASS_LENGTH,
    MAX_DETECTIONS,
    MAX_RESPONSE_BYTES,
    DetectorClient,
    DetectorProtocolError,
    DetectorRejectedError,
    DetectorUnreachableError,
    parse_detections,
)
from custom_components.home_security_intelligence.pipeline.models import Detection
from homeassistant.core import HomeAssistant
from homeassistant.helpers.aiohttp_client import async_get_clientsession

from ..conftest import make_jpeg
from ..contract_servers import DetectorServer, serve_404
from .conftest import ServeFactory

SIZE = (640, 480)


def _client(hass: HomeAssistant, url: str) -> DetectorClient:
    return DetectorClient(async_get_clientsession(hass), url)


async def _detect(client: DetectorClient, threshold: float = 0.5) -> list[Detection]:
    return await client.detect_objects(make_jpeg(*SIZE), "a.jpg", "image/jpeg", SIZE, threshold)


async def _answer(serve: ServeFactory, payload: Any, status: int = 200) -> str:
    async def handler(request: web.Request) -> web.Response:
        await request.read()
        return web.json_response(payload, status=status)

    return await serve({"POST /detect": handler})


async def test_contract_server_finds_person(hass: HomeAssistant, detector: DetectorServer) -> None:
    """The contract server's person comes back with its box; the upload is a multipart file."""
    client = _client(hass, detector.url + "/")
    assert client.url == detector.url
    found = await _detect(client)
    assert found == [Detection("person", 0.92, (160, 120, 320, 240))]
    assert detector.requests[-1]["filename"] == "a.jpg"
    assert detector.requests[-1]["content_type"] == "image/jpeg"


async def test_threshold_filter_keeps_equal(hass: HomeAssistant, detector: DetectorServer) -> None:
    """Detections below the threshold are dropped, one exactly at it is kept."""
    detector.objects = [("person", 0.6), ("car", 0.59), ("dog", 0.95)]
    found = await _detect(_client(hass, detector.url), threshold=0.6)
    assert [(d.object_type, d.confidence) for d in found] == [("person", 0.6), ("dog", 0.95)]


async def test_bbox_dict_form_and_label_key(hass: HomeAssistant, detector: DetectorServer) -> None:
    """`bbox` as {x,y,width,height} and `label` instead of `class` are understood."""
    detector.script = [
        {
            "detections": [
                {
                    "label": "  Car ",
                    "confidence": 0.8,
                    "bbox": {"x": 10, "y": 20, "width": 30.4, "height": 40.6},
                }
            ]
        }
    ]
    found = await _detect(_client(hass, detector.url))
    assert found == [Detection("car", 0.8, (10, 20, 30, 41))]


async def test_boxes_clamped_or_dropped(hass: HomeAssistant, serve: ServeFactory) -> None:
    """Negative and overhanging boxes are clamped; NaN, empty and off-image ones dropped."""
    dets = [
        {"class": "a", "confidence": 0.9, "bbox": [-10, -20, 50, 60]},
        {"class": "b", "confidence": 0.9, "bbox": [600, 400, 100, 100]},
        {"class": "c", "confidence": 0.9, "bbox": [float("nan"), 0, 10, 10]},
        {"class": "d", "confidence": 0.9, "bbox": [700, 10, 50, 50]},
        {"class": "e", "confidence": 0.9, "bbox": [10, 10, -5, 10]},
        {"class": "f", "confidence": 0.9, "bbox": [10, 10, 0.5, 10]},
        {"class": "g", "confidence": 0.9, "bbox": [10, 10, 10]},
        {"class": "h", "confidence": 0.9, "bbox": [True, 10, 10, 10]},
        {"class": "i", "confidence": 0.9, "bbox": "10,10,10,10"},
        {"class": "j", "confidence": 0.9, "bbox": [10, "10", 10, 10]},
        {"class": "k", "confidence": 0.9, "bbox": [float("inf"), 0, 10, 10]},
    ]
    url = await _answer(serve, {"detections": dets})
    found = await _detect(_client(hass, url))
    assert found == [
        Detection("a", 0.9, (0, 0, 40, 40)),
        Detection("b", 0.9, (600, 400, 40, 80)),
    ]


async def test_bad_entries_skipped(hass: HomeAssistant, serve: ServeFactory) -> None:
    """Unknown shapes, bool/NaN/out-of-range confidences and empty classes are skipped."""
    box = [1, 1, 10, 10]
    dets: list[Any] = [
        "person",
        ["person", 0.9, box],
        {"class": "", "confidence": 0.9, "bbox": box},
        {"class": 7, "confidence": 0.9, "bbox": box},
        {"confidence": 0.9, "bbox": box},
        {"class": "bool", "confidence": True, "bbox": box},
        {"class": "str", "confidence": "0.9", "bbox": box},
        {"class": "nan", "confidence": float("nan"), "bbox": box},
        {"class": "big", "confidence": 1.5, "bbox": box},
        {"class": "neg", "confidence": -0.1, "bbox": box},
        {"class": "nobox", "confidence": 0.9},
        {"class": "one", "confidence": 1, "bbox": box},
        {"class": "X" * 100, "confidence": 0.912345, "bbox": box},
    ]
    url = await _answer(serve, {"detections": dets})
    found = await _detect(_client(hass, url))
    assert found == [
        Detection("one", 1.0, (1, 1, 10, 10)),
        Detection("x" * MAX_CLASS_LENGTH, 0.9123, (1, 1, 10, 10)),
    ]


async def test_too_many_detections_capped_to_most_confident(
    hass: HomeAssistant, detector: DetectorServer, caplog: pytest.LogCaptureFixture
) -> None:
    """More than 500 detections keep only the 500 most confident, with a warning."""
    total = MAX_DETECTIONS + 100
    dets = [
        {"class": "car", "confidence": round(0.4 + i / 1000, 4), "bbox": [1, 1, 5, 5]}
        for i in range(total)
    ]
    detector.script = [{"detections": dets}]
    with caplog.at_level(logging.WARNING):
        found = await _detect(_client(hass, detector.url), threshold=0.0)
    assert len(found) == MAX_DETECTIONS
    confidences = sorted(d.confidence for d in found)
    assert confidences[0] == round(0.4 + 100 / 1000, 4)
    assert confidences[-1] == round(0.4 + (total - 1) / 1000, 4)
    assert f"returned {total} detections" in caplog.text


def test_exactly_max_detections_are_kept_in_order() -> None:
    """At the cap nothing is dropped or reordered."""
    confidences = [0.5 + (i % 7) / 100 for i in range(MAX_DETECTIONS)]
    dets = [{"class": "car", "confidence": c, "bbox": [1, 1, 5, 5]} for c in confidences]
    found = parse_detections({"detections": dets}, SIZE, 0.0)
    assert [d.confidence for d in found] == [round(c, 4) for c in confidences]


@pytest.mark.parametrize("payload", [[], {"detections": "none"}, {"objects": []}, None])
def test_answer_without_detections_list(payload: Any) -> None:
    """An answer without a `detections` list is a protocol error, not 'nothing seen'."""
    with pytest.raises(DetectorProtocolError, match="no `detections` list"):
        parse_detections(payload, SIZE, 0.5)


def test_nan_confidence_from_parsed_json() -> None:
    """Infinite confidences are rejected like NaN."""
    assert (
        parse_detections(
            {"detections": [{"class": "a", "confidence": math.inf, "bbox": [1, 1, 5, 5]}]}, SIZE, 0
        )
        == []
    )


async def test_body_over_4mib_is_protocol_error(hass: HomeAssistant, serve: ServeFactory) -> None:
    """A huge answer is cut off and refused."""

    async def handler(request: web.Request) -> web.Response:
        await request.read()
        return web.Response(body=b" " * (MAX_RESPONSE_BYTES + 1), content_type="application/json")

    url = await serve({"POST /detect": handler})
    with pytest.raises(DetectorProtocolError, match="larger than"):
        await _detect(_client(hass, url))


async def test_body_at_4mib_is_read(hass: HomeAssistant, serve: ServeFactory) -> None:
    """An answer of exactly the cap is still parsed."""
    body = b'{"detections": []}'

    async def handler(request: web.Request) -> web.Response:
        await request.read()
        padded = body + b" " * (MAX_RESPONSE_BYTES - len(body))
        return web.Response(body=padded, content_type="application/json")

    url = await serve({"POST /detect": handler})
    assert await _detect(_client(hass, url)) == []


async def test_non_json_is_protocol_error(hass: HomeAssistant, detector: DetectorServer) -> None:
    """HTML instead of JSON is a protocol error."""
    detector.script = ["garbage"]
    with pytest.raises(DetectorProtocolError, match="not JSON"):
        await _detect(_client(hass, detector.url))


async def test_500_is_unreachable(hass: HomeAssistant, detector: DetectorServer) -> None:
    """A 5xx means the detector is down: the image must wait."""
    detector.script = ["500"]
    with pytest.raises(DetectorUnreachableError, match="HTTP 500"):
        await _detect(_client(hass, detector.url))


async def test_400_from_contract_server_is_rejected(
    hass: HomeAssistant, detector: DetectorServer
) -> None:
    """The detector refusing non-image bytes is a rejection with its reason."""
    client = _client(hass, detector.url)
    with pytest.raises(DetectorRejectedError, match=r"HTTP 400.*not an image"):
        await client.detect_objects(b"not an image", "a.jpg", "image/jpeg", SIZE, 0.5)


@pytest.mark.parametrize("status", [400, 413, 415, 422])
async def test_rejection_statuses(hass: HomeAssistant, serve: ServeFactory, status: int) -> None:
    """400/413/415/422 mean this image can never succeed."""
    url = await _answer(serve, {"error": "x" * 1000}, status)
    with pytest.raises(DetectorRejectedError, match=f"HTTP {status}") as err:
        await _detect(_client(hass, url))
    assert len(str(err.value)) < 220


@pytest.mark.parametrize("status", [404, 401, 405])
async def test_other_status_is_protocol_error(
    hass: HomeAssistant, serve: ServeFactory, status: int
) -> None:
    """Other non-200 answers mean a wrong server or path."""

    async def handler(request: web.Request) -> web.Response:
        await request.read()
        return web.Response(status=status)

    url = await serve({"POST /detect": handler})
    with pytest.raises(DetectorProtocolError, match=f"HTTP {status}"):
        await _detect(_client(hass, url))


async def test_404_server_is_protocol_error(hass: HomeAssistant, socket_enabled: None) -> None:
    """A server without /detect answers 404: a protocol error."""
    server = await serve_404()
    try:
        url = str(server.make_url("")).rstrip("/")
        with pytest.raises(DetectorProtocolError, match="HTTP 404"):
            await _detect(_client(hass, url))
        with pytest.raises(DetectorProtocolError, match="HTTP 404"):
            await _client(hass, url).verify()
        assert await _client(hass, url).health_check() is True
    finally:
        await server.close()


async def test_closed_port_is_unreachable(hass: HomeAssistant, closed_port_url: str) -> None:
    """Connection refused is unreachable, and health is false."""
    client = _client(hass, closed_port_url)
    with pytest.raises(DetectorUnreachableError, match="unreachable"):
        await _detect(client)
    assert await client.health_check() is False


async def test_health_check(hass: HomeAssistant, detector: DetectorServer) -> None:
    """The contract server is healthy."""
    assert await _client(hass, detector.url).health_check() is True


async def test_health_check_false_on_500(hass: HomeAssistant, serve: ServeFactory) -> None:
    """A failing /health is unhealthy."""

    async def handler(request: web.Request) -> web.Response:
        return web.Response(status=503)

    url = await serve({"GET /health": handler})
    assert await _client(hass, url).health_check() is False


async def test_verify_ok(hass: HomeAssistant, detector: DetectorServer) -> None:
    """verify sends a real probe JPEG the contract server can open."""
    await _client(hass, detector.url).verify()
    assert detector.requests[-1]["filename"] == "probe.jpg"
    assert detector.requests[-1]["content_type"] == "image/jpeg"
    assert detector.requests[-1]["size"] > 100


async def test_verify_wrong_api(hass: HomeAssistant, serve: ServeFactory) -> None:
    """A server answering 200 JSON without `detections` is not a detector."""
    url = await _answer(serve, {"predictions": []})
    with pytest.raises(DetectorProtocolError, match="no `detections` list"):
        await _client(hass, url).verify()


# DeepStack / CodeProject.AI: POST /v1/vision/detection, field `image`, `predictions`


async def _deepstack(
    serve: ServeFactory, predictions: Any, seen: list[dict[str, Any]] | None = None
) -> str:
    async def handler(request: web.Request) -> web.Response:
        form = await request.post()
        upload = form.get("image")
        assert isinstance(upload, web.FileField)
        if seen is not None:
            seen.append({"filename": upload.filename, "min_confidence": form.get("min_confidence")})
        body = {"success": True}
        if predictions is not None:
            body["predictions"] = predictions
        return web.json_response(body)

    return await serve({"POST /v1/vision/detection": handler})


def _ds_client(hass: HomeAssistant, url: str) -> DetectorClient:
    return DetectorClient(async_get_clientsession(hass), url, API_DEEPSTACK)


async def test_deepstack_predictions(hass: HomeAssistant, serve: ServeFactory) -> None:
    """Corner boxes become x/y/w/h detections; bad predictions are dropped."""
    seen: list[dict[str, Any]] = []
    preds = [
        {
            "label": "person",
            "confidence": 0.8,
            "x_min": 10,
            "y_min": 20,
            "x_max": 110,
            "y_max": 220,
        },
        {"label": "dog", "confidence": 0.9, "x_min": 600, "y_min": 400, "x_max": 700, "y_max": 500},
        {"label": "car", "confidence": 0.9, "x_min": 1, "y_min": 1, "x_max": 50},
        {"label": "car", "confidence": 0.9, "x_min": "a", "y_min": 1, "x_max": 5, "y_max": 5},
        {"label": "car", "confidence": 0.9, "x_min": None, "y_min": 1, "x_max": 5, "y_max": 5},
        {"label": "cat", "confidence": 0.2, "x_min": 1, "y_min": 1, "x_max": 50, "y_max": 50},
        "noise",
    ]
    url = await _deepstack(serve, preds, seen)
    found = await _detect(_ds_client(hass, url), threshold=0.5)
    assert found == [
        Detection("person", 0.8, (10, 20, 100, 200)),
        Detection("dog", 0.9, (600, 400, 40, 80)),
    ]
    assert seen == [{"filename": "a.jpg", "min_confidence": "0.5"}]


async def test_deepstack_without_predictions(hass: HomeAssistant, serve: ServeFactory) -> None:
    """A DeepStack answer without `predictions` is a protocol error, also for verify."""
    url = await _deepstack(serve, None)
    with pytest.raises(DetectorProtocolError, match="predictions"):
        await _detect(_ds_client(hass, url))
    with pytest.raises(DetectorProtocolError, match="predictions"):
        await _ds_client(hass, url).verify()


async def test_deepstack_verify_ok(hass: HomeAssistant, serve: ServeFactory) -> None:
    """verify accepts an empty prediction list."""
    seen: list[dict[str, Any]] = []
    await _ds_client(hass, await _deepstack(serve, [], seen)).verify()
    assert seen[0]["filename"] == "probe.jpg"


async def test_detect_server_in_deepstack_mode_is_wrong_api(
    hass: HomeAssistant, detector: DetectorServer
) -> None:
    """The /detect contract server has no DeepStack path."""
    with pytest.raises(DetectorProtocolError, match=r"HTTP (404|405)"):
        await _ds_client(hass, detector.url).verify()
