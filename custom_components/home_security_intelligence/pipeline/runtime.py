"""What every stage needs from its entry: options, executor jobs and background tasks."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant

from ..const import DEFAULT_OPTIONS


class Runtime:
    """Runs blocking work in the executor and background tasks on the entry; `stop` waits for both."""

    def __init__(self, hass: HomeAssistant, entry: ConfigEntry[Any]) -> None:
        """Serve the stages of `entry`."""
        self.hass = hass
        self.entry = entry
        self._tasks: set[asyncio.Task[Any]] = set()
        self._blocking: set[asyncio.Future[Any]] = set()

    @property
    def entry_id(self) -> str:
        """The entry's id."""
        return self.entry.entry_id

    def option(self, key: str) -> Any:
        """Return an option now, falling back to its default (None for optional ones)."""
        return self.entry.options.get(key, DEFAULT_OPTIONS.get(key))

    async def run[T](self, func: Callable[..., T], *args: Any) -> T:
        """Run blocking work in the executor; stopping waits for it instead of abandoning it."""
        future = self.hass.async_add_executor_job(func, *args)
        self._blocking.add(future)
        future.add_done_callback(self._blocking.discard)
        return await asyncio.shield(future)

    def start(self, coro: Coroutine[Any, Any, None], name: str) -> None:
        """Run a background task of the entry; it forgets itself when done."""
        task = self.entry.async_create_background_task(
            self.hass, coro, f"home_security_intelligence {name}"
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def stop(self) -> None:
        """Cancel the background tasks and wait for them and for running executor jobs."""
        tasks = set(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._blocking:
            await asyncio.wait(self._blocking)
