"""Selectors shared by the config and options flows."""

from __future__ import annotations

from homeassistant.helpers.selector import (
    EntitySelector,
    EntitySelectorConfig,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
)


def dropdown(options: tuple[str, ...], key: str) -> SelectSelector:
    """Return a dropdown of `options`, labelled by the translation `key`."""
    return SelectSelector(
        SelectSelectorConfig(
            options=list(options), translation_key=key, mode=SelectSelectorMode.DROPDOWN
        )
    )


def entity_picker(domain: str, multiple: bool = False) -> EntitySelector:
    """Return a picker of entities of `domain`."""
    return EntitySelector(EntitySelectorConfig(domain=domain, multiple=multiple))
