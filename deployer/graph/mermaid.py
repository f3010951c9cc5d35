"""Mermaid text for a flowchart (and the escaping the sequence diagrams share).

Mermaid is what GitHub renders inside ```mermaid fences, so it is the default format. Every label is
written as a quoted string with Mermaid's entity codes (`#34;` for a double quote, `#35;` for `#` ...)
for the characters its grammar or its HTML labels would otherwise interpret: quotes end a string,
`;` ends a statement in sequence diagrams, `#` starts an entity, `<`/`>`/`&` would be HTML, `|` closes an
edge label and a backtick opens a Markdown string. Route paths with `{id}` and slashes are then safe.
Node ids come from model.py and need no escaping.
"""

from __future__ import annotations

import json

from deployer.graph.model import Graph, Node

ENTITIES = {'"': "#34;", "#": "#35;", ";": "#59;", "<": "#60;", ">": "#62;", "&": "#38;", "|": "#124;",
            "`": "#96;", "\n": " ", "\r": " "}

# (open, close) of each node kind's shape.
SHAPES = {
    "api": ("([", "])"),
    "schedule": ("([", "])"),
    "function": ("(", ")"),
    "bucket": ("[(", ")]"),
    "table": ("[(", ")]"),
    "queue": ("[[", "]]"),
    "dead-letter": ("[[", "]]"),
    "topic": ("{{", "}}"),
}
ARROWS = {"trigger": "-->", "access": "-.->", "dead-letter": "-.->"}


def escape(text: str) -> str:
    """Text safe inside a Mermaid quoted string or message (one line)."""
    return "".join(ENTITIES.get(char, char) for char in str(text))


def label(lines) -> str:
    """A quoted, escaped label; several lines are joined with <br/>."""
    return '"' + "<br/>".join(escape(line) for line in lines) + '"'


def node(n: Node) -> str:
    if n.kind not in SHAPES:
        raise TypeError(f"unsupported node kind {n.kind!r}")
    open_, close = SHAPES[n.kind]
    return f"{n.id}{open_}{label(n.lines)}{close}"


def flowchart(graph: Graph) -> str:
    """The graph as a `flowchart LR`: sources on the left, stores on the right."""
    out = ["---", f"title: {json.dumps(graph.title)}", "---", "flowchart LR"]
    out += [f"    {node(n)}" for n in graph.nodes]
    for edge in graph.edges:
        if edge.kind not in ARROWS:
            raise TypeError(f"unsupported edge kind {edge.kind!r}")
        out.append(f"    {edge.source} {ARROWS[edge.kind]}|{label(edge.lines)}| {edge.target}")
    out += _classes(graph)
    return "\n".join(out) + "\n"


def _classes(graph: Graph) -> list[str]:
    """Colour nodes by role, so sources, functions, stores and dead letters read apart at a glance."""
    styles = {
        "source": "fill:#fff3cd,stroke:#b58900",
        "function": "fill:#dbeafe,stroke:#1d4ed8",
        "store": "fill:#e7f5e9,stroke:#2f855a",
        "deadletter": "fill:#fde2e2,stroke:#c53030",
    }
    role = {"api": "source", "schedule": "source", "function": "function", "dead-letter": "deadletter"}
    members: dict[str, list[str]] = {}
    for n in graph.nodes:
        members.setdefault(role.get(n.kind, "store"), []).append(n.id)
    out = [f"    classDef {name} {style}" for name, style in styles.items() if name in members]
    out += [f"    class {','.join(ids)} {name}" for name, ids in members.items()]
    return out


# ------------------------------------------------------------------------------------- sequences

SEQ_ARROWS = {"sync": "->>", "reply": "-->>", "async": "-)"}
SECTION_WORDS = {"alt": "else", "opt": "else", "par": "and"}


def sequence(seq) -> str:
    """A `sequenceDiagram` of a deployer.graph.sequence.Sequence."""
    from deployer.graph.sequence import CLIENT

    out = ["---", f"title: {json.dumps(seq.title)}", "---", "sequenceDiagram", "    autonumber"]
    for pid in _appearance(seq.steps, list(seq.participants)):
        lines = seq.participants[pid]
        word = "actor" if pid == CLIENT else "participant"
        out.append(f"    {word} {pid} as {'<br/>'.join(escape(line) for line in lines)}")
    out += _steps(seq.steps, "    ")
    return "\n".join(out) + "\n"


def _steps(steps, indent: str) -> list[str]:
    from deployer.graph.sequence import Block, Msg, Note

    out: list[str] = []
    for step in steps:
        match step:
            case Msg(source=source, target=target, arrow=arrow, text=text):
                out.append(f"{indent}{source}{SEQ_ARROWS[arrow]}{target}: {escape(text)}")
            case Note(over=over, text=text):
                out.append(f"{indent}Note over {','.join(over)}: {escape(text)}")
            case Block(kind=kind, sections=sections) if kind in SECTION_WORDS and sections:
                for number, (caption, body) in enumerate(sections):
                    word = kind if number == 0 else SECTION_WORDS[kind]
                    out.append(f"{indent}{word} {escape(caption)}")
                    out += _steps(body, indent + "    ")
                out.append(f"{indent}end")
            case _:
                raise TypeError(f"unsupported sequence step {step!r}")
    return out


def _appearance(steps, declared: list[str]) -> list[str]:
    """Participants in the order they first take part, so the lifelines read left to right."""
    from deployer.graph.sequence import Block, Msg, Note

    order: dict[str, None] = {}

    def walk(items) -> None:
        for step in items:
            match step:
                case Msg(source=source, target=target):
                    order.update(dict.fromkeys((source, target)))
                case Note(over=over):
                    order.update(dict.fromkeys(over))
                case Block(sections=sections):
                    for _, body in sections:
                        walk(body)

    walk(steps)
    return [p for p in order if p in declared] + [p for p in declared if p not in order]
