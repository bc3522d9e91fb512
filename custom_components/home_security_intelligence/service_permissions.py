"""Whether the caller of an action may control the cameras it acts on."""

from __future__ import annotations

from collections.abc import Callable

from homeassistant.auth.permissions.const import CAT_ENTITIES, POLICY_CONTROL
from homeassistant.core import ServiceCall
from homeassistant.exceptions import Unauthorized, UnknownUser
from homeassistant.helpers import device_registry as dr, entity_registry as er

from .cameras import device_identifier
from .const import DOMAIN
from .data import HsiRuntimeData


async def check_camera_control(
    call: ServiceCall, runtime: HsiRuntimeData, cameras: Callable[[], set[str]]
) -> None:
    """Raise Unauthorized unless the caller may control an entity of every camera acted on.

    A call without a user (automation, script) passes, and so does an admin; `cameras`
    (blocking, run in the executor) names the cameras only when someone else asks.
    """
    if not (user_id := call.context.user_id):
        return
    hass = call.hass
    user = await hass.auth.async_get_user(user_id)
    if user is None:
        raise UnknownUser(context=call.context, user_id=user_id, permission=POLICY_CONTROL)
    if user.is_admin:
        return
    devices, entities = dr.async_get(hass), er.async_get(hass)
    for camera_id in await hass.async_add_executor_job(cameras):
        device = devices.async_get_device_by_identifier(
            (DOMAIN, device_identifier(runtime.entry_id, camera_id)), runtime.entry_id
        )
        allowed = device is not None and any(
            user.permissions.check_entity(entry.entity_id, POLICY_CONTROL)
            for entry in er.async_entries_for_device(entities, device.id)
        )
        if not allowed:
            raise Unauthorized(
                context=call.context,
                user_id=user_id,
                permission=POLICY_CONTROL,
                perm_category=CAT_ENTITIES,
            )
