"""Config, reconfigure and reauth flows; every service is tested before it is saved."""

from __future__ import annotations

from collections.abc import Mapping
import os
from pathlib import Path
from typing import Any

import probatio

from homeassistant.config_entries import ConfigFlow, ConfigFlowResult
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.selector import TextSelector, TextSelectorConfig, TextSelectorType

from .const import (
    CONF_AI_TASK_ENTITY,
    CONF_CAMERA_ROOT,
    CONF_DETECTOR_API,
    CONF_DETECTOR_URL,
    CONF_LLM_API,
    CONF_LLM_API_KEY,
    CONF_LLM_MODEL,
    CONF_LLM_URL,
    CONF_REDIS_URL,
    CONF_SEND_SNAPSHOTS,
    DEFAULT_OPTIONS,
    DOMAIN,
    STORAGE_DIR,
)
from .data import HsiConfigEntry
from .flow_selectors import dropdown, entity_picker
from .llm_backend import API_AI_TASK, BACKENDS, Analyzer, build_analyzer
from .options_flow import HsiOptionsFlow
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
from .store.redis_store import RedisWorkStore, connect
from .store.work_store import WorkStoreError

_URL = TextSelector(TextSelectorConfig(type=TextSelectorType.URL))
_PASSWORD = TextSelector(TextSelectorConfig(type=TextSelectorType.PASSWORD))


def _connection_schema(defaults: dict[str, Any]) -> probatio.Schema:
    def suggested(key: str) -> dict[str, Any]:
        return {"suggested_value": defaults.get(key)}

    return probatio.Schema(
        {
            probatio.Required(CONF_CAMERA_ROOT, default=defaults.get(CONF_CAMERA_ROOT, "")): str,
            probatio.Required(CONF_DETECTOR_URL, default=defaults.get(CONF_DETECTOR_URL, "")): _URL,
            probatio.Required(
                CONF_DETECTOR_API, default=defaults.get(CONF_DETECTOR_API, API_DETECT)
            ): dropdown(DETECTOR_APIS, CONF_DETECTOR_API),
            probatio.Optional(CONF_LLM_URL, default=defaults.get(CONF_LLM_URL, "")): _URL,
            probatio.Required(
                CONF_LLM_API, default=defaults.get(CONF_LLM_API, API_LLAMACPP)
            ): dropdown(BACKENDS, CONF_LLM_API),
            probatio.Optional(
                CONF_AI_TASK_ENTITY, description=suggested(CONF_AI_TASK_ENTITY)
            ): entity_picker("ai_task"),
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
