"""`clouds.azure` in a blueprint: the Azure provider's settings (validated by the loader, located errors)."""

from __future__ import annotations

from pydantic import Field

from deployer.blueprint.model import CloudSettings


class AzureSettings(CloudSettings):
    location: str = Field("westeurope", description="Azure location.")
