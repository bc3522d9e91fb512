"""Options flow: tuning, household context, camera entities and triggers, roles and zones."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any

import probatio

from homeassistant.config_entries import ConfigEntryState, ConfigFlowResult, OptionsFlow
from homeassistant.core import HomeAssistant, split_entity_id
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.selector import (
    BooleanSelector,
    EntitySelector,
    EntitySelectorConfig,
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    SelectOptionDict,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
    TextSelector,
    TextSelectorConfig,
)

from .camera_roles import camera_role, chosen_roles
from .camera_sources import (
    DEFAULT_SNAPSHOT_COUNT,
    DEFAULT_SNAPSHOT_INTERVAL,
    MAX_COUNT,
    MAX_INTERVAL,
    MIN_INTERVAL,
    TRIGGER_DOMAINS,
    camera_entities_option,
    entity_cameras,
)
from .const import (
    CONF_ALARM_ENTITY,
    CONF_BATCH_IDLE,
    CONF_BATCH_WINDOW,
    CONF_CAMERA_ENTITIES,
    CONF_CAMERA_ROLES,
    CONF_CONFIDENCE_THRESHOLD,
    CONF_DELIVERY_ENTITY,
    CONF_GUESTS_ENTITY,
    CONF_LLM_BOUND,
    CONF_OCCUPANCY_TIMEOUT,
    CONF_PERSON_ENTITIES,
    CONF_RETENTION_DAYS,
    CONF_SEND_SNAPSHOTS,
    CONF_SNAPSHOT_COUNT,
    CONF_SNAPSHOT_INTERVAL,
    CONF_UPLOAD_SETTLE,
    CONF_ZONES,
    DEFAULT_OPTIONS,
    DOMAIN,
    NO_ALARM,
)
from .flow_selectors import dropdown, entity_picker
from .pipeline.risk_prior import GROUP_ORDER, ROLES
from .pipeline.zones import ZoneError, ZoneFilter, format_areas
from .risk_context import only_alarm_panel
from .state import camera_name


def _number(low: float, high: float, step: float, unit: str = "") -> NumberSelector:
    config = NumberSelectorConfig(min=low, max=high, step=step, mode=NumberSelectorMode.BOX)
    if unit:
        config["unit_of_measurement"] = unit
    return NumberSelector(config)


class HsiOptionsFlow(OptionsFlow):
    """Tune thresholds, timings, risk context and camera entities; then roles and zones.

    Everything applies at once, without a reload.
    """

    def __init__(self) -> None:
        """Start with nothing entered."""
        self._tuning: dict[str, Any] = {}
        self._chosen: list[str] = []
        self._roles: dict[str, str] = {}
        self._zone_camera = ""

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Show the tuning and household-context form."""
        current = {**DEFAULT_OPTIONS, **self.config_entry.options}
        if CONF_ALARM_ENTITY not in current and (panel := only_alarm_panel(self.hass)):
            current[CONF_ALARM_ENTITY] = panel  # the one already in use: shown, not hidden
        if user_input is not None:
            if CONF_ALARM_ENTITY not in user_input and CONF_ALARM_ENTITY in current:
                user_input[CONF_ALARM_ENTITY] = NO_ALARM  # cleared: leave the alarm out
            self._tuning = user_input
            return await self.async_step_camera_entities()
        schema = probatio.Schema(
            {
                probatio.Required(CONF_CONFIDENCE_THRESHOLD): _number(0.05, 1.0, 0.05),
                probatio.Required(CONF_BATCH_WINDOW): _number(5, 3600, 1, "s"),
                probatio.Required(CONF_BATCH_IDLE): _number(1, 3600, 1, "s"),
                probatio.Required(CONF_UPLOAD_SETTLE): _number(0, 120, 0.5, "s"),
                probatio.Required(CONF_RETENTION_DAYS): _number(0, 3650, 1, "d"),
                probatio.Required(CONF_OCCUPANCY_TIMEOUT): _number(5, 3600, 1, "s"),
                probatio.Required(CONF_LLM_BOUND): _number(0, 100, 1),
                probatio.Required(CONF_SEND_SNAPSHOTS): BooleanSelector(),
                probatio.Optional(CONF_PERSON_ENTITIES): entity_picker("person", multiple=True),
                probatio.Optional(CONF_ALARM_ENTITY): entity_picker("alarm_control_panel"),
                probatio.Optional(CONF_GUESTS_ENTITY): entity_picker("input_boolean"),
                probatio.Optional(CONF_DELIVERY_ENTITY): entity_picker("input_boolean"),
            }
        )
        shown = {**current, CONF_ALARM_ENTITY: current.get(CONF_ALARM_ENTITY) or None}
        return self.async_show_form(
            step_id="init", data_schema=self.add_suggested_values_to_schema(schema, shown)
        )

    async def async_step_camera_entities(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Choose HA camera entities as sources, and how often and how long to grab."""
        options = self.config_entry.options
        if user_input is not None:
            self._chosen = _resolve(
                self.hass, user_input.pop(CONF_CAMERA_ENTITIES, []), ("camera",)
            )
            self._tuning.update(user_input)
            if self._chosen:
                return await self.async_step_camera_triggers()
            return await self._after_camera_entities({})
        own = [  # the integration's annotated cameras are never sources
            e.entity_id
            for e in er.async_get(self.hass).entities.values()
            if e.platform == DOMAIN and e.domain == "camera"
        ]
        schema = probatio.Schema(
            {
                probatio.Optional(CONF_CAMERA_ENTITIES): EntitySelector(
                    EntitySelectorConfig(domain="camera", multiple=True, exclude_entities=own)
                ),
                probatio.Required(CONF_SNAPSHOT_INTERVAL): _number(
                    MIN_INTERVAL, MAX_INTERVAL, 0.5, "s"
                ),
                probatio.Required(CONF_SNAPSHOT_COUNT): _number(1, MAX_COUNT, 1),
            }
        )
        current = {
            CONF_CAMERA_ENTITIES: [c.entity_id for c in entity_cameras(options).values()],
            CONF_SNAPSHOT_INTERVAL: options.get(CONF_SNAPSHOT_INTERVAL, DEFAULT_SNAPSHOT_INTERVAL),
            CONF_SNAPSHOT_COUNT: options.get(CONF_SNAPSHOT_COUNT, DEFAULT_SNAPSHOT_COUNT),
        }
        return self.async_show_form(
            step_id="camera_entities",
            data_schema=self.add_suggested_values_to_schema(schema, current),
        )

    async def async_step_camera_triggers(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Give each chosen camera entity an optional trigger: a binary sensor or an event."""
        if user_input is not None:
            return await self._after_camera_entities(
                {
                    camera: trigger[0]
                    for camera, value in user_input.items()
                    if (trigger := _resolve(self.hass, [value], TRIGGER_DOMAINS))
                }
            )
        triggers = {
            c.entity_id: c.trigger for c in entity_cameras(self.config_entry.options).values()
        }
        schema = probatio.Schema(
            {
                probatio.Optional(
                    entity_id, description={"suggested_value": triggers.get(entity_id)}
                ): EntitySelector(EntitySelectorConfig(domain=list(TRIGGER_DOMAINS)))
                for entity_id in self._chosen
            }
        )
        return self.async_show_form(step_id="camera_triggers", data_schema=schema)

    async def _after_camera_entities(self, triggers: dict[str, str]) -> ConfigFlowResult:
        """Save the camera entities with their camera ids, then ask for the roles."""
        folders: set[str] = set()
        if self.config_entry.state is ConfigEntryState.LOADED:
            cameras = self.config_entry.runtime_data.cameras
            folders = {c for c, state in cameras.items() if state.source is None}
        self._tuning[CONF_CAMERA_ENTITIES] = camera_entities_option(
            self._chosen, triggers, self.config_entry.options, folders
        )
        if self._cameras():
            return await self.async_step_cameras()
        return self.async_create_entry(data=self._with_roles({}))

    async def async_step_cameras(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Give each camera a role; the default is the user's choice, else the suggestion.

        Fields are labelled with the cameras' display names. Only roles that differ from
        the suggestion are stored, so a camera left at its suggestion keeps following it.
        """
        cameras = self._cameras()
        if user_input is not None:
            self._roles = chosen_roles({cameras[label]: role for label, role in user_input.items()})
            return await self.async_step_zone_camera()
        chosen: dict[str, str] = self.config_entry.options.get(CONF_CAMERA_ROLES, {})
        schema = probatio.Schema(
            {
                probatio.Required(label, default=camera_role(chosen, camera)): dropdown(
                    ROLES, "camera_role"
                )
                for label, camera in cameras.items()
            }
        )
        return self.async_show_form(step_id="cameras", data_schema=schema)

    async def async_step_zone_camera(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Pick a camera whose zones and filters to edit, or none to save."""
        if user_input is not None:
            if not (camera := user_input.get("camera")):
                return self.async_create_entry(data=self._with_roles(self._roles))
            self._zone_camera = camera
            return await self.async_step_zones()
        schema = probatio.Schema(
            {
                probatio.Optional("camera"): SelectSelector(
                    SelectSelectorConfig(
                        options=[
                            SelectOptionDict(value=camera, label=label)
                            for label, camera in self._cameras().items()
                        ],
                        mode=SelectSelectorMode.DROPDOWN,
                    )
                )
            }
        )
        return self.async_show_form(step_id="zone_camera", data_schema=schema)

    async def async_step_zones(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Set one camera's minimum object size, minimum confidences and ignore areas."""
        zones: dict[str, Any] = dict(self.config_entry.options.get(CONF_ZONES, {}))
        errors: dict[str, str] = {}
        if user_input is not None:
            options = {
                "min_size": user_input.get("min_size", 0.0),
                "min_confidence": {
                    group: user_input[f"min_confidence_{group}"]
                    for group in GROUP_ORDER
                    if user_input.get(f"min_confidence_{group}") is not None
                },
                "ignore_areas": user_input.get("ignore_areas", ""),
            }
            try:
                zone = ZoneFilter.from_options(options)
            except ZoneError as err:
                errors[_zone_field(err, options["min_confidence"])] = err.code
            else:
                zones.pop(self._zone_camera, None)
                if zone != ZoneFilter():
                    zones[self._zone_camera] = zone.to_options()
                return self.async_create_entry(
                    data={**self._with_roles(self._roles), CONF_ZONES: zones}
                )
        current = ZoneFilter.from_options(zones.get(self._zone_camera, {}))
        schema = probatio.Schema(
            {
                probatio.Optional("min_size"): NumberSelector(
                    NumberSelectorConfig(step="any", mode=NumberSelectorMode.BOX)
                ),
                **{
                    probatio.Optional(f"min_confidence_{group}"): NumberSelector(
                        NumberSelectorConfig(step="any", mode=NumberSelectorMode.BOX)
                    )
                    for group in GROUP_ORDER
                },
                probatio.Optional("ignore_areas"): TextSelector(TextSelectorConfig(multiline=True)),
            }
        )
        suggested = user_input or {
            "min_size": current.min_size,
            **{f"min_confidence_{g}": v for g, v in current.min_confidence.items()},
            "ignore_areas": format_areas(current.ignore_areas),
        }
        return self.async_show_form(
            step_id="zones",
            data_schema=self.add_suggested_values_to_schema(schema, suggested),
            errors=errors,
            description_placeholders={"camera": self._zone_camera},
        )

    def _cameras(self) -> dict[str, str]:
        """Return the known cameras by label: display name (with the id when names clash)."""
        known: dict[str, str] = {
            camera: camera_name(camera)
            for camera in self.config_entry.options.get(CONF_CAMERA_ROLES, {})
        }
        known |= {
            chosen["camera_id"]: camera_name(chosen["camera_id"])
            for chosen in self._tuning.get(CONF_CAMERA_ENTITIES, {}).values()
        }
        if self.config_entry.state is ConfigEntryState.LOADED:
            cameras = self.config_entry.runtime_data.cameras
            known |= {camera: state.name for camera, state in cameras.items()}
        names = Counter(known.values())
        return {
            name if names[name] == 1 else f"{name} ({camera})": camera
            for camera, name in sorted(known.items(), key=lambda item: (item[1], item[0]))
        }

    def _with_roles(self, roles: dict[str, str]) -> dict[str, Any]:
        data = {**self._tuning, CONF_CAMERA_ROLES: roles}
        if zones := self.config_entry.options.get(CONF_ZONES):
            data[CONF_ZONES] = zones
        return data


def _zone_field(err: ZoneError, min_confidence: Mapping[str, Any]) -> str:
    """Return the zones form field a ZoneError is about."""
    if err.code == "invalid_min_size":
        return "min_size"
    if err.code == "invalid_min_confidence":
        for group, value in min_confidence.items():
            try:
                ZoneFilter.from_options({"min_confidence": {group: value}})
            except ZoneError:
                return f"min_confidence_{group}"
    return "ignore_areas"


def _resolve(hass: HomeAssistant, values: list[str], domains: tuple[str, ...]) -> list[str]:
    """Entity ids of the chosen entities (ids or registry ids) that belong to `domains`."""
    registry = er.async_get(hass)
    return [
        entity_id
        for value in values
        if (entity_id := er.async_resolve_entity_id(registry, value))
        and split_entity_id(entity_id)[0] in domains
    ]
