"""The image view: login or signed URL required, only the integration's own files served."""

from __future__ import annotations

from datetime import timedelta
import io
import os
from pathlib import Path
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from PIL import Image
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_capture_events
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.home_security_intelligence import views
from custom_components.home_security_intelligence.const import DOMAIN, EVENT_DETECTION
from homeassistant.core import HomeAssistant

from .conftest import EntryFactory, make_jpeg, write_file
from .helpers import drop_and_detect, runtime_of
from .store.common import set_thumbnail

pytestmark = pytest.mark.usefixtures("unload_entries")


async def detected(
    hass: HomeAssistant,
    setup_entry: EntryFactory,
    camera_root: Path,
    freezer: FrozenDateTimeFactory | None = None,
) -> tuple[MockConfigEntry, dict[str, Any]]:
    """An entry with one detection; return it and the detection bus event's data."""
    entry = await setup_entry()
    events = async_capture_events(hass, EVENT_DETECTION)
    await drop_and_detect(hass, entry, camera_root, "front_door", freezer=freezer)
    assert len(events) == 1
    return entry, dict(events[0].data)


def path_of(entry: MockConfigEntry, kind: str, detection_id: int | str) -> str:
    """Unsigned view path."""
    return f"/api/{DOMAIN}/{entry.entry_id}/{kind}/{detection_id}"


async def test_logged_in_user_gets_thumbnail_and_snapshot(
    hass: HomeAssistant,
    setup_entry: EntryFactory,
    camera_root: Path,
    hass_client: ClientSessionGenerator,
) -> None:
    """An authenticated GET returns the annotated thumbnail and the original upload."""
    entry, data = await detected(hass, setup_entry, camera_root)
    detection_id = data["detection_ids"][0]
    client = await hass_client()

    response = await client.get(path_of(entry, "thumbnail", detection_id))
    assert response.status == 200
    assert response.headers["Content-Type"] == "image/jpeg"
    body = await response.read()
    with Image.open(io.BytesIO(body)) as image:
        assert image.format == "JPEG"
        assert image.size == (320, 240)

    response = await client.get(path_of(entry, "snapshot", detection_id))
    assert response.status == 200
    assert response.headers["Content-Type"] == "image/jpeg"
    with Image.open(io.BytesIO(await response.read())) as image:
        assert image.size == (640, 480)


async def test_a_thumbnail_not_drawn_yet_is_drawn_on_request_and_kept(
    hass: HomeAssistant,
    setup_entry: EntryFactory,
    camera_root: Path,
    hass_client: ClientSessionGenerator,
) -> None:
    """A thumbnail whose file is not there is drawn from the original upload and kept."""
    entry, data = await detected(hass, setup_entry, camera_root)
    detection_id = data["detection_ids"][0]
    client = await hass_client()
    drawn = await (await client.get(path_of(entry, "thumbnail", detection_id))).read()
    records = await hass.async_add_executor_job(runtime_of(entry).db.detections, [detection_id])
    thumbnail = Path(records[0].thumbnail_path or "")
    assert thumbnail.name == f"{records[0].image_id}.jpg"
    await hass.async_add_executor_job(thumbnail.unlink)

    response = await client.get(path_of(entry, "thumbnail", detection_id))

    assert response.status == 200
    body = await response.read()
    with Image.open(io.BytesIO(body)) as image:
        assert (image.format, image.size) == ("JPEG", (320, 240))
    assert body == drawn  # the same renderer, the same frame and boxes
    assert await hass.async_add_executor_job(thumbnail.read_bytes) == body


async def test_only_a_thumbnail_at_its_own_name_is_drawn_on_request(
    hass: HomeAssistant,
    setup_entry: EntryFactory,
    camera_root: Path,
    hass_client: ClientSessionGenerator,
) -> None:
    """A stored thumbnail path that is not `{image_id}.jpg` in the folder is never drawn."""
    entry, data = await detected(hass, setup_entry, camera_root)
    detection_id = data["detection_ids"][0]
    runtime = runtime_of(entry)
    client = await hass_client()
    for elsewhere in (runtime.thumbnail_dir / "other.jpg", runtime.root / "front_door" / "1.jpg"):
        await hass.async_add_executor_job(set_thumbnail, runtime.db, [detection_id], str(elsewhere))
        assert (await client.get(path_of(entry, "thumbnail", detection_id))).status == 404
        assert not await hass.async_add_executor_job(elsewhere.exists)


async def test_annotated_full_size_frame(
    hass: HomeAssistant,
    setup_entry: EntryFactory,
    camera_root: Path,
    hass_client: ClientSessionGenerator,
) -> None:
    """`annotated` serves the whole upload's resolution with its boxes drawn, and no file."""
    entry, data = await detected(hass, setup_entry, camera_root)
    detection_id = data["detection_ids"][0]
    client = await hass_client()
    response = await client.get(path_of(entry, "annotated", detection_id))
    assert response.status == 200
    assert response.headers["Content-Type"] == "image/jpeg"
    with Image.open(io.BytesIO(await response.read())) as image:
        assert (image.format, image.size) == ("JPEG", (640, 480))
        snapshot = await (await client.get(path_of(entry, "snapshot", detection_id))).read()
        with Image.open(io.BytesIO(snapshot)) as original:
            assert image.convert("RGB").tobytes() != original.convert("RGB").tobytes()
    thumbnails = runtime_of(entry).thumbnail_dir
    names = await hass.async_add_executor_job(lambda: sorted(p.name for p in thumbnails.iterdir()))
    assert all(name.endswith(".jpg") and name[:-4].isdigit() for name in names)
    assert (await client.get(path_of(entry, "annotated", 999999))).status == 404


async def test_anonymous_request_is_refused(
    hass: HomeAssistant,
    setup_entry: EntryFactory,
    camera_root: Path,
    hass_client_no_auth: ClientSessionGenerator,
) -> None:
    """Without a login or a signature the view answers 401."""
    entry, data = await detected(hass, setup_entry, camera_root)
    client = await hass_client_no_auth()
    for kind in ("thumbnail", "snapshot"):
        response = await client.get(path_of(entry, kind, data["detection_ids"][0]))
        assert response.status == 401


async def test_signed_urls_from_the_bus_event_work_without_login(
    hass: HomeAssistant,
    setup_entry: EntryFactory,
    camera_root: Path,
    hass_client_no_auth: ClientSessionGenerator,
) -> None:
    """The relative URLs in the detection event open without a login (push notifications)."""
    entry, data = await detected(hass, setup_entry, camera_root)
    client = await hass_client_no_auth()
    for key in ("snapshot_url", "thumbnail_url"):
        url = data[key]
        assert url.startswith(f"/api/{DOMAIN}/{entry.entry_id}/")
        assert "authSig=" in url
        response = await client.get(url)
        assert response.status == 200, key
        assert (await response.read())[:2] == b"\xff\xd8"


async def test_tampered_or_expired_signature_is_refused(
    hass: HomeAssistant,
    setup_entry: EntryFactory,
    camera_root: Path,
    hass_client_no_auth: ClientSessionGenerator,
    freezer: FrozenDateTimeFactory,
) -> None:
    """A changed signature, a signature moved to another image, or an old one answer 401."""
    entry, data = await detected(hass, setup_entry, camera_root, freezer)
    await drop_and_detect(hass, entry, camera_root, "front_door", seed=1, freezer=freezer)
    client = await hass_client_no_auth()
    url: str = data["thumbnail_url"]
    _, query = url.split("?", 1)

    tampered = url[:-3] + ("AAA" if not url.endswith("AAA") else "BBB")
    assert (await client.get(tampered)).status == 401
    other = runtime_of(entry).cameras["front_door"].last_detection
    assert other is not None
    moved = f"{path_of(entry, 'thumbnail', other.detection_ids[0])}?{query}"
    assert (await client.get(moved)).status == 401
    snapshot = f"{path_of(entry, 'snapshot', data['detection_ids'][0])}?{query}"
    assert (await client.get(snapshot)).status == 401

    assert (await client.get(url)).status == 200
    freezer.tick(timedelta(hours=24, minutes=1))
    assert (await client.get(url)).status == 401


@pytest.mark.parametrize(
    "suffix",
    [
        "thumbnail/99999",
        "thumbnail/abc",
        "thumbnail/-1",
        "thumbnail/1.0",
        "thumbnail/%31%2e",
        "original/{id}",
        "thumbnail/%2E%2E",
        "snapshot/{id}%00",
        "thumbnail/\u0661",
        "thumbnail/\uff11",
        "thumbnail/\u0661\u0662",
        "thumbnail/0",
        "thumbnail/00000000000000000000001",
        "thumbnail/9223372036854775808",
        "snapshot/18446744073709551616",
        pytest.param("snapshot/" + "9" * 5000, id="5000-digits"),
    ],
)
async def test_unknown_or_malformed_ids_are_not_found(
    hass: HomeAssistant,
    setup_entry: EntryFactory,
    camera_root: Path,
    hass_client: ClientSessionGenerator,
    suffix: str,
) -> None:
    """Ids that are not stored detections, or are not numbers at all, answer 404."""
    entry, data = await detected(hass, setup_entry, camera_root)
    client = await hass_client()
    url = f"/api/{DOMAIN}/{entry.entry_id}/" + suffix.format(id=data["detection_ids"][0])
    response = await client.get(url)
    assert response.status == 404, await response.text()


@pytest.mark.parametrize(
    "url",
    [
        "/api/home_security_intelligence/{entry}/thumbnail/../../../../etc/passwd",
        "/api/home_security_intelligence/{entry}/../../../etc/passwd",
        "/api/home_security_intelligence/{entry}/thumbnail/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
        "/api/home_security_intelligence/{entry}/thumbnail/..%2F..%2F..%2Fetc%2Fpasswd",
    ],
)
async def test_path_traversal_is_refused(
    hass: HomeAssistant,
    setup_entry: EntryFactory,
    camera_root: Path,
    hass_client: ClientSessionGenerator,
    url: str,
) -> None:
    """`../` in any spelling never reaches a file (HA's filter or our view refuses it)."""
    entry, _ = await detected(hass, setup_entry, camera_root)
    client = await hass_client()
    response = await client.get(url.format(entry=entry.entry_id))
    assert response.status in (400, 404)
    assert b"root:" not in await response.read()


async def test_unknown_or_unloaded_entry_is_not_found(
    hass: HomeAssistant,
    setup_entry: EntryFactory,
    camera_root: Path,
    hass_client: ClientSessionGenerator,
) -> None:
    """Another entry id, or our entry once unloaded, answers 404."""
    entry, data = await detected(hass, setup_entry, camera_root)
    detection_id = data["detection_ids"][0]
    client = await hass_client()
    response = await client.get(f"/api/{DOMAIN}/not_an_entry/thumbnail/{detection_id}")
    assert response.status == 404
    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    assert (await client.get(path_of(entry, "thumbnail", detection_id))).status == 404


async def test_files_moved_outside_or_deleted_are_not_served(
    hass: HomeAssistant,
    setup_entry: EntryFactory,
    camera_root: Path,
    tmp_path: Path,
    hass_client: ClientSessionGenerator,
) -> None:
    """A stored path that now leads outside the integration's folders, or nowhere, is 404."""
    entry, data = await detected(hass, setup_entry, camera_root)
    detection_id = data["detection_ids"][0]
    records = await hass.async_add_executor_job(runtime_of(entry).db.detections, [detection_id])
    snapshot, thumbnail = Path(records[0].file_path), Path(records[0].thumbnail_path or "")
    outside = tmp_path / "outside.jpg"
    await write_file(hass, outside, make_jpeg(seed=9))

    def swap(path: Path) -> None:
        path.unlink()
        os.symlink(outside, path)

    client = await hass_client()
    for kind, path in (("snapshot", snapshot), ("thumbnail", thumbnail)):
        assert (await client.get(path_of(entry, kind, detection_id))).status == 200
        await hass.async_add_executor_job(swap, path)
        assert (await client.get(path_of(entry, kind, detection_id))).status == 404
        await hass.async_add_executor_job(path.unlink)
        assert (await client.get(path_of(entry, kind, detection_id))).status == 404


async def test_snapshot_swapped_for_a_symlink_after_the_check_is_never_served(
    hass: HomeAssistant,
    setup_entry: EntryFactory,
    camera_root: Path,
    tmp_path: Path,
    hass_client: ClientSessionGenerator,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The race of the probe, made deterministic: the file is swapped right after the check.

    The view's lookup found the snapshot inside the camera folder; before it is served it
    becomes a symlink to a file outside. The view serves from one descriptor checked after
    opening, so the outside file is never sent.
    """
    entry, data = await detected(hass, setup_entry, camera_root)
    detection_id = data["detection_ids"][0]
    records = await hass.async_add_executor_job(runtime_of(entry).db.detections, [detection_id])
    snapshot = Path(records[0].file_path)
    outside = tmp_path / "outside.jpg"
    secret = make_jpeg(seed=9)
    await write_file(hass, outside, secret)
    checked = views.image_file

    def check_then_swap(*args: Any) -> Any:
        result = checked(*args)
        snapshot.unlink()
        os.symlink(outside, snapshot)
        return result

    monkeypatch.setattr(views, "image_file", check_then_swap)
    client = await hass_client()
    response = await client.get(path_of(entry, "snapshot", detection_id))
    assert response.status == 404
    assert await response.read() != secret


async def test_served_bytes_come_from_the_checked_descriptor(
    hass: HomeAssistant,
    setup_entry: EntryFactory,
    camera_root: Path,
    tmp_path: Path,
    hass_client: ClientSessionGenerator,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A swap after the descriptor was opened and checked changes nothing that is served."""
    entry, data = await detected(hass, setup_entry, camera_root)
    detection_id = data["detection_ids"][0]
    records = await hass.async_add_executor_job(runtime_of(entry).db.detections, [detection_id])
    snapshot = Path(records[0].file_path).resolve()
    original = await hass.async_add_executor_job(snapshot.read_bytes)
    outside = tmp_path / "outside.jpg"
    await write_file(hass, outside, make_jpeg(seed=9))
    real_read = os.read
    swapped: list[int] = []

    def swap_then_read(fd: int, n: int) -> bytes:
        if not swapped and os.readlink(f"/proc/self/fd/{fd}") == str(snapshot):
            swapped.append(fd)
            snapshot.unlink()
            os.symlink(outside, snapshot)
        return real_read(fd, n)

    monkeypatch.setattr(os, "read", swap_then_read)
    client = await hass_client()
    response = await client.get(path_of(entry, "snapshot", detection_id))
    assert swapped
    assert response.status == 200
    assert await response.read() == original
    assert response.headers["Content-Type"] == "image/jpeg"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1", 1),
        ("0042", 42),
        ("9223372036854775807", 2**63 - 1),
        ("9223372036854775808", None),
        ("0", None),
        ("", None),
        ("\u0661", None),
        ("\uff11", None),
        ("+1", None),
        (" 1", None),
        ("1\n", None),
        pytest.param("9" * 5000, None, id="5000-digits"),
    ],
)
def test_parse_detection_id(text: str, expected: int | None) -> None:
    """Only 1-19 ASCII digits within SQLite's integer range are ids."""
    assert views.parse_detection_id(text) == expected
