"""`clouds.local` in a blueprint: the local cloud's settings (validated by the loader, located errors)."""

from __future__ import annotations

from pydantic import Field

from deployer.blueprint.model import CloudSettings


class LocalSettings(CloudSettings):
    port: int | None = Field(None, ge=1, le=65535, description="Port of the local HTTP gateway.")
