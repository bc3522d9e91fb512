"""The config entries and cameras an action targets."""

from __future__ import annotations

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant, ServiceCall
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import device_registry as dr, entity_registry as er

from .cameras import camera_of_identifier
from .const import DOMAIN
from .data import HsiConfigEntry, HsiRuntimeData

ATTR_ENTRY = "config_entry_id"


def targeted_runtimes(hass: HomeAssistant, call: ServiceCall, one: bool) -> list[HsiRuntimeData]:
    """Return the runtime data of the entries the call targets (one: exactly one is needed)."""
    entries: list[HsiConfigEntry] = [
        e for e in hass.config_entries.async_entries(DOMAIN) if e.state is ConfigEntryState.LOADED
    ]
    if (entry_id := call.data.get(ATTR_ENTRY)) is not None:
        entries = [e for e in entries if e.entry_id == entry_id]
        if not entries:
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="entry_not_loaded",
                translation_placeholders={"entry_id": entry_id},
            )
    if not entries:
        raise ServiceValidationError(translation_domain=DOMAIN, translation_key="no_entries")
    if one and len(entries) > 1:
        raise ServiceValidationError(translation_domain=DOMAIN, translation_key="entry_required")
    return [e.runtime_data for e in entries]


def snooze_targets(call: ServiceCall) -> list[tuple[HsiRuntimeData, str]]:
    """Return the (entry, camera) of each camera device or Alerts switch named.

    Anything else is a translated error.
    """
    hass = call.hass
    entries: list[HsiConfigEntry] = hass.config_entries.async_entries(DOMAIN)
    runtimes = [e.runtime_data for e in entries if e.state is ConfigEntryState.LOADED]
    devices, entities = dr.async_get(hass), er.async_get(hass)
    named: list[tuple[str, str | None]] = [(d, d) for d in call.data.get("device_id", [])]
    for entity_id in call.data.get("entity_id", []):
        entity = entities.async_get(entity_id)
        ours = entity is not None and entity.platform == DOMAIN and entity.domain == "switch"
        named.append((entity_id, entity.device_id if entity and ours else None))
    targets: list[tuple[HsiRuntimeData, str]] = []
    for given, device_id in named:
        device = devices.async_get(device_id) if device_id else None
        found: list[tuple[HsiRuntimeData, str]] = []
        for domain, ident in device.identifiers if device else ():
            for runtime in runtimes if domain == DOMAIN else ():
                camera_id = camera_of_identifier(runtime.entry_id, ident)
                if camera_id is not None and camera_id in runtime.cameras:
                    found.append((runtime, camera_id))
        if not found:
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="not_a_camera",
                translation_placeholders={"target": given[:100]},
            )
        targets.extend(found)
    return targets
