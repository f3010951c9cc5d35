"""docs/blueprint.md and the model agree: the generated blocks are what the model says now.

Fails when a field is added, removed or changed (type, default, bounds, description) without
regenerating the reference, and when a field has no example (run python -m deployer.blueprint.reference).
"""

from __future__ import annotations

import pytest

from deployer.blueprint import model as m
from deployer.blueprint import reference


def test_reference_is_up_to_date():
    current = reference.DOC.read_text(encoding="utf-8")
    assert reference.render(current) == current, "run: python -m deployer.blueprint.reference"
    assert reference.main(["--check"]) == 0


def test_every_key_of_every_model_is_documented():
    text = reference.DOC.read_text(encoding="utf-8")
    for _, cls in reference.SECTIONS:
        for name, info in cls.model_fields.items():
            assert f"| `{info.alias or name}` |" in text, f"{cls.__name__}.{name} is missing from the reference"
    assert "| `from` | `env` | `env` |" in text  # the YAML spelling, not the Python field name


def test_a_field_without_an_example_fails(monkeypatch):
    monkeypatch.delitem(reference.EXAMPLES, "Function.memory")
    with pytest.raises(KeyError, match="no example for Function.memory"):
        reference.keys_block()


def test_a_changed_default_shows_up_as_a_difference(monkeypatch):
    current = reference.DOC.read_text(encoding="utf-8")
    monkeypatch.setattr(m.QueueStore.model_fields["retries"], "default", 4)
    assert reference.render(current) != current


def test_every_model_in_the_blueprint_has_a_section():
    covered = {cls for _, cls in reference.SECTIONS}
    assert {m.Blueprint, m.Function, m.Defaults, m.HttpTrigger, m.HttpRoute, m.BucketTrigger, m.QueueTrigger,
            m.TopicTrigger, m.ScheduleTrigger, m.Secret, m.Cors, m.Clouds} <= covered


def test_diagnostics_catalogue_lists_every_fixture():
    text = reference.DOC.read_text(encoding="utf-8")
    for fixture in sorted(reference.INVALID.glob("*.yaml")):
        assert f"| `{fixture.stem}` |" in text
