"""The five pipeline stages: plain asyncio and dataclasses, no Home Assistant entities."""
