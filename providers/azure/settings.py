"""`clouds.azure` in a blueprint: the Azure provider's settings (validated by the loader, located errors)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from deployer.blueprint.model import CloudSettings


class AzureSettings(CloudSettings):
    location: str = Field("westeurope", description="Azure location.")
    build: Literal["remote", "local"] = Field(
        "remote", description="Where a function's requirements are installed: `remote` (the app's build "
        "service installs requirements.txt when the package is published, as Core Tools does for Python; "
        "small packages) or `local` (deployer vendors Linux wheels into the package: for requirements the "
        "build service cannot reach, such as private indexes or local wheels).")
