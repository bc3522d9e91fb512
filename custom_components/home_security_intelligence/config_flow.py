"""Config, reconfigure and options flows; every service is tested before it is saved."""

from __future__ import annotations

from collections import Counter
import os
from pathlib import Path
from typing import Any

import probatio

from homeassistant.config_entries import ConfigEntryState, ConfigFlow, ConfigFlowResult, OptionsFlow
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.selector import (
    EntitySelector,
    EntitySelectorConfig,
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
    TextSelector,
    TextSelectorConfig,
    TextSelectorType,
)

from .camera_roles import camera_role, chosen_roles
from .const import (
    CONF_ALARM_ENTITY,
    CONF_BATCH_IDLE,
    CONF_BATCH_WINDOW,
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
    CONF_UPLOAD_SETTLE,
    DEFAULT_OPTIONS,
    DOMAIN,
)
from .data import HsiConfigEntry
from .pipeline.detector_client import (
    API_DETECT,
    DETECTOR_APIS,
    DetectorClient,
    DetectorProtocolError,
    DetectorUnreachableError,
)
from .pipeline.nemotron_analyzer import (
    API_LLAMACPP,
    LLM_APIS,
    AnalyzerAuthError,
    AnalyzerProtocolError,
    AnalyzerUnreachableError,
    NemotronAnalyzer,
)
from .pipeline.risk_prior import ROLES
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
            probatio.Required(CONF_LLM_URL, default=defaults.get(CONF_LLM_URL, "")): _URL,
            probatio.Required(
                CONF_LLM_API, default=defaults.get(CONF_LLM_API, API_LLAMACPP)
            ): _select(LLM_APIS, CONF_LLM_API),
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


async def async_validate(hass: HomeAssistant, data: dict[str, Any]) -> dict[str, str]:
    """Test every part of the connection; return form errors by field."""
    errors: dict[str, str] = {}
    if error := await hass.async_add_executor_job(_root_error, hass, data[CONF_CAMERA_ROOT]):
        errors[CONF_CAMERA_ROOT] = error
    session = async_get_clientsession(hass)
    try:
        await DetectorClient(
            session, data[CONF_DETECTOR_URL], data.get(CONF_DETECTOR_API, API_DETECT)
        ).verify()
    except DetectorUnreachableError:
        errors[CONF_DETECTOR_URL] = "detector_unreachable"
    except DetectorProtocolError:
        errors[CONF_DETECTOR_URL] = "detector_wrong_api"
    try:
        await NemotronAnalyzer(
            session,
            data[CONF_LLM_URL],
            data.get(CONF_LLM_API, API_LLAMACPP),
            data.get(CONF_LLM_API_KEY),
            data.get(CONF_LLM_MODEL),
        ).verify()
    except AnalyzerAuthError:
        errors[CONF_LLM_API_KEY] = "llm_invalid_auth"
    except AnalyzerProtocolError:
        errors[CONF_LLM_URL] = "llm_wrong_api"
    except AnalyzerUnreachableError:
        errors[CONF_LLM_URL] = "llm_unreachable"
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


def _clean(user_input: dict[str, Any]) -> dict[str, Any]:
    data = {k: v.strip() if isinstance(v, str) else v for k, v in user_input.items()}
    data[CONF_CAMERA_ROOT] = os.path.normpath(data[CONF_CAMERA_ROOT])
    for key in (CONF_REDIS_URL, CONF_LLM_API_KEY, CONF_LLM_MODEL):
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
                return self.async_create_entry(
                    title=os.path.basename(data[CONF_CAMERA_ROOT]) or data[CONF_CAMERA_ROOT],
                    data=data,
                    options=dict(DEFAULT_OPTIONS),
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
                return self.async_update_reload_and_abort(
                    entry, unique_id=data[CONF_CAMERA_ROOT], data=data
                )
        return self.async_show_form(
            step_id="reconfigure",
            data_schema=_connection_schema(user_input or dict(entry.data)),
            errors=errors,
        )


def _number(low: float, high: float, step: float, unit: str = "") -> NumberSelector:
    config = NumberSelectorConfig(min=low, max=high, step=step, mode=NumberSelectorMode.BOX)
    if unit:
        config["unit_of_measurement"] = unit
    return NumberSelector(config)


class HsiOptionsFlow(OptionsFlow):
    """Tune thresholds, timings and risk context, then each camera's role.

    Everything applies at once, without a reload.
    """

    def __init__(self) -> None:
        """Start with nothing entered."""
        self._tuning: dict[str, Any] = {}

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Show the tuning and household-context form."""
        if user_input is not None:
            self._tuning = user_input
            if self._cameras():
                return await self.async_step_cameras()
            return self.async_create_entry(data=self._with_roles({}))
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
                probatio.Optional(CONF_PERSON_ENTITIES): _entities("person", multiple=True),
                probatio.Optional(CONF_ALARM_ENTITY): _entities("alarm_control_panel"),
                probatio.Optional(CONF_GUESTS_ENTITY): _entities("input_boolean"),
                probatio.Optional(CONF_DELIVERY_ENTITY): _entities("input_boolean"),
            }
        )
        return self.async_show_form(
            step_id="init", data_schema=self.add_suggested_values_to_schema(schema, current)
        )

    async def async_step_cameras(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Give each camera a role; the default is the user's choice, else the suggestion.

        Fields are labelled with the cameras' display names. Only roles that differ from
        the suggestion are stored, so a camera left at its suggestion keeps following it.
        """
        cameras = self._cameras()
        if user_input is not None:
            submitted = {cameras[label]: role for label, role in user_input.items()}
            return self.async_create_entry(data=self._with_roles(chosen_roles(submitted)))
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

    def _cameras(self) -> dict[str, str]:
        """Return the known cameras by label: display name (with the folder when shared)."""
        known: dict[str, str] = {
            camera: camera_name(camera)
            for camera in self.config_entry.options.get(CONF_CAMERA_ROLES, {})
        }
        if self.config_entry.state is ConfigEntryState.LOADED:
            cameras = self.config_entry.runtime_data.coordinator.cameras
            known |= {camera: state.name for camera, state in cameras.items()}
        names = Counter(known.values())
        return {
            name if names[name] == 1 else f"{name} ({camera})": camera
            for camera, name in sorted(known.items(), key=lambda item: (item[1], item[0]))
        }

    def _with_roles(self, roles: dict[str, str]) -> dict[str, Any]:
        return {**self._tuning, CONF_CAMERA_ROLES: roles}


def _entities(domain: str, multiple: bool = False) -> EntitySelector:
    return EntitySelector(EntitySelectorConfig(domain=domain, multiple=multiple))
