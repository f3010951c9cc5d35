"""A third-party provider's shim ships in its packages exactly like a built-in provider's."""

from __future__ import annotations

import sys

from conftest import BLUEPRINTS, ROOT
from deployer import bundle, providers
from deployer.blueprint.load import load_blueprint


def test_third_party_shim_is_found_beside_its_provider(monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT / "tests" / "fixtures" / "thirdparty"))
    from acme_cloud.provider import AcmeProvider

    undo = providers.register(AcmeProvider())
    try:
        bp = load_blueprint(BLUEPRINTS / "orders" / "deployer.yaml")
        files = bundle.runtime_files(bp, "api", "acme")
    finally:
        undo()
        sys.modules.pop("acme_cloud.provider", None)
    assert b"ACME_SHIM = True" in files["deployer_shim.py"]


def test_built_in_shims_and_none_for_the_local_cloud():
    assert b"def handler(event, context)" in bundle.shim_source("aws")
    assert bundle.shim_source("local") is None
    assert bundle.shim_source("no-such-cloud") is None
