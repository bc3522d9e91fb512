"""Install the alerts blueprint into the configuration, never over a copy the user edited."""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path
from typing import Literal

from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.start import async_at_started

from .const import DOMAIN

_LOGGER = logging.getLogger(__name__)

BLUEPRINT_NAME = "security_alerts.yaml"
SHIPPED = Path(__file__).parent / "blueprints" / BLUEPRINT_NAME
STAMP = "# Installed by Home Security Intelligence (edit freely: an edited copy is kept). sha256:"


def stamped(text: str) -> str:
    """Return the text as installed: a first line holding the hash of the rest."""
    return f"{STAMP}{hashlib.sha256(text.encode()).hexdigest()}\n{text}"


def unedited(installed: str) -> bool:
    """Tell whether an installed copy is still byte for byte what this integration wrote."""
    first, _, rest = installed.partition("\n")
    return (
        first.startswith(STAMP) and first[len(STAMP) :] == hashlib.sha256(rest.encode()).hexdigest()
    )


type Outcome = Literal["installed", "updated", "current", "kept"]


def install(target: Path) -> Outcome:
    """Write the shipped blueprint to `target` if absent or an unedited older copy.

    Returns what happened: installed, updated, current or kept (an edited copy).
    """
    wanted = stamped(SHIPPED.read_text(encoding="utf-8"))
    outcome: Outcome = "installed"
    if target.exists():
        current = target.read_text(encoding="utf-8")
        if current == wanted:
            return "current"
        if not unedited(current):
            return "kept"
        outcome = "updated"
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".yaml.part")
    partial.write_text(wanted, encoding="utf-8")
    partial.replace(target)
    return outcome


@callback
def async_install_blueprint(hass: HomeAssistant) -> None:
    """Install the blueprint once Home Assistant has started.

    Waiting for the start lets the automation integration first populate
    `blueprints/automation` with its own examples, which it skips once that folder exists.
    """

    async def _install(hass: HomeAssistant) -> None:
        target = Path(hass.config.path("blueprints", "automation", DOMAIN, BLUEPRINT_NAME))
        try:
            outcome = await hass.async_add_executor_job(install, target)
        except OSError as err:
            _LOGGER.warning("Could not install the alerts blueprint at %s: %s", target, err)
            return
        if outcome == "installed":
            _LOGGER.info("Installed the alerts blueprint at %s", target)
        elif outcome == "updated":
            _LOGGER.info(
                "Updated the alerts blueprint at %s; automations use it after a reload", target
            )
        elif outcome == "kept":
            _LOGGER.info(
                "Kept the edited alerts blueprint at %s; the shipped one is at %s", target, SHIPPED
            )

    async_at_started(hass, _install)
