"""Image and clip URLs served by the integration's view, signed for notifications; redaction."""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from yarl import URL

from homeassistant.components.http.auth import async_sign_path
from homeassistant.core import HomeAssistant

from .const import DOMAIN

SIGNED_URL_TTL = timedelta(hours=24)
ImageKind = Literal["thumbnail", "snapshot", "annotated", "clip"]
VIEW_URL = f"/api/{DOMAIN}/{{entry_id}}/{{kind}}/{{detection_id}}"


def image_path(entry_id: str, kind: ImageKind, detection_id: int) -> str:
    """Return the view path of a detection's thumbnail, original snapshot or video clip."""
    return VIEW_URL.format(entry_id=entry_id, kind=kind, detection_id=detection_id)


def signed_image_url(hass: HomeAssistant, entry_id: str, kind: ImageKind, detection_id: int) -> str:
    """Return a relative URL that works without a login for SIGNED_URL_TTL (push notifications)."""
    return async_sign_path(
        hass, image_path(entry_id, kind, detection_id), SIGNED_URL_TTL, use_content_user=True
    )


def redact_url(url: str) -> str:
    """Drop the user and password from a URL (Redis URLs carry them)."""
    try:
        parsed = URL(url)
    except ValueError:
        return "**REDACTED**"
    if parsed.user or parsed.password:
        return str(parsed.with_user(None).with_password(None))
    return url
