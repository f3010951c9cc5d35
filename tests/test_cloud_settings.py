"""`clouds.<name>` is validated with the settings model its provider declares (the core names no cloud)."""

from __future__ import annotations

import pytest
from pydantic import Field

from conftest import tiny_blueprint
from deployer import providers
from deployer.blueprint.model import Model
from deployer.errors import BlueprintError


class AcmeSettings(Model):
    size: int = Field(3, ge=1, le=9, description="How big.")


class Acme(providers.Provider):
    name = "acme"
    settings = AcmeSettings


@pytest.fixture
def acme():
    undo = providers.register(Acme())
    yield
    undo()


def test_a_third_party_cloud_declares_its_settings(tmp_path, acme):
    bp = tiny_blueprint(tmp_path, "name: app\nclouds:\n  acme: {size: 7}\n")
    assert bp.clouds.acme == AcmeSettings(size=7)
    assert bp.clouds.aws.region == "us-east-1"  # a built-in cloud the blueprint does not mention: defaults
    other = tiny_blueprint(tmp_path, "name: app\n")
    assert other.clouds.acme.size == 3


def test_its_settings_errors_are_located(tmp_path, acme):
    with pytest.raises(BlueprintError) as err:
        tiny_blueprint(tmp_path, "name: app\nclouds:\n  acme: {size: 70, colour: red}\n")
    found = sorted((d.location.path, d.location.line, d.message) for d in err.value.diagnostics)
    assert found == [("clouds.acme.colour", 3, "unknown key 'colour'"),
                     ("clouds.acme.size", 3, "size must be at most 9, got 70")]


def test_schema_lists_every_installed_cloud(acme):
    from deployer.blueprint.spec import json_schema

    schema = json_schema()
    clouds = schema["$defs"]["Clouds"]
    assert sorted(clouds["properties"]) == ["acme", "aws", "azure", "gcp", "local"]
    assert clouds["additionalProperties"] is False
    assert schema["$defs"]["AcmeSettings"]["properties"]["size"]["maximum"] == 9
