"""Conformance: the files Home Assistant, HACS and validators read are accepted as they are.

HA's own validator (hassfest) does not ship in the `homeassistant` package, so the services,
translations and icons are loaded here the way HA loads them at runtime, and every key the
code uses is looked up in what HA returns.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
import json
import logging
from pathlib import Path
import re
import string
from typing import Any

import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
import yaml

from custom_components.home_security_intelligence.const import DOMAIN
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.icon import async_get_icons
from homeassistant.helpers.selector import SelectSelector
from homeassistant.helpers.service import async_get_all_descriptions
from homeassistant.helpers.translation import async_get_translations

from .conftest import EntryFactory

pytestmark = pytest.mark.usefixtures("unload_entries")

REPO = Path(__file__).parent.parent
INTEGRATION = REPO / "custom_components" / DOMAIN
TRANSLATIONS = INTEGRATION / "translations"
PREFIX = f"component.{DOMAIN}"
# Every Python file a validator or an older Python may read.
PYTHON_ROOTS = ("custom_components", "tests", "benchmarks", "soak", "ai", "scripts/hsi_demo.py")
MAX_MODULE_LINES = 400
MDI = re.compile(r"^mdi:[a-z0-9]+(-[a-z0-9]+)*$")


def python_files() -> Iterator[Path]:
    for name in PYTHON_ROOTS:
        root = REPO / name
        yield from [root] if root.is_file() else sorted(root.rglob("*.py"))


def integration_trees() -> Iterator[tuple[Path, ast.Module]]:
    for path in sorted(INTEGRATION.rglob("*.py")):
        yield path, ast.parse(path.read_text(encoding="utf-8"))


def en() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((TRANSLATIONS / "en.json").read_text(encoding="utf-8"))
    return data


def placeholders(text: str) -> set[str]:
    return {field for _, field, _, _ in string.Formatter().parse(text) if field}


def test_translations_are_literal_strings() -> None:
    """No `[%key:…]` reference: only HA core's build resolves them, a custom integration never."""
    files = sorted(TRANSLATIONS.glob("*.json"))
    assert files
    for path in files:
        text = path.read_text(encoding="utf-8")
        json.loads(text)
        assert "[%key:" not in text, path.name


@pytest.mark.parametrize("path", list(python_files()), ids=lambda p: str(p.relative_to(REPO)))
def test_code_parses_on_python_3_13(path: Path) -> None:
    """Validators that read the code on Python 3.13 can parse it (e.g. `except (A, B):`)."""
    ast.parse(path.read_text(encoding="utf-8"), str(path), feature_version=(3, 13))


def test_python_files_are_found() -> None:
    """The parse check above covers the integration, the tests and the tools."""
    found = {p.relative_to(REPO).parts[0] for p in python_files()}
    assert found == {"custom_components", "tests", "benchmarks", "soak", "ai", "scripts"}


def test_integration_modules_are_small() -> None:
    """Every module of the integration has at most MAX_MODULE_LINES lines (one job each)."""
    sizes = {
        str(path.relative_to(INTEGRATION)): len(path.read_text(encoding="utf-8").splitlines())
        for path in INTEGRATION.rglob("*.py")
    }
    assert len(sizes) > 10
    assert {name: lines for name, lines in sizes.items() if lines > MAX_MODULE_LINES} == {}


def keyword(call: ast.Call, name: str) -> ast.expr | None:
    return next((k.value for k in call.keywords if k.arg == name), None)


def key_pattern(node: ast.expr) -> re.Pattern[str] | None:
    """A literal key, or an f-string key with each `{…}` standing for a slug."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return re.compile(re.escape(node.value))
    if isinstance(node, ast.JoinedStr):
        parts = [
            re.escape(str(v.value)) if isinstance(v, ast.Constant) else "[a-z0-9_]+"
            for v in node.values
        ]
        return re.compile("".join(parts))
    return None


def translated_calls() -> Iterator[tuple[str, ast.Call, re.Pattern[str]]]:
    """(where, call, key) for every call that passes a `translation_key`."""
    for path, tree in integration_trees():
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and (key := keyword(node, "translation_key")):
                if (pattern := key_pattern(key)) is not None:
                    yield f"{path.name}:{node.lineno}", node, pattern


def test_translated_exceptions_and_issues_exist_with_their_placeholders() -> None:
    """Every translation_key raised as an exception or filed as an issue is in en.json."""
    strings = en()
    exceptions, issues = strings["exceptions"], strings["issues"]
    seen = 0
    texts: tuple[str, ...]
    for where, call, pattern in translated_calls():
        func = ast.unparse(call.func)
        if func.endswith("async_create_issue"):
            section, texts = issues, ("title", "description")
        elif keyword(call, "translation_domain") is not None:
            section, texts = exceptions, ("message",)
        else:
            continue
        seen += 1
        keys = [k for k in section if pattern.fullmatch(k)]
        assert keys, f"{where}: {pattern.pattern} is not translated"
        given = keyword(call, "translation_placeholders")
        for key in keys:
            for text in texts:
                assert section[key][text], f"{where}: {key}.{text} is empty"
            if isinstance(given, ast.Dict):
                names = {k.value for k in given.keys if isinstance(k, ast.Constant)}
                needed = set().union(*(placeholders(section[key][t]) for t in texts))
                assert needed <= names, f"{where}: {key} needs {needed - names}"
    assert seen >= 10, "the scan found the integration's translated exceptions and issues"


def test_every_translated_string_is_used() -> None:
    """No exception or issue text is left over from removed code."""
    patterns = [p for _, _, p in translated_calls()]
    strings = en()
    for section in ("exceptions", "issues"):
        for key in strings[section]:
            assert any(p.fullmatch(key) for p in patterns), f"{section}.{key} is never used"


def test_action_selectors_name_translated_options() -> None:
    """Each select selector's options in services.yaml are translated."""
    selectors = en()["selector"]
    services = yaml.safe_load((INTEGRATION / "services.yaml").read_text(encoding="utf-8"))
    for service in services.values():
        for field in service.get("fields", {}).values():
            if select := field.get("selector", {}).get("select"):
                assert set(select["options"]) <= set(
                    selectors[select["translation_key"]]["options"]
                )


@pytest.fixture
async def running(
    hass: HomeAssistant, camera_root: Path, setup_entry: EntryFactory
) -> MockConfigEntry:
    """An entry with one camera folder and one camera entity, so every entity kind exists."""
    await hass.async_add_executor_job((camera_root / "porch").mkdir)
    entry = await setup_entry(camera_entities={"camera.gate": {"camera_id": "gate"}})
    entries = er.async_entries_for_config_entry(er.async_get(hass), entry.entry_id)
    assert entries
    return entry


async def test_services_yaml_is_accepted_and_every_action_is_described(
    hass: HomeAssistant, running: MockConfigEntry, caplog: pytest.LogCaptureFixture
) -> None:
    """HA's loader accepts services.yaml; every registered action has its fields, name and icon."""
    caplog.set_level(logging.WARNING, "homeassistant.helpers.service")
    source = yaml.safe_load((INTEGRATION / "services.yaml").read_text(encoding="utf-8"))
    registered = set(hass.services.async_services_for_domain(DOMAIN))
    assert registered == set(source)

    described = (await async_get_all_descriptions(hass))[DOMAIN]
    texts = await async_get_translations(hass, "en", "services", [DOMAIN])
    icons = (await async_get_icons(hass, "services", [DOMAIN]))[DOMAIN]

    assert not [r for r in caplog.records if "services.yaml" in r.getMessage()]
    assert set(described) == registered
    for name in registered:
        fields = described[name]["fields"]
        assert set(fields) == set(source[name]["fields"]), f"{name}: HA dropped the fields"
        assert texts[f"{PREFIX}.services.{name}.name"]
        assert texts[f"{PREFIX}.services.{name}.description"]
        for field in fields:
            assert texts[f"{PREFIX}.services.{name}.fields.{field}.name"], (name, field)
            assert texts[f"{PREFIX}.services.{name}.fields.{field}.description"], (name, field)
        assert MDI.match(icons[name]["service"]), name
    unknown = {k.split(".")[3] for k in texts if k.startswith(f"{PREFIX}.services.")} - registered
    assert not unknown, f"translations of actions that do not exist: {unknown}"


async def test_every_entity_has_its_translated_name_states_and_icon(
    hass: HomeAssistant, running: MockConfigEntry
) -> None:
    """Each entity's translation_key has a name (and its states) in en.json and an icon."""
    texts = await async_get_translations(hass, "en", "entity", [DOMAIN])
    icons = (await async_get_icons(hass, "entity", [DOMAIN]))[DOMAIN]
    entries = er.async_entries_for_config_entry(er.async_get(hass), running.entry_id)
    platforms = {e.domain for e in entries}
    assert platforms == {
        "binary_sensor",
        "button",
        "calendar",
        "camera",
        "event",
        "sensor",
        "switch",
    }
    for entry in entries:
        key = f"{PREFIX}.entity.{entry.domain}.{entry.translation_key}"
        assert entry.translation_key, entry.entity_id
        assert texts.get(f"{key}.name"), f"{entry.entity_id}: {key}.name missing"
        icon = icons[entry.domain][entry.translation_key]
        assert all(MDI.match(i) for i in [icon["default"], *icon.get("state", {}).values()])
        capabilities = entry.capabilities or {}
        for option in capabilities.get("options", []):
            assert texts.get(f"{key}.state.{option}"), (entry.entity_id, option)
        for event_type in capabilities.get("event_types", []):
            assert texts.get(f"{key}.state_attributes.event_type.state.{event_type}")
    used = {(e.domain, e.translation_key) for e in entries}
    declared = {(p, k) for p, keys in icons.items() for k in keys}
    assert declared == used, "icons.json declares exactly the entities that exist"


async def test_config_flow_steps_errors_and_aborts_are_translated(
    hass: HomeAssistant, running: MockConfigEntry
) -> None:
    """Every field of the user, reconfigure, reauth and options forms has a label."""
    config = await async_get_translations(hass, "en", "config", [DOMAIN])
    options = await async_get_translations(hass, "en", "options", [DOMAIN])
    selectors = await async_get_translations(hass, "en", "selector", [DOMAIN])
    forms = [
        (
            config,
            "config",
            await hass.config_entries.flow.async_init(DOMAIN, context={"source": "user"}),
        ),
        (config, "config", await running.start_reconfigure_flow(hass)),
        (config, "config", await running.start_reauth_flow(hass)),
        (options, "options", await hass.config_entries.options.async_init(running.entry_id)),
    ]
    for texts, category, result in forms:
        assert result["type"] is FlowResultType.FORM
        step = f"{PREFIX}.{category}.step.{result['step_id']}"
        assert texts.get(f"{step}.title"), step
        for field, validator in result["data_schema"].schema.items():
            assert texts.get(f"{step}.data.{field}"), f"{step}.data.{field}"
            assert texts.get(f"{step}.data_description.{field}"), f"{step}.data_description.{field}"
            if isinstance(validator, SelectSelector):
                key = validator.config["translation_key"]
                for option in validator.config["options"]:
                    assert selectors[f"{PREFIX}.selector.{key}.options.{option}"], (key, option)
        described = texts.get(f"{step}.description", "")
        assert placeholders(described) <= set(result.get("description_placeholders") or {})
    codes = set(config_flow_error_codes())
    assert codes >= {"folder_missing", "llm_invalid_auth", "redis_unreachable"}
    for code in codes:
        assert config.get(f"{PREFIX}.config.error.{code}"), code
    for reason in ("already_configured", "reconfigure_successful", "reauth_successful"):
        assert config.get(f"{PREFIX}.config.abort.{reason}"), reason


def config_flow_error_codes() -> Iterator[str]:
    """The error codes config_flow.py can show: `errors[…] = "…"` and the `…error…` helpers."""
    tree = ast.parse((INTEGRATION / "config_flow.py").read_text(encoding="utf-8"))
    values: list[ast.expr] = [
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Assign)
        and isinstance(target := node.targets[0], ast.Subscript)
        and ast.unparse(target.value) == "errors"
    ]
    for func in ast.walk(tree):
        if isinstance(func, ast.FunctionDef | ast.AsyncFunctionDef) and "error" in func.name:
            for node in ast.walk(func):
                if isinstance(node, ast.Return) and node.value is not None:
                    values.append(node.value)
                elif isinstance(node, ast.Dict):
                    values.extend(node.values)
    for value in values:
        if isinstance(value, ast.Constant) and isinstance(value.value, str):
            yield value.value
