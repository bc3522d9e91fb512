"""Reachability of the detector, the LLM and the batch store: log once, repair when long."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
import logging

from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir
from homeassistant.util import dt as dt_util

from .const import DOMAIN

_LOGGER = logging.getLogger(__name__)

REPAIR_AFTER = timedelta(minutes=5)
SERVICES = {"detector": "detector", "llm": "LLM", "store": "batch store"}


class ServiceHealth:
    """Tracks up/down per service; calls `on_change` whenever one flips."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry_id: str,
        urls: dict[str, str],
        on_change: Callable[[], None],
    ) -> None:
        """Start with every service assumed up."""
        self._hass = hass
        self._entry_id = entry_id
        self._urls = urls
        self._on_change = on_change
        self.up: dict[str, bool] = dict.fromkeys(SERVICES, True)
        self.down_since: dict[str, datetime] = {}
        self.last_error: dict[str, str] = {}
        self._reauth_started = False

    def issue_id(self, name: str) -> str:
        """Repair issue id of a service of this entry."""
        return f"{name}_unreachable_{self._entry_id}"

    @callback
    def set(self, name: str, up: bool, error: str = "") -> None:
        """Record the outcome of a call to a service."""
        if error:
            self.last_error[name] = error
        if self.up[name] == up:
            return
        self.up[name] = up
        if up:
            self._reauth_started = False
            self.down_since.pop(name, None)
            ir.async_delete_issue(self._hass, DOMAIN, self.issue_id(name))
            _LOGGER.info("The %s is reachable again; resuming", SERVICES[name])
        else:
            self.down_since[name] = dt_util.utcnow()
            _LOGGER.warning(
                "The %s is unavailable (%s); work waits and is retried", SERVICES[name], error
            )
        self._on_change()

    @callback
    def refused(self, name: str, error: str) -> None:
        """Mark a service that refused its credentials down; ask the user for new ones once."""
        self.set(name, False, error)
        if self._reauth_started:
            return
        if entry := self._hass.config_entries.async_get_entry(self._entry_id):
            self._reauth_started = True
            entry.async_start_reauth(self._hass)

    @callback
    def check_repairs(self, now: datetime) -> None:
        """Raise a repair issue for a service down longer than REPAIR_AFTER."""
        for name, since in self.down_since.items():
            if now - since >= REPAIR_AFTER:
                ir.async_create_issue(
                    self._hass,
                    DOMAIN,
                    self.issue_id(name),
                    is_fixable=False,
                    severity=ir.IssueSeverity.ERROR,
                    translation_key=f"{name}_unreachable",
                    translation_placeholders={
                        "url": self._urls.get(name, ""),
                        "error": self.last_error.get(name, ""),
                        "minutes": str(int((now - since).total_seconds() // 60)),
                    },
                )
