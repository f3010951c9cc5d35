"""The diagrams are valid: every one is parsed and drawn by the real Mermaid (mmdc + Chromium) and Graphviz.

A golden file only says the text did not change; these tests say the text is what the tools accept,
so a syntax error (an unescaped quote, a keyword as an id) cannot pass. All Mermaid diagrams go into one
Markdown file so a single Chromium renders them all (one browser start, not one per diagram). The
tests skip only where a tool is truly absent; scripts/test-tools.sh installs both, and when CI is set a skip here
is a failure (tests/conftest.py).
"""

from __future__ import annotations

import json
import re
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from conftest import EXAMPLES
from deployer import graph
from deployer.blueprint.load import load_blueprint
from deployer.graph import docs, render, sequence

BLUEPRINTS = Path(__file__).resolve().parent.parent / "blueprints"
TRICKY = Path(__file__).resolve().parent / "fixtures" / "graph" / "tricky" / "deployer.yaml"
TRICKY_ROUTE = 'GET /a/{id}/"q";#x<y>|z&w`'
TRICKY_PREFIX = 'say "hi"; #1 <b>'

needs_mermaid = pytest.mark.skipif(
    not render.mermaid_ready(),
    reason="Mermaid CLI (mmdc) or Chromium not found; install them with scripts/test-tools.sh")
needs_dot = pytest.mark.skipif(not render.find_dot(), reason="Graphviz `dot` not found; apt-get install graphviz")


def blueprints():
    return [load_blueprint(BLUEPRINTS / name / "deployer.yaml") for name in EXAMPLES] + [load_blueprint(TRICKY)]



def mermaid_diagrams() -> list[str]:
    """Every Mermaid diagram of docs/diagrams.md (each example's flowchart and sequences, orders on every
    cloud) plus every construct of the tricky blueprint (all its entries: alt, opt, par, notes, cycles)."""
    found = {text: None for rel, text in docs.generate().items() if rel.endswith(".mmd")}
    tricky = load_blueprint(TRICKY)
    found[graph.flowchart_text(tricky, "mermaid")] = None
    for entry in sequence.entries(tricky):
        found[graph.sequence_text(tricky, "function:end" if entry == "end" else entry)] = None
    found[graph.sequence_text(load_blueprint(BLUEPRINTS / "orders" / "deployer.yaml"), "POST /orders", "gcp")] = None
    return list(found)


def run_mmdc_markdown(diagrams: list[str], folder: Path) -> list[Path]:
    source = folder / "all.md"
    source.write_text("".join(f"```mermaid\n{text}```\n\n" for text in diagrams))
    render.run_mmdc(source, folder / "out.md")
    return sorted(folder.glob("out-*.svg"), key=lambda p: int(re.findall(r"\d+", p.name)[-1]))


def svg_text(path: Path) -> str:
    return " ".join(" ".join(ET.parse(path).getroot().itertext()).split())


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    if not render.mermaid_ready():
        pytest.skip("Mermaid CLI (mmdc) or Chromium not found; install them with scripts/test-tools.sh")
    diagrams = mermaid_diagrams()
    return diagrams, run_mmdc_markdown(diagrams, tmp_path_factory.mktemp("mermaid"))


@needs_mermaid
def test_mermaid_draws_every_diagram(rendered):
    diagrams, svgs = rendered
    assert len(diagrams) >= 24
    assert len(svgs) == len(diagrams)
    for path in svgs:
        root = ET.parse(path).getroot()
        assert root.tag.endswith("svg") and "Syntax error" not in svg_text(path), path


@needs_mermaid
def test_escaped_labels_come_out_as_written(rendered):
    diagrams, svgs = rendered
    tricky_flowchart = diagrams.index(graph.flowchart_text(load_blueprint(TRICKY), "mermaid"))
    text = svg_text(svgs[tricky_flowchart])
    assert TRICKY_ROUTE in text
    assert f"created prefix {TRICKY_PREFIX}, suffix .txt" in text
    sequence_text = graph.sequence_text(load_blueprint(TRICKY), "function:end")
    assert TRICKY_ROUTE in svg_text(svgs[diagrams.index(sequence_text)])


@needs_mermaid
@pytest.mark.parametrize("broken", [
    'flowchart LR\n    a["unclosed" --> b\n',
    "sequenceDiagram\n    a->>b: one; two\n",
])
def test_the_mermaid_check_catches_a_syntax_error(broken, tmp_path):
    with pytest.raises(Exception, match="mmdc failed"):
        run_mmdc_markdown(["flowchart LR\n    ok --> fine\n", broken], tmp_path)


def dot_texts() -> list[str]:
    texts = []
    for bp in blueprints():
        texts.append(graph.flowchart_text(bp, "dot"))
        texts += [graph.flowchart_text(bp, "dot", cloud) for cloud in ("aws", "gcp", "azure", "local")]
    return texts


@needs_dot
def test_graphviz_accepts_every_dot_file(tmp_path):
    files = []
    for number, text in enumerate(dot_texts()):
        files.append(tmp_path / f"g{number}.dot")
        files[-1].write_text(text)
    done = subprocess.run(["dot", "-Tsvg", "-O", *map(str, files)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert not done.stderr.strip(), done.stderr   # not even a warning
    assert all(Path(f"{f}.svg").stat().st_size > 500 for f in files)


@needs_dot
def test_graphviz_reads_back_the_labels_as_written():
    text = graph.flowchart_text(load_blueprint(TRICKY), "dot")
    done = subprocess.run(["dot", "-Tjson"], input=text, capture_output=True, text=True, check=True)
    labels = {edge["label"] for edge in json.loads(done.stdout)["edges"]}
    assert TRICKY_ROUTE in labels
    assert f"created prefix {TRICKY_PREFIX}, suffix .txt" in labels


@needs_dot
def test_the_dot_check_catches_a_syntax_error():
    done = subprocess.run(["dot", "-Tsvg"], input='digraph { "a" -> "b [label="x"]; }', capture_output=True, text=True)
    assert done.returncode != 0 and "syntax error" in done.stderr
