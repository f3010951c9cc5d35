"""Graphviz DOT text for a flowchart.

DOT is for people who render with Graphviz (`dot -Tsvg`), feed other tools, or want SVG/PNG without a
browser: `deployer graph --format svg` renders the flowchart through this text when `dot` is installed.
Every id and label is a double-quoted DOT string: backslashes and quotes are escaped and lines are
joined with `\\n`, so a route like `GET /orders/{id}` or a name with quotes cannot break the syntax.
"""

from __future__ import annotations

from deployer.graph.model import Graph, Node

SHAPES = {
    "api": 'shape=oval, style=filled, fillcolor="#fff3cd", color="#b58900"',
    "schedule": 'shape=oval, style=filled, fillcolor="#fff3cd", color="#b58900"',
    "function": 'shape=box, style="rounded,filled", fillcolor="#dbeafe", color="#1d4ed8"',
    "bucket": 'shape=cylinder, style=filled, fillcolor="#e7f5e9", color="#2f855a"',
    "table": 'shape=cylinder, style=filled, fillcolor="#e7f5e9", color="#2f855a"',
    "queue": 'shape=box3d, style=filled, fillcolor="#e7f5e9", color="#2f855a"',
    "topic": 'shape=hexagon, style=filled, fillcolor="#e7f5e9", color="#2f855a"',
    "dead-letter": 'shape=box3d, style=filled, fillcolor="#fde2e2", color="#c53030"',
}
EDGE_STYLES = {"trigger": "solid", "access": "dashed", "dead-letter": "dashed"}


def quote(text: str) -> str:
    """A DOT double-quoted string holding `text` literally (one line)."""
    text = str(text).replace("\\", "\\\\").replace('"', '\\"')
    return '"' + text.replace("\r", " ").replace("\n", " ") + '"'


def label(lines) -> str:
    """Several lines in one DOT label: each escaped, joined with DOT's centred line break."""
    return "\\n".join(quote(line)[1:-1] for line in lines).join('""')


def node(n: Node) -> str:
    if n.kind not in SHAPES:
        raise TypeError(f"unsupported node kind {n.kind!r}")
    return f"  {quote(n.id)} [label={label(n.lines)}, {SHAPES[n.kind]}];"


def flowchart(graph: Graph) -> str:
    out = [f"digraph {quote(graph.title)} {{",
           "  rankdir=LR;",
           f"  label={quote(graph.title)}; labelloc=t; fontname=\"Helvetica\";",
           '  node [fontname="Helvetica", fontsize=11];',
           '  edge [fontname="Helvetica", fontsize=10];']
    out += [node(n) for n in graph.nodes]
    for edge in graph.edges:
        if edge.kind not in EDGE_STYLES:
            raise TypeError(f"unsupported edge kind {edge.kind!r}")
        out.append(f"  {quote(edge.source)} -> {quote(edge.target)} "
                   f"[label={label(edge.lines)}, style={EDGE_STYLES[edge.kind]}];")
    out.append("}")
    return "\n".join(out) + "\n"
