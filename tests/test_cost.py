"""`deployer cost`: the orders example priced by hand at two usage levels on every cloud (docs/cost.md),
price tables kept current, usage files checked like blueprints."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from conftest import ROOT, example_copy, run_cli
from deployer import cost, providers

ORDERS = example_copy("orders")  # a copy: cost packages, and build output stays out of the repository
BUSY = ROOT / "tests" / "fixtures" / "cost" / "orders-busy.yaml"

# Each figure below is worked out by hand in docs/cost.md from the price rows named there.
DEFAULTS = {
    "aws": {"total": 0.1375, "app": 0.10},
    "gcp": {"total": 0.15, "app": 0.30},
    "azure": {"total": 10.02792, "app": 10.23},
}
BUSY_TOTALS = {
    "aws": {"total": 23.50875, "function api": 2.00 + 3.33335 + 1.00, "function notify": 0.40 + 0.666670 + 0.25,
            "function worker": 0.04 + 0.066667 + 0.25, "app": 10.00, "store orders": 14.75,
            "store notifications": 0.26875, "store events": 1.00, "store fulfilment": 2.40, "free tier": -12.916687},
    "gcp": {"total": 39.38776, "function api": 9.621, "function notify": 1.9766, "function worker": 0.42266,
            "app": 30.00, "store orders": 11.70, "store notifications": 0.189, "store events": 0.1490116,
            "store fulfilment": 0.1490116, "free tier": -14.8205232},
    "azure": {"total": 64.20896, "function api": 15.10, "function notify": 4.55, "function worker": 1.49,
              "app": 51.81, "store orders": 2.61, "store notifications": 0.04896, "store fulfilment": 2.40,
              "free tier": -13.80},
}


@pytest.fixture(scope="module")
def priced():
    done = run_cli("cost", "--json", "-f", str(ORDERS), env={"GCP_PROJECT": "orders-demo"}, timeout=600)
    busy = run_cli("cost", "--json", "--usage", str(BUSY), "-f", str(ORDERS), env={"GCP_PROJECT": "orders-demo"},
                   timeout=600)
    assert done.returncode == 0 and busy.returncode == 0, done.stderr + busy.stderr
    return json.loads(done.stdout), json.loads(busy.stdout)


@pytest.mark.parametrize("cloud", ["aws", "gcp", "azure"])
def test_orders_with_the_default_usage(priced, cloud):
    result = priced[0]
    assert result["usage"] == "defaults" and result["free_tier"] is True
    got = result["clouds"][cloud]
    assert got["total"] == pytest.approx(DEFAULTS[cloud]["total"], abs=0.006)
    assert got["by_owner"]["app"] == pytest.approx(DEFAULTS[cloud]["app"], abs=0.006)
    assert result["cheapest"] == "aws"


@pytest.mark.parametrize("cloud", ["aws", "gcp", "azure"])
def test_orders_in_a_busy_month(priced, cloud):
    got = priced[1]["clouds"][cloud]
    expected = BUSY_TOTALS[cloud]
    assert got["total"] == pytest.approx(expected["total"], abs=0.006)
    for owner, value in expected.items():
        if owner != "total":
            assert got["by_owner"].get(owner, 0.0) == pytest.approx(value, abs=0.006), owner
    assert priced[1]["cheapest"] == "aws"


def test_aws_busy_lines_trace_to_their_price_rows(priced):
    lines = {(ln["owner"], ln["meter"]): ln for ln in priced[1]["clouds"]["aws"]["lines"]}
    assert lines[("function api", "lambda-requests")]["quantity"] == 10_000_000
    assert lines[("function api", "lambda-gb-seconds-arm64")]["quantity"] == 250_000
    assert lines[("function worker", "lambda-requests")]["quantity"] == 200_000  # 2,000,000 messages / batch 10
    assert lines[("store fulfilment", "sqs-requests")]["quantity"] == 6_000_000     # send, receive, delete
    assert lines[("free tier", "dynamodb-storage")]["cost"] == pytest.approx(-6.25)


def test_without_free_tiers_no_credit_is_taken(tmp_path):
    done = run_cli("cost", "--json", "--cloud", "aws", "--no-free-tier", "-f", str(ORDERS))
    got = json.loads(done.stdout)["clouds"]["aws"]
    assert "free tier" not in got["by_owner"] and got["total"] == pytest.approx(0.1375 + 0.96533385, abs=0.006)


def test_usage_for_an_unknown_function_is_a_located_error(tmp_path):
    usage = tmp_path / "usage.yaml"
    usage.write_text("functions:\n  apii: {requests: 5}\n")
    done = run_cli("cost", "--cloud", "aws", "--usage", str(usage), "-f", str(ORDERS))
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert f"{usage}:2:3" in done.stderr and "functions.apii: the blueprint has no function 'apii'" in done.stderr


def test_a_bad_usage_value_is_a_located_error(tmp_path):
    usage = tmp_path / "usage.yaml"
    usage.write_text("defaults:\n  requests: -4\n")
    done = run_cli("cost", "--cloud", "aws", "--usage", str(usage), "-f", str(ORDERS))
    assert done.returncode == 2 and f"{usage}:2:13" in done.stderr and "defaults.requests" in done.stderr


@pytest.mark.parametrize("cloud", ["aws", "gcp", "azure"])
def test_price_tables_are_current_and_sourced(cloud):
    table = providers.get(cloud).price_table()
    assert not cost.stale(table), f"providers/{cloud}/prices.yaml is from {table.date}: update its figures"
    assert table.check() == []
    assert all(m.source.startswith("https://") for m in table.meters.values())


def test_a_price_table_older_than_a_year_is_stale():
    table = providers.get("aws").price_table()
    assert cost.stale(table, table.date + dt.timedelta(days=366))
    assert not cost.stale(table, table.date + dt.timedelta(days=365))
