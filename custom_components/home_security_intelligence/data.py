"""Runtime data of a config entry and its typed alias."""

from __future__ import annotations

from dataclasses import dataclass

from homeassistant.config_entries import ConfigEntry

from .coordinator import HsiCoordinator


@dataclass(slots=True)
class HsiRuntimeData:
    """The running pipeline of one entry."""

    coordinator: HsiCoordinator


type HsiConfigEntry = ConfigEntry[HsiRuntimeData]
