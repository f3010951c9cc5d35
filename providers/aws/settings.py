"""`clouds.aws` in a blueprint: the AWS provider's settings (validated by the loader, located errors)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from deployer.blueprint.model import CloudSettings


class AwsSettings(CloudSettings):
    region: str = Field("us-east-1", description="AWS region.")
    architecture: Literal["arm64", "x86_64"] = Field("arm64", description="Lambda CPU architecture.")
    log_retention_days: int = Field(14, ge=1, le=3653, description="Days CloudWatch keeps function logs.")
