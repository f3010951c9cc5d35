"""`clouds.gcp` in a blueprint: the GCP provider's settings (validated by the loader, located errors)."""

from __future__ import annotations

from pydantic import Field

from deployer.blueprint.model import CloudSettings


class GcpSettings(CloudSettings):
    project: str | None = Field(None, description="GCP project id (e.g. `${env:GCP_PROJECT}`).")
    region: str = Field("us-central1", description="GCP region.")
