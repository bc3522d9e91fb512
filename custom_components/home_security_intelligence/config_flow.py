"""Config, reconfigure, reauth and options flows; every service is tested before it is saved."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
import os
from pathlib import Path
from typing import Any

import probatio

from homeassistant.config_entries import ConfigEntryState, ConfigFlow, ConfigFlowResult, OptionsFlow
from homeassistant.core import HomeAssistant, callback, split_entity_id
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.aiohttp_client import async_get_clientsession
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
    TextSelectorType,
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
    CONF_AI_TASK_ENTITY,
    CONF_ALARM_ENTITY,
    CONF_BATCH_IDLE,
    CONF_BATCH_WINDOW,
    CONF_CAMERA_ENTITIES,
    CONF_CAMERA_ROLES,
    CONF_CAMERA_ROOT,
    CONF_CONFIDENCE_THRESHOLD,
    CONF_DELIVERY_ENTITY,
    CONF_DETECTOR_API,
    CONF_DETECTOR_URL,
    CONF_GUESTS_ENTITY,
    CONF_LLM_API,
    CONF_LLM_API_KEY,
    CONF_LLM_BOUND,
    CONF_LLM_MODEL,
    CONF_LLM_URL,
    CONF_OCCUPANCY_TIMEOUT,
    CONF_PERSON_ENTITIES,
    CONF_REDIS_URL,
    CONF_RETENTION_DAYS,
    CONF_SEND_SNAPSHOTS,
    CONF_SNAPSHOT_COUNT,
    CONF_SNAPSHOT_INTERVAL,
    CONF_UPLOAD_SETTLE,
    CONF_ZONES,
    DEFAULT_OPTIONS,
    DOMAIN,
    STORAGE_DIR,
)
from .data import HsiConfigEntry
from .llm_backend import API_AI_TASK, BACKENDS, Analyzer, build_analyzer
from .pipeline.detector_client import (
    API_DETECT,
    DETECTOR_APIS,
    DetectorClient,
    DetectorProtocolError,
    DetectorUnreachableError,
)
from .pipeline.key_frame import probe_jpeg
from .pipeline.llm_request import is_local_url
from .pipeline.nemotron_analyzer import (
    API_LLAMACPP,
    AnalyzerAuthError,
    AnalyzerError,
    AnalyzerProtocolError,
    AnalyzerUnreachableError,
)
from .pipeline.risk_prior import GROUP_ORDER, ROLES
from .pipeline.zones import ZoneError, ZoneFilter, format_areas
from .state import camera_name
from .store.redis_store import RedisWorkStore, connect
from .store.work_store import WorkStoreError

_URL = TextSelector(TextSelectorConfig(type=TextSelectorType.URL))
_PASSWORD = TextSelector(TextSelectorConfig(type=TextSelectorType.PASSWORD))


def _select(options: tuple[str, ...], key: str) -> SelectSelector:
    return SelectSelector(
        SelectSelectorConfig(
            options=list(options), translation_key=key, mode=SelectSelectorMode.DROPDOWN
        )
    )


def _connection_schema(defaults: dict[str, Any]) -> probatio.Schema:
    def suggested(key: str) -> dict[str, Any]:
        return {"suggested_value": defaults.get(key)}

    return probatio.Schema(
        {
            probatio.Required(CONF_CAMERA_ROOT, default=defaults.get(CONF_CAMERA_ROOT, "")): str,
            probatio.Required(CONF_DETECTOR_URL, default=defaults.get(CONF_DETECTOR_URL, "")): _URL,
            probatio.Required(
                CONF_DETECTOR_API, default=defaults.get(CONF_DETECTOR_API, API_DETECT)
            ): _select(DETECTOR_APIS, CONF_DETECTOR_API),
            probatio.Optional(CONF_LLM_URL, default=defaults.get(CONF_LLM_URL, "")): _URL,
            probatio.Required(
                CONF_LLM_API, default=defaults.get(CONF_LLM_API, API_LLAMACPP)
            ): _select(BACKENDS, CONF_LLM_API),
            probatio.Optional(
                CONF_AI_TASK_ENTITY, description=suggested(CONF_AI_TASK_ENTITY)
            ): _entities("ai_task"),
            probatio.Optional(CONF_LLM_API_KEY, description=suggested(CONF_LLM_API_KEY)): _PASSWORD,
            probatio.Optional(CONF_LLM_MODEL, description=suggested(CONF_LLM_MODEL)): str,
            probatio.Optional(CONF_REDIS_URL, description=suggested(CONF_REDIS_URL)): str,
        }
    )


def _root_error(hass: HomeAssistant, raw: str) -> str | None:
    """Check the camera root (executor): exists, readable, allowed."""
    path = Path(raw)
    if not path.is_absolute() or not path.is_dir():
        return "folder_missing"
    if not os.access(path, os.R_OK | os.X_OK) or not hass.config.is_allowed_path(str(path)):
        return "folder_not_allowed"
    return None


async def _llm_errors(hass: HomeAssistant, data: Mapping[str, Any]) -> dict[str, str]:
    """Ask the LLM for one token with the entry's key; return form errors by field.

    An AI Task entity (none: the preferred one) is asked for a tiny structured answer.
    """
    if data.get(CONF_LLM_API) == API_AI_TASK:
        try:
            await _analyzer(hass, data).verify()
        except AnalyzerError:
            return {CONF_AI_TASK_ENTITY: "ai_task_failed"}
        return {}
    if not data.get(CONF_LLM_URL):
        return {CONF_LLM_URL: "llm_url_required"}
    try:
        await _analyzer(hass, data).verify()
    except AnalyzerAuthError:
        return {CONF_LLM_API_KEY: "llm_invalid_auth"}
    except AnalyzerProtocolError:
        return {CONF_LLM_URL: "llm_wrong_api"}
    except AnalyzerUnreachableError:
        return {CONF_LLM_URL: "llm_unreachable"}
    return {}


async def async_validate(hass: HomeAssistant, data: dict[str, Any]) -> dict[str, str]:
    """Test every part of the connection; return form errors by field."""
    errors: dict[str, str] = {}
    if error := await hass.async_add_executor_job(_root_error, hass, data[CONF_CAMERA_ROOT]):
        errors[CONF_CAMERA_ROOT] = error
    try:
        await DetectorClient(
            async_get_clientsession(hass),
            data[CONF_DETECTOR_URL],
            data.get(CONF_DETECTOR_API, API_DETECT),
        ).verify()
    except DetectorUnreachableError:
        errors[CONF_DETECTOR_URL] = "detector_unreachable"
    except DetectorProtocolError:
        errors[CONF_DETECTOR_URL] = "detector_wrong_api"
    errors.update(await _llm_errors(hass, data))
    if redis_url := data.get(CONF_REDIS_URL):
        try:
            store = RedisWorkStore(connect(redis_url))
        except ValueError:
            errors[CONF_REDIS_URL] = "redis_invalid_url"
        else:
            try:
                await store.ping()
            except WorkStoreError:
                errors[CONF_REDIS_URL] = "redis_unreachable"
            finally:
                await store.async_close()
    return errors


async def async_snapshots_default(hass: HomeAssistant, data: dict[str, Any]) -> bool:
    """Send snapshots by default when the LLM is on the local network and takes a tiny JPEG.

    An AI Task entity may send them anywhere: off until the household turns it on.
    """
    if data.get(CONF_LLM_API) == API_AI_TASK or not is_local_url(data[CONF_LLM_URL]):
        return False
    return await _analyzer(hass, data).accepts_images(await hass.async_add_executor_job(probe_jpeg))


def _analyzer(hass: HomeAssistant, data: Mapping[str, Any]) -> Analyzer:
    return build_analyzer(hass, data, "", Path(hass.config.path(STORAGE_DIR)))


def _clean(user_input: dict[str, Any]) -> dict[str, Any]:
    data = {k: v.strip() if isinstance(v, str) else v for k, v in user_input.items()}
    data[CONF_CAMERA_ROOT] = os.path.normpath(data[CONF_CAMERA_ROOT])
    for key in (
        CONF_REDIS_URL,
        CONF_LLM_API_KEY,
        CONF_LLM_MODEL,
        CONF_LLM_URL,
        CONF_AI_TASK_ENTITY,
    ):
        if not data.get(key):
            data.pop(key, None)
    return data


class HsiConfigFlow(ConfigFlow, domain=DOMAIN):
    """Set up one camera root."""

    VERSION = 1

    @staticmethod
    @callback
    def async_get_options_flow(config_entry: HsiConfigEntry) -> HsiOptionsFlow:
        """Return the options flow."""
        return HsiOptionsFlow()

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Ask for the camera root and the services."""
        errors: dict[str, str] = {}
        if user_input is not None:
            data = _clean(user_input)
            await self.async_set_unique_id(data[CONF_CAMERA_ROOT])
            self._abort_if_unique_id_configured()
            if not (errors := await async_validate(self.hass, data)):
                snapshots = await async_snapshots_default(self.hass, data)
                return self.async_create_entry(
                    title=os.path.basename(data[CONF_CAMERA_ROOT]) or data[CONF_CAMERA_ROOT],
                    data=data,
                    options={**DEFAULT_OPTIONS, CONF_SEND_SNAPSHOTS: snapshots},
                )
        return self.async_show_form(
            step_id="user",
            data_schema=_connection_schema(user_input or {}),
            errors=errors,
        )

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Change the camera root or the services of an entry."""
        entry = self._get_reconfigure_entry()
        errors: dict[str, str] = {}
        if user_input is not None:
            data = _clean(user_input)
            if data[CONF_CAMERA_ROOT] != entry.unique_id:
                await self.async_set_unique_id(data[CONF_CAMERA_ROOT])
                self._abort_if_unique_id_configured()
            if not (errors := await async_validate(self.hass, data)):
                options = dict(entry.options)
                if _llm(data) != _llm(entry.data):  # pictures follow the new server's default
                    options[CONF_SEND_SNAPSHOTS] = await async_snapshots_default(self.hass, data)
                return self.async_update_reload_and_abort(
                    entry, unique_id=data[CONF_CAMERA_ROOT], data=data, options=options
                )
        return self.async_show_form(
            step_id="reconfigure",
            data_schema=_connection_schema(user_input or dict(entry.data)),
            errors=errors,
        )

    async def async_step_reauth(self, entry_data: Mapping[str, Any]) -> ConfigFlowResult:
        """Ask for a new key once the LLM refused the current one."""
        return await self.async_step_reauth_confirm()

    async def async_step_reauth_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Take a new LLM API key, test it on the LLM, then save it and reload."""
        entry = self._get_reauth_entry()
        errors: dict[str, str] = {}
        if user_input is not None:
            data = {**entry.data, CONF_LLM_API_KEY: user_input[CONF_LLM_API_KEY].strip()}
            # The form has only the key: an error of the URL shows at the top.
            errors = {
                field if field == CONF_LLM_API_KEY else "base": error
                for field, error in (await _llm_errors(self.hass, data)).items()
            }
            if not errors:
                return self.async_update_reload_and_abort(entry, data=data)
        return self.async_show_form(
            step_id="reauth_confirm",
            data_schema=probatio.Schema({probatio.Required(CONF_LLM_API_KEY): _PASSWORD}),
            errors=errors,
            description_placeholders={"url": entry.data.get(CONF_LLM_URL, "")},
        )


def _llm(data: Mapping[str, Any]) -> tuple[Any, ...]:
    keys = (CONF_LLM_URL, CONF_LLM_API, CONF_LLM_MODEL, CONF_AI_TASK_ENTITY)
    return tuple(data.get(key) for key in keys)


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
        if user_input is not None:
            self._tuning = user_input
            return await self.async_step_camera_entities()
        current = {**DEFAULT_OPTIONS, **self.config_entry.options}
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
                probatio.Optional(CONF_PERSON_ENTITIES): _entities("person", multiple=True),
                probatio.Optional(CONF_ALARM_ENTITY): _entities("alarm_control_panel"),
                probatio.Optional(CONF_GUESTS_ENTITY): _entities("input_boolean"),
                probatio.Optional(CONF_DELIVERY_ENTITY): _entities("input_boolean"),
            }
        )
        return self.async_show_form(
            step_id="init", data_schema=self.add_suggested_values_to_schema(schema, current)
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
                probatio.Required(label, default=camera_role(chosen, camera)): _select(
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


def _entities(domain: str, multiple: bool = False) -> EntitySelector:
    return EntitySelector(EntitySelectorConfig(domain=domain, multiple=multiple))
