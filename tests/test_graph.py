"""Diagrams as text: golden files for every example, the graph model, sequences, escaping, services.

Whether the text is valid Mermaid and DOT is checked by the real tools in test_graph_render.py; this
file pins what the diagrams say.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from conftest import EXAMPLES
from deployer import graph
from deployer.blueprint.load import load_blueprint
from deployer.errors import UsageError
from deployer.graph import docs, mermaid, model, sequence, services

BLUEPRINTS = Path(__file__).resolve().parent.parent / "blueprints"
TRICKY = Path(__file__).resolve().parent / "fixtures" / "graph" / "tricky" / "deployer.yaml"
CLOUDS = ("aws", "gcp", "azure", "local")


def load(name: str):
    return load_blueprint(TRICKY if name == "tricky" else BLUEPRINTS / name / "deployer.yaml")


# ------------------------------------------------------------------------------------------- golden


@pytest.mark.parametrize("name", EXAMPLES + ["tricky"])
def test_flowchart_golden(name, golden):
    bp = load(name)
    golden(f"graph/{name}/flowchart.mmd", graph.flowchart_text(bp, "mermaid"))
    golden(f"graph/{name}/flowchart.dot", graph.flowchart_text(bp, "dot"))


@pytest.mark.parametrize("cloud", CLOUDS)
def test_flowchart_per_cloud_golden(cloud, golden):
    bp = load("orders")
    golden(f"graph/orders/flowchart-{cloud}.mmd", graph.flowchart_text(bp, "mermaid", cloud))
    golden(f"graph/orders/flowchart-{cloud}.dot", graph.flowchart_text(bp, "dot", cloud))


@pytest.mark.parametrize("name", EXAMPLES + ["tricky"])
def test_sequence_golden_for_every_entry(name, golden):
    bp = load(name)
    names = list(sequence.entries(bp))
    assert names, name
    for entry in names:
        if name == "tricky" and entry == "end":
            entry = "function:end"
        golden(f"graph/{name}/sequence-{docs.slug(entry)}.mmd", graph.sequence_text(bp, entry))


def test_sequence_golden_on_a_cloud(golden):
    golden("graph/iot/sequence-post-readings-aws.mmd", graph.sequence_text(load("iot"), "POST /readings", "aws"))
    golden("graph/orders/sequence-post-orders-azure.mmd", graph.sequence_text(load("orders"), "POST /orders", "azure"))


# -------------------------------------------------------------------------------------- the model


def test_orders_graph_has_sources_functions_stores_and_the_dead_letter_queue():
    g = model.build(load("orders"), services.services_for("aws"))
    kinds = {n.id: (n.kind, n.lines) for n in g.nodes}
    assert kinds["http_api"] == ("api", ("HTTP API", "API Gateway HTTP API"))
    assert kinds["fn_worker"] == ("function", ("worker", "Lambda"))
    assert kinds["store_fulfilment"] == ("queue", ("fulfilment", "SQS"))
    assert kinds["dlq_fulfilment"] == ("dead-letter", ("fulfilment dead letters", "SQS dead-letter queue"))
    edges = {(e.source, e.target): (e.kind, e.lines) for e in g.edges}
    assert edges[("http_api", "fn_api")] == ("trigger", ["POST /orders", "GET /orders/{id}", "GET /orders"])
    assert edges[("store_fulfilment", "fn_worker")] == ("trigger", ["consume, batch 10"])
    assert edges[("store_fulfilment", "dlq_fulfilment")] == ("dead-letter", ["after 5 deliveries"])
    assert edges[("fn_api", "store_events")] == ("access", ["publish"])
    assert edges[("fn_api", "store_orders")] == ("access", ["read-write"])
    # the worker's right to consume comes from its trigger and is not drawn twice
    assert ("fn_worker", "store_fulfilment") not in edges


def test_schedule_and_bucket_trigger_labels():
    report = {(e.source, e.target): e.lines for e in model.build(load("report")).edges}
    assert report[("schedule_nightly_0", "fn_nightly")] == ["0 3 * * * (Europe/Paris)"]
    assert report[("schedule_snapshot_0", "fn_snapshot")] == ["every 1 hours (UTC)"]
    images = {(e.source, e.target): e.lines for e in model.build(load("images")).edges}
    assert images[("store_uploads", "fn_resize")] == ["created prefix incoming/, suffix .jpg",
                                                      "created prefix incoming/, suffix .png"]
    assert images[("store_uploads", "fn_cleanup")] == ["deleted prefix incoming/"]


def test_queue_without_dead_letter_has_no_dead_letter_node():
    ids = {n.id for n in model.build(load("tricky")).nodes}
    assert "store_jobs" in ids and "dlq_jobs" not in ids


def test_node_ids_are_plain_identifiers_and_never_keywords():
    for name in EXAMPLES + ["tricky"]:
        for n in model.build(load(name)).nodes:
            assert re.fullmatch(r"[a-z][a-z0-9_]*", n.id), n.id
            assert "_" in n.id, n.id   # always prefixed: `end` becomes fn_end / store_end


# ------------------------------------------------------------------------------------------ escaping


def test_mermaid_labels_escape_every_special_character():
    assert mermaid.escape('GET /a/{id}/"q";#x<y>|z&w`') == \
        "GET /a/{id}/#34;q#34;#59;#35;x#60;y#62;#124;z#38;w#96;"
    assert mermaid.label(["a\nb", 'c"']) == '"a b<br/>c#34;"'


def test_no_raw_special_character_reaches_a_mermaid_label():
    def bare(text: str) -> str:  # what is left once entity codes and line breaks are taken out
        return re.sub(r"#\d+;", "", text.replace("<br/>", ""))

    text = graph.flowchart_text(load("tricky"), "mermaid")
    for quoted in re.findall(r'"([^"\n]*)"', text.split("flowchart LR", 1)[1]):
        assert not set(bare(quoted)) & set(';#<>|&`'), quoted
    seq = graph.sequence_text(load("tricky"), "schedule:end").split("sequenceDiagram", 1)[1]
    for line in seq.splitlines():
        message = line.split(": ", 1)[1] if ": " in line else ""
        assert not set(bare(message)) & set(';#<>|&`"'), line


def test_dot_labels_escape_quotes_and_backslashes():
    from deployer.graph import dot

    assert dot.quote('say "hi" \\ ok') == '"say \\"hi\\" \\\\ ok"'
    assert dot.label(["a", 'b"c']) == '"a\\nb\\"c"'


# ----------------------------------------------------------------------------------------- sequences


def test_sequence_of_post_orders_is_sync_then_async_with_dead_letter():
    text = graph.sequence_text(load("orders"), "post   /orders")
    lines = [line.strip() for line in text.splitlines()]
    order = [
        "client->>http_api: POST /orders", "http_api->>fn_api: request",
        "fn_api->>store_orders: read / write", "store_orders-->>fn_api: items / ok",
        "fn_api-)store_events: publish", "fn_api-)store_fulfilment: send",
        "fn_api-->>http_api: response", "http_api-->>client: response",
        "store_events-)fn_notify: message", "fn_notify->>store_notifications: write",
        "store_fulfilment-)fn_worker: messages, batch up to 10",
        "opt worker fails 5 deliveries", "store_fulfilment-)dlq_fulfilment: dead-letter the message", "end",
    ]
    positions = [lines.index(step) for step in order]
    assert positions == sorted(positions)
    assert 'title: "orders (dev): POST /orders"' in lines


def test_bucket_events_show_their_filter_as_a_note_and_fan_out_in_parallel():
    text = graph.sequence_text(load("images"), "uploads")
    assert "par to resize" in text and "and to cleanup" in text
    assert ("Note over store_uploads,fn_resize: created: prefix incoming/, suffix .jpg"
            " or created: prefix incoming/, suffix .png") in text
    assert "store_uploads-)fn_cleanup: object deleted" in text


def test_a_cycle_is_cut():
    text = graph.sequence_text(load("tricky"), "schedule:end")
    assert text.count("fn_end->>store_end: read / write") == 1
    assert "Note over fn_end: end runs as shown above (not repeated)" in text
    assert "Note over store_jobs: message dropped (no dead-letter queue)" in text


def test_function_and_schedule_entries():
    report = load("report")
    assert graph.sequence_text(report, "nightly").split("\n", 3)[3] == \
        graph.sequence_text(report, "schedule:nightly").split("\n", 3)[3]
    text = graph.sequence_text(load("orders"), "api")
    assert "alt POST /orders" in text and "else GET /orders/{id}" in text


def test_unknown_entry_lists_valid_entries_and_suggests():
    with pytest.raises(UsageError) as caught:
        graph.sequence_text(load("orders"), "POST /order")
    assert caught.value.message == ("unknown sequence entry 'POST /order'; valid entries: POST /orders, "
                                    "GET /orders/{id}, GET /orders, orders, notifications, events, "
                                    "fulfilment, api, notify, worker")
    assert caught.value.hint == "did you mean 'POST /orders'?"
    assert caught.value.exit_code == 2


def test_a_name_both_store_and_function_needs_a_prefix():
    with pytest.raises(UsageError, match="'end' is both a store and a function"):
        graph.sequence_text(load("tricky"), "end")
    assert "store_end" in graph.sequence_text(load("tricky"), "store:end").split("sequenceDiagram")[1]


# ------------------------------------------------------------------------------------------ services


def test_every_built_in_provider_names_every_kind():
    from deployer import providers

    for cloud in ("aws", "gcp", "azure", "local"):
        assert set(providers.get(cloud).services) == set(services.KINDS), cloud
    assert services.services_for("azure")["queue"] == "Storage Queues"
    assert services.services_for("azure")["topic"] == "Service Bus topic"


def test_unknown_cloud_is_the_registrys_error():
    with pytest.raises(UsageError) as caught:
        services.services_for("awz")
    assert caught.value.exit_code == 2
    assert caught.value.message.startswith("unknown cloud 'awz'; available:")
    assert caught.value.hint.startswith("did you mean 'aws'?")


def test_third_party_cloud_declares_its_services():
    from deployer import providers

    class Acme(providers.Provider):
        name = "acme"
        services = {"function": "Acme Functions", "queue": "Acme MQ", "bogus": "ignored"}

    class Plain(providers.Provider):
        name = "plain"

    undo = [providers.register(Acme()), providers.register(Plain())]
    try:
        table = services.services_for("acme")
        assert table["function"] == "Acme Functions" and table["queue"] == "Acme MQ"
        assert table["bucket"] == "bucket" and "bogus" not in table
        assert services.services_for("plain") == services.GENERIC
        assert "Acme MQ" in graph.flowchart_text(load("iot"), "mermaid", "acme")
    finally:
        for step in undo:
            step()


def test_azure_queues_always_have_their_poison_queue():
    tricky = load("tricky")   # jobs: dead_letter: false
    assert "dlq_jobs" not in {n.id for n in model.build(tricky, services.services_for("aws"), "aws").nodes}
    on_azure = {n.id: n.lines for n in model.build(tricky, services.services_for("azure"), "azure").nodes}
    assert on_azure["dlq_jobs"] == ("jobs dead letters", "poison queue")
    assert "store_jobs-)dlq_jobs: dead-letter the message" in graph.sequence_text(tricky, "jobs", "azure")


def test_a_function_without_triggers_is_called_directly():
    text = graph.sequence_text(load("tricky"), "x").split("sequenceDiagram", 1)[1]
    assert [line.strip() for line in text.strip().splitlines()][-4:] == [
        "client->>fn_x: invoke", "fn_x->>store_end: read", "store_end-->>fn_x: items", "fn_x-->>client: result"]
