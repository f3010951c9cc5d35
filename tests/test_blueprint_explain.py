"""Units of the diagnostics machinery: pydantic locs to field paths, did-you-mean, routes, handlers."""

from __future__ import annotations

import ast

import pytest

from deployer.blueprint.checks import normal_path, timezone_problem, top_level_names
from deployer.blueprint.explain import field_path, model_at
from deployer.blueprint.model import HttpRoute, QueueTrigger, TableStore
from deployer.blueprint.suggest import closest, did_you_mean, one_of

DATA = {"functions": {"api": {"triggers": [{"http": "x"}, {"queue": "jobs", "batchh": 1}]}},
        "stores": {"t": {"kind": "table"}}}


@pytest.mark.parametrize("loc,path", [
    (("functions", "api", "triggers", 0, "http", "http", "constrained-str"), "functions.api.triggers[0].http"),
    (("functions", "api", "triggers", 0, "http", "http", "HttpRoute", "path"), "functions.api.triggers[0].http.path"),
    (("functions", "api", "triggers", 1, "queue", "batchh"), "functions.api.triggers[1].batchh"),
    (("functions", "function-after[_names_fit(), dict[str,Function]]", "api", "memory"), "functions.api.memory"),
    (("stores", "t", "table", "key"), "stores.t.key"),
    (("functions", "api", "max_instances"), "functions.api.max_instances"),
])
def test_loc_to_field_path(loc, path):
    assert field_path(DATA, loc, "x") == (path, False)


def test_key_errors_are_flagged():
    assert field_path(DATA, ("functions", "Bad", "[key]"), "string_pattern_mismatch") == ("functions.Bad", True)


def test_model_at_follows_tags():
    assert model_at(("functions", "api", "triggers", 1, "queue")) is QueueTrigger
    assert model_at(("functions", "api", "triggers", 0, "http", "http", "HttpRoute")) is HttpRoute
    assert model_at(("stores", "t", "table")) is TableStore


def test_suggestions():
    assert did_you_mean("triger", ["triggers", "timeout"]) == "did you mean 'triggers'?"
    assert closest("Triggers", ["triggers"]) == "triggers"
    assert did_you_mean("zzz", ["triggers"]) is None
    assert one_of(["a"]) == "'a'" and one_of(["a", "b", "c"]) == "one of 'a', 'b' or 'c'"


def test_routes_normalise_parameters_only():
    assert normal_path("/orders/{id}") == normal_path("/orders/{order}") == "/orders/{}"
    assert normal_path("/orders/") != normal_path("/orders")


def test_top_level_names_without_importing():
    tree = ast.parse("import os\nfrom x import y as z\nA = 1\nclass C: pass\nasync def f(): pass\n"
                     "def g():\n    def inner(): pass\nif True:\n    def hidden(): pass\n")
    assert top_level_names(tree) == {"os", "z", "A", "C", "f", "g"}


def test_timezones():
    assert timezone_problem("Europe/Paris") is None
    assert timezone_problem("Europe/Pariss") == ("unknown timezone 'Europe/Pariss'", "did you mean 'Europe/Paris'?")
    assert timezone_problem("../../etc/passwd")[0] == "unknown timezone '../../etc/passwd'"
